// Korea has used UTC+9 all year since 1988 (no daylight saving), so a fixed offset is exact.
const KST_OFFSET_MS = 9 * 60 * 60 * 1000

/**
 * The KST calendar day (`YYYY-MM-DD`) of an epoch-millisecond instant. Broker order numbers are
 * scoped by it: KIS numbers restart daily (reference/kis-openapi.md: `ODNO` such as `0000006555`).
 */
export function kstDate(epochMs: number): string {
  return new Date(epochMs + KST_OFFSET_MS).toISOString().slice(0, 10)
}
