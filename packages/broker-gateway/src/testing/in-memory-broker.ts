import { type BrokerCapabilities, FULL_CAPABILITIES, notSupportedInEnvironment } from '../capabilities'
import { type Clock, systemClock } from '../clock'
import {
  type BrokerAck,
  type BrokerOrder,
  type BrokerOrderEvent,
  type CancelAck,
  type CashBalance,
  type Fill,
  type FillQuery,
  FillQuerySchema,
  type OrderBookSnapshot,
  type OrderIntent,
  type OrderIntentInput,
  OrderIntentSchema,
  type OrderQuery,
  OrderQuerySchema,
  type Position,
  type Quote,
  type ReplaceAck,
  type ReplacePatch,
  ReplacePatchSchema,
  type SymbolState,
  TERMINAL_BROKER_STATUSES,
  type Tick,
} from '../domain'
import { BrokerError, type BrokerErrorKind } from '../errors'
import type { BrokerGateway, Unsubscribe } from '../gateway'
import { parseOrThrow } from '../validate'
import { paperTickSize } from './krx-ticks'

/** Starting state of one paper account. */
export interface PaperAccount {
  account: string
  /** Cash in KRW. */
  cash: number
  positions?: { symbol: string; quantity: number; averagePrice: number }[]
}

export interface InMemoryBrokerOptions {
  /** @default systemClock */
  clock?: Clock
  accounts?: PaperAccount[]
  /** Prefix of generated broker order ids. @default 'P' */
  idPrefix?: string
  /**
   * What this broker's environment can answer; a query it cannot answer rejects with
   * `notSupportedInEnvironment` (e.g. `{ listOrders: false, listFills: false }` behaves like KIS's
   * paper environment as reported in reference §7.10). @default everything
   */
  capabilities?: Partial<BrokerCapabilities>
}

/** A fault to inject into the next call of a method (see `InMemoryBroker.injectFault`). */
export interface InjectedFault {
  kind: BrokerErrorKind
  /**
   * For `placeOrder`/`cancelOrder`/`replaceOrder`: perform the request anyway, then fail. With
   * `kind: 'unknown_outcome'` this is the lost-response case: the broker has the order, the caller
   * does not know.
   * @default false
   */
  commit?: boolean
  brokerCode?: string
  message?: string
}

type Method = keyof BrokerGateway

interface OrderState {
  order: BrokerOrder
  intentId?: string
  /** Price used to reserve cash for a buy (limit, or the reference upper limit for priced-by-broker types). */
  reservePrice: number
}

interface Holding {
  quantity: number
  averagePrice: number
  /** Shares reserved by open sells. */
  reserved: number
}

interface AccountState {
  cash: number
  holdings: Map<string, Holding>
}

interface MarketState {
  last?: number
  base?: number
  volume: number
  quote: Partial<Omit<Quote, 'symbol' | 'state'>> & { state?: Partial<SymbolState> }
}

const DEFAULT_STATE: SymbolState = {
  halted: false,
  viActive: false,
  marketWarning: 'none',
  shortTermOverheated: false,
  shortSaleOverheated: false,
  administrative: false,
}

const KST_OFFSET_MS = 9 * 3_600_000
const kstDate = (ms: number) => new Date(ms + KST_OFFSET_MS).toISOString().slice(0, 10)

/**
 * A paper broker in memory, for strategy tests and as the reference implementation of the
 * contract. Orders rest until a price you feed with `setPrice` crosses them (buys at or below the
 * limit, sells at or above); market-type orders fill at once at the last price. Fills can be forced
 * with `fill`. Cash and positions move with fills; open buys reserve cash and open sells reserve
 * shares. Events are delivered asynchronously, in order.
 *
 * It is deliberately not idempotent by `intentId` (real brokers such as KIS have no client order
 * id): a second `placeOrder` with the same intent creates a second order, and `submissions(intentId)`
 * counts them so tests can assert that nothing was sent twice.
 *
 * @example
 * ```ts
 * const broker = new InMemoryBroker({ accounts: [{ account: 'A1', cash: 10_000_000 }] })
 * broker.setPrice('005930', 70_000)
 * const ack = await broker.placeOrder({ intentId: 'i1', account: 'A1', strategyId: 's',
 *   symbol: '005930', side: 'buy', quantity: 10, orderType: 'limit', limitPrice: 69_900 })
 * broker.setPrice('005930', 69_900)   // crosses the limit: the order fills
 * ```
 */
