import { addDays, kstDate, kstMidnight, kstMsOfDay, kstParts } from './kst'

/**
 * KRX weekday closures. reference/krx-market-rules.md §5.1 (2026, confirmed) and §5.2 (2027,
 * projected, UNVERIFIED until KRX's December notice). Dec 31 is handled by rule, not listed.
 */
export const KRX_HOLIDAYS: readonly string[] = [
  // 2026 (§5.1)
  '20260101',
  '20260216',
  '20260217',
  '20260218',
  '20260302',
  '20260501',
  '20260505',
  '20260525',
  '20260603',
  '20260717',
  '20260817',
  '20260924',
  '20260925',
  '20261005',
  '20261009',
  '20261225',
  // 2027 (§5.2, UNVERIFIED projection)
  '20270101',
  '20270208',
  '20270209',
  '20270301',
  '20270503',
  '20270505',
  '20270513',
  '20270719',
  '20270816',
  '20270914',
  '20270915',
  '20270916',
  '20271004',
  '20271011',
  '20271227',
]

/**
 * The day the 16:00–20:00 KRX after-market replaced the 16:00–18:00 single-price session
 * (reference/krx-market-rules.md §1.1, "Regime B starts 2026-09-14").
 */
export const REGIME_B_START = '20260914'

/** The day Nextrade (NXT) opened (reference/krx-market-rules.md §2: "launched 2025-03-04"). */
export const NXT_START = '20250304'

/** A per-date schedule change (reference/krx-market-rules.md §1.3: keep an override table by date). */
export interface SessionOverride {
  /** Market fully closed that day (temporary holiday). */
  closed?: boolean
  /** Shift of the morning sessions (pre-open close-price, opening auction, continuous start), minutes. */
  shiftOpenMinutes?: number
  /** Shift of the close (closing auction and later sessions), minutes. */
  shiftCloseMinutes?: number
}

/** Named trading sessions of one KRX day. Times are ms since 00:00 KST. */
export interface DaySchedule {
  date: string
  trading: boolean
  /** `A` until 2026-09-11 (16:00–18:00 single price), `B` from 2026-09-14 (16:00–20:00 after-market). */
  regime: 'A' | 'B'
  preClosePrice: readonly [number, number]
  openingAuction: readonly [number, number]
  continuous: readonly [number, number]
  closingAuction: readonly [number, number]
  /** [order entry start, matching start, end] */
  postClosePrice: readonly [number, number, number]
  singlePrice: readonly [number, number] | undefined
  afterMarket: readonly [number, number] | undefined
  /** Nextrade's sessions that day; `undefined` before {@link NXT_START}. */
  nxt: NxtSchedule | undefined
}

/**
 * Nextrade's sessions of one day, ms since 00:00 KST (reference/krx-market-rules.md §2.1). Between
 * them NXT pauses: 08:50–09:00:30 for the KRX opening auction, 15:20–15:30 for the KRX close.
 */
export interface NxtSchedule {
  /** 08:00–08:50, continuous; `undefined` on days whose open is delayed (krx-market-rules §1.3). */
  preMarket: readonly [number, number] | undefined
  /** 09:00:30–15:20, continuous. */
  main: readonly [number, number]
  /** 15:30–15:40: the after-market's opening call (orders collected, one uncross at the end). */
  afterCall: readonly [number, number]
  /** 15:40–20:00, continuous. */
  afterMarket: readonly [number, number]
}

/**
 * Where Nextrade stands at an instant (reference/krx-market-rules.md §2.1). `pause` is the gap
 * around the KRX auctions: resting orders stay, nothing trades.
 */
export type NxtPhase = 'pre-market' | 'pause' | 'main' | 'after-call' | 'after-market'

/** Which KRX session(s) accept orders at an instant. */
export type SessionPhase =
  | 'pre-close-price'
  | 'opening-auction'
  | 'continuous'
  | 'closing-auction'
  | 'post-close-price'
  | 'single-price'
  | 'after-market'

const H = 3_600_000
const M = 60_000

/** The trading calendar: holidays plus per-date overrides. */
export interface SessionCalendar {
  isTradingDay(date: string): boolean
  /** Business day for banks (weekday, not a public holiday); Dec 31 is one, yet the market is closed. */
  isBusinessDay(date: string): boolean
  schedule(date: string): DaySchedule
  /** Active sessions at an instant (the 08:30–08:40 window has two). */
  phasesAt(epochMs: number): SessionPhase[]
  /** Nextrade's phase at an instant; `undefined` outside its day (before 08:00, from 20:00, closed days). */
  nxtPhaseAt(epochMs: number): NxtPhase | undefined
  /** The `n`-th trading day after `date` (n ≥ 1); reference/krx-market-rules.md §8: T+2 skips closed days. */
  addTradingDays(date: string, n: number): string
  nextTradingDay(date: string): string
  previousTradingDay(date: string): string
}

/** Options of {@link createSessionCalendar}. */
export interface SessionCalendarOptions {
  /** Extra closed dates (`YYYYMMDD`). */
  extraHolidays?: readonly string[]
  /** Replaces {@link KRX_HOLIDAYS} entirely. */
  holidays?: readonly string[]
  overrides?: Readonly<Record<string, SessionOverride>>
}

