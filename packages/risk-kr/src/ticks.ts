import type { KstDay } from './kst'
import { parseKstDate } from './kst'
import type { RuleSource } from './provenance'
import { src } from './provenance'

/** Instrument classes with their own tick, lot and limit rules (§3, §8). */
export type InstrumentKind = 'stock' | 'etf' | 'etn' | 'elw'

/** A band: prices below `below` (and at or above the previous band's `below`) move in `tick` steps. */
export interface TickBand {
  readonly below: number
  readonly tick: number
}

/** An effective-dated tick table for some instrument kinds. */
export interface TickTable {
  readonly id: string
  readonly kinds: readonly InstrumentKind[]
  /** `YYYY-MM-DD`, KST, inclusive. */
  readonly from: string
  /** Ascending by `below`; the last band has `below: Infinity`. */
  readonly bands: readonly TickBand[]
  readonly source: RuleSource
}

/**
 * Tick tables (호가가격단위). Stocks use the unified table effective 2023-01-25 (§3.1; the older
 * table on global.krx.co.kr is stale and deliberately absent, so earlier dates fail closed).
 * ETF/ETN got the 1-won band on 2023-12-18 (§3.2, the date the reference says to use).
 */
export const KRX_TICK_TABLES: readonly TickTable[] = [
  {
    id: 'stock-2023-01-25',
    kinds: ['stock'],
    from: '2023-01-25',
    bands: [
      { below: 2_000, tick: 1 },
      { below: 5_000, tick: 5 },
      { below: 20_000, tick: 10 },
      { below: 50_000, tick: 50 },
      { below: 200_000, tick: 100 },
      { below: 500_000, tick: 500 },
      { below: Number.POSITIVE_INFINITY, tick: 1_000 },
    ],
    source: src('§3.1 [N21]', 'V-SECONDARY'),
  },
  {
    id: 'etp-2023-12-18',
    kinds: ['etf', 'etn'],
    from: '2023-12-18',
    bands: [
      { below: 2_000, tick: 1 },
      { below: Number.POSITIVE_INFINITY, tick: 5 },
    ],
    source: src('§3.2 [N22][K8]', 'V-SECONDARY', '12-18 vs 12-08 start is open (§10 item 6)'),
  },
  {
    id: 'elw-flat-5',
    kinds: ['elw'],
    // No start date in the reference; coverage begins with the session regimes.
    from: '2025-03-04',
    bands: [{ below: Number.POSITIVE_INFINITY, tick: 5 }],
    source: src('§3.2 [K9]', 'V-PRIMARY'),
  },
]

/** A tick table resolved for one kind and day: fast lookups, no allocation. */
export class TickGrid {
  readonly #belows: Float64Array
  readonly #ticks: Float64Array
  readonly table: TickTable

  constructor(table: TickTable) {
    this.table = table
    this.#belows = Float64Array.from(table.bands, (b) => b.below)
    this.#ticks = Float64Array.from(table.bands, (b) => b.tick)
  }

  /** The tick of the band `price` falls in (§3.2: "the check compares the order price against the band table"). */
  tickAt(price: number): number {
    const b = this.#belows
    for (let i = 0; i < b.length; i++) if (price < b[i]!) return this.#ticks[i]!
    return this.#ticks[this.#ticks.length - 1]!
  }

  /** True when `price` is a positive integer multiple of the tick of its band. */
  isOnGrid(price: number): boolean {
    return Number.isInteger(price) && price > 0 && price % this.tickAt(price) === 0
  }

  /** The largest grid price ≤ `price` (prices below the first tick give 0). */
  floor(price: number): number {
    const p = Math.floor(price)
    return p - (p % this.tickAt(p))
  }

  /**
   * The smallest grid price ≥ `price`. Band boundaries are multiples of the next band's tick, so
   * stepping up one tick from a floored price always lands on the grid.
   */
  ceil(price: number): number {
    const p = Math.ceil(price)
    const f = p - (p % this.tickAt(p))
    return f === p ? p : f + this.tickAt(f)
  }
}

/** Effective-dated tick tables, looked up by instrument kind and day. */
export class TickRules {
  readonly #byKind = new Map<InstrumentKind, { from: KstDay; grid: TickGrid }[]>()

  constructor(tables: readonly TickTable[] = KRX_TICK_TABLES) {
    for (const t of tables) {
      for (const k of t.kinds) {
        const list = this.#byKind.get(k) ?? []
        list.push({ from: parseKstDate(t.from), grid: new TickGrid(t) })
        list.sort((a, b) => b.from - a.from)
        this.#byKind.set(k, list)
      }
    }
  }

  /** The grid in force for `kind` on `day`, or `undefined` before the first reviewed table (fail closed). */
  gridFor(kind: InstrumentKind, day: KstDay): TickGrid | undefined {
    const list = this.#byKind.get(kind)
    if (!list) return undefined
    for (const e of list) if (e.from <= day) return e.grid
    return undefined
  }
}