export class InMemoryBroker implements BrokerGateway {
  readonly #clock: Clock
  readonly #idPrefix: string
  #seq = 0
  readonly #orders = new Map<string, OrderState>()
  readonly #fills: Fill[] = []
  readonly #accounts = new Map<string, AccountState>()
  readonly #market = new Map<string, MarketState>()
  readonly #eventListeners = new Map<string, Set<(e: BrokerOrderEvent) => void>>()
  readonly #tickListeners = new Map<string, Set<(t: Tick) => void>>()
  readonly #bookListeners = new Map<string, Set<(b: OrderBookSnapshot) => void>>()
  readonly #faults = new Map<Method, InjectedFault[]>()
  readonly #submissions = new Map<string, number>()
  readonly #log: BrokerOrderEvent[] = []

  /** What this broker answers (see {@link InMemoryBrokerOptions.capabilities}). */
  readonly capabilities: BrokerCapabilities

  constructor(options: InMemoryBrokerOptions = {}) {
    this.capabilities = Object.freeze({ ...FULL_CAPABILITIES, ...options.capabilities })
    this.#clock = options.clock ?? systemClock
    this.#idPrefix = options.idPrefix ?? 'P'
    for (const a of options.accounts ?? []) this.openAccount(a)
  }

  // ---- control (test-facing) ----

  /** Create or reset an account. */
  openAccount(a: PaperAccount): void {
    const holdings = new Map<string, Holding>()
    for (const p of a.positions ?? []) {
      holdings.set(p.symbol, { quantity: p.quantity, averagePrice: p.averagePrice, reserved: 0 })
    }
    this.#accounts.set(a.account, { cash: a.cash, holdings })
  }