/** Builds the KRX calendar (reference/krx-market-rules.md §1, §5). */
export function createSessionCalendar(options: SessionCalendarOptions = {}): SessionCalendar {
  const holidays = new Set([...(options.holidays ?? KRX_HOLIDAYS), ...(options.extraHolidays ?? [])])
  const overrides = options.overrides ?? {}
  const cache = new Map<string, DaySchedule>()

  const isBusinessDay = (date: string): boolean => {
    const wd = kstParts(kstMidnight(date) + 12 * H).weekday
    return wd !== 0 && wd !== 6 && !holidays.has(date)
  }

  const isYearEndClosure = (date: string): boolean => {
    // reference/krx-market-rules.md §5 / §1.3: Dec 31, or the nearest previous business day when
    // Dec 31 is not one, is closed.
    if (date.slice(4) === '1231') return true
    const year = date.slice(0, 4)
    let d = `${year}1231`
    while (!isBusinessDay(d)) d = addDays(d, -1)
    return d === date
  }

  const isTradingDay = (date: string): boolean =>
    isBusinessDay(date) && !isYearEndClosure(date) && !overrides[date]?.closed

  const isFirstTradingDayOfYear = (date: string): boolean => {
    if (!isTradingDay(date)) return false
    let d = `${date.slice(0, 4)}0101`
    while (!isTradingDay(d)) d = addDays(d, 1)
    return d === date
  }

  const schedule = (date: string): DaySchedule => {
    const hit = cache.get(date)
    if (hit) return hit
    const o = overrides[date] ?? {}
    // reference/krx-market-rules.md §1.3: the first trading day of the year opens at 10:00; the
    // pre-open close-price session moves to 09:30–09:40 (the auction window is UNVERIFIED).
    const open = (isFirstTradingDayOfYear(date) ? 60 : 0) + (o.shiftOpenMinutes ?? 0)
    const close = o.shiftCloseMinutes ?? 0
    const regime = date >= REGIME_B_START ? 'B' : 'A'
    const at = (h: number, m: number, shift: number): number => h * H + (m + shift) * M
    const s: DaySchedule = {
      date,
      trading: isTradingDay(date),
      regime,
      // reference/krx-market-rules.md §1.1 timetable
      preClosePrice: [at(8, 30, open), at(8, 40, open)],
      openingAuction: [at(8, 30, open), at(9, 0, open)],
      continuous: [at(9, 0, open), at(15, 20, close)],
      closingAuction: [at(15, 20, close), at(15, 30, close)],
      postClosePrice: [at(15, 30, close), at(15, 40, close), at(16, 0, close)],
      singlePrice: regime === 'A' ? [at(16, 0, close), at(18, 0, 0)] : undefined,
      afterMarket: regime === 'B' ? [at(16, 0, close), at(20, 0, 0)] : undefined,
      // reference/krx-market-rules.md §2.1 (the same in both regimes). §1.3: on the delayed-open
      // days (first trading day, CSAT) NXT runs no pre-market and its main market opens 30 s after
      // KRX's; the after-market call follows the shifted close and the day still ends at 20:00.
      nxt:
        date < NXT_START
          ? undefined
          : {
              preMarket: open === 0 ? [at(8, 0, 0), at(8, 50, 0)] : undefined,
              main: [at(9, 0, open) + 30_000, at(15, 20, close)],
              afterCall: [at(15, 30, close), at(15, 40, close)],
              afterMarket: [at(15, 40, close), at(20, 0, 0)],
            },
    }
    cache.set(date, s)
    return s
  }

  const within = (t: number, range: readonly [number, number] | undefined): boolean =>
    range !== undefined && t >= range[0] && t < range[1]

  return {
    isTradingDay,
    isBusinessDay,
    schedule,
    phasesAt(epochMs) {
      const date = kstDate(epochMs)
      const s = schedule(date)
      if (!s.trading) return []
      const t = kstMsOfDay(epochMs)
      const out: SessionPhase[] = []
      if (within(t, s.preClosePrice)) out.push('pre-close-price')
      if (within(t, s.openingAuction)) out.push('opening-auction')
      if (within(t, s.continuous)) out.push('continuous')
      if (within(t, s.closingAuction)) out.push('closing-auction')
      if (t >= s.postClosePrice[0] && t < s.postClosePrice[2]) out.push('post-close-price')
      if (within(t, s.singlePrice)) out.push('single-price')
      if (within(t, s.afterMarket)) out.push('after-market')
      return out
    },
    nxtPhaseAt(epochMs) {
      const s = schedule(kstDate(epochMs))
      const n = s.nxt
      if (!s.trading || !n) return undefined
      const t = kstMsOfDay(epochMs)
      if (within(t, n.preMarket)) return 'pre-market'
      if (within(t, n.main)) return 'main'
      if (within(t, n.afterCall)) return 'after-call'
      if (within(t, n.afterMarket)) return 'after-market'
      const first = n.preMarket?.[0] ?? n.main[0]
      return t >= first && t < n.afterMarket[1] ? 'pause' : undefined
    },
    addTradingDays(date, n) {
      let d = date
      for (let i = 0; i < n; i++) {
        d = addDays(d, 1)
        while (!isTradingDay(d)) d = addDays(d, 1)
      }
      return d
    },
    nextTradingDay(date) {
      let d = addDays(date, 1)
      while (!isTradingDay(d)) d = addDays(d, 1)
      return d
    },
    previousTradingDay(date) {
      let d = addDays(date, -1)
      for (let i = 0; i < 3660 && !isTradingDay(d); i++) d = addDays(d, -1)
      return d
    },
  }
}

/** Epoch ms of an ms-of-day offset on a KST date. */
export function atKst(date: string, msOfDay: number): number {
  return kstMidnight(date) + msOfDay
}
