import type { SessionCalendar, SessionPhase } from './calendar'
import type { SimClock, SimTimer } from './clock'
import { DAY_MS, kstDate, kstMidnight, kstMsOfDay, kstTime } from './kst'
import {
  clampToLimits,
  createSymbolState,
  ensureBook,
  markBookStale,
  randomStep,
  recordTrade,
  rollSymbolDay,
  type SymbolConfig,
  type SymbolState,
  type Trade,
} from './market'
import type { MessageKey } from './messages'
import { ORDER_TYPES, type OrderBookKind, type OrderTypeSpec } from './order-types'
import { isOnTickGrid } from './ticks'

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
   * The symbol then trades by call auction for `viDurationMs` and uncrosses at its price. `0`
   * turns them off (VI then only comes from `control.setSymbol`). The closing-auction and
   * after-hours rates (2 % / 4 %) and KRX's random end of about 30 s are not simulated.
   * @default 120000
   */
  viDurationMs?: number
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
  private readonly openBounds = new Map<string, { maxBuy: number; minSell: number }>()
  /**
   * Market-wide circuit breakers in force, by market (reference/krx-market-rules.md §4.3): stages
   * 1–2 halt every symbol of the market until `haltUntil`, then a call auction runs until
   * `auctionUntil` and uncrosses; stage 3 ends the market's day (`auctionUntil` = Infinity).
   */
  private readonly breakers = new Map<
    'KOSPI' | 'KOSDAQ',
    { stage: 1 | 2 | 3; haltUntil: number; auctionUntil: number }
  >()
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
      const segEnd = Math.min(next, target)
      if (sched.trading) this.runSteps(this.cursor, segEnd, target)
      this.cursor = segEnd
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
      for (const sym of this.symbols.values()) this.uncross(sym, at, 'regular', true)
      // reference/krx-market-rules.md §1.1 notes: regular-session orders do not carry over.
      this.expireBook('regular', at)
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
  }

  private runSteps(from: number, to: number, target: number): void {
    const phases = this.calendar.phasesAt(from)
    if (!phases.includes('continuous') && !phases.includes('after-market')) return
    const book: OrderBookKind = phases.includes('continuous') ? 'regular' : 'after-market'
    if (this.opts.priceModel !== 'random-walk') {
      this.closeVisDue(to, book)
      this.closeBreakersDue(to, book)
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
        if (!this.fireVi(sym, prev, at) && this.opts.fillModel === 'book') this.matchResting(sym, trade, book)
        this.emitBook(sym)
      }
    }
    // VIs and breakers whose end fell in steps a long clock jump skipped.
    this.closeVisDue(to, book)
    this.closeBreakersDue(to, book)
  }

  private rollDay(date: string): void {
    const prev = this.currentDate
    if (date <= prev) {
      this.currentDate = date
      return
    }
    const prevWasTrading = this.calendar.isTradingDay(prev)
    // A circuit breaker lasts the day at most.
    this.breakers.clear()
    // Anything still open belongs to a book that closed (reference/krx-market-rules.md §1.1 notes).
    const at = kstMidnight(date)
    for (const book of ['regular', 'pre-close', 'post-close', 'single-price', 'after-market'] as const) {
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

  private closedKey(at: number, env: SimEnv): MessageKey {
    const date = kstDate(at)
    const s = this.calendar.schedule(date)
    const t = kstMsOfDay(at)
    const start = env === 'paper' ? s.openingAuction[0] : s.preClosePrice[0]
    return s.trading && t < start ? 'MARKET_NOT_OPEN' : 'MARKET_CLOSED'
  }

  private validatePrice(sym: SymbolState, spec: OrderTypeSpec, price: number): MessageKey | undefined {
    switch (spec.price) {
      case 'limit':
      case 'conditional':
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
      case 'single-price':
        return price
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
    const ex = input.exchangeId.trim().toUpperCase()
    // reference §4.1: EXCG_ID_DVSN_CD empty → KRX; paper is KRX only. NXT is not simulated.
    if (ex !== '' && ex !== 'KRX' && !(ex === 'SOR' && acct.env === 'real')) {
      return { ok: false, key: 'EXCHANGE_NOT_SUPPORTED' }
    }
    const sym = this.symbols.get(input.symbol)
    if (!sym) return { ok: false, key: 'PRODUCT_NOT_FOUND' }
    if (!Number.isInteger(input.qty) || input.qty <= 0) return { ok: false, key: 'BAD_QUANTITY' }
    const phases = this.calendar.phasesAt(now)
    if (phases.length === 0) return { ok: false, key: this.closedKey(now, acct.env) }
    if (!this.acceptingBook(spec, phases)) {
      if (acct.env === 'paper') return { ok: false, key: this.closedKey(now, acct.env) }
      return { ok: false, key: 'ORDER_TYPE_NOT_IN_SESSION' }
    }
    // reference/krx-market-rules.md §4.3: a circuit breaker refuses new orders while it halts.
    const breaker = this.breakerState(sym.market, now)
    if (breaker === 'closed') return { ok: false, key: 'CB_CLOSED' }
    if (breaker === 'halt') return { ok: false, key: 'CB_HALT' }
    // reference/krx-market-rules.md §4.5: a halted symbol rejects new orders.
    if (sym.flags.halted) return { ok: false, key: 'HALTED' }
    const badPrice = this.validatePrice(sym, spec, input.price)
    if (badPrice) return { ok: false, key: badPrice }
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
    const priced = spec.price === 'limit' || spec.price === 'conditional' || spec.price === 'single-price'
    const order = this.createOrder({
      acct,
      trId: input.trId,
      kind: 'new',
      origOdno: '',
      side: input.side,
      symbol: sym.code,
      spec,
      price: priced ? input.price : 0,
      reservePrice,
      qty: input.qty,
      sllType: input.sllType,
      at: now,
      qtyAll: false,
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
      book: p.spec.book,
      sllType: p.sllType,
      fills: [],
      qtyAll: p.qtyAll,
      rejectReason: undefined,
      expiredAt: undefined,
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

  private boundsOf(symbol: string, list: readonly SimOrder[]): { maxBuy: number; minSell: number } {
    let b = this.openBounds.get(symbol)
    if (b) return b
    b = { maxBuy: Number.NEGATIVE_INFINITY, minSell: Number.POSITIVE_INFINITY }
    for (const o of list) {
      if (o.side === 'buy') b.maxBuy = Math.max(b.maxBuy, o.price === 0 ? Number.POSITIVE_INFINITY : o.price)
      else b.minSell = Math.min(b.minSell, o.price === 0 ? Number.NEGATIVE_INFINITY : o.price)
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
    const continuous = phases.includes('continuous') || phases.includes('after-market')
    if (continuous && !halted && this.opts.fillModel === 'book') this.matchOnEntry(order, sym, at)
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
      const trade = recordTrade(sym, p, q, buy ? '1' : '5', at)
      this.emitTrade(trade, sym)
    }
    this.emitBook(sym)
  }

  /** Resting orders meet a new print: buys at or above it, sells at or below it fill. */
  private matchResting(sym: SymbolState, trade: Trade, book: OrderBookKind): void {
    const list = this.open.get(sym.code)
    if (!list || list.length === 0) return
    const bounds = this.boundsOf(sym.code, list)
    if (trade.price > bounds.maxBuy && trade.price < bounds.minSell) return
    let avail = trade.qty
    for (const o of [...list]) {
      if (avail <= 0) break
      if (o.status !== 'open' || o.book !== book) continue
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
      if (o.status !== 'open' || o.book !== book) continue
      const ok = o.price === 0 || (o.side === 'buy' ? o.price >= px : o.price <= px)
      if (ok) this.applyFill(o, o.remaining, px, at, 'auction')
    }
  }

  private fillClosePriceBook(sym: SymbolState, book: OrderBookKind, at: number): void {
    if (this.opts.fillModel !== 'book') return
    for (const o of [...(this.open.get(sym.code) ?? [])]) {
      if (o.status === 'open' && o.book === book) this.applyFill(o, o.remaining, sym.price, at, 'auction')
    }
  }

  private expireBook(book: OrderBookKind, at: number): void {
    for (const list of this.open.values()) {
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
    const ex = input.exchangeId.trim().toUpperCase()
    if (ex !== '' && ex !== 'KRX' && !(ex === 'SOR' && acct.env === 'real')) {
      return { ok: false, key: 'EXCHANGE_NOT_SUPPORTED' }
    }
    // reference §4.2: already-filled quantity cannot be modified or cancelled, and neither can
    // quantity a still-unconfirmed modify/cancel has claimed (psbl_qty excludes it): a second cancel
    // while the first is pending has nothing left to cancel.
    const amendable = this.amendableQty(orig)
    if (amendable <= 0) return { ok: false, key: 'NOTHING_TO_AMEND' }
    const phases = this.calendar.phasesAt(now)
    if (phases.length === 0) return { ok: false, key: this.closedKey(now, acct.env) }
    const sym = this.symbols.get(orig.symbol)
    if (!sym) return { ok: false, key: 'PRODUCT_NOT_FOUND' }
    const qty = input.qtyAll ? amendable : input.qty
    if (!Number.isInteger(qty) || qty <= 0 || qty > amendable) return { ok: false, key: 'BAD_QUANTITY' }
    let spec = orig.spec
    let price = 0
    let reservePrice = orig.reservePrice
    if (input.kind === 'modify') {
      const next = ORDER_TYPES.get(input.ordDvsn)
      if (!next) return { ok: false, key: 'BAD_ORDER_TYPE' }
      if (acct.env === 'paper' && !next.paper) return { ok: false, key: 'PAPER_UNSUPPORTED' }
      if (!this.acceptingBook(next, phases) || next.book !== orig.book || next.cond !== '0') {
        return { ok: false, key: 'ORDER_TYPE_NOT_IN_SESSION' }
      }
      const badPrice = this.validatePrice(sym, next, input.price)
      if (badPrice) return { ok: false, key: badPrice }
      spec = next
      const priced = next.price === 'limit' || next.price === 'conditional' || next.price === 'single-price'
      price = priced ? input.price : 0
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
    if (book) this.fireVi(sym, prev, now)
    // A halted symbol or one in a VI's call auction matches nothing on a print.
    const trading =
      !sym.flags.halted && sym.flags.vi === 'none' && this.breakerState(sym.market, now) === 'none'
    if (book && trading && this.opts.fillModel === 'book') this.matchResting(sym, trade, book)
    this.emitBook(sym)
    return trade
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

  /**
   * Starts a VI when the print just made (`prev` → `sym.price`) crosses a threshold (see
   * `ExchangeOptions.viDurationMs`). The print stands; nothing rests against it: from here the
   * symbol is in a call auction. Returns whether a VI started.
   */
  private fireVi(sym: SymbolState, prev: number, at: number): boolean {
    const duration = this.opts.viDurationMs
    if (duration <= 0 || sym.flags.vi !== 'none' || prev <= 0) return false
    const dynamicRate = sym.kospi200 ? 0.03 : 0.06
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

/** Key of the accounts map. */
export function accountKey(cano: string, productCode: string): string {
  return `${cano}-${productCode}`
}
