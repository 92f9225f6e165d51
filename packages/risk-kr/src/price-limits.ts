import type { TickGrid } from './ticks'

/** An inclusive price band `[lower, upper]`, both on the tick grid. */
export interface PriceBand {
  readonly lower: number
  readonly upper: number
}

/** What decides a symbol's daily limits (§4.1). */
export interface DailyLimitInput {
  /** The base price (기준가), normally the previous close, adjusted after corporate actions. */
  readonly basePrice: number
  /** Leverage multiple of a leveraged ETF/ETN (2x → ±60 %). @default 1 */
  readonly leverage?: number
  /** Listing day: the base price is the offer price and the band is 60 %–400 % (§4.1, since 2023-06-26). */
  readonly listingDay?: boolean
  /** Liquidation trading, ELWs and subscription rights have no limit (§4.1). */
  readonly noLimit?: boolean
}

/**
 * The ± band around `base` the way KRX computes it (§4.1 [K10][K11]):
 * 1. amount = base × pct (integer arithmetic, truncated);
 * 2. truncate amount to a multiple of the tick at the base price;
 * 3. upper = base + amount truncated to the tick at that price; lower = base − amount.
 *
 * The reference's example, base 9,980 at 30 %, gives 2,994 → 2,990 → [6,990, 12,970].
 * When an adjusted base is itself off the grid, `lower` is moved up to the grid, so every
 * accepted price lies inside the band the exchange would compute (our conservative choice).
 */
export function percentBand(grid: TickGrid, base: number, percent: number): PriceBand {
  const raw = Math.floor((base * percent) / 100)
  const amount = raw - (raw % grid.tickAt(base))
  const upper = grid.floor(base + amount)
  const lower = Math.max(grid.ceil(base - amount), grid.tickAt(1))
  return { lower, upper }
}

/**
 * The daily price limits (가격제한폭), or `undefined` when the instrument has none (§4.1).
 *
 * @example dailyLimits(stockGrid, { basePrice: 9_980 }) // { lower: 6_990, upper: 12_970 }
 */
export function dailyLimits(grid: TickGrid, input: DailyLimitInput): PriceBand | undefined {
  if (input.noLimit) return undefined
  if (input.listingDay) {
    // §4.1 [N23]: 60 %–400 % of the offer price on the listing day; rounding is not documented,
    // so both ends move inwards onto the grid.
    return { lower: grid.ceil((input.basePrice * 60) / 100), upper: grid.floor(input.basePrice * 4) }
  }
  const leverage = Math.abs(input.leverage ?? 1)
  return percentBand(grid, input.basePrice, 30 * leverage)
}

/** The intersection of two bands; `undefined` when they do not overlap. */
export function intersectBands(a: PriceBand, b: PriceBand): PriceBand | undefined {
  const lower = Math.max(a.lower, b.lower)
  const upper = Math.min(a.upper, b.upper)
  return lower <= upper ? { lower, upper } : undefined
}
