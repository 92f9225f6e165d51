import type { SessionCalendar, SessionPhase } from './calendar'
import type { SimClock, SimTimer } from './clock'
import { DAY_MS, kstDate, kstMidnight, kstMsOfDay, kstTime } from './kst'
import {
  clampToLimits,
  createSymbolState,
  ensureBook,
  markBookStale,
  midpointOf,
  nxtStep,
  randomStep,
  recordTrade,
  rollSymbolDay,
  type SymbolConfig,
  type SymbolState,
  type Trade,
} from './market'
import type { MessageKey } from './messages'
import { ORDER_TYPES, type OrderBookKind, type OrderTypeSpec } from './order-types'
import { SIDECAR_DEFAULT_MS, type SidecarInfo, sidecarRefusal } from './sidecar'
import { isOnTickGrid } from './ticks'
import {
  CONSERVATIVE_NXT_SESSION_CODES,
  NXT_CODES,
  type NxtSession,
  type NxtSessionCodes,
  nxtAccepts,
  nxtContinuous,
  type OrderRoute,
  parseRoute,
  routeOrder,
  SOR_CODES,
  type Venue,
} from './venues'

/** `real` (실전) or `paper` (모의, VTS). */
export type SimEnv = 'real' | 'paper'

/** A starting position. */
export interface PositionSeed {
  symbol: string
  qty: number
  /** Average purchase price (KRW). @default the symbol's base price */
  avgPrice?: number
}

/** An account the simulator serves. */
export interface AccountConfig {
  /** First 8 digits of the account number (`CANO`). */
  cano: string
  /** `ACNT_PRDT_CD`. @default '01' */
  productCode?: string
  /** 계좌명 (execution notice ACNT_NAME). @default '홍길동' */
  name?: string
  /** Settled cash (예수금, `dnca_tot_amt`). @default 100_000_000 */
  cash?: number
  positions?: readonly PositionSeed[]
  /**
   * Every order of this account counts as program trading, so a sidecar holds it
   * (reference/krx-market-rules.md §4.4). KIS's order-cash has no program-trading field, hence an
   * account-level switch. @default false
   */
  programTrading?: boolean
}

/** One holding. */
export interface SimPosition {
  symbol: string
  qty: number
  /** pchs_amt: purchase amount of the current holding. */
  purchaseAmount: number
  /** Quantity reserved by open sell orders. */
  reservedSell: number
  todayBuyQty: number
  todaySellQty: number
  prevBuyQty: number
  prevSellQty: number
  /** A sold-out position stays listed (qty 0) until this date (reference §4.5: until D+2). */
  zeroUntil: string | undefined
}

/** The simulator's view of an account. */
export interface SimAccount {
  readonly cano: string
  readonly productCode: string
  readonly env: SimEnv
  readonly appkey: string
  readonly htsId: string
  readonly branch: string
  name: string
  /** 예수금 (dnca_tot_amt): settled cash. */
  settledCash: number
  /** Unsettled amounts: negative for buys, positive for sells, settling on `date` (T+2). */
  pending: { date: string; amount: number }[]
  /** Cash reserved by open buy orders. */
  reservedCash: number
  positions: Map<string, SimPosition>
  todayBuyAmount: number
  todaySellAmount: number
  prevBuyAmount: number
  prevSellAmount: number
  /** Its orders are program trading (see {@link AccountConfig.programTrading}). */
  programTrading: boolean
}

/** One execution of an order. */
export interface SimFill {
  at: number
  qty: number
  price: number
  /** How it happened: the simulated book, an auction, or `control.fill()`. */
  source: 'book' | 'auction' | 'forced'
}

/** Lifecycle of a simulated order record. */
export type SimOrderStatus =
  | 'open'
  | 'pending'
  | 'filled'
  | 'cancelled'
  | 'replaced'
  | 'expired'
  | 'rejected'
  | 'confirmed'

/** An order (new, modify or cancel) as the simulated broker sees it. */
export interface SimOrder {
  readonly odno: string
  readonly branch: string
  readonly date: string
  readonly time: string
  readonly createdAt: number
  readonly seq: number
  readonly appkey: string
  readonly env: SimEnv
  readonly cano: string
  readonly productCode: string
  readonly htsId: string
  readonly trId: string
  readonly kind: 'new' | 'modify' | 'cancel'
  /** Original order number for modify/cancel records, '' for new orders. */
  readonly origOdno: string
  readonly side: 'buy' | 'sell'
  readonly symbol: string
  ordDvsn: string
  spec: OrderTypeSpec
  /** Limit price; 0 for market-type orders. */
  price: number
  /** Price used to reserve buying power (limit, or the upper limit for price-less orders). */
  reservePrice: number
  qty: number
  filledQty: number
  filledAmount: number
  /** Quantity cancelled by a confirmed cancel (or an IOC/FOK remainder). */
  cancelledQty: number
  /** Quantity moved to a modify order. */
  movedQty: number
  /** Open quantity (may still fill). */
  remaining: number
  status: SimOrderStatus
  book: OrderBookKind
  sllType: string
  fills: SimFill[]
  /** For modify/cancel: whether the request said QTY_ALL_ORD_YN=Y. */
  qtyAll: boolean
  rejectReason: string | undefined
  /** When the remainder expired with its session (virtual epoch ms). */
  expiredAt: number | undefined
  /** `EXCG_ID_DVSN_CD` of the order (modify/cancel records inherit the original's). */
  readonly route: OrderRoute
  /** Where it trades: the route itself, or SOR's choice (reference §7.9 #19 reports both). */
  readonly venue: Venue
  /** CNDT_PRIC of a stop-limit (22), 0 otherwise (notice field 18, `stpm_cndt_pric`). */
  condPrice: number
  /** When a stop-limit's condition was met (virtual epoch ms); `undefined` while it sleeps. */
  stopTriggeredAt: number | undefined
  /** A sidecar holds the order unmatched until this instant (virtual epoch ms); 0 when not held. */
  suspendedUntil: number
}

/**
 * What the execution-notice stream is told (reference §7.9, §9 "Execution notice stream"):
 * `receipt` 접수 (ACPT_YN 1), `confirm` 확인 of a modify/cancel that took effect at the exchange
 * (ACPT_YN 2), `fill` 체결, `reject` 거부 (RFUS_YN 1), `ioc-cancel` IOC/FOK remainder (ACPT_YN 3).
 */
export interface ExchangeNotice {
  kind: 'receipt' | 'confirm' | 'fill' | 'reject' | 'ioc-cancel'
  order: SimOrder
  at: number
  /**
   * Fill quantity; for `confirm` the shares actually cancelled/moved; the order/cancelled quantity
   * for the other kinds.
   */
  qty: number
  price: number
}

/** Hooks the servers attach to. */
export interface ExchangeListener {
  notice?(n: ExchangeNotice): void
  trade?(t: Trade, s: SymbolState): void
  book?(s: SymbolState): void
  fill?(order: SimOrder, fill: SimFill): void
}

/** Options of the matching/market engine. */
export interface ExchangeOptions {
  /** Virtual ms between simulated trades per symbol. @default 1000 */
  tickIntervalMs?: number
  /** `random-walk` moves prices by itself; `static` only moves on `control.setPrice`. @default 'random-walk' */
  priceModel?: 'random-walk' | 'static'
  /** `book` fills against the simulated book; `manual` fills only through `control.fill`. @default 'book' */
  fillModel?: 'book' | 'manual'
  /** Only the last N steps of a long clock jump are simulated per symbol. @default 600 */
  maxCatchUpSteps?: number
  /**
   * Virtual delay between accepting a modify/cancel and confirming it. During it the original
   * can still fill (the cancel/replace race). @default 0
   */
  amendConfirmDelayMs?: number
  /** Reject modify/cancel when KRX_FWDG_ORD_ORGNO differs from the order's branch. @default true */
  strictBranch?: boolean
  /** First order number handed out. @default 1001 */
  firstOrderNo?: number
  /**
   * Volatility interruptions fired by prints (the price model's and `control.setPrice`'s),
   * reference/krx-market-rules.md §4.2: dynamic when a print moves ≥ 3 % (KOSPI200 constituents)
   * or ≥ 6 % from the previous print, static when it is ≥ 10 % from the last single-price auction.
   * The symbol then trades by call auction for `viDurationMs` and uncrosses at its price. In the
   * closing auction the dynamic rates are 2 % / 4 % and a VI extends that symbol's closing auction
   * (its uncross and the end of its regular orders wait for the VI); after-market rates are
   * `afterMarketViRates`. `0` turns them off (VI then only comes from `control.setSymbol`). KRX's
   * random end of about 30 s is not simulated.
   * @default 120000
   */
  viDurationMs?: number
  /**
   * Which ORD_DVSN codes each Nextrade session takes. reference/krx-market-rules.md §2.3: the split
   * is UNVERIFIED; the default is its conservative one (pre-market, after-market call and
   * after-market `00` only; main market `00`, `03`, `04`, `11`–`16`, `21`–`24`). Codes NXT never
   * takes (`01`, `02`, `05`–`07`) stay refused whatever is listed here.
   * @default CONSERVATIVE_NXT_SESSION_CODES
   */
  nxtSessionCodes?: Partial<Record<NxtSession, readonly string[]>>
  /**
   * A modify/cancel whose `EXCG_ID_DVSN_CD` names another venue than the original's (empty counts
   * as KRX, reference §4.2). The original's venue governs either way; `'reject'` refuses the request
   * (APBK0579 *sim*), `'ignore'` goes on as if the original's venue had been sent. What KIS does is
   * UNVERIFIED. For a SOR order both `SOR` and the venue it went to match.
   * @default 'reject'
   */
  amendVenueMismatch?: 'reject' | 'ignore'
  /**
   * How inquire-daily-ccld and inquire-psbl-rvsecncl show a SOR order (reference §4.4 lists the
   * `EXCG_ID_DVSN_CD` filter values KRX/NXT/SOR/ALL but not what SOR rows carry: UNVERIFIED).
   * `'sor'`: the row's exchange field says `SOR` and only the SOR (and ALL) filter selects it;
   * `'routed'`: the row says the venue it went to, and that venue's filter selects it (SOR still does).
   * @default 'sor'
   */
  sorInquiryVenue?: 'sor' | 'routed'
  /**
   * Dynamic VI rates in the KRX after-market (16:00–20:00), as fractions: reference/krx-market-rules.md
   * §4.2 says VI applies there but its rates are UNVERIFIED. The default is the continuous session's
   * (3 % for KOSPI200 constituents, 6 % for other stocks).
   * @default { kospi200: 0.03, other: 0.06 }
   */
  afterMarketViRates?: { kospi200: number; other: number }
  /**
   * A modify of a stop-limit (22) that stays 22 but sends no CNDT_PRIC: `'reject'` refuses it
   * (BAD_STOP_PRICE, as a new 22 without one), `'keep'` keeps the original's condition price.
   * reference §4.2 lists CNDT_PRIC as optional on order-rvsecncl without saying which; UNVERIFIED.
   * @default 'reject'
   */
  stopModifyWithoutCondPrice?: 'reject' | 'keep'
}

