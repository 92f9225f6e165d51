import type { BrokerCapabilities } from './capabilities'
import type {
  BrokerAck,
  BrokerOrder,
  BrokerOrderEvent,
  CancelAck,
  CashBalance,
  Fill,
  FillQuery,
  OrderBookSnapshot,
  OrderIntentInput,
  OrderQuery,
  Position,
  Quote,
  ReplaceAck,
  ReplacePatch,
  Tick,
} from './domain'

/** Stops a stream. Calling it twice is harmless. */
export type Unsubscribe = () => void

/** Context some brokers need to address an existing order (KIS needs the account). */
export interface OrderRef {
  account?: string
  symbol?: string
}

/**
 * The contract every broker adapter implements. Strategy and execution code depends on this
 * interface only; broker quirks stay inside the adapter.
 *
 * Every method either resolves with validated domain values or rejects with a `BrokerError` whose
 * `kind` says what the caller may do next. An HTTP 200 is not a fill: acks say the broker took the
 * request, and the order's fate arrives through `streamOrderEvents` (or the queries).
 */
export interface BrokerGateway {
  /**
   * What this gateway's environment can answer. Absent means everything (see `capabilitiesOf`).
   * A query the environment cannot answer rejects with `notSupportedInEnvironment`, never with an
   * empty list.
   */
  readonly capabilities?: BrokerCapabilities
  /** Send a new order. Resolves when the broker has accepted the request. */
  placeOrder(intent: OrderIntentInput): Promise<BrokerAck>
  /** Ask to cancel the remaining quantity. The cancel is final only when a `canceled` event arrives. */
  cancelOrder(brokerOrderId: string, ref?: OrderRef): Promise<CancelAck>
  /** Change price or reduce quantity of a resting order; the replacement gets a new broker id. */
  replaceOrder(brokerOrderId: string, patch: ReplacePatch, ref?: OrderRef): Promise<ReplaceAck>
  /** Orders that can still fill (open or partially filled). */
  getOpenOrders(account: string): Promise<BrokerOrder[]>
  /** Holdings, including today's sold-out positions where the broker reports them. */
  getPositions(account: string): Promise<Position[]>
  /** Trade prints for the symbols. */
  streamTicks(symbols: string[], onTick: (tick: Tick) => void): Unsubscribe
  /** Order lifecycle events for the account, in the broker's order per broker order id. */
  streamOrderEvents(account: string, onEvent: (event: BrokerOrderEvent) => void): Unsubscribe
  /** Order book snapshots for the symbols. */
  streamOrderBooks(symbols: string[], onBook: (book: OrderBookSnapshot) => void): Unsubscribe
  /** Orders of a day range (default today), including filled and canceled ones. */
  getOrders(account: string, query?: OrderQuery): Promise<BrokerOrder[]>
  /** Executions of a day range (default today). */
  getFills(account: string, query?: FillQuery): Promise<Fill[]>
  /** Cash balances. */
  getCash(account: string): Promise<CashBalance>
  /** The broker's reference numbers and state flags for a symbol, for pre-trade risk. */
  getQuote(symbol: string): Promise<Quote>
}
