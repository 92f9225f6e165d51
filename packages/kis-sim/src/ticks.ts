/**
 * KRX price grid and daily limits.
 * reference/krx-market-rules.md §3.1: one stock tick table for KOSPI/KOSDAQ/KONEX since 2023-01-25.
 */
const STOCK_BANDS: readonly (readonly [upperExclusive: number, tick: number])[] = [
  [2_000, 1],
  [5_000, 5],
  [20_000, 10],
  [50_000, 50],
  [200_000, 100],
  [500_000, 500],
  [Number.POSITIVE_INFINITY, 1_000],
]

/** The kind of instrument, which decides the tick table (reference/krx-market-rules.md §3). */
export type InstrumentKind = 'stock' | 'etf'

/** Tick size for a price (the band the price falls in). */
export function tickSize(price: number, kind: InstrumentKind = 'stock'): number {
  if (kind === 'etf') return price < 2_000 ? 1 : 5 // reference/krx-market-rules.md §3.2
  for (const [upper, tick] of STOCK_BANDS) if (price < upper) return tick
  return 1_000
}

/** True when `price` is a positive multiple of the tick of its own band. */
export function isOnTickGrid(price: number, kind: InstrumentKind = 'stock'): boolean {
  return Number.isInteger(price) && price > 0 && price % tickSize(price, kind) === 0
}

/** Rounds down to the grid (the largest valid price ≤ `price`). */
export function floorToTick(price: number, kind: InstrumentKind = 'stock'): number {
  if (price < 1) return 1
  const t = tickSize(price, kind)
  return Math.floor(price / t) * t
}

/** Rounds up to the grid (the smallest valid price ≥ `price`). */
export function ceilToTick(price: number, kind: InstrumentKind = 'stock'): number {
  const f = floorToTick(price, kind)
  return f === price ? f : tickUp(f, kind)
}

/** The next valid price above `price` (which must be on the grid). */
export function tickUp(price: number, kind: InstrumentKind = 'stock'): number {
  return price + tickSize(price, kind)
}

/** The next valid price below `price` (which must be on the grid); never below 1. */
export function tickDown(price: number, kind: InstrumentKind = 'stock'): number {
  if (price <= 1) return 1
  // Each tick divides the next larger one, so the step down uses the band just below `price`.
  return price - tickSize(price - 1, kind)
}

/** Moves `steps` ticks up (positive) or down (negative) along the grid. */
export function stepTicks(price: number, steps: number, kind: InstrumentKind = 'stock'): number {
  let p = price
  if (steps > 0) for (let i = 0; i < steps; i++) p = tickUp(p, kind)
  else for (let i = 0; i < -steps; i++) p = tickDown(p, kind)
  return p
}

/** Daily upper/lower price limits. */
export interface PriceLimits {
  upper: number
  lower: number
}

/**
 * reference/krx-market-rules.md §4.1 ("How the limit is computed"): amount = base × 30 %, truncated
 * to the tick at the base price; upper = truncate_to_tick(base + amount); lower = base − amount.
 * KRX example: base 9,980 → 2,994 → 2,990 → upper 12,970, lower 6,990.
 */
export function dailyLimits(base: number, kind: InstrumentKind = 'stock', ratePct = 30): PriceLimits {
  const raw = Math.floor((base * ratePct) / 100)
  const t = tickSize(base, kind)
  const amount = Math.floor(raw / t) * t
  const upper = floorToTick(base + amount, kind)
  const lower = Math.max(1, ceilToTick(base - amount, kind))
  return { upper, lower }
}
