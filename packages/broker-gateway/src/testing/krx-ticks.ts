/**
 * KRX stock tick size by price (table effective 2023-01-25; reference/krx-market-rules.md §3.1).
 * Used only by the in-memory paper broker to publish plausible quotes; pre-trade checks belong to
 * `@vellab/risk-kr`, which owns the effective-dated rule data.
 */
export function paperTickSize(price: number): number {
  if (price < 2_000) return 1
  if (price < 5_000) return 5
  if (price < 20_000) return 10
  if (price < 50_000) return 50
  if (price < 200_000) return 100
  if (price < 500_000) return 500
  return 1_000
}
