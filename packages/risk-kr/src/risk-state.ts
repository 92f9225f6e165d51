import type {
  BrokerOrder,
  BrokerOrderEvent,
  OrderBookSnapshot,
  Position,
  Quote,
  Side,
  Tick,
  TradingSession,
} from '@vellab/broker-gateway'
import type { AbuseGuards, AbuseGuardsInput } from './config'
import { AbuseGuardsSchema } from './config'
import type {
  AccountProfile,
  KillSwitchView,
  OpenOrder,
  ReviewApprovals,
  RiskContext,
  RiskRequest,
  ScopeExposure,
  SymbolActivity,
  SymbolReference,
  SymbolView,
} from './context'
import type { Holding } from './exposure'
import { ScopeBook } from './exposure'
import type { KstDay } from './kst'
import { kstDay, parseKstDate } from './kst'
import type { BrokerOpenFlag, KrxMarketRules } from './market-rules'
import { createKrxMarketRules } from './market-rules'
import { TimeRing } from './time-ring'

/** A recorded borrow (대차) that covers short sales (§6 item 2). */
export interface BorrowRecord {
  readonly lotId: string
  readonly lender: string
  readonly account: string
  readonly symbol: string
  readonly quantity: number
  /** Last day the borrow may back a sale, `YYYY-MM-DD` KST (borrows run at most 90 days, extendable; §6). */
  readonly expiresOn: string
}

/** Something a person should look at: emitted by `RiskState` when a guard trips on recorded flow. */
export type RiskAlert =
  | {
      readonly type: 'quote_cancel_burst'
      readonly symbol: string
      readonly at: number
      readonly throttledUntil: number
    }
  | {
      readonly type: 'auction_price_moved'
      readonly symbol: string
      readonly intentId: string
      readonly movePct: number
    }
  | {
      readonly type: 'layering_cancel_pattern'
      readonly symbol: string
      readonly intentId: string
      readonly at: number
    }

/** Options of `RiskState`. */
export interface RiskStateOptions {
  /** The kill-switch view the check reads (a `KillSwitchBoard`). */
  readonly killSwitches: KillSwitchView
  /** Human approvals for `review` reasons. @default none */
  readonly approvals?: ReviewApprovals
  /** Guard thresholds used while recording flow (H6, H10). Pass the gateway's `guards`. @default reference §7.3 */
  readonly guards?: AbuseGuardsInput
  /** Rule data (for tick sizes in H6's near-touch test). @default createKrxMarketRules() */
  readonly rules?: KrxMarketRules
  /** Receives alerts (H6 throttles, H8 patterns, H10 flags). @default none */
  readonly onAlert?: (alert: RiskAlert) => void
}

/** Extra facts about an order that the broker's view lacks, for `adoptOpenOrder` after a restart. */
export interface AdoptedOrderMeta {
  readonly intentId: string
  readonly strategyId: string
  readonly session: TradingSession
  readonly shortSale: boolean
}

type MutableOrder = { -readonly [K in keyof OpenOrder]: OpenOrder[K] }
interface OrderRecord extends MutableOrder {
  reservedQty: number
  reservedValue: number
  reservedPrice: number
  auctionRef: number | undefined
}

interface SymbolEntry extends SymbolView {
  ref: SymbolReference
  quote: Quote | undefined
  book: OrderBookSnapshot | undefined
  lastTrade: number | undefined
  previousDistinctTrade: number | undefined
  auction: { price: number; volume: number; at: number } | undefined
}

const RING = 256
const PAIR_RING = 32