  /**
   * A trade print at `price`: publishes a tick and fills resting orders it crosses, in time
   * priority, up to `liquidity` shares in total (default: unlimited). The first price set for a
   * symbol becomes its base price unless `setQuote` says otherwise.
   */
  setPrice(symbol: string, price: number, options: { liquidity?: number } = {}): void {
    if (!Number.isInteger(price) || price <= 0)
      throw new RangeError(`price must be a positive integer, got ${price}`)
    const m = this.#marketOf(symbol)
    m.last = price
    m.base ??= price
    let liquidity = options.liquidity ?? Number.POSITIVE_INFINITY
    const resting = [...this.#orders.values()]
      .filter((s) => s.order.symbol === symbol && isWorking(s.order))
      .sort((a, b) => a.order.submittedAt - b.order.submittedAt)
    let traded = 0
    for (const s of resting) {
      if (liquidity <= 0) break
      if (!crosses(s.order, price)) continue
      const q = Math.min(s.order.remainingQuantity, liquidity)
      this.#applyFill(s, q, price)
      liquidity -= q
      traded += q
    }
    m.volume += traded
    const tick: Tick = {
      symbol,
      price,
      quantity: traded,
      cumulativeVolume: m.volume,
      aggressor: 'unknown',
      at: this.#clock.now(),
    }
    for (const cb of this.#tickListeners.get(symbol) ?? []) queueMicrotask(() => cb(tick))
  }

  /** Override quote fields and state flags returned by `getQuote`. */
  setQuote(symbol: string, patch: MarketState['quote']): void {
    const m = this.#marketOf(symbol)
    m.quote = { ...m.quote, ...patch, state: { ...m.quote.state, ...patch.state } }
    if (patch.basePrice !== undefined) m.base = patch.basePrice
    if (patch.lastPrice !== undefined) m.last = patch.lastPrice
  }

  /** Publish an order book snapshot to `streamOrderBooks` subscribers. */
  publishBook(book: Omit<OrderBookSnapshot, 'at'> & { at?: number }): void {
    const snapshot: OrderBookSnapshot = { ...book, at: book.at ?? this.#clock.now() }
    for (const cb of this.#bookListeners.get(book.symbol) ?? []) queueMicrotask(() => cb(snapshot))
  }

  /** Force a fill of `quantity` shares of a working order at `price` (default: its limit or the last price). */
  fill(brokerOrderId: string, quantity: number, price?: number): void {
    const s = this.#orders.get(brokerOrderId)
    if (!s || !isWorking(s.order)) throw new Error(`order ${brokerOrderId} is not working`)
    if (!Number.isInteger(quantity) || quantity <= 0 || quantity > s.order.remainingQuantity) {
      throw new RangeError(`cannot fill ${quantity} of ${s.order.remainingQuantity} remaining`)
    }
    const px = price ?? s.order.limitPrice ?? this.#marketOf(s.order.symbol).last
    if (px === undefined) throw new Error(`no price to fill ${brokerOrderId} at`)
    this.#applyFill(s, quantity, px)
  }

  /** End the trading day: every working day order expires. */
  expireDay(): void {
    for (const s of this.#orders.values()) {
      if (!isWorking(s.order)) continue
      const qty = s.order.remainingQuantity
      this.#release(s)
      s.order = { ...s.order, remainingQuantity: 0, status: 'expired' }
      this.#emit({
        type: 'expired',
        eventId: `${s.order.brokerOrderId}:expired`,
        account: s.order.account,
        brokerOrderId: s.order.brokerOrderId,
        expiredQuantity: qty,
        at: this.#clock.now(),
      })
    }
  }

  /** Make the next call of `method` fail with `fault` (queued; one fault per call). */
  injectFault(method: Method, fault: InjectedFault): void {
    const q = this.#faults.get(method) ?? []
    q.push(fault)
    this.#faults.set(method, q)
  }

  /** How many orders were created for `intentId` (a retry that re-sends shows up as 2). */
  submissions(intentId: string): number {
    return this.#submissions.get(intentId) ?? 0
  }

  /** Every event emitted so far, in order. */
  get eventLog(): readonly BrokerOrderEvent[] {
    return this.#log
  }

  // ---- BrokerGateway ----

  async placeOrder(input: OrderIntentInput): Promise<BrokerAck> {
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'placeOrder' })
    const fault = this.#takeFault('placeOrder')
    if (fault && !fault.commit) throw faultError(fault, 'placeOrder')
    const ack = this.#place(intent)
    if (fault) throw faultError(fault, 'placeOrder')
    return ack
  }

