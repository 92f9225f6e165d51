import { createRandom, hashString, type RandomSource, randomInt } from './random'
import { dailyLimits, type InstrumentKind, stepTicks, tickDown, tickSize, tickUp } from './ticks'

/** A symbol the simulator lists. */
export interface SymbolConfig {
  /** 6-digit code, e.g. `005930`. */
  code: string
  /** Korean name (returned as `prdt_name` and in execution notices). @default the code */
  name?: string
  /** Base price (previous close, `stck_sdpr`); must be on the tick grid. */
  basePrice: number
  /** @default 'stock' */
  kind?: InstrumentKind
  /** @default 'KOSPI' */
  market?: 'KOSPI' | 'KOSDAQ'
  /** Probability that a simulated trade moves the price by at least one tick. @default 0.35 */
  volatility?: number
  /** Mean size (shares) of a simulated trade and of each book level. @default 200 */
  meanVolume?: number
  /**
   * A KOSPI200 constituent: its dynamic VI fires at 3 % instead of 6 %
   * (reference/krx-market-rules.md §4.2). @default false
   */
  kospi200?: boolean
  /**
   * Listed on Nextrade: real accounts may route it to `NXT` (and `SOR` may send it there). Off by
   * default because NXT lists a quarterly-chosen subset (about 650 names in 2026, mostly KOSPI200,
   * KOSDAQ150 and large caps; ETFs/ETNs unconfirmed), and reference/krx-market-rules.md §2.2 says
   * to reject NXT routing for ineligible symbols: a symbol is eligible only when marked so.
   * @default false
   */
  nxt?: boolean
}

/** Status flags returned by inquire-price and used by order checks (reference/krx-market-rules.md §4.5). */
export interface SymbolFlags {
  /** 거래정지: new orders rejected (`temp_stop_yn`, `TRHT_YN`). */
  halted: boolean
  /** VI in force: the symbol trades by call auction (reference/krx-market-rules.md §4.2). */
  vi: 'none' | 'static' | 'dynamic'
  /** `mrkt_warn_cls_code`: 00 none, 01 투자주의, 02 투자경고, 03 투자위험. */
  warning: '00' | '01' | '02' | '03'
  /** 공매도 과열종목 (`short_over_yn`): short sales (SLL_TYPE 05) rejected. */
  shortOverheated: boolean
  /** 단기과열 (`ovtm_vi_cls_code` stays "N"; exposed as `sltr_yn`? no — sim field `overheated`). */
  overheated: boolean
  /** 투자유의 (`invt_caful_yn`). */
  caution: boolean
}

/** One simulated trade print. */
export interface Trade {
  symbol: string
  at: number
  price: number
  qty: number
  /** 1 buy-initiated, 5 sell-initiated (H0STCNT0 CCLD_DVSN, reference §7.7 #21). */
  aggressor: '1' | '5'
}

/** The simulator's per-symbol market state. Read it through `control.quote()`. */
export interface SymbolState {
  readonly code: string
  name: string
  kind: InstrumentKind
  market: 'KOSPI' | 'KOSDAQ'
  base: number
  upper: number
  lower: number
  price: number
  open: number
  high: number
  low: number
  /** Time of the open / high / low prints (epoch ms, 0 = none yet). */
  openAt: number
  highAt: number
  lowAt: number
  volume: number
  turnover: number
  lastTradeQty: number
  lastAggressor: '1' | '5'
  buyCount: number
  sellCount: number
  buyVolume: number
  sellVolume: number
  /** Ask/bid ladders (10 levels each); price 0 = no level (beyond the daily limit). */
  askPrices: number[]
  askQty: number[]
  bidPrices: number[]
  bidQty: number[]
  flags: SymbolFlags
  volatility: number
  meanVolume: number
  readonly rng: RandomSource
  readonly kospi200: boolean
  /** NXT-eligible (see {@link SymbolConfig.nxt}). */
  nxt: boolean
  /**
   * The static VI's reference: the last single-price auction's price (before the open the base,
   * then the opening print, then each VI's uncross; reference/krx-market-rules.md §4.2).
   */
  staticRef: number
  /** When the VI in force ends (virtual epoch ms); 0 when none or when only the control API ends it. */
  viEndsAt: number
  /**
   * The synthetic book's levels are generated on first read after a change (see `ensureBook`),
   * from their own seed and the change count, so reading them or not never moves the price path.
   */
  readonly bookSeed: number
  bookStamp: number
  bookBuilt: number
  /** Previous day's volume (for ratios). */
  prevVolume: number
}