/** A ring of (time, quantity) with running totals: "quantity after t" in O(events in the window). */
class QtyRing {
  readonly #at = new Float64Array(RING)
  readonly #qty = new Float64Array(RING)
  readonly #cum = new Float64Array(RING)
  #next = 0
  #size = 0
  total = 0
  push(at: number, qty: number): void {
    this.total += qty
    this.#at[this.#next] = at
    this.#qty[this.#next] = qty
    this.#cum[this.#next] = this.total
    this.#next = (this.#next + 1) % RING
    if (this.#size < RING) this.#size++
  }
  /** Quantity recorded after `since` (bounded by the ring's memory). */
  since(since: number): number {
    let i = this.#next
    for (let k = 0; k < this.#size; k++) {
      i = i === 0 ? RING - 1 : i - 1
      if (this.#at[i]! <= since) return this.total - this.#cum[i]!
    }
    if (this.#size < RING) return this.total
    // Everything remembered is inside the window: count from the oldest remembered entry.
    const oldest = this.#next
    return this.total - this.#cum[oldest]! + this.#qty[oldest]!
  }
  reset(): void {
    this.total = 0
    this.#next = 0
    this.#size = 0
  }
}

class ActivityEntry implements SymbolActivity {
  day: KstDay
  throttledUntil = Number.NEGATIVE_INFINITY
  messagesToday = 0
  fillsToday = 0
  filledQuantityToday = 0
  marketVolumeToday = 0
  lastCumulativeVolume: number | undefined
  readonly lastFillAt = { buy: Number.NEGATIVE_INFINITY, sell: Number.NEGATIVE_INFINITY }
  readonly messages = new TimeRing(RING)
  readonly nearTouch = new TimeRing(RING)
  readonly fastCancels = new TimeRing(RING)
  readonly smallThrough = new TimeRing(RING)
  readonly fills = new QtyRing()
  readonly volume = new QtyRing()
  readonly #pairAt = new Float64Array(PAIR_RING)
  readonly #pairPrice = new Float64Array(PAIR_RING)
  readonly #pairSide: Side[] = new Array<Side>(PAIR_RING).fill('buy')
  readonly #pairAccount: string[] = new Array<string>(PAIR_RING).fill('')
  #pairNext = 0
  #pairSize = 0

  constructor(day: KstDay) {
    this.day = day
  }

  messagesSince(since: number): number {
    return this.messages.countSince(since)
  }
  smallThroughOrdersSince(since: number): number {
    return this.smallThrough.countSince(since)
  }
  filledQuantitySince(since: number): number {
    return this.fills.since(since)
  }
  marketVolumeSince(since: number): number {
    return this.volume.since(since)
  }

  recordEntry(at: number, side: Side, price: number, account: string): void {
    const i = this.#pairNext
    this.#pairAt[i] = at
    this.#pairPrice[i] = price
    this.#pairSide[i] = side
    this.#pairAccount[i] = account
    this.#pairNext = (i + 1) % PAIR_RING
    if (this.#pairSize < PAIR_RING) this.#pairSize++
  }

  findPairing(side: Side, price: number, account: string, since: number): string | undefined {
    let i = this.#pairNext
    for (let k = 0; k < this.#pairSize; k++) {
      i = i === 0 ? PAIR_RING - 1 : i - 1
      if (this.#pairAt[i]! <= since) return undefined
      if (this.#pairSide[i] !== side && this.#pairPrice[i] === price && this.#pairAccount[i] !== account) {
        return this.#pairAccount[i]
      }
    }
    return undefined
  }

  rollDay(day: KstDay): void {
    this.day = day
    this.messagesToday = 0
    this.fillsToday = 0
    this.filledQuantityToday = 0
    this.marketVolumeToday = 0
    this.lastCumulativeVolume = undefined
    this.fills.reset()
    this.volume.reset()
  }
}

const EMPTY: readonly OpenOrder[] = []

/**
 * The live risk context: reference data, quotes, our open orders, positions, exposure and recent
 * activity, kept current from events. Implements `RiskContext`, so `gateway.check(request, state)`
 * reads it directly. Set the time with `advanceTo(now)` (the state never reads a clock), and feed
 * it what the broker and the order flow report:
 *
 * - reference data: `upsertAccount`, `upsertSymbol`, `addBorrow`;
 * - market data: `applyQuote`, `applyBook`, `applyTick`, `setAuctionIndicative`, `setCircuitBreaker`;
 * - our flow: `recordSent` (after a request passed `check` and was sent), `recordAck`, `applyOrderEvent`;
 * - the broker's books: `setPositions`, `adoptOpenOrder` (after a restart).
 */
export class RiskState implements RiskContext {
  now = 0
  readonly killSwitches: KillSwitchView
  readonly approvals: ReviewApprovals | undefined
  readonly guards: AbuseGuards
  readonly #rules: KrxMarketRules
  readonly #onAlert: ((alert: RiskAlert) => void) | undefined
  #day: KstDay = 0
  readonly #accounts = new Map<string, AccountProfile>()
  readonly #symbols = new Map<string, SymbolEntry>()
  readonly #positions = new Map<string, Map<string, Position>>()
  readonly #orders = new Map<string, OrderRecord>()
  readonly #byBrokerId = new Map<string, OrderRecord>()
  readonly #bySymbol = new Map<string, OrderRecord[]>()
  readonly #activity = new Map<string, ActivityEntry>()
  readonly #accountMessages = new Map<string, TimeRing>()
  readonly #global = new ScopeBook(RING)
  readonly #accountBooks = new Map<string, ScopeBook>()
  readonly #strategyBooks = new Map<string, ScopeBook>()
  readonly #symbolBooks = new Map<string, ScopeBook>()
  readonly #holders = new Map<string, Holding[]>()
  readonly #borrows = new Map<string, BorrowRecord[]>()
  readonly #shortUsed = new Map<string, number>()
  readonly #circuitBreakers = new Map<string, 0 | 1 | 2 | 3>()
  readonly #holidayMismatches = new Set<KstDay>()

  constructor(options: RiskStateOptions) {
    this.killSwitches = options.killSwitches
    this.approvals = options.approvals
    this.guards = AbuseGuardsSchema.parse(options.guards ?? {})
    this.#rules = options.rules ?? createKrxMarketRules()
    this.#onAlert = options.onAlert
  }

  // ---- RiskContext -------------------------------------------------------------------------

  account(account: string): AccountProfile | undefined {
    return this.#accounts.get(account)
  }
  symbol(symbol: string): SymbolView | undefined {
    return this.#symbols.get(symbol)
  }
  position(account: string, symbol: string): Position | undefined {
    return this.#positions.get(account)?.get(symbol)
  }
  openOrder(brokerOrderId: string): OpenOrder | undefined {
    return this.#byBrokerId.get(brokerOrderId)
  }
  openOrdersOn(symbol: string): readonly OpenOrder[] {
    return this.#bySymbol.get(symbol) ?? EMPTY
  }
  /**
   * The tick size at `price` for `symbol` on the KST day of `at` (default: this state's time), from
   * the same tick tables the risk checks use: undefined when the symbol is not known here or no table
   * covers that day. For callers that price off the wire (a trade print in another tick band than
   * the last quote), so their grid cannot disagree with the one orders are checked against.
   */
  tickSize(symbol: string, price: number, at: number = this.now): number | undefined {
    const e = this.#symbols.get(symbol)
    if (!e) return undefined
    return this.#rules.ticks.gridFor(e.ref.kind, kstDay(at))?.tickAt(price)
  }
  activity(symbol: string): SymbolActivity | undefined {
    // Daily counters of an earlier day are the reader's to ignore (compare `day`): reading never mutates.
    return this.#activity.get(symbol)
  }
  accountMessagesSince(account: string, since: number): number {
    return this.#accountMessages.get(account)?.countSince(since) ?? 0
  }
  globalExposure(): ScopeExposure {
    return this.#global
  }
  accountExposure(account: string): ScopeExposure | undefined {
    return this.#accountBooks.get(account)
  }
  strategyExposure(strategyId: string): ScopeExposure | undefined {
    return this.#strategyBooks.get(strategyId)
  }
  symbolExposure(symbol: string): ScopeExposure | undefined {
    return this.#symbolBooks.get(symbol)
  }
  borrowAvailable(account: string, symbol: string, day: KstDay): number {
    const key = `${account}\u0000${symbol}`
    const list = this.#borrows.get(key)
    if (!list) return 0
    let total = 0
    for (const b of list) if (parseKstDate(b.expiresOn) >= day) total += b.quantity
    let openShort = 0
    for (const o of this.openOrdersOn(symbol))
      if (o.shortSale && o.account === account) openShort += o.remainingQuantity
    return total - (this.#shortUsed.get(key) ?? 0) - openShort
  }
  circuitBreakerStage(market: 'KOSPI' | 'KOSDAQ' | 'KONEX'): 0 | 1 | 2 | 3 {
    return this.#circuitBreakers.get(market) ?? 0
  }
  holidayMismatch(day: KstDay): boolean {
    return this.#holidayMismatches.has(day)
  }

  // ---- time ----------------------------------------------------------------------------------

  /**
   * Move the state's clock to `now` (epoch ms). Crossing a KST midnight starts a new day: daily
   * counters and realized P&L reset, and today's P&L is measured from the current marks.
   */
  advanceTo(now: number): this {
    if (now < this.now) return this
    this.now = now
    const day = kstDay(now)
    if (day !== this.#day) {
      const first = this.#day === 0
      this.#day = day
      if (!first) {
        this.#global.rollDay()
        for (const m of [this.#accountBooks, this.#strategyBooks, this.#symbolBooks])
          for (const b of m.values()) b.rollDay()
        for (const a of this.#activity.values()) a.rollDay(day)
      }
    }
    return this
  }

  // ---- reference and market data -------------------------------------------------------------

  upsertAccount(profile: AccountProfile): void {
    this.#accounts.set(profile.account, profile)
  }

  upsertSymbol(ref: SymbolReference): void {
    const e = this.#symbols.get(ref.symbol)
    if (e) e.ref = ref
    else {
      this.#symbols.set(ref.symbol, {
        ref,
        quote: undefined,
        book: undefined,
        lastTrade: undefined,
        previousDistinctTrade: undefined,
        auction: undefined,
      })
    }
  }

  /** The broker's quote: base price, limits, tick and state flags (halt, VI, overheated…). */
  applyQuote(quote: Quote): void {
    const e = this.#requireSymbol(quote.symbol)
    e.quote = quote
    if (e.lastTrade === undefined) e.lastTrade = quote.lastPrice
    this.#mark(quote.symbol, quote.lastPrice)
  }

  applyBook(book: OrderBookSnapshot): void {
    this.#requireSymbol(book.symbol).book = book
  }

  /** A trade print: last/previous-distinct price (uptick rule), marks, market volume (H12). */
  applyTick(tick: Tick): void {
    const e = this.#requireSymbol(tick.symbol)
    if (e.lastTrade !== undefined && e.lastTrade !== tick.price) e.previousDistinctTrade = e.lastTrade
    e.lastTrade = tick.price
    const a = this.#activityFor(tick.symbol)
    const prev = a.lastCumulativeVolume
    const delta = prev === undefined ? tick.quantity : Math.max(0, tick.cumulativeVolume - prev)
    a.lastCumulativeVolume = tick.cumulativeVolume
    a.marketVolumeToday += delta
    a.volume.push(tick.at, delta)
    this.#mark(tick.symbol, tick.price)
  }

  /**
   * The indicative (expected) auction price and volume (§1.1, KIS `HOUR_CLS_CODE` B/C/D feeds).
   * The first update after one of our auction orders tells whether that order moved the price (H10).
   */
  setAuctionIndicative(
    symbol: string,
    indicative: { price: number; volume: number } | undefined,
    at: number,
  ): void {
    const e = this.#requireSymbol(symbol)
    e.auction = indicative ? { price: indicative.price, volume: indicative.volume, at } : undefined
    if (!indicative) return
    for (const o of this.#bySymbol.get(symbol) ?? []) {
      if (o.auctionRef === undefined) continue
      const movePct = (Math.abs(indicative.price - o.auctionRef) / o.auctionRef) * 100
      o.auctionRef = undefined
      if (movePct >= this.guards.h10.movedPct) {
        o.movedAuctionPrice = true
        this.#onAlert?.({ type: 'auction_price_moved', symbol, intentId: o.intentId, movePct })
      }
    }
  }

  setCircuitBreaker(market: 'KOSPI' | 'KOSDAQ' | 'KONEX', stage: 0 | 1 | 2 | 3): void {
    this.#circuitBreakers.set(market, stage)
  }

  /**
   * Record the broker's holiday answer (`chk-holiday.opnd_yn`: `'Y'`/`'N'` as KIS sends it, or a
   * boolean) for `date`. A disagreement with the calendar blocks trading on that day (§5); returns
   * whether they disagreed.
   */
  recordHolidayCheck(date: string, opndYn: BrokerOpenFlag): boolean {
    const mismatch = this.#rules.crossCheckHoliday(date, opndYn) !== undefined
    const day = parseKstDate(date)
    if (mismatch) this.#holidayMismatches.add(day)
    else this.#holidayMismatches.delete(day)
    return mismatch
  }

  addBorrow(record: BorrowRecord): void {
    const key = `${record.account}\u0000${record.symbol}`
    const list = this.#borrows.get(key) ?? []
    list.push(record)
    this.#borrows.set(key, list)
  }

  /**
   * The broker's positions for an account (authoritative for sellable quantities). Account, symbol
   * and global exposure follow the broker's quantities; differences are booked at the current mark.
   */
  setPositions(account: string, positions: readonly Position[]): void {
    const map = new Map<string, Position>()
    for (const p of positions) map.set(p.symbol, p)
    const previous = this.#positions.get(account)
    this.#positions.set(account, map)
    const symbols = new Set([...map.keys(), ...(previous?.keys() ?? [])])
    const accountBook = this.#bookFor(this.#accountBooks, account)
    for (const symbol of symbols) {
      const target = map.get(symbol)?.quantity ?? 0
      const current = accountBook.positionQuantity(symbol)
      const dq = target - current
      if (dq === 0) continue
      const p = map.get(symbol)
      const mark = this.#symbols.get(symbol)?.lastTrade ?? p?.lastPrice ?? p?.averagePrice ?? 0
      for (const book of [accountBook, this.#global, this.#bookFor(this.#symbolBooks, symbol)]) {
        book.trade(this.#holding(book, symbol, mark), dq, mark, false)
      }
    }
  }

  // ---- our order flow ------------------------------------------------------------------------

  /**
   * Record a request that passed `check` and was sent, at `at` (epoch ms). Counts messages and
   * orders for the rate, burst and ratio guards, and registers new orders as open (pending ack).
   */
  recordSent(request: RiskRequest, at: number): void {
    this.advanceTo(at)
    if (request.kind === 'new') {
      const i = request.intent
      const e = this.#symbols.get(i.symbol)
      const reservePrice = i.limitPrice ?? e?.quote?.upperLimit ?? e?.lastTrade ?? 0 // priceless buys reserve at the upper limit (§4.1)
      const o: OrderRecord = {
        intentId: i.intentId,
        brokerOrderId: undefined,
        account: i.account,
        strategyId: i.strategyId,
        symbol: i.symbol,
        side: i.side,
        orderType: i.orderType,
        timeInForce: i.timeInForce,
        venue: i.venue,
        session: i.session,
        shortSale: i.shortSale,
        limitPrice: i.limitPrice,
        quantity: i.quantity,
        remainingQuantity: i.quantity,
        enteredAt: at,
        movedAuctionPrice: false,
        reservedQty: 0,
        reservedValue: 0,
        reservedPrice: reservePrice,
        auctionRef: e?.auction?.price,
      }
      this.#addOrder(o)
      for (const b of this.#booksOf(o)) b.recordOrder(at)
      const a = this.#activityFor(i.symbol)
      this.#countMessage(a, i.account, at)
      if (i.limitPrice !== undefined) a.recordEntry(at, i.side, i.limitPrice, i.account)
      if (i.quantity <= this.guards.h13.smallQuantity && isThroughBest(i.side, i.limitPrice, e))
        a.smallThrough.push(at)
      return
    }
    const o = this.#byBrokerId.get(request.brokerOrderId)
    if (!o) return
    const a = this.#activityFor(o.symbol)
    this.#countMessage(a, o.account, at)
    const g = this.guards.h6
    if (this.#nearTouch(o)) a.nearTouch.push(at)
    if (request.kind === 'cancel') {
      if (at - o.enteredAt < g.fastCancelMs) a.fastCancels.push(at)
      const opposite = o.side === 'buy' ? a.lastFillAt.sell : a.lastFillAt.buy
      if (at - opposite <= this.guards.h8.windowMs) {
        this.#onAlert?.({ type: 'layering_cancel_pattern', symbol: o.symbol, intentId: o.intentId, at })
      }
    }
    if (
      a.nearTouch.countSince(at - g.windowMs) > g.maxNearTouchAmendCancels ||
      a.fastCancels.countSince(at - 60_000) > g.maxFastCancels
    ) {
      if (a.throttledUntil < at + g.throttleMs) {
        a.throttledUntil = at + g.throttleMs
        this.#onAlert?.({
          type: 'quote_cancel_burst',
          symbol: o.symbol,
          at,
          throttledUntil: a.throttledUntil,
        })
      }
    }
  }

  /** Link a sent order to the broker's order id (from the ack). */
  recordAck(intentId: string, brokerOrderId: string): void {
    const o = this.#orders.get(intentId)
    if (!o) return
    o.brokerOrderId = brokerOrderId
    this.#byBrokerId.set(brokerOrderId, o)
  }

  /**
   * Close an order this state holds as open that the order store says is not (or never was) open
   * at the broker: a request the broker refused (no order number), one found absent by
   * reconciliation, or one whose closing event this process never saw (a stream gap). Without
   * this such an order stays open here for the day, reserving cash and tripping the self-trade
   * guard against every order on the other side. Returns whether there was one.
   */
  closeOrder(intentId: string): boolean {
    const o = this.#orders.get(intentId)
    if (!o) return false
    this.#removeOrder(o)
    return true
  }

  /** Every order this state holds as open (for reconciling it with the order store). */
  openOrders(): readonly OpenOrder[] {
    return [...this.#orders.values()]
  }

  /**
   * An order that was open before a restart, from the broker's open orders plus what the local
   * order store knows about it.
   */
  adoptOpenOrder(order: BrokerOrder, meta: AdoptedOrderMeta): void {
    const e = this.#symbols.get(order.symbol)
    const o: OrderRecord = {
      intentId: meta.intentId,
      brokerOrderId: order.brokerOrderId,
      account: order.account,
      strategyId: meta.strategyId,
      symbol: order.symbol,
      side: order.side,
      orderType: order.orderType,
      timeInForce: order.timeInForce,
      venue: order.venue,
      session: meta.session,
      shortSale: meta.shortSale,
      limitPrice: order.limitPrice,
      quantity: order.quantity,
      remainingQuantity: order.remainingQuantity,
      enteredAt: order.submittedAt,
      movedAuctionPrice: false,
      reservedQty: 0,
      reservedValue: 0,
      reservedPrice: order.limitPrice ?? e?.quote?.upperLimit ?? 0,
      auctionRef: undefined,
    }
    this.#addOrder(o)
    this.#byBrokerId.set(order.brokerOrderId, o)
  }

  /** A broker order event: fills move positions, P&L and activity; terminal events close the order. */
  applyOrderEvent(event: BrokerOrderEvent): void {
    this.advanceTo(event.at)
    const o = this.#byBrokerId.get(event.brokerOrderId)
    if (!o) return
    switch (event.type) {
      case 'filled': {
        const filledBefore = o.quantity - o.remainingQuantity
        const qty = Math.min(event.fillQuantity, Math.max(0, event.cumulativeQuantity - filledBefore))
        if (qty <= 0) return // a replayed fill: cumulative quantity already applied
        const signed = o.side === 'buy' ? qty : -qty
        for (const b of this.#booksOf(o))
          b.trade(this.#holding(b, o.symbol, event.fillPrice), signed, event.fillPrice, true)
        o.remainingQuantity = Math.max(0, o.quantity - event.cumulativeQuantity)
        this.#reserve(o)
        if (o.shortSale) {
          const key = `${o.account}\u0000${o.symbol}`
          this.#shortUsed.set(key, (this.#shortUsed.get(key) ?? 0) + qty)
        }
        const a = this.#activityFor(o.symbol)
        a.fillsToday++
        a.filledQuantityToday += qty
        a.fills.push(event.at, qty)
        a.lastFillAt[o.side] = event.at
        if (o.remainingQuantity === 0) this.#removeOrder(o)
        return
      }
      case 'canceled':
      case 'expired':
      case 'rejected':
        this.#removeOrder(o)
        return
      case 'replaced': {
        this.#byBrokerId.delete(o.brokerOrderId ?? '')
        o.brokerOrderId = event.newBrokerOrderId
        this.#byBrokerId.set(event.newBrokerOrderId, o)
        if (event.limitPrice !== undefined) {
          o.limitPrice = event.limitPrice
          o.reservedPrice = event.limitPrice
        }
        if (event.quantity !== undefined) {
          const filled = o.quantity - o.remainingQuantity
          o.remainingQuantity = Math.min(o.remainingQuantity, event.quantity)
          o.quantity = filled + o.remainingQuantity
        }
        this.#reserve(o)
        return
      }
      case 'accepted':
        return
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  #requireSymbol(symbol: string): SymbolEntry {
    const e = this.#symbols.get(symbol)
    if (!e) {
      throw new RangeError(`RiskState: no reference data for ${symbol}; call upsertSymbol first`)
    }
    return e
  }

  #activityFor(symbol: string): ActivityEntry {
    const day = kstDay(this.now)
    let a = this.#activity.get(symbol)
    if (!a) {
      a = new ActivityEntry(day)
      this.#activity.set(symbol, a)
    } else if (a.day !== day) a.rollDay(day)
    return a
  }

  #countMessage(a: ActivityEntry, account: string, at: number): void {
    a.messages.push(at)
    a.messagesToday++
    let ring = this.#accountMessages.get(account)
    if (!ring) {
      ring = new TimeRing(RING)
      this.#accountMessages.set(account, ring)
    }
    ring.push(at)
  }

  #nearTouch(o: OrderRecord): boolean {
    if (o.limitPrice === undefined) return true // priceless orders sit at the touch by construction
    const e = this.#symbols.get(o.symbol)
    if (!e) return false
    const grid = this.#rules.ticks.gridFor(e.ref.kind, kstDay(this.now))
    const tick = grid?.tickAt(o.limitPrice) ?? 1
    const band = this.guards.h6.nearTouchTicks * tick
    const p = o.limitPrice
    const bid = e.book?.bids[0]?.price
    const ask = e.book?.asks[0]?.price
    return (
      (bid !== undefined && Math.abs(p - bid) <= band) ||
      (ask !== undefined && Math.abs(p - ask) <= band) ||
      (e.lastTrade !== undefined && Math.abs(p - e.lastTrade) <= band)
    )
  }

  #bookFor(map: Map<string, ScopeBook>, key: string): ScopeBook {
    let b = map.get(key)
    if (!b) {
      b = new ScopeBook(RING)
      map.set(key, b)
    }
    return b
  }

  #booksOf(o: { account: string; strategyId: string; symbol: string }): ScopeBook[] {
    return [
      this.#global,
      this.#bookFor(this.#accountBooks, o.account),
      this.#bookFor(this.#strategyBooks, o.strategyId),
      this.#bookFor(this.#symbolBooks, o.symbol),
    ]
  }

  #holding(book: ScopeBook, symbol: string, mark: number): Holding {
    let h = book.holdings.get(symbol)
    if (!h) {
      const m = this.#symbols.get(symbol)?.lastTrade ?? mark
      h = { book, symbol, qty: 0, costRef: m, mark: m }
      book.holdings.set(symbol, h)
      let list = this.#holders.get(symbol)
      if (!list) {
        list = []
        this.#holders.set(symbol, list)
      }
      list.push(h)
    }
    return h
  }

  #mark(symbol: string, price: number): void {
    const list = this.#holders.get(symbol)
    if (!list) return
    for (const h of list) if (h.mark !== price) h.book.remark(h, price)
  }

  #addOrder(o: OrderRecord): void {
    this.#orders.set(o.intentId, o)
    let list = this.#bySymbol.get(o.symbol)
    if (!list) {
      list = []
      this.#bySymbol.set(o.symbol, list)
    }
    list.push(o)
    this.#reserve(o)
  }

  #removeOrder(o: OrderRecord): void {
    o.remainingQuantity = 0
    this.#reserve(o)
    this.#orders.delete(o.intentId)
    if (o.brokerOrderId !== undefined) this.#byBrokerId.delete(o.brokerOrderId)
    const list = this.#bySymbol.get(o.symbol)
    if (list) {
      const i = list.indexOf(o)
      if (i >= 0) list.splice(i, 1)
    }
  }

  /** Bring the books' open-buy reservation for `o` in line with its remaining quantity. */
  #reserve(o: OrderRecord): void {
    if (o.side !== 'buy') return
    const dq = o.remainingQuantity - o.reservedQty
    const value = o.remainingQuantity * o.reservedPrice
    const dv = value - o.reservedValue
    if (dq === 0 && dv === 0) return
    for (const b of this.#booksOf(o)) b.reserveBuy(o.symbol, dq, dv)
    o.reservedQty = o.remainingQuantity
    o.reservedValue = value
  }
}

/** H13: a buy at or above the best ask, or a sell at or below the best bid (or priceless). */
function isThroughBest(side: Side, price: number | undefined, e: SymbolEntry | undefined): boolean {
  if (price === undefined) return true
  const book = e?.book
  if (!book) return false
  if (side === 'buy') {
    const ask = book.asks[0]?.price
    return ask !== undefined && price >= ask
  }
  const bid = book.bids[0]?.price
  return bid !== undefined && price <= bid
}