/** A business rejection (HTTP 200 with rt_cd "1"; reference §3.4, UNVERIFIED). */
export interface BizReject {
  ok: false
  key: MessageKey
}

/** Input of {@link Exchange.placeOrder}. */
export interface PlaceOrderInput {
  account: SimAccount
  trId: string
  side: 'buy' | 'sell'
  symbol: string
  ordDvsn: string
  qty: number
  price: number
  sllType: string
  exchangeId: string
  /** CNDT_PRIC (stop-limit condition price); `NaN` when unreadable. @default 0 */
  condPrice?: number
}

/** Input of {@link Exchange.amendOrder}. */
export interface AmendOrderInput {
  account: SimAccount
  trId: string
  kind: 'modify' | 'cancel'
  origOdno: string
  branch: string
  ordDvsn: string
  qty: number
  qtyAll: boolean
  price: number
  exchangeId: string
  /** CNDT_PRIC for a modify to a stop-limit (22). @default 0 */
  condPrice?: number
}

const pad10 = (n: number): string => String(n).padStart(10, '0')

/** Normalises an order number by numeric value (reference §9: inbound ORGN_ODNO may be un-padded). */
export function normalizeOdno(odno: string): string {
  const digits = odno.trim()
  if (!/^\d{1,10}$/.test(digits)) return ''
  return pad10(Number(digits))
}

/** Key of an order record: KIS order numbers restart every day, so the number alone is ambiguous. */
export function orderKey(date: string, odno: string): string {
  return `${date}|${odno}`
}

/**
 * The simulated broker + exchange: accounts, order records, the synthetic book and matching, the
 * session boundaries (auctions, expiries) and the day roll (settlement, sold-out positions).
 */
export class Exchange {
  readonly symbols = new Map<string, SymbolState>()
  readonly accounts = new Map<string, SimAccount>()
  /** Every order record of every day, keyed by {@link orderKey} (date, number). */
  readonly orders = new Map<string, SimOrder>()
  private readonly open = new Map<string, SimOrder[]>()
  /**
   * Per symbol, the most a resting buy bids and the least a resting sell asks (market-type orders
   * count as unbounded), recomputed after the symbol's open list changes: a trade between the two
   * cannot fill anything, so most trades skip the scan of a loaded book.
   */
  private readonly openBounds = new Map<string, { maxBuy: number; minSell: number; stops: boolean }>()
  /**
   * Market-wide circuit breakers in force, by market (reference/krx-market-rules.md §4.3): stages
   * 1–2 halt every symbol of the market until `haltUntil`, then a call auction runs until
   * `auctionUntil` and uncrosses; stage 3 ends the market's day (`auctionUntil` = Infinity).
   */
  private readonly breakers = new Map<
    'KOSPI' | 'KOSDAQ',
    { stage: 1 | 2 | 3; haltUntil: number; auctionUntil: number }
  >()
  /** Sidecars in force, by market (reference/krx-market-rules.md §4.4), with their release timers. */
  private readonly sidecars = new Map<'KOSPI' | 'KOSDAQ', SidecarInfo & { timer: SimTimer }>()
  /** Symbols whose closing auction a VI extended past 15:30, with the instant it ends. */
  private readonly extendedAuctions = new Map<string, number>()
  /** `<date>|<market>` of every sidecar started (at most one a day per market). */
  private readonly sidecarDays = new Set<string>()
  private readonly listeners = new Set<ExchangeListener>()
  private readonly opts: Required<ExchangeOptions>
  /** The next order number of each KST day (numbering restarts at `firstOrderNo` every day). */
  private readonly nextOrderNo = new Map<string, number>()
  private seq = 0
  private cursor: number
  private currentDate: string
  private readonly pendingAmends = new Map<string, SimTimer>()

  constructor(
    private readonly clock: SimClock,
    readonly calendar: SessionCalendar,
    private readonly seed: number,
    options: ExchangeOptions = {},
  ) {
    this.opts = {
      tickIntervalMs: options.tickIntervalMs ?? 1000,
      priceModel: options.priceModel ?? 'random-walk',
      fillModel: options.fillModel ?? 'book',
      maxCatchUpSteps: options.maxCatchUpSteps ?? 600,
      amendConfirmDelayMs: options.amendConfirmDelayMs ?? 0,
      strictBranch: options.strictBranch ?? true,
      firstOrderNo: options.firstOrderNo ?? 1001,
      viDurationMs: options.viDurationMs ?? 120_000,
      nxtSessionCodes: options.nxtSessionCodes ?? {},
      amendVenueMismatch: options.amendVenueMismatch ?? 'reject',
      sorInquiryVenue: options.sorInquiryVenue ?? 'sor',
      afterMarketViRates: options.afterMarketViRates ?? { kospi200: 0.03, other: 0.06 },
      stopModifyWithoutCondPrice: options.stopModifyWithoutCondPrice ?? 'reject',
    }
    this.cursor = clock.now()
    this.currentDate = kstDate(this.cursor)
  }

  get options(): Readonly<Required<ExchangeOptions>> {
    return this.opts
  }

  setOption<K extends keyof ExchangeOptions>(key: K, value: Required<ExchangeOptions>[K]): void {
    this.opts[key] = value
  }

  /** The Nextrade session matrix in force (the option over the conservative default). */
  get nxtCodes(): NxtSessionCodes {
    return { ...CONSERVATIVE_NXT_SESSION_CODES, ...this.opts.nxtSessionCodes }
  }

  /** The exchange field an inquiry row shows for `o` (see {@link ExchangeOptions.sorInquiryVenue}). */
  inquiryVenue(o: SimOrder): OrderRoute {
    return this.opts.sorInquiryVenue === 'routed' ? o.venue : o.route
  }