/** Builds a symbol's state; the price path is seeded by (seed, code). */
export function createSymbolState(config: SymbolConfig, seed: number): SymbolState {
  const kind = config.kind ?? 'stock'
  if (config.basePrice % tickSize(config.basePrice, kind) !== 0) {
    throw new RangeError(`kis-sim: basePrice ${config.basePrice} of ${config.code} is off the tick grid`)
  }
  const limits = dailyLimits(config.basePrice, kind)
  const s: SymbolState = {
    code: config.code,
    name: config.name ?? config.code,
    kind,
    market: config.market ?? 'KOSPI',
    base: config.basePrice,
    upper: limits.upper,
    lower: limits.lower,
    price: config.basePrice,
    open: 0,
    high: 0,
    low: 0,
    openAt: 0,
    highAt: 0,
    lowAt: 0,
    volume: 0,
    turnover: 0,
    lastTradeQty: 0,
    lastAggressor: '1',
    buyCount: 0,
    sellCount: 0,
    buyVolume: 0,
    sellVolume: 0,
    askPrices: [],
    askQty: [],
    bidPrices: [],
    bidQty: [],
    flags: {
      halted: false,
      vi: 'none',
      warning: '00',
      shortOverheated: false,
      overheated: false,
      caution: false,
    },
    volatility: config.volatility ?? 0.35,
    meanVolume: config.meanVolume ?? 200,
    rng: createRandom(hashString(config.code, seed)),
    kospi200: config.kospi200 ?? false,
    nxt: config.nxt ?? false,
    staticRef: config.basePrice,
    viEndsAt: 0,
    bookSeed: hashString(`${config.code}|book`, seed),
    bookStamp: 0,
    bookBuilt: -1,
    prevVolume: 0,
  }
  return s
}

/** Clamps a price into the daily band. */
export function clampToLimits(s: SymbolState, price: number): number {
  return Math.min(s.upper, Math.max(s.lower, price))
}

/**
 * The book changed (a print, a new price or limits): its 10+10 levels are regenerated around the
 * last price when next read. Most symbols of a big universe are never read between prints, and
 * building their books on every print was half the simulator's time.
 */
export function markBookStale(s: SymbolState): void {
  s.bookStamp++
}

/** Makes `s.askPrices`/`askQty`/`bidPrices`/`bidQty` current; call before reading them. */
export function ensureBook(s: SymbolState): SymbolState {
  if (s.bookBuilt === s.bookStamp) return s
  s.bookBuilt = s.bookStamp
  const rng = createRandom((s.bookSeed ^ Math.imul(s.bookStamp + 1, 0x9e3779b1)) >>> 0)
  const mean = s.meanVolume
  let ask = s.price
  let bid = s.price
  for (let i = 0; i < 10; i++) {
    // Walk the grid one tick at a time (each tick divides the next band's, so this stays on it).
    ask = ask === 0 ? 0 : tickUp(ask, s.kind)
    if (ask > s.upper) ask = 0
    s.askPrices[i] = ask
    s.askQty[i] = ask ? randomInt(rng, 1, mean * 2) : 0
    if (i > 0) bid = bid <= s.lower || bid <= 1 ? 0 : tickDown(bid, s.kind)
    if (bid !== 0 && bid < s.lower) bid = 0
    s.bidPrices[i] = bid
    s.bidQty[i] = bid ? randomInt(rng, 1, mean * 2) : 0
  }
  return s
}