  async cancelOrder(brokerOrderId: string): Promise<CancelAck> {
    const fault = this.#takeFault('cancelOrder')
    if (fault && !fault.commit) throw faultError(fault, 'cancelOrder')
    const s = this.#orders.get(brokerOrderId)
    if (!s) throw new BrokerError('rejected', `no order ${brokerOrderId}`, { operation: 'cancelOrder' })
    if (!isWorking(s.order)) {
      throw new BrokerError(
        'rejected',
        `order ${brokerOrderId} has nothing left to cancel (${s.order.status})`,
        {
          operation: 'cancelOrder',
        },
      )
    }
    const qty = s.order.remainingQuantity
    this.#release(s)
    s.order = { ...s.order, remainingQuantity: 0, status: 'canceled' }
    const at = this.#clock.now()
    this.#emit({
      type: 'canceled',
      eventId: `${brokerOrderId}:canceled`,
      account: s.order.account,
      brokerOrderId,
      canceledQuantity: qty,
      at,
    })
    if (fault) throw faultError(fault, 'cancelOrder')
    return { brokerOrderId, acceptedAt: at }
  }

  async replaceOrder(brokerOrderId: string, patchInput: ReplacePatch): Promise<ReplaceAck> {
    const patch = parseOrThrow(ReplacePatchSchema, patchInput, { operation: 'replaceOrder' })
    const fault = this.#takeFault('replaceOrder')
    if (fault && !fault.commit) throw faultError(fault, 'replaceOrder')
    const s = this.#orders.get(brokerOrderId)
    if (!s || !isWorking(s.order)) {
      throw new BrokerError('rejected', `order ${brokerOrderId} has nothing left to replace`, {
        operation: 'replaceOrder',
      })
    }
    const old = s.order
    if (patch.quantity !== undefined && patch.quantity > old.remainingQuantity) {
      throw new BrokerError(
        'rejected',
        `a replace cannot grow the order beyond its remaining ${old.remainingQuantity}`,
        {
          operation: 'replaceOrder',
        },
      )
    }
    if (patch.limitPrice !== undefined && old.limitPrice === undefined) {
      throw new BrokerError('invalid_request', `order ${brokerOrderId} has no limit price to change`, {
        operation: 'replaceOrder',
      })
    }
    const quantity = patch.quantity ?? old.remainingQuantity
    const limitPrice = patch.limitPrice ?? old.limitPrice
    const account = this.#accountOf(old.account)
    const reservePrice = limitPrice ?? s.reservePrice
    if (old.side === 'buy') {
      const freed = old.remainingQuantity * s.reservePrice
      if (this.#orderable(old.account, account) + freed < quantity * reservePrice) {
        throw new BrokerError('rejected', 'insufficient orderable cash for the replacement', {
          operation: 'replaceOrder',
        })
      }
    }
    this.#release(s)
    s.order = { ...old, remainingQuantity: 0, status: 'replaced' }
    const at = this.#clock.now()
    const newId = this.#nextId()
    const next: OrderState = {
      reservePrice,
      order: {
        ...old,
        brokerOrderId: newId,
        predecessorId: brokerOrderId,
        quantity,
        ...(limitPrice === undefined ? {} : { limitPrice }),
        filledQuantity: 0,
        remainingQuantity: quantity,
        status: 'open',
        submittedAt: at,
      },
    }
    delete (next.order as { averageFillPrice?: number }).averageFillPrice
    this.#orders.set(newId, next)
    this.#reserve(next)
    this.#emit({
      type: 'replaced',
      eventId: `${brokerOrderId}:replaced`,
      account: old.account,
      brokerOrderId,
      newBrokerOrderId: newId,
      quantity,
      ...(limitPrice === undefined ? {} : { limitPrice }),
      at,
    })
    this.#emit({
      type: 'accepted',
      eventId: `${newId}:accepted`,
      account: old.account,
      brokerOrderId: newId,
      symbol: old.symbol,
      side: old.side,
      quantity,
      ...(limitPrice === undefined ? {} : { limitPrice }),
      predecessorId: brokerOrderId,
      at,
    })
    if (fault) throw faultError(fault, 'replaceOrder')
    return { brokerOrderId, newBrokerOrderId: newId, acceptedAt: at }
  }

  async getOpenOrders(account: string): Promise<BrokerOrder[]> {
    this.#failIfInjected('getOpenOrders')
    if (!this.capabilities.listOrders)
      throw notSupportedInEnvironment('getOpenOrders', 'this environment cannot list orders')
    return [...this.#orders.values()]
      .filter((s) => s.order.account === account && isWorking(s.order))
      .map((s) => ({ ...s.order }))
  }

  async getOrders(account: string, query: OrderQuery = {}): Promise<BrokerOrder[]> {
    this.#failIfInjected('getOrders')
    if (!this.capabilities.listOrders)
      throw notSupportedInEnvironment('getOrders', 'this environment cannot list orders')
    const q = parseOrThrow(OrderQuerySchema, query, { operation: 'getOrders' })
    const today = kstDate(this.#clock.now())
    const from = q.from ?? today
    const to = q.to ?? q.from ?? today
    return [...this.#orders.values()]
      .map((s) => s.order)
      .filter(
        (o) =>
          o.account === account &&
          kstDate(o.submittedAt) >= from &&
          kstDate(o.submittedAt) <= to &&
          (q.symbol === undefined || o.symbol === q.symbol) &&
          (q.side === undefined || o.side === q.side) &&
          (q.brokerOrderId === undefined || o.brokerOrderId === q.brokerOrderId) &&
          (q.state === 'all' || (q.state === 'open') === isWorking(o)),
      )
      .map((o) => ({ ...o }))
  }

  async getFills(account: string, query: FillQuery = {}): Promise<Fill[]> {
    this.#failIfInjected('getFills')
    if (!this.capabilities.listFills)
      throw notSupportedInEnvironment('getFills', 'this environment cannot list fills')
    const q = parseOrThrow(FillQuerySchema, query, { operation: 'getFills' })
    const today = kstDate(this.#clock.now())
    const from = q.from ?? today
    const to = q.to ?? q.from ?? today
    return this.#fills
      .filter(
        (f) =>
          f.account === account &&
          kstDate(f.at) >= from &&
          kstDate(f.at) <= to &&
          (q.symbol === undefined || f.symbol === q.symbol) &&
          (q.brokerOrderId === undefined || f.brokerOrderId === q.brokerOrderId),
      )
      .map((f) => ({ ...f }))
  }

  async getPositions(account: string): Promise<Position[]> {
    this.#failIfInjected('getPositions')
    if (!this.capabilities.positions)
      throw notSupportedInEnvironment('getPositions', 'this environment cannot list positions')
    const a = this.#accountOf(account)
    return [...a.holdings.entries()].map(([symbol, h]) => {
      const last = this.#market.get(symbol)?.last
      return {
        account,
        symbol,
        quantity: h.quantity,
        sellableQuantity: h.quantity - h.reserved,
        averagePrice: h.averagePrice,
        ...(last === undefined ? {} : { lastPrice: last }),
      }
    })
  }

  async getCash(account: string): Promise<CashBalance> {
    this.#failIfInjected('getCash')
    if (!this.capabilities.cash)
      throw notSupportedInEnvironment('getCash', 'this environment cannot report cash')
    const a = this.#accountOf(account)
    // Settlement is not modelled: D+1 and D+2 equal the deposit.
    return {
      account,
      currency: 'KRW',
      deposit: a.cash,
      d1: a.cash,
      d2: a.cash,
      orderable: this.#orderable(account, a),
    }
  }

  async getQuote(symbol: string): Promise<Quote> {
    this.#failIfInjected('getQuote')
    const m = this.#market.get(symbol)
    if (!m || m.last === undefined || m.base === undefined) {
      throw new BrokerError('rejected', `no market data for ${symbol}`, { operation: 'getQuote' })
    }
    const { upper, lower } = naiveLimits(m.base)
    const { state, ...fields } = m.quote
    return {
      symbol,
      lastPrice: m.last,
      basePrice: m.base,
      upperLimit: upper,
      lowerLimit: lower,
      tickSize: paperTickSize(m.last),
      volume: m.volume,
      at: this.#clock.now(),
      ...fields,
      state: { ...DEFAULT_STATE, ...state },
    }
  }

  streamTicks(symbols: string[], onTick: (t: Tick) => void): Unsubscribe {
    return subscribe(this.#tickListeners, symbols, onTick)
  }

  streamOrderBooks(symbols: string[], onBook: (b: OrderBookSnapshot) => void): Unsubscribe {
    return subscribe(this.#bookListeners, symbols, onBook)
  }

  streamOrderEvents(account: string, onEvent: (e: BrokerOrderEvent) => void): Unsubscribe {
    return subscribe(this.#eventListeners, [account], onEvent)
  }

  // ---- internals ----

  #place(intent: OrderIntent): BrokerAck {
    const a = this.#accounts.get(intent.account)
    if (!a)
      throw new BrokerError('rejected', `unknown account ${intent.account}`, { operation: 'placeOrder' })
    this.#submissions.set(intent.intentId, (this.#submissions.get(intent.intentId) ?? 0) + 1)
    const m = this.#marketOf(intent.symbol)
    const at = this.#clock.now()
    const reject = (reason: string): never => {
      throw new BrokerError('rejected', reason, { operation: 'placeOrder' })
    }
    if (m.quote.state?.halted) reject(`${intent.symbol} is halted`)
    const needsMarket = intent.limitPrice === undefined
    if (needsMarket && m.last === undefined) reject(`no market price for ${intent.symbol}`)
    const reservePrice = intent.limitPrice ?? naiveLimits(m.base ?? m.last ?? 1).upper
    if (intent.side === 'buy' && this.#orderable(intent.account, a) < intent.quantity * reservePrice) {
      reject('insufficient orderable cash')
    }
    if (intent.side === 'sell') {
      const h = a.holdings.get(intent.symbol)
      if (!h || h.quantity - h.reserved < intent.quantity) reject('insufficient sellable quantity')
    }
    const id = this.#nextId()
    const s: OrderState = {
      intentId: intent.intentId,
      reservePrice,
      order: {
        brokerOrderId: id,
        account: intent.account,
        symbol: intent.symbol,
        side: intent.side,
        orderType: intent.orderType,
        timeInForce: intent.timeInForce,
        venue: intent.venue,
        quantity: intent.quantity,
        ...(intent.limitPrice === undefined ? {} : { limitPrice: intent.limitPrice }),
        filledQuantity: 0,
        remainingQuantity: intent.quantity,
        status: 'open',
        submittedAt: at,
      },
    }
    this.#orders.set(id, s)
    this.#reserve(s)
    this.#emit({
      type: 'accepted',
      eventId: `${id}:accepted`,
      account: intent.account,
      brokerOrderId: id,
      symbol: intent.symbol,
      side: intent.side,
      quantity: intent.quantity,
      ...(intent.limitPrice === undefined ? {} : { limitPrice: intent.limitPrice }),
      at,
    })
    // Marketable on arrival: trade against the last price. Liquidity there is unlimited, so a FOK
    // that crosses fills completely and one that does not expires whole, like an IOC.
    const last = m.last
    if (last !== undefined && crosses(s.order, last)) this.#applyFill(s, s.order.remainingQuantity, last)
    if (isWorking(s.order) && intent.timeInForce !== 'day') {
      const qty = s.order.remainingQuantity
      this.#release(s)
      s.order = { ...s.order, remainingQuantity: 0, status: 'expired' }
      this.#emit({
        type: 'expired',
        eventId: `${id}:expired`,
        account: intent.account,
        brokerOrderId: id,
        expiredQuantity: qty,
        at,
      })
    }
    return { intentId: intent.intentId, brokerOrderId: id, acceptedAt: at }
  }

  #applyFill(s: OrderState, quantity: number, price: number): void {
    const o = s.order
    const a = this.#accountOf(o.account)
    const filled = o.filledQuantity + quantity
    const avg = ((o.averageFillPrice ?? 0) * o.filledQuantity + price * quantity) / filled
    const h = a.holdings.get(o.symbol) ?? { quantity: 0, averagePrice: 0, reserved: 0 }
    if (o.side === 'buy') {
      a.cash -= quantity * price
      h.averagePrice = (h.averagePrice * h.quantity + price * quantity) / (h.quantity + quantity)
      h.quantity += quantity
    } else {
      a.cash += quantity * price
      h.quantity -= quantity
      h.reserved -= quantity
      if (h.quantity === 0) h.averagePrice = 0
    }
    a.holdings.set(o.symbol, h)
    const remaining = o.remainingQuantity - quantity
    s.order = {
      ...o,
      filledQuantity: filled,
      averageFillPrice: avg,
      remainingQuantity: remaining,
      status: remaining === 0 ? 'filled' : 'partially_filled',
    }
    const at = this.#clock.now()
    const fill: Fill = {
      fillId: `${o.brokerOrderId}:${filled}`,
      brokerOrderId: o.brokerOrderId,
      account: o.account,
      symbol: o.symbol,
      side: o.side,
      quantity,
      price,
      cumulativeQuantity: filled,
      at,
    }
    this.#fills.push(fill)
    this.#emit({
      type: 'filled',
      eventId: fill.fillId,
      account: o.account,
      brokerOrderId: o.brokerOrderId,
      symbol: o.symbol,
      side: o.side,
      fillQuantity: quantity,
      fillPrice: price,
      cumulativeQuantity: filled,
      orderQuantity: o.quantity,
      at,
    })
  }

  #reserve(s: OrderState): void {
    if (s.order.side === 'sell') {
      const h = this.#accountOf(s.order.account).holdings.get(s.order.symbol)
      if (h) h.reserved += s.order.remainingQuantity
    }
  }

  #release(s: OrderState): void {
    if (s.order.side === 'sell') {
      const h = this.#accountOf(s.order.account).holdings.get(s.order.symbol)
      if (h) h.reserved -= s.order.remainingQuantity
    }
  }

  #orderable(account: string, a: AccountState): number {
    let reserved = 0
    for (const s of this.#orders.values()) {
      if (s.order.account === account && s.order.side === 'buy' && isWorking(s.order)) {
        reserved += s.order.remainingQuantity * s.reservePrice
      }
    }
    return a.cash - reserved
  }

  #emit(event: BrokerOrderEvent): void {
    this.#log.push(event)
    for (const cb of this.#eventListeners.get(event.account) ?? []) queueMicrotask(() => cb(event))
  }

  #nextId(): string {
    this.#seq += 1
    return `${this.#idPrefix}${String(this.#seq).padStart(10, '0')}`
  }

  #marketOf(symbol: string): MarketState {
    let m = this.#market.get(symbol)
    if (!m) {
      m = { volume: 0, quote: {} }
      this.#market.set(symbol, m)
    }
    return m
  }

  #accountOf(account: string): AccountState {
    const a = this.#accounts.get(account)
    if (!a) throw new BrokerError('invalid_request', `unknown account ${account}`)
    return a
  }

  #takeFault(method: Method): InjectedFault | undefined {
    return this.#faults.get(method)?.shift()
  }

  #failIfInjected(method: Method): void {
    const f = this.#takeFault(method)
    if (f) throw faultError(f, method)
  }
}