  subscribe(listener: ExchangeListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // ---------------------------------------------------------------- symbols and accounts

  addSymbol(config: SymbolConfig): SymbolState {
    const s = createSymbolState(config, this.seed)
    this.symbols.set(s.code, s)
    return s
  }

  addAccount(
    config: AccountConfig,
    owner: { env: SimEnv; appkey: string; htsId: string; branch: string },
  ): SimAccount {
    const acct: SimAccount = {
      cano: config.cano,
      productCode: config.productCode ?? '01',
      env: owner.env,
      appkey: owner.appkey,
      htsId: owner.htsId,
      branch: owner.branch,
      name: config.name ?? '홍길동',
      settledCash: config.cash ?? 100_000_000,
      pending: [],
      reservedCash: 0,
      positions: new Map(),
      todayBuyAmount: 0,
      todaySellAmount: 0,
      prevBuyAmount: 0,
      prevSellAmount: 0,
      programTrading: config.programTrading ?? false,
    }
    for (const p of config.positions ?? []) this.setPosition(acct, p)
    this.accounts.set(accountKey(acct.cano, acct.productCode), acct)
    return acct
  }

  account(cano: string, productCode = '01'): SimAccount | undefined {
    return this.accounts.get(accountKey(cano, productCode))
  }

  setPosition(acct: SimAccount, seed: PositionSeed): SimPosition {
    const avg = seed.avgPrice ?? this.symbols.get(seed.symbol)?.base ?? 0
    const existing = acct.positions.get(seed.symbol)
    const pos: SimPosition = existing ?? {
      symbol: seed.symbol,
      qty: 0,
      purchaseAmount: 0,
      reservedSell: 0,
      todayBuyQty: 0,
      todaySellQty: 0,
      prevBuyQty: 0,
      prevSellQty: 0,
      zeroUntil: undefined,
    }
    pos.qty = seed.qty
    pos.purchaseAmount = Math.round(avg * seed.qty)
    pos.zeroUntil = undefined
    acct.positions.set(seed.symbol, pos)
    return pos
  }

  /** D+2 cash (prvs_rcdl_excc_amt): settled cash plus every unsettled amount. */
  d2Cash(acct: SimAccount): number {
    let c = acct.settledCash
    for (const p of acct.pending) c += p.amount
    return c
  }

  /** D+1 cash (nxdy_excc_amt). */
  d1Cash(acct: SimAccount): number {
    const next = this.calendar.nextTradingDay(this.currentDate)
    let c = acct.settledCash
    for (const p of acct.pending) if (p.date <= next) c += p.amount
    return c
  }

  /** 주문가능현금: D+2 cash minus what open buys reserve. */
  orderableCash(acct: SimAccount): number {
    return Math.max(0, this.d2Cash(acct) - acct.reservedCash)
  }

  sellableQty(acct: SimAccount, symbol: string): number {
    const p = acct.positions.get(symbol)
    return p ? Math.max(0, p.qty - p.reservedSell) : 0
  }

  // ---------------------------------------------------------------- time

  /** Brings the market up to `target`: trades, matching, auctions, expiries, day rolls. */
  syncTo(target: number): void {
    if (target <= this.cursor) {
      if (target < this.cursor) {
        // The clock went backwards: nothing is undone; the day label follows the clock.
        this.cursor = target
        this.currentDate = kstDate(target)
      }
      return
    }
    for (let guard = 0; guard < 100_000 && this.cursor < target; guard++) {
      const date = kstDate(this.cursor)
      if (date !== this.currentDate) this.rollDay(date)
      const dayStart = kstMidnight(date)
      const sched = this.calendar.schedule(date)
      const bounds = sched.trading ? this.boundaries(date) : []
      const fromMs = this.cursor - dayStart
      let next = dayStart + DAY_MS
      let boundary: number | undefined
      for (const b of bounds) {
        if (b > fromMs) {
          next = dayStart + b
          boundary = b
          break
        }
      }
      // A closing auction a VI extended ends between the calendar's edges.
      for (const end of this.extendedAuctions.values()) {
        if (end > this.cursor && end < next) {
          next = end
          boundary = undefined
        }
      }
      const segEnd = Math.min(next, target)
      if (sched.trading) this.runSteps(this.cursor, segEnd, target)
      this.cursor = segEnd
      if (this.extendedAuctions.size > 0) this.closeExtendedAuctions(segEnd)
      if (boundary !== undefined && segEnd === dayStart + boundary) this.onBoundary(date, boundary)
      if (segEnd === dayStart + DAY_MS) this.rollDay(kstDate(segEnd))
    }
  }

  private boundaries(date: string): number[] {
    const s = this.calendar.schedule(date)
    const out = new Set<number>([
      s.preClosePrice[1],
      s.continuous[0],
      s.continuous[1],
      s.closingAuction[1],
      s.postClosePrice[1],
      s.postClosePrice[2],
    ])
    if (s.singlePrice) {
      // reference/krx-market-rules.md §1.1: a call auction every 10 minutes.
      for (let t = s.singlePrice[0] + 600_000; t <= s.singlePrice[1]; t += 600_000) out.add(t)
    }
    if (s.afterMarket) out.add(s.afterMarket[1])
    if (s.nxt) {
      // reference/krx-market-rules.md §2.1: Nextrade's own session edges.
      const n = s.nxt
      if (n.preMarket) out.add(n.preMarket[0]).add(n.preMarket[1])
      out.add(n.main[0]).add(n.main[1]).add(n.afterCall[0]).add(n.afterCall[1]).add(n.afterMarket[1])
    }
    return [...out].sort((a, b) => a - b)
  }

  private onBoundary(date: string, ms: number): void {
    const s = this.calendar.schedule(date)
    const at = kstMidnight(date) + ms
    if (ms === s.continuous[0]) {
      // Opening auction uncross (reference/krx-market-rules.md §1.1: single uncross at 09:00).
      for (const sym of this.symbols.values()) {
        this.uncross(sym, at, 'regular', true)
        sym.staticRef = sym.price
      }
    }
    if (ms === s.continuous[1]) {
      // reference/krx-market-rules.md §1.2: 02 converts to a market order for the closing auction.
      for (const list of this.open.values()) {
        for (const o of list) if (o.spec.price === 'conditional') o.price = 0
      }
    }
    if (ms === s.closingAuction[1]) {
      // reference/krx-market-rules.md §4.2: a VI extends an ongoing call auction, so a symbol whose
      // VI outlasts 15:30 closes when it ends; every other symbol uncrosses now (a VI that already
      // ran out ends with this uncross).
      const extended = new Set<string>()
      for (const sym of this.symbols.values()) {
        if (sym.flags.vi !== 'none' && sym.viEndsAt > at) {
          extended.add(sym.code)
          this.extendedAuctions.set(sym.code, sym.viEndsAt)
          continue
        }
        if (sym.flags.vi !== 'none' && sym.viEndsAt > 0) {
          sym.flags.vi = 'none'
          sym.viEndsAt = 0
        }
        this.uncross(sym, at, 'regular', true)
      }
      // reference/krx-market-rules.md §1.1 notes: regular-session orders do not carry over.
      this.expireBook('regular', at, extended)
    }
    if (ms === s.preClosePrice[1]) this.expireBook('pre-close', at)
    if (ms === s.postClosePrice[1]) {
      for (const sym of this.symbols.values()) this.fillClosePriceBook(sym, 'post-close', at)
    }
    if (ms === s.postClosePrice[2]) this.expireBook('post-close', at)
    if (s.singlePrice && ms > s.singlePrice[0] && ms <= s.singlePrice[1]) {
      for (const sym of this.symbols.values()) this.uncross(sym, at, 'single-price', false)
      if (ms === s.singlePrice[1]) this.expireBook('single-price', at)
    }
    if (s.afterMarket && ms === s.afterMarket[1]) this.expireBook('after-market', at)
    if (s.nxt && ms === s.nxt.afterCall[1]) {
      // The NXT after-market's opening call (15:30–15:40, krx-market-rules §2.1) uncrosses at the
      // symbol's price: one price model serves both venues.
      for (const sym of this.symbols.values()) if (sym.nxt) this.uncross(sym, at, 'nxt', false)
    }
    // krx-market-rules §2.1 "Other NXT rules": pre-market and main-market orders stay valid through
    // the after-market; everything in NXT's book expires at 20:00.
    if (s.nxt && ms === s.nxt.afterMarket[1]) this.expireBook('nxt', at)
  }

  private runSteps(from: number, to: number, target: number): void {
    const phases = this.calendar.phasesAt(from)
    const book: OrderBookKind | undefined = phases.includes('continuous')
      ? 'regular'
      : phases.includes('after-market')
        ? 'after-market'
        : undefined
    // Nextrade trades continuously in windows of its own too (08:00–08:50, 15:40–20:00).
    const nxtOpen = nxtContinuous(this.calendar.nxtPhaseAt(from))
    if (!book && !nxtOpen) return
    if (this.opts.priceModel !== 'random-walk') {
      if (book) {
        this.closeVisDue(to, book)
        this.closeBreakersDue(to, book)
      }
      return
    }
    if (!book) {
      this.runNxtOnlySteps(from, to, target)
      return
    }
    const ti = this.opts.tickIntervalMs
    const window = this.opts.maxCatchUpSteps * ti
    const start = Math.max(from, target - window)
    let k = Math.floor(start / ti) + 1
    const last = Math.floor(to / ti)
    for (; start < to && k <= last; k++) {
      const at = k * ti
      if (at <= from) continue
      // A step can land on an NXT edge (08:50, 09:00:30, 15:20): ask NXT's phase at the step itself.
      const nxtNow = nxtContinuous(this.calendar.nxtPhaseAt(at))
      for (const sym of this.symbols.values()) {
        if (sym.viEndsAt > 0 && at >= sym.viEndsAt) this.closeVi(sym, sym.viEndsAt, book)
        if (this.breakers.size > 0) {
          this.closeBreakersDue(at, book)
          if (this.breakerState(sym.market, at) !== 'none') continue
        }
        if (sym.flags.halted || sym.flags.vi !== 'none') continue
        const prev = sym.price
        const trade = randomStep(sym, at)
        this.emitTrade(trade, sym)
        const viSession = book === 'after-market' ? 'after-market' : 'continuous'
        if (!this.fireVi(sym, prev, at, viSession) && this.opts.fillModel === 'book') {
          this.matchResting(sym, trade, book)
          // One price model per symbol: NXT's book meets the same prints while NXT trades.
          if (nxtNow && sym.nxt) this.matchResting(sym, trade, 'nxt')
        }
        this.emitBook(sym)
      }
    }
    // VIs and breakers whose end fell in steps a long clock jump skipped.
    this.closeVisDue(to, book)
    this.closeBreakersDue(to, book)
  }

  /**
   * The random walk while only Nextrade trades: NXT-eligible symbols step (see `nxtStep`: the price
   * moves, no KRX print) and NXT's book meets each step. A KRX VI still in force when KRX stopped
   * trading ends quietly at its time (KRX's auction uncrossed with the session).
   */
  private runNxtOnlySteps(from: number, to: number, target: number): void {
    const ti = this.opts.tickIntervalMs
    const start = Math.max(from, target - this.opts.maxCatchUpSteps * ti)
    const last = Math.floor(to / ti)
    for (let k = Math.floor(start / ti) + 1; start < to && k <= last; k++) {
      const at = k * ti
      if (at <= from || !nxtContinuous(this.calendar.nxtPhaseAt(at))) continue
      for (const sym of this.symbols.values()) {
        if (!sym.nxt || sym.flags.halted) continue
        if (sym.viEndsAt > 0 && at >= sym.viEndsAt) {
          sym.flags.vi = 'none'
          sym.viEndsAt = 0
        }
        if (sym.flags.vi !== 'none') continue
        if (this.breakers.size > 0 && this.breakerState(sym.market, at) !== 'none') continue
        const trade = nxtStep(sym, at)
        if (this.opts.fillModel === 'book') this.matchResting(sym, trade, 'nxt')
      }
    }
  }

  private rollDay(date: string): void {
    const prev = this.currentDate
    if (date <= prev) {
      this.currentDate = date
      return
    }
    const prevWasTrading = this.calendar.isTradingDay(prev)
    // A circuit breaker lasts the day at most; so does a sidecar (its held orders expire below).
    this.breakers.clear()
    for (const sc of this.sidecars.values()) this.clock.clear(sc.timer)
    this.sidecars.clear()
    // Anything still open belongs to a book that closed (reference/krx-market-rules.md §1.1 notes).
    const at = kstMidnight(date)
    for (const book of [
      'regular',
      'pre-close',
      'post-close',
      'single-price',
      'after-market',
      'nxt',
    ] as const) {
      this.expireBook(book, at)
    }
    for (const sym of this.symbols.values()) rollSymbolDay(sym, prevWasTrading)
    for (const acct of this.accounts.values()) {
      const still: { date: string; amount: number }[] = []
      for (const p of acct.pending) {
        if (p.date <= date) acct.settledCash += p.amount
        else still.push(p)
      }
      acct.pending = still
      if (prevWasTrading) {
        acct.prevBuyAmount = acct.todayBuyAmount
        acct.prevSellAmount = acct.todaySellAmount
        acct.todayBuyAmount = 0
        acct.todaySellAmount = 0
      }
      for (const [code, pos] of acct.positions) {
        if (prevWasTrading) {
          pos.prevBuyQty = pos.todayBuyQty
          pos.prevSellQty = pos.todaySellQty
          pos.todayBuyQty = 0
          pos.todaySellQty = 0
        }
        // reference §4.5: sold-out positions stay (hldg_qty 0) until D+2.
        if (pos.qty === 0 && (pos.zeroUntil === undefined || pos.zeroUntil <= date))
          acct.positions.delete(code)
      }
    }
    this.currentDate = date
  }

  // ---------------------------------------------------------------- orders

  private newOrderNo(date: string): string {
    const n = this.nextOrderNo.get(date) ?? this.opts.firstOrderNo
    this.nextOrderNo.set(date, n + 1)
    return pad10(n)
  }

  /** The order record numbered `odno` on `date` (default: the exchange's current day). */
  order(odno: string, date: string = this.currentDate): SimOrder | undefined {
    return this.orders.get(orderKey(date, normalizeOdno(odno)))
  }

  private acceptingBook(spec: OrderTypeSpec, phases: SessionPhase[]): boolean {
    return spec.sessions.some((s) => phases.includes(s))
  }

  private closedKey(at: number, env: SimEnv, venue: Venue = 'KRX'): MessageKey {
    const date = kstDate(at)
    const s = this.calendar.schedule(date)
    const t = kstMsOfDay(at)
    const krxStart = env === 'paper' ? s.openingAuction[0] : s.preClosePrice[0]
    const start = venue === 'NXT' && s.nxt ? (s.nxt.preMarket?.[0] ?? s.nxt.main[0]) : krxStart
    return s.trading && t < start ? 'MARKET_NOT_OPEN' : 'MARKET_CLOSED'
  }

  /** Whether the order's venue is in its trading day, so that a modify/cancel can reach it. */
  private venueOpen(venue: Venue, at: number, krxPhases: readonly SessionPhase[]): boolean {
    // Nextrade takes cancels from its first session to 20:00, pauses included (UNVERIFIED: the
    // reference does not say what NXT does with a cancel during its pauses).
    return venue === 'NXT' ? this.calendar.nxtPhaseAt(at) !== undefined : krxPhases.length > 0
  }

  /** Whether `order`'s book matches continuously at `at`. */
  private continuousFor(order: SimOrder, at: number, phases: readonly SessionPhase[]): boolean {
    if (order.venue === 'NXT') return nxtContinuous(this.calendar.nxtPhaseAt(at))
    return phases.includes('continuous') || phases.includes('after-market')
  }

  /**
   * CNDT_PRIC of a stop-limit (reference §4.1: required for 22): a positive price on the tick grid
   * inside the daily limits (the same checks as a limit price).
   */
  private validStopPrice(sym: SymbolState, condPrice: number | undefined): boolean {
    const c = condPrice ?? 0
    return Number.isInteger(c) && c > 0 && isOnTickGrid(c, sym.kind) && c <= sym.upper && c >= sym.lower
  }

  private validatePrice(sym: SymbolState, spec: OrderTypeSpec, price: number): MessageKey | undefined {
    switch (spec.price) {
      case 'midpoint':
        // reference §5 gives no price rule for 21/23/24 (UNVERIFIED): "0" sends none; a price
        // caps the midpoint the order may trade at, and is checked like a limit price.
        if (price === 0) return undefined
        if (!Number.isInteger(price) || price < 0) return 'BAD_PRICE'
        if (!isOnTickGrid(price, sym.kind)) return 'BAD_TICK'
        return price > sym.upper || price < sym.lower ? 'PRICE_OUT_OF_LIMIT' : undefined
      case 'limit':
      case 'conditional':
      case 'stop-limit':
      case 'single-price': {
        if (!Number.isInteger(price) || price <= 0) return 'BAD_PRICE'
        if (!isOnTickGrid(price, sym.kind)) return 'BAD_TICK'
        if (price > sym.upper || price < sym.lower) return 'PRICE_OUT_OF_LIMIT'
        if (spec.price === 'single-price') {
          // reference/krx-market-rules.md §4.1: within ±10 % of today's close and the daily limit.
          if (price > sym.price * 1.1 || price < sym.price * 0.9) return 'PRICE_OUT_OF_LIMIT'
        }
        return undefined
      }
      case 'pre-close':
        // reference/krx-market-rules.md §4.1: close-price sessions have a fixed price.
        return price === 0 || price === sym.base ? undefined : 'BAD_PRICE'
      case 'post-close':
        return price === 0 || price === sym.price ? undefined : 'BAD_PRICE'
      default:
        // Price-less types: reference §5 says send "0"; python-kis sends a price for 03/04/15/16.
        return Number.isFinite(price) && price >= 0 ? undefined : 'BAD_PRICE'
    }
  }

  private reservePriceFor(sym: SymbolState, spec: OrderTypeSpec, price: number): number {
    switch (spec.price) {
      case 'limit':
      case 'conditional':
      case 'stop-limit':
      case 'single-price':
        return price
      case 'midpoint':
        return price > 0 ? price : sym.upper
      case 'pre-close':
        return sym.base
      case 'post-close':
        return sym.price
      default:
        // reference §4.1: "ORD_UNPR가 없는 주문은 상한가로 주문금액을 선정".
        return sym.upper
    }
  }

  /** reference §4.1 order-cash. Returns the accepted order or the business reject. */
  placeOrder(input: PlaceOrderInput): { ok: true; order: SimOrder } | BizReject {
    const now = this.clock.now()
    this.syncTo(now)
    const { account: acct } = input
    const spec = ORDER_TYPES.get(input.ordDvsn)
    if (!spec) return { ok: false, key: 'BAD_ORDER_TYPE' }
    if (acct.env === 'paper' && !spec.paper) return { ok: false, key: 'PAPER_UNSUPPORTED' }
    // reference §4.1: EXCG_ID_DVSN_CD empty → KRX; paper is KRX only.
    const route = parseRoute(input.exchangeId)
    if (!route || (acct.env === 'paper' && route !== 'KRX'))
      return { ok: false, key: 'EXCHANGE_NOT_SUPPORTED' }
    const sym = this.symbols.get(input.symbol)
    if (!sym) return { ok: false, key: 'PRODUCT_NOT_FOUND' }
    if (!Number.isInteger(input.qty) || input.qty <= 0) return { ok: false, key: 'BAD_QUANTITY' }
    const phases = this.calendar.phasesAt(now)
    const routed = routeOrder({
      route,
      spec,
      env: acct.env,
      nxtEligible: sym.nxt,
      krxPhases: phases,
      nxtPhase: this.calendar.nxtPhaseAt(now),
      nxtCodes: this.nxtCodes,
      closedKey: (venue) => this.closedKey(now, acct.env, venue),
    })
    if (!routed.ok) return routed
    // reference/krx-market-rules.md §4.3: a circuit breaker refuses new orders while it halts (on
    // NXT too: "CB and sidecar apply", §2.1).
    const breaker = this.breakerState(sym.market, now)
    if (breaker === 'closed') return { ok: false, key: 'CB_CLOSED' }
    if (breaker === 'halt') return { ok: false, key: 'CB_HALT' }
    // reference/krx-market-rules.md §4.5: a halted symbol rejects new orders.
    if (sym.flags.halted) return { ok: false, key: 'HALTED' }
    // krx-market-rules §4.1: NXT's limit is ±30 % of the KRX base, i.e. the same band.
    const badPrice = this.validatePrice(sym, spec, input.price)
    if (badPrice) return { ok: false, key: badPrice }
    if (spec.price === 'stop-limit' && !this.validStopPrice(sym, input.condPrice)) {
      return { ok: false, key: 'BAD_STOP_PRICE' }
    }
    // reference/krx-market-rules.md §6: short sales are banned on short-overheated symbols.
    if (input.side === 'sell' && input.sllType === '05' && sym.flags.shortOverheated) {
      return { ok: false, key: 'SHORT_SALE_BANNED' }
    }
    const reservePrice = this.reservePriceFor(sym, spec, input.price)
    if (input.side === 'buy') {
      if (input.qty * reservePrice > this.orderableCash(acct)) return { ok: false, key: 'INSUFFICIENT_CASH' }
    } else if (input.qty > this.sellableQty(acct, sym.code)) {
      return { ok: false, key: 'INSUFFICIENT_HOLDINGS' }
    }
    const order = this.createOrder({
      acct,
      trId: input.trId,
      kind: 'new',
      origOdno: '',
      side: input.side,
      symbol: sym.code,
      spec,
      price: keepsPrice(spec) ? input.price : 0,
      reservePrice,
      qty: input.qty,
      sllType: input.sllType,
      at: now,
      qtyAll: false,
      route,
      venue: routed.venue,
      condPrice: spec.price === 'stop-limit' ? (input.condPrice ?? 0) : 0,
    })
    this.reserve(order, order.qty)
    this.emitNotice({ kind: 'receipt', order, at: now, qty: order.qty, price: order.price })
    this.onEntry(order, sym, now, phases)
    return { ok: true, order }
  }

  private createOrder(p: {
    acct: SimAccount
    trId: string
    kind: SimOrder['kind']
    origOdno: string
    side: 'buy' | 'sell'
    symbol: string
    spec: OrderTypeSpec
    price: number
    reservePrice: number
    qty: number
    sllType: string
    at: number
    qtyAll: boolean
    route: OrderRoute
    venue: Venue
    condPrice: number
  }): SimOrder {
    const date = kstDate(p.at)
    const order: SimOrder = {
      odno: this.newOrderNo(date),
      branch: p.acct.branch,
      date,
      time: kstTime(p.at),
      createdAt: p.at,
      seq: this.seq++,
      appkey: p.acct.appkey,
      env: p.acct.env,
      cano: p.acct.cano,
      productCode: p.acct.productCode,
      htsId: p.acct.htsId,
      trId: p.trId,
      kind: p.kind,
      origOdno: p.origOdno,
      side: p.side,
      symbol: p.symbol,
      ordDvsn: p.spec.code,
      spec: p.spec,
      price: p.price,
      reservePrice: p.reservePrice,
      qty: p.qty,
      filledQty: 0,
      filledAmount: 0,
      cancelledQty: 0,
      movedQty: 0,
      remaining: p.kind === 'cancel' ? 0 : p.qty,
      status: p.kind === 'new' ? 'open' : 'pending',
      book: p.venue === 'NXT' ? 'nxt' : p.spec.book,
      sllType: p.sllType,
      fills: [],
      qtyAll: p.qtyAll,
      rejectReason: undefined,
      expiredAt: undefined,
      route: p.route,
      venue: p.venue,
      condPrice: p.condPrice,
      stopTriggeredAt: undefined,
      suspendedUntil: 0,
    }
    this.orders.set(orderKey(order.date, order.odno), order)
    return order
  }

  private reserve(order: SimOrder, qty: number): void {
    const acct = this.accountOf(order)
    if (order.side === 'buy') acct.reservedCash += qty * order.reservePrice
    else {
      const pos = acct.positions.get(order.symbol)
      if (pos) pos.reservedSell += qty
    }
  }

  private release(order: SimOrder, qty: number): void {
    const acct = this.accountOf(order)
    if (order.side === 'buy') acct.reservedCash = Math.max(0, acct.reservedCash - qty * order.reservePrice)
    else {
      const pos = acct.positions.get(order.symbol)
      if (pos) pos.reservedSell = Math.max(0, pos.reservedSell - qty)
    }
  }

  private accountOf(order: SimOrder): SimAccount {
    const acct = this.accounts.get(accountKey(order.cano, order.productCode))
    if (!acct) throw new Error(`kis-sim: account ${order.cano} vanished`)
    return acct
  }

  private addOpen(order: SimOrder): void {
    let list = this.open.get(order.symbol)
    if (!list) {
      list = []
      this.open.set(order.symbol, list)
    }
    list.push(order)
    this.openBounds.delete(order.symbol)
  }

  private removeOpen(order: SimOrder): void {
    const list = this.open.get(order.symbol)
    if (!list) return
    const i = list.indexOf(order)
    if (i >= 0) list.splice(i, 1)
    this.openBounds.delete(order.symbol)
  }

  private boundsOf(
    symbol: string,
    list: readonly SimOrder[],
  ): { maxBuy: number; minSell: number; stops: boolean } {
    let b = this.openBounds.get(symbol)
    if (b) return b
    b = { maxBuy: Number.NEGATIVE_INFINITY, minSell: Number.POSITIVE_INFINITY, stops: false }
    for (const o of list) {
      // Market-type, midpoint (it trades inside the spread) and sleeping stop-limit orders (any
      // print may wake them) never let a print skip the scan.
      const dormant = isDormantStop(o)
      if (dormant) b.stops = true
      const unbounded = o.price === 0 || o.spec.price === 'midpoint' || dormant
      if (o.side === 'buy') b.maxBuy = Math.max(b.maxBuy, unbounded ? Number.POSITIVE_INFINITY : o.price)
      else b.minSell = Math.min(b.minSell, unbounded ? Number.NEGATIVE_INFINITY : o.price)
    }
    this.openBounds.set(symbol, b)
    return b
  }

  /** Open orders of a symbol, oldest first. */
  openOrders(symbol?: string): SimOrder[] {
    if (symbol !== undefined) return [...(this.open.get(symbol) ?? [])]
    return [...this.open.values()].flat().sort((a, b) => a.seq - b.seq)
  }

  private onEntry(order: SimOrder, sym: SymbolState, at: number, phases: SessionPhase[]): void {
    this.addOpen(order)
    // reference/krx-market-rules.md §4.4: a sidecar holds program orders of its direction unmatched
    // (IOC/FOK included) until it ends; they then enter as if new (see `endSidecar`).
    const sc = this.sidecars.get(sym.market)
    if (sc && sc.direction === order.side && at < sc.endsAt && this.accountOf(order).programTrading) {
      order.suspendedUntil = sc.endsAt
      return
    }
    const halted = sym.flags.halted || sym.flags.vi !== 'none' || this.breakerState(sym.market, at) !== 'none'
    if (order.spec.book === 'pre-close') {
      // 05 trades at the previous close with time priority only; the simulator has the other side.
      if (this.opts.fillModel === 'book') this.applyFill(order, order.remaining, sym.base, at, 'auction')
      return
    }
    if (order.spec.book === 'post-close') {
      const s = this.calendar.schedule(kstDate(at))
      if (this.opts.fillModel === 'book' && kstMsOfDay(at) >= s.postClosePrice[1]) {
        this.applyFill(order, order.remaining, sym.price, at, 'auction')
      }
      return
    }
    const live = this.continuousFor(order, at, phases) && !halted
    if (isDormantStop(order)) {
      // A stop whose condition the last trade already meets wakes at once (whether KIS refuses such
      // an order instead is UNVERIFIED); otherwise it sleeps until a print meets it.
      if (!live || !stopConditionMet(order, sym.price)) return
      this.triggerStop(order, at)
    }
    if (live && this.opts.fillModel === 'book') {
      if (order.spec.price === 'midpoint') this.matchMidpointOnEntry(order, sym, at)
      else this.matchOnEntry(order, sym, at)
    }
    if (order.spec.cond !== '0' && order.remaining > 0) {
      // reference §9: IOC/FOK remainders are cancelled (notice ACPT_YN=3).
      const qty = order.remaining
      order.cancelledQty += qty
      order.remaining = 0
      this.release(order, qty)
      this.finish(order, 'cancelled')
      this.emitNotice({ kind: 'ioc-cancel', order, at, qty, price: order.price })
    }
  }

  /** Aggressive part of a new order against the synthetic book. */
  private matchOnEntry(order: SimOrder, sym: SymbolState, at: number): void {
    ensureBook(sym)
    const buy = order.side === 'buy'
    const prices = buy ? sym.askPrices : sym.bidPrices
    const qtys = buy ? sym.askQty : sym.bidQty
    let limit: number
    switch (order.spec.price) {
      case 'market':
        limit = buy ? sym.upper : sym.lower
        break
      case 'best':
        // 최유리: priced at the opposite best when it arrives.
        limit = prices[0] || (buy ? sym.upper : sym.lower)
        order.price = limit
        break
      case 'top': {
        // 최우선: priced at the own-side best; rests there.
        const own = buy ? sym.bidPrices[0] : sym.askPrices[0]
        order.price = own || sym.price
        return
      }
      default:
        limit = order.price
    }
    const crosses = (p: number): boolean => p > 0 && (buy ? p <= limit : p >= limit)
    if (order.spec.cond === '2') {
      // FOK: all or nothing against what is displayed.
      let avail = 0
      for (let i = 0; i < prices.length; i++) if (crosses(prices[i] ?? 0)) avail += qtys[i] ?? 0
      if (avail < order.remaining) return
    }
    for (let i = 0; i < prices.length && order.remaining > 0; i++) {
      const p = prices[i] ?? 0
      if (!crosses(p)) break
      const q = Math.min(order.remaining, qtys[i] ?? 0)
      if (q <= 0) continue
      qtys[i] = (qtys[i] ?? 0) - q
      this.applyFill(order, q, p, at, 'book')
      // An NXT execution is no KRX print (the KRX feed and day statistics do not see it).
      if (order.venue === 'KRX') this.emitTrade(recordTrade(sym, p, q, buy ? '1' : '5', at), sym)
    }
    this.emitBook(sym)
  }

  /**
   * A midpoint order (21/23/24, reference §5) on entry trades at the midpoint of the synthetic best
   * bid and ask, within its cap. The synthetic book holds no midpoint orders, so the simulator
   * stands in for them with as many shares as the opposite best level shows (a model, not a KRX
   * rule). FOK needs all of it. The execution is not printed: a midpoint may fall between ticks.
   */
  private matchMidpointOnEntry(order: SimOrder, sym: SymbolState, at: number): void {
    const mid = midpointOf(sym)
    if (mid <= 0 || !midpointWithinCap(order, mid)) return
    const qtys = order.side === 'buy' ? sym.askQty : sym.bidQty
    const avail = qtys[0] ?? 0
    if (order.spec.cond === '2' && avail < order.remaining) return
    const q = Math.min(order.remaining, avail)
    if (q <= 0) return
    qtys[0] = avail - q
    this.applyFill(order, q, mid, at, 'book')
    this.emitBook(sym)
  }

  /** A stop-limit's condition was met: from now on it is a limit order at ORD_UNPR. */
  private triggerStop(order: SimOrder, at: number): void {
    order.stopTriggeredAt = at
    this.openBounds.delete(order.symbol)
  }

  /**
   * Resting orders meet a new print: buys at or above it, sells at or below it fill. The print first
   * wakes the book's stop-limit orders whose condition it meets (they then fill like limits on this
   * same print); resting midpoint orders fill at the midpoint of the book around the print.
   */
  private matchResting(sym: SymbolState, trade: Trade, book: OrderBookKind): void {
    const list = this.open.get(sym.code)
    if (!list || list.length === 0) return
    const bounds = this.boundsOf(sym.code, list)
    if (trade.price > bounds.maxBuy && trade.price < bounds.minSell) return
    if (bounds.stops) {
      for (const o of list) {
        if (
          o.book === book &&
          o.suspendedUntil === 0 &&
          isDormantStop(o) &&
          stopConditionMet(o, trade.price)
        ) {
          this.triggerStop(o, trade.at)
        }
      }
    }
    let avail = trade.qty
    let mid = -1
    for (const o of [...list]) {
      if (avail <= 0) break
      if (o.status !== 'open' || o.book !== book || o.suspendedUntil > 0 || isDormantStop(o)) continue
      if (o.spec.price === 'midpoint') {
        if (mid < 0) mid = midpointOf(sym)
        if (mid <= 0 || !midpointWithinCap(o, mid)) continue
        const q = Math.min(o.remaining, avail)
        avail -= q
        this.applyFill(o, q, mid, trade.at, 'book')
        continue
      }
      const market = o.price === 0
      const fills = o.side === 'buy' ? market || trade.price <= o.price : market || trade.price >= o.price
      if (!fills) continue
      const q = Math.min(o.remaining, avail)
      avail -= q
      this.applyFill(o, q, market ? trade.price : o.price, trade.at, 'book')
    }
  }

  /** Call-auction uncross: every marketable order fills in full at the auction price. */
  private uncross(sym: SymbolState, at: number, book: OrderBookKind, print: boolean): void {
    if (sym.flags.halted) return
    const list = this.open.get(sym.code)
    if (print && this.opts.priceModel === 'random-walk') {
      const t = randomStep(sym, at)
      this.emitTrade(t, sym)
      this.emitBook(sym)
    }
    if (!list || this.opts.fillModel !== 'book') return
    const px = sym.price
    for (const o of [...list]) {
      if (o.status !== 'open' || o.book !== book || !auctionable(o)) continue
      const ok = o.price === 0 || (o.side === 'buy' ? o.price >= px : o.price <= px)
      if (ok) this.applyFill(o, o.remaining, px, at, 'auction')
    }
  }

  private fillClosePriceBook(sym: SymbolState, book: OrderBookKind, at: number): void {
    if (this.opts.fillModel !== 'book') return
    for (const o of [...(this.open.get(sym.code) ?? [])]) {
      if (o.status === 'open' && o.book === book && auctionable(o)) {
        this.applyFill(o, o.remaining, sym.price, at, 'auction')
      }
    }
  }

  /** Expires what is open in `book` (all symbols but `except`, or only `only`). */
  private expireBook(book: OrderBookKind, at: number, except?: ReadonlySet<string>, only?: string): void {
    for (const [code, list] of this.open) {
      if (except?.has(code) || (only !== undefined && code !== only)) continue
      for (const o of [...list]) {
        if (o.book !== book || o.status !== 'open') continue
        this.release(o, o.remaining)
        // UNVERIFIED how KIS reports an expired remainder; the simulator shows rmn_qty 0.
        o.remaining = 0
        o.expiredAt = at
        this.finish(o, 'expired')
      }
    }
  }

  private finish(order: SimOrder, status: SimOrderStatus): void {
    order.status = status
    this.removeOpen(order)
  }

  /** Applies one execution: order, account cash (T+2), position, notices. */
  private applyFill(
    order: SimOrder,
    qty: number,
    price: number,
    at: number,
    source: SimFill['source'],
  ): void {
    if (qty <= 0 || order.remaining <= 0) return
    const q = Math.min(qty, order.remaining)
    const acct = this.accountOf(order)
    const amount = q * price
    order.filledQty += q
    order.filledAmount += amount
    order.remaining -= q
    const settle = this.calendar.addTradingDays(kstDate(at), 2)
    let pos = acct.positions.get(order.symbol)
    if (order.side === 'buy') {
      acct.reservedCash = Math.max(0, acct.reservedCash - q * order.reservePrice)
      acct.pending.push({ date: settle, amount: -amount })
      acct.todayBuyAmount += amount
      if (!pos) pos = this.setPosition(acct, { symbol: order.symbol, qty: 0, avgPrice: 0 })
      pos.qty += q
      pos.purchaseAmount += amount
      pos.todayBuyQty += q
      pos.zeroUntil = undefined
    } else {
      acct.pending.push({ date: settle, amount })
      acct.todaySellAmount += amount
      if (pos) {
        const avg = pos.qty > 0 ? pos.purchaseAmount / pos.qty : 0
        pos.qty -= q
        pos.reservedSell = Math.max(0, pos.reservedSell - q)
        pos.purchaseAmount = pos.qty === 0 ? 0 : Math.round(pos.purchaseAmount - avg * q)
        pos.todaySellQty += q
        if (pos.qty === 0) pos.zeroUntil = settle
      }
    }
    const fill: SimFill = { at, qty: q, price, source }
    order.fills.push(fill)
    if (order.remaining === 0) this.finish(order, 'filled')
    for (const l of this.listeners) l.fill?.(order, fill)
    this.emitNotice({ kind: 'fill', order, at, qty: q, price })
  }

  /** reference §4.2 order-rvsecncl: a modify/cancel gets its own new ODNO linked by ORGN_ODNO. */
  amendOrder(input: AmendOrderInput): { ok: true; order: SimOrder } | BizReject {
    const now = this.clock.now()
    this.syncTo(now)
    const acct = input.account
    const orig = this.order(input.origOdno)
    if (!orig || orig.cano !== acct.cano || orig.productCode !== acct.productCode || orig.kind === 'cancel') {
      return { ok: false, key: 'ORIGINAL_NOT_FOUND' }
    }
    if (this.opts.strictBranch && input.branch.trim() !== '' && input.branch.trim() !== orig.branch) {
      return { ok: false, key: 'BRANCH_MISMATCH' }
    }
    // reference/krx-market-rules.md §4.3: cancels are accepted during a stage 1–2 halt; after
    // stage 3 nothing is.
    const origMarket = this.symbols.get(orig.symbol)?.market ?? 'KOSPI'
    const breaker = this.breakerState(origMarket, now)
    if (breaker === 'closed') return { ok: false, key: 'CB_CLOSED' }
    if (breaker === 'halt' && input.kind === 'modify') return { ok: false, key: 'CB_HALT' }
    // reference §4.2: EXCG_ID_DVSN_CD empty → KRX; paper KRX only. The original's venue governs
    // (orders never move between books); a request naming another venue is refused by default
    // (`amendVenueMismatch`, UNVERIFIED). For a SOR order, SOR and the venue it went to both match.
    const route = parseRoute(input.exchangeId)
    if (!route || (acct.env === 'paper' && route !== 'KRX'))
      return { ok: false, key: 'EXCHANGE_NOT_SUPPORTED' }
    if (this.opts.amendVenueMismatch === 'reject' && route !== orig.route && route !== orig.venue) {
      return { ok: false, key: 'VENUE_MISMATCH' }
    }
    // reference §4.2: already-filled quantity cannot be modified or cancelled, and neither can
    // quantity a still-unconfirmed modify/cancel has claimed (psbl_qty excludes it): a second cancel
    // while the first is pending has nothing left to cancel.
    const amendable = this.amendableQty(orig)
    if (amendable <= 0) return { ok: false, key: 'NOTHING_TO_AMEND' }
    const phases = this.calendar.phasesAt(now)
    if (!this.venueOpen(orig.venue, now, phases)) {
      return { ok: false, key: this.closedKey(now, acct.env, orig.venue) }
    }
    const sym = this.symbols.get(orig.symbol)
    if (!sym) return { ok: false, key: 'PRODUCT_NOT_FOUND' }
    const qty = input.qtyAll ? amendable : input.qty
    if (!Number.isInteger(qty) || qty <= 0 || qty > amendable) return { ok: false, key: 'BAD_QUANTITY' }
    let spec = orig.spec
    let price = 0
    let reservePrice = orig.reservePrice
    let condPrice = orig.condPrice
    if (input.kind === 'modify') {
      const next = ORDER_TYPES.get(input.ordDvsn)
      if (!next) return { ok: false, key: 'BAD_ORDER_TYPE' }
      if (acct.env === 'paper' && !next.paper) return { ok: false, key: 'PAPER_UNSUPPORTED' }
      // The modified order stays where the original is: the new code must suit that venue (and a
      // SOR order keeps to SOR's codes, reference §5).
      if (
        (orig.route === 'SOR' && !SOR_CODES.has(next.code)) ||
        (orig.venue === 'NXT' && !NXT_CODES.has(next.code))
      ) {
        return { ok: false, key: 'VENUE_ORDER_TYPE' }
      }
      if (orig.venue === 'NXT') {
        if (!nxtAccepts(this.nxtCodes, this.calendar.nxtPhaseAt(now), next.code) || next.cond !== '0') {
          return { ok: false, key: 'NXT_ORDER_TYPE_NOT_IN_SESSION' }
        }
      } else if (!this.acceptingBook(next, phases) || next.book !== orig.book || next.cond !== '0') {
        return { ok: false, key: 'ORDER_TYPE_NOT_IN_SESSION' }
      }
      const badPrice = this.validatePrice(sym, next, input.price)
      if (badPrice) return { ok: false, key: badPrice }
      const keepCond =
        this.opts.stopModifyWithoutCondPrice === 'keep' &&
        next.price === 'stop-limit' &&
        orig.spec.price === 'stop-limit' &&
        !input.condPrice
      const nextCond = keepCond ? orig.condPrice : (input.condPrice ?? 0)
      if (next.price === 'stop-limit' && !this.validStopPrice(sym, nextCond)) {
        return { ok: false, key: 'BAD_STOP_PRICE' }
      }
      spec = next
      price = keepsPrice(next) ? input.price : 0
      condPrice = next.price === 'stop-limit' ? nextCond : 0
      reservePrice = this.reservePriceFor(sym, next, input.price)
      if (orig.side === 'buy') {
        const extra = qty * (reservePrice - orig.reservePrice)
        if (extra > this.orderableCash(acct)) return { ok: false, key: 'INSUFFICIENT_CASH' }
      }
    }
    const amend = this.createOrder({
      acct,
      trId: input.trId,
      kind: input.kind,
      origOdno: orig.odno,
      side: orig.side,
      symbol: orig.symbol,
      spec,
      price: input.kind === 'cancel' ? orig.price : price,
      reservePrice,
      qty,
      sllType: orig.sllType,
      at: now,
      qtyAll: input.qtyAll,
      route: orig.route,
      venue: orig.venue,
      condPrice,
    })
    this.emitNotice({ kind: 'receipt', order: amend, at: now, qty, price: amend.price })
    const delay = this.opts.amendConfirmDelayMs
    if (delay <= 0) this.confirmAmend(amend)
    else {
      const key = orderKey(amend.date, amend.odno)
      const timer = this.clock.setTimeout(() => {
        this.pendingAmends.delete(key)
        this.syncTo(this.clock.now())
        this.confirmAmend(amend)
      }, delay)
      this.pendingAmends.set(key, timer)
    }
    return { ok: true, order: amend }
  }

  /**
   * What a new modify/cancel may still take from `orig` (psbl_qty, reference §4.3): the open
   * remainder minus what unconfirmed modify/cancel orders have already claimed.
   */
  amendableQty(orig: SimOrder): number {
    if (orig.status !== 'open' || orig.remaining <= 0) return 0
    let claimed = 0
    for (const key of this.pendingAmends.keys()) {
      const a = this.orders.get(key)
      if (a?.status === 'pending' && a.date === orig.date && a.origOdno === orig.odno) claimed += a.qty
    }
    return Math.max(0, orig.remaining - claimed)
  }

  /** Confirms a pending modify/cancel now (tests use it to end a race early). */
  confirmPendingAmend(odno: string): boolean {
    const key = orderKey(this.currentDate, normalizeOdno(odno))
    const timer = this.pendingAmends.get(key)
    const amend = this.orders.get(key)
    if (!timer || !amend) return false
    this.clock.clear(timer)
    this.pendingAmends.delete(key)
    this.confirmAmend(amend)
    return true
  }

  private confirmAmend(amend: SimOrder): void {
    const now = this.clock.now()
    const orig = this.orders.get(orderKey(amend.date, amend.origOdno))
    if (amend.status !== 'pending') return
    const available = orig && orig.status === 'open' ? orig.remaining : 0
    const qty = amend.qtyAll ? available : Math.min(amend.qty, available)
    if (!orig || qty <= 0) {
      // The original filled (or expired) before the exchange confirmed: the amend is refused.
      amend.status = 'rejected'
      amend.rejectReason = 'NOTHING_TO_AMEND'
      amend.remaining = 0
      this.emitNotice({ kind: 'reject', order: amend, at: now, qty: amend.qty, price: amend.price })
      return
    }
    amend.qty = qty
    orig.remaining -= qty
    this.release(orig, qty)
    if (amend.kind === 'cancel') {
      orig.cancelledQty += qty
      amend.cancelledQty = qty
      amend.status = 'confirmed'
      if (orig.remaining === 0) this.finish(orig, 'cancelled')
      // reference §7.9 #14 ACPT_YN 2 확인: the cancel took effect (when KIS sends it is UNVERIFIED).
      this.emitNotice({ kind: 'confirm', order: amend, at: now, qty, price: amend.price })
      return
    }
    orig.movedQty += qty
    if (orig.remaining === 0) this.finish(orig, 'replaced')
    amend.remaining = qty
    amend.status = 'open'
    this.reserve(amend, qty)
    // The 확인 precedes any fill of the modified order on entry (a fill notice of an order the
    // client has not yet seen confirmed would be out of order).
    this.emitNotice({ kind: 'confirm', order: amend, at: now, qty, price: amend.price })
    const sym = this.symbols.get(amend.symbol)
    if (sym) this.onEntry(amend, sym, now, this.calendar.phasesAt(now))
  }

  /**
   * Forces an execution on an open order (control API). `qty` defaults to the whole remainder,
   * `price` to the limit price (or the last price for market-type orders).
   */
  forceFill(odno: string, qty?: number, price?: number): SimOrder {
    const order = this.order(odno)
    if (!order) throw new Error(`kis-sim: no order ${odno}`)
    if (order.status !== 'open' || order.remaining <= 0) {
      throw new Error(`kis-sim: order ${order.odno} is ${order.status}; nothing to fill`)
    }
    const sym = this.symbols.get(order.symbol)
    const q = qty ?? order.remaining
    if (!Number.isInteger(q) || q <= 0 || q > order.remaining) {
      throw new RangeError(`kis-sim: fill qty ${q} must be 1..${order.remaining}`)
    }
    const px = price ?? (order.price > 0 ? order.price : (sym?.price ?? 0))
    this.applyFill(order, q, px, this.clock.now(), 'forced')
    return order
  }

  /** The exchange refuses an accepted open order (control API): reject notice, reservation released. */
  forceReject(odno: string): SimOrder {
    const order = this.order(odno)
    if (order?.status !== 'open') throw new Error(`kis-sim: no open order ${odno}`)
    const qty = order.remaining
    this.release(order, qty)
    order.remaining = 0
    order.rejectReason = 'FORCED'
    this.finish(order, 'rejected')
    this.emitNotice({ kind: 'reject', order, at: this.clock.now(), qty, price: order.price })
    return order
  }

  /** Moves a symbol's last price (control API); resting orders that cross fill. */
  setPrice(code: string, price: number, qty?: number): Trade {
    const sym = this.requireSymbol(code)
    const now = this.clock.now()
    this.syncTo(now)
    const p = clampToLimits(sym, price)
    const prev = sym.price
    const trade = recordTrade(sym, p, qty ?? sym.meanVolume, p >= prev ? '1' : '5', now)
    markBookStale(sym)
    this.emitTrade(trade, sym)
    const phases = this.calendar.phasesAt(now)
    const book: OrderBookKind | undefined = phases.includes('continuous')
      ? 'regular'
      : phases.includes('after-market')
        ? 'after-market'
        : undefined
    if (book) this.fireVi(sym, prev, now, book === 'after-market' ? 'after-market' : 'continuous')
    else if (phases.includes('closing-auction')) this.fireVi(sym, prev, now, 'closing-auction')
    // A halted symbol or one in a VI's call auction matches nothing on a print.
    const trading =
      !sym.flags.halted && sym.flags.vi === 'none' && this.breakerState(sym.market, now) === 'none'
    if (trading && this.opts.fillModel === 'book') {
      if (book) this.matchResting(sym, trade, book)
      // One price model per symbol: while NXT trades, its book meets the same print.
      if (sym.nxt && nxtContinuous(this.calendar.nxtPhaseAt(now))) this.matchResting(sym, trade, 'nxt')
    }
    this.emitBook(sym)
    return trade
  }

  /**
   * Starts a sidecar on `market` for program orders in `direction` (control API;
   * reference/krx-market-rules.md §4.4): for `durationMs` (default 5 minutes) new orders of accounts
   * marked `programTrading` in that direction are accepted but not matched; when it ends they enter
   * the market as if just placed. Unless `force`, the rules hold: once a day per market, not in the
   * first 5 minutes after the open nor in the last 40 before the close; otherwise this throws.
   */
  sidecar(
    market: 'KOSPI' | 'KOSDAQ',
    direction: 'buy' | 'sell',
    options: { durationMs?: number; force?: boolean } = {},
  ): SidecarInfo {
    const now = this.clock.now()
    this.syncTo(now)
    const duration = options.durationMs ?? SIDECAR_DEFAULT_MS
    if (!Number.isFinite(duration) || duration <= 0) {
      throw new RangeError(`kis-sim: sidecar durationMs must be > 0, got ${duration}`)
    }
    const dayKey = `${kstDate(now)}|${market}`
    if (!options.force) {
      const why = this.sidecars.has(market)
        ? 'a sidecar is already in force on this market'
        : sidecarRefusal(this.calendar.schedule(kstDate(now)), kstMsOfDay(now), this.sidecarDays.has(dayKey))
      if (why) throw new Error(`kis-sim: sidecar on ${market} refused: ${why} (force: true starts it anyway)`)
    }
    if (this.sidecars.has(market)) this.endSidecar(market)
    this.sidecarDays.add(dayKey)
    const info: SidecarInfo = { market, direction, startedAt: now, endsAt: now + duration }
    const timer = this.clock.setTimeout(() => this.endSidecar(market), duration)
    this.sidecars.set(market, { ...info, timer })
    return { ...info }
  }

  /** The sidecar in force on `market`, if any. */
  sidecarState(market: 'KOSPI' | 'KOSDAQ'): SidecarInfo | undefined {
    const sc = this.sidecars.get(market)
    return sc
      ? { market: sc.market, direction: sc.direction, startedAt: sc.startedAt, endsAt: sc.endsAt }
      : undefined
  }

  /** Ends `market`'s sidecar: the orders it held enter the market, oldest first, as if just placed. */
  private endSidecar(market: 'KOSPI' | 'KOSDAQ'): void {
    const sc = this.sidecars.get(market)
    if (!sc) return
    this.clock.clear(sc.timer)
    this.sidecars.delete(market)
    const at = Math.max(this.cursor, Math.min(sc.endsAt, this.clock.now()))
    const phases = this.calendar.phasesAt(at)
    for (const o of this.openOrders()) {
      if (o.suspendedUntil === 0) continue
      const sym = this.symbols.get(o.symbol)
      if (!sym || sym.market !== market) continue
      o.suspendedUntil = 0
      this.removeOpen(o)
      this.onEntry(o, sym, at, phases)
    }
  }

  /**
   * Fires a market-wide circuit breaker (control API; the simulator has no index to trigger one).
   * Stages 1–2: 20 minutes of halt (new orders and modifies refused, cancels accepted), then a
   * 10-minute call auction that uncrosses every symbol of the market. Stage 3: the market's day
   * ends; nothing is accepted, cancels included, and open orders expire with their sessions.
   */
  circuitBreaker(
    market: 'KOSPI' | 'KOSDAQ',
    stage: 1 | 2 | 3,
  ): { stage: number; haltUntil: number; auctionUntil: number } {
    const now = this.clock.now()
    this.syncTo(now)
    const b =
      stage === 3
        ? { stage, haltUntil: Number.POSITIVE_INFINITY, auctionUntil: Number.POSITIVE_INFINITY }
        : { stage, haltUntil: now + 20 * 60_000, auctionUntil: now + 30 * 60_000 }
    this.breakers.set(market, b)
    return { ...b }
  }

  /** The circuit-breaker state of `market` at `at`: halted, in its resuming auction, or none. */
  breakerState(
    market: 'KOSPI' | 'KOSDAQ',
    at: number = this.clock.now(),
  ): 'none' | 'halt' | 'auction' | 'closed' {
    const b = this.breakers.get(market)
    if (!b || at >= b.auctionUntil) return 'none'
    if (b.stage === 3) return 'closed'
    return at < b.haltUntil ? 'halt' : 'auction'
  }

  private closeBreakersDue(upTo: number, book: OrderBookKind): void {
    for (const [market, b] of this.breakers) {
      if (b.auctionUntil > upTo) continue
      this.breakers.delete(market)
      for (const sym of this.symbols.values()) {
        if (sym.market === market && sym.flags.vi === 'none') this.uncross(sym, b.auctionUntil, book, false)
      }
    }
  }

  /** Ends a VI (control API): the symbol's call auction uncrosses at the current price. */
  endVi(code: string): void {
    const sym = this.requireSymbol(code)
    const now = this.clock.now()
    const phases = this.calendar.phasesAt(now)
    if (phases.includes('continuous')) this.closeVi(sym, now, 'regular')
    else if (phases.includes('after-market')) this.closeVi(sym, now, 'after-market')
    else {
      sym.flags.vi = 'none'
      sym.viEndsAt = 0
    }
  }

  /** Closing auctions a VI extended past 15:30 that end by `upTo` uncross; their regular orders end. */
  private closeExtendedAuctions(upTo: number): void {
    for (const [code, end] of this.extendedAuctions) {
      if (end > upTo) continue
      this.extendedAuctions.delete(code)
      const sym = this.symbols.get(code)
      if (!sym) continue
      sym.flags.vi = 'none'
      sym.viEndsAt = 0
      this.uncross(sym, end, 'regular', true)
      sym.staticRef = sym.price
      this.expireBook('regular', end, undefined, code)
    }
  }

  /**
   * Starts a VI when the print just made (`prev` → `sym.price`) crosses a threshold (see
   * `ExchangeOptions.viDurationMs`; reference/krx-market-rules.md §4.2 gives the dynamic rate per
   * session: KOSPI200 constituents 3 % / closing auction 2 %, other stocks 6 % / 4 %). The print
   * stands; nothing rests against it: from here the symbol is in a call auction. Returns whether a
   * VI started.
   */
  private fireVi(
    sym: SymbolState,
    prev: number,
    at: number,
    session: 'continuous' | 'closing-auction' | 'after-market' = 'continuous',
  ): boolean {
    const duration = this.opts.viDurationMs
    if (duration <= 0 || sym.flags.vi !== 'none' || prev <= 0) return false
    const after = this.opts.afterMarketViRates
    const dynamicRate =
      session === 'closing-auction'
        ? sym.kospi200
          ? 0.02
          : 0.04
        : session === 'after-market'
          ? sym.kospi200
            ? after.kospi200
            : after.other
          : sym.kospi200
            ? 0.03
            : 0.06
    const moved = Math.abs(sym.price - prev) / prev
    const drift = sym.staticRef > 0 ? Math.abs(sym.price - sym.staticRef) / sym.staticRef : 0
    const kind = drift >= 0.1 ? 'static' : moved >= dynamicRate ? 'dynamic' : undefined
    if (!kind) return false
    sym.flags.vi = kind
    sym.viEndsAt = at + duration
    this.emitBook(sym)
    return true
  }

  private closeVisDue(upTo: number, book: OrderBookKind): void {
    for (const sym of this.symbols.values()) {
      if (sym.viEndsAt > 0 && sym.viEndsAt <= upTo) this.closeVi(sym, sym.viEndsAt, book)
    }
  }

  /** The VI's call auction uncrosses at the symbol's price, which becomes the static reference. */
  private closeVi(sym: SymbolState, at: number, book: OrderBookKind): void {
    sym.flags.vi = 'none'
    sym.viEndsAt = 0
    sym.staticRef = sym.price
    this.uncross(sym, at, book, false)
  }

  requireSymbol(code: string): SymbolState {
    const sym = this.symbols.get(code)
    if (!sym) throw new Error(`kis-sim: unknown symbol ${code}`)
    return sym
  }

  get today(): string {
    return this.currentDate
  }

  private emitNotice(n: ExchangeNotice): void {
    for (const l of this.listeners) l.notice?.(n)
  }

  private emitTrade(t: Trade, s: SymbolState): void {
    for (const l of this.listeners) l.trade?.(t, s)
  }

  private emitBook(s: SymbolState): void {
    for (const l of this.listeners) l.book?.(s)
  }
}

/**
 * Whether an order takes part in a call auction's uncross: not midpoint or sleeping stop-limit
 * orders (continuous trading only, krx-market-rules §1.2 note d), not orders a sidecar holds.
 */
function auctionable(o: SimOrder): boolean {
  return o.suspendedUntil === 0 && o.spec.price !== 'midpoint' && !isDormantStop(o)
}

/** A midpoint order's ORD_UNPR, when not 0, is the worst midpoint it accepts. */
function midpointWithinCap(o: SimOrder, mid: number): boolean {
  if (o.price <= 0) return true
  return o.side === 'buy' ? mid <= o.price : mid >= o.price
}

/** Whether ORD_UNPR is the order's price (a midpoint order's is its optional cap). */
function keepsPrice(spec: OrderTypeSpec): boolean {
  return (
    spec.price === 'limit' ||
    spec.price === 'conditional' ||
    spec.price === 'single-price' ||
    spec.price === 'stop-limit' ||
    spec.price === 'midpoint'
  )
}

/** A stop-limit (22) whose condition has not been met: it rests but cannot trade. */
export function isDormantStop(o: SimOrder): boolean {
  return o.spec.price === 'stop-limit' && o.stopTriggeredAt === undefined
}

/** reference §5 (22 스톱지정가): a buy wakes when the last trade is at or above CNDT_PRIC, a sell at or below. */
export function stopConditionMet(o: SimOrder, lastPrice: number): boolean {
  return o.side === 'buy' ? lastPrice >= o.condPrice : lastPrice <= o.condPrice
}

/** Key of the accounts map. */
export function accountKey(cano: string, productCode: string): string {
  return `${cano}-${productCode}`
}