/** Records a print in the day's statistics. */
export function recordTrade(
  s: SymbolState,
  price: number,
  qty: number,
  aggressor: '1' | '5',
  at: number,
): Trade {
  s.price = price
  if (s.open === 0) {
    s.open = price
    s.openAt = at
  }
  if (s.high === 0 || price > s.high) {
    s.high = price
    s.highAt = at
  }
  if (s.low === 0 || price < s.low) {
    s.low = price
    s.lowAt = at
  }
  s.volume += qty
  s.turnover += price * qty
  s.lastTradeQty = qty
  s.lastAggressor = aggressor
  if (aggressor === '1') {
    s.buyCount++
    s.buyVolume += qty
  } else {
    s.sellCount++
    s.sellVolume += qty
  }
  return { symbol: s.code, at, price, qty, aggressor }
}

/**
 * One step of the seeded random walk: moves 0–2 ticks on the grid, never outside the daily limit,
 * and prints a trade. Deterministic given the symbol's seed and the number of steps taken.
 */
export function randomStep(s: SymbolState, at: number): Trade {
  const r = s.rng.next()
  let dir = 0
  if (r < s.volatility / 2) dir = -1
  else if (r < s.volatility) dir = 1
  const size = s.rng.next() < 0.15 ? 2 : 1
  const next = clampToLimits(s, stepTicks(s.price, dir * size, s.kind))
  const qty = randomInt(s.rng, 1, s.meanVolume * 2)
  const aggressor: '1' | '5' = dir > 0 ? '1' : dir < 0 ? '5' : s.rng.next() < 0.5 ? '1' : '5'
  const t = recordTrade(s, next, qty, aggressor, at)
  markBookStale(s)
  return t
}

/**
 * One step of the same random walk while only Nextrade trades (its pre-market, and its after-market
 * before KRX's opens). The simulator keeps one price model per symbol for both venues, so the step
 * moves the symbol's price, but it is not a KRX print: the KRX day's statistics (open, high, low,
 * volume) and the H0STCNT0 feed do not see it (NXT's own feed, H0NXCNT0, is not simulated).
 */
export function nxtStep(s: SymbolState, at: number): Trade {
  const r = s.rng.next()
  let dir = 0
  if (r < s.volatility / 2) dir = -1
  else if (r < s.volatility) dir = 1
  const size = s.rng.next() < 0.15 ? 2 : 1
  s.price = clampToLimits(s, stepTicks(s.price, dir * size, s.kind))
  const qty = randomInt(s.rng, 1, s.meanVolume * 2)
  markBookStale(s)
  return { symbol: s.code, at, price: s.price, qty, aggressor: dir < 0 ? '5' : '1' }
}

/**
 * The midpoint of the synthetic best bid and ask (what 21/23/24 trade at, reference §5), or 0 when a
 * side is empty (at a daily limit). A 1-won spread has no whole-won midpoint: the simulator rounds it
 * down (how KRX prices that case is UNVERIFIED).
 */
export function midpointOf(s: SymbolState): number {
  ensureBook(s)
  const bid = s.bidPrices[0] ?? 0
  const ask = s.askPrices[0] ?? 0
  return bid > 0 && ask > 0 ? Math.floor((bid + ask) / 2) : 0
}

/** Starts a new trading day: the base becomes the last close and limits are recomputed. */
export function rollSymbolDay(s: SymbolState, traded: boolean): void {
  if (traded) {
    s.base = s.price
    s.prevVolume = s.volume
  }
  const limits = dailyLimits(s.base, s.kind)
  s.upper = limits.upper
  s.lower = limits.lower
  s.price = clampToLimits(s, s.price)
  s.staticRef = s.base
  s.viEndsAt = 0
  s.flags.vi = 'none'
  s.open = 0
  s.high = 0
  s.low = 0
  s.openAt = 0
  s.highAt = 0
  s.lowAt = 0
  if (traded) {
    s.volume = 0
    s.turnover = 0
    s.buyCount = 0
    s.sellCount = 0
    s.buyVolume = 0
    s.sellVolume = 0
  }
  markBookStale(s)
}