function isWorking(o: BrokerOrder): boolean {
  return !TERMINAL_BROKER_STATUSES.has(o.status) && o.remainingQuantity > 0
}

/** Whether a trade at `price` executes against the order. Orders without a limit take any price. */
function crosses(o: BrokerOrder, price: number): boolean {
  if (o.limitPrice === undefined) return true
  return o.side === 'buy' ? price <= o.limitPrice : price >= o.limitPrice
}

/** ±30 % of the base price, without KRX's tick truncation (that lives in @vellab/risk-kr). */
function naiveLimits(base: number): { upper: number; lower: number } {
  return { upper: Math.floor(base * 1.3), lower: Math.ceil(base * 0.7) }
}

function faultError(f: InjectedFault, operation: string): BrokerError {
  return new BrokerError(f.kind, f.message ?? `injected ${f.kind}`, {
    operation,
    ...(f.brokerCode ? { brokerCode: f.brokerCode } : {}),
  })
}

function subscribe<T>(
  map: Map<string, Set<(v: T) => void>>,
  keys: string[],
  cb: (v: T) => void,
): Unsubscribe {
  for (const k of keys) {
    const set = map.get(k) ?? new Set()
    set.add(cb)
    map.set(k, set)
  }
  let done = false
  return () => {
    if (done) return
    done = true
    for (const k of keys) map.get(k)?.delete(cb)
  }
}
