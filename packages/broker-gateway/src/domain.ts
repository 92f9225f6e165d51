import { z } from 'zod'

// Domain values of the contract. Prices and cash are integer KRW, quantities integer shares, times are
// epoch milliseconds (UTC). Broker-specific encodings (string numbers, TR ids, branch codes) never
// appear here: adapters translate at their edge.

const intKrw = (what: string) =>
  z.number({ error: `${what} must be a number` }).int({ error: `${what} must be an integer number of KRW` })
const positiveKrw = (what: string) => intKrw(what).positive({ error: `${what} must be positive` })
const shares = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number of shares` })
    .nonnegative({ error: `${what} must not be negative` })
const positiveShares = (what: string) => shares(what).positive({ error: `${what} must be at least 1 share` })
const epochMs = z.number().int().nonnegative()

/** A KRX short code: six upper-case alphanumerics, e.g. `005930` (Samsung Electronics) or `0088K0`. */
export const SymbolSchema = z
  .string()
  .regex(/^[0-9A-Z]{6}$/, { error: 'symbol must be a 6-character KRX short code such as "005930"' })
export type Symbol = z.infer<typeof SymbolSchema>

/** An account identifier, opaque to the contract (the KIS adapter uses `CANO-ACNT_PRDT_CD`). */
export const AccountSchema = z.string().min(1, { error: 'account must not be empty' }).max(64)

/**
 * The caller-chosen idempotency key of an order intent. Letters, digits and `_ - . :`, at most 64
 * characters, so it can travel in logs, URLs and database keys unchanged.
 */
export const IntentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'intentId must be 1-64 characters of [A-Za-z0-9_.:-]' })

export const SideSchema = z.enum(['buy', 'sell'])
export type Side = z.infer<typeof SideSchema>

/**
 * Order types a KR broker accepts. `best_limit` is 최유리지정가 (priced at the opposite best),
 * `top_priority_limit` is 최우선지정가 (priced at the own-side best), `conditional_limit` is
 * 조건부지정가 (limit until the close, then market in the closing auction).
 */
export const OrderTypeSchema = z.enum([
  'limit',
  'market',
  'conditional_limit',
  'best_limit',
  'top_priority_limit',
  'midpoint',
  'stop_limit',
])
export type OrderType = z.infer<typeof OrderTypeSchema>

/** How long an order may rest. IOC/FOK cancel what does not fill at once. */
export const TimeInForceSchema = z.enum(['day', 'ioc', 'fok'])
export type TimeInForce = z.infer<typeof TimeInForceSchema>

/** Where the order goes: KRX, Nextrade, or the broker's smart order router. */
export const VenueSchema = z.enum(['KRX', 'NXT', 'SOR'])
export type Venue = z.infer<typeof VenueSchema>

/**
 * The trading session the order is meant for. The same clock time can belong to two sessions (e.g.
 * 15:30-16:00 post-close close-price trading and nothing else on KRX), so the intent says which.
 */
export const TradingSessionSchema = z.enum([
  'regular',
  'pre_close_price',
  'post_close_price',
  'after_hours_single_price',
  'after_market',
  'pre_market',
])
export type TradingSession = z.infer<typeof TradingSessionSchema>

/** Order types that carry no limit price (the broker prices them). */
export const PRICELESS_ORDER_TYPES: ReadonlySet<OrderType> = new Set([
  'market',
  'best_limit',
  'top_priority_limit',
])
/** Order types that require a limit price. `midpoint` takes an optional protective limit. */
export const PRICED_ORDER_TYPES: ReadonlySet<OrderType> = new Set([
  'limit',
  'conditional_limit',
  'stop_limit',
])
/** Close-price sessions trade at the close, so their orders carry no price. */
const CLOSE_PRICE_SESSIONS: ReadonlySet<TradingSession> = new Set(['pre_close_price', 'post_close_price'])

const OrderIntentObject = z.object({
  intentId: IntentIdSchema,
  account: AccountSchema,
  strategyId: z.string().min(1, { error: 'strategyId must not be empty' }).max(64),
  symbol: SymbolSchema,
  side: SideSchema,
  quantity: positiveShares('quantity'),
  orderType: OrderTypeSchema,
  limitPrice: positiveKrw('limitPrice').optional(),
  /** Trigger price of a stop-limit order (KIS `CNDT_PRIC`). */
  stopPrice: positiveKrw('stopPrice').optional(),
  timeInForce: TimeInForceSchema.default('day'),
  venue: VenueSchema.default('KRX'),
  session: TradingSessionSchema.default('regular'),
  /** A sale of borrowed shares (차입공매도). Must be flagged as such by law. */
  shortSale: z.boolean().default(false),
})

/**
 * What a strategy asks for: one order, with a caller-chosen `intentId` that makes retries of the
 * same request recognisable. Parsing applies defaults (`day`, `KRX`, `regular`, no short sale) and
 * checks that the price fields fit the order type.
 *
 * @example
 * ```ts
 * const intent = OrderIntentSchema.parse({
 *   intentId: 'mom-20261124-0001', account: '50123456-01', strategyId: 'momentum',
 *   symbol: '005930', side: 'buy', quantity: 10, orderType: 'limit', limitPrice: 71_000,
 * })
 * ```
 */
export const OrderIntentSchema = OrderIntentObject.superRefine((v, ctx) => {
  const closePrice = CLOSE_PRICE_SESSIONS.has(v.session)
  if (PRICED_ORDER_TYPES.has(v.orderType) && v.limitPrice === undefined && !closePrice) {
    ctx.addIssue({
      code: 'custom',
      path: ['limitPrice'],
      message: `a ${v.orderType} order needs a limitPrice`,
    })
  }
  if ((PRICELESS_ORDER_TYPES.has(v.orderType) || closePrice) && v.limitPrice !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['limitPrice'],
      message: closePrice
        ? `orders for the ${v.session} session trade at the close and take no limitPrice`
        : `a ${v.orderType} order takes no limitPrice`,
    })
  }
  if (v.orderType === 'stop_limit' && v.stopPrice === undefined) {
    ctx.addIssue({ code: 'custom', path: ['stopPrice'], message: 'a stop_limit order needs a stopPrice' })
  }
  if (v.orderType !== 'stop_limit' && v.stopPrice !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['stopPrice'],
      message: 'only a stop_limit order takes a stopPrice',
    })
  }
  if (v.shortSale && v.side !== 'sell') {
    ctx.addIssue({ code: 'custom', path: ['shortSale'], message: 'only a sell can be a short sale' })
  }
})
/** A validated order intent (defaults applied). */
export type OrderIntent = z.infer<typeof OrderIntentSchema>
/** The input shape of an order intent (defaults optional). */
export type OrderIntentInput = z.input<typeof OrderIntentSchema>

/** The broker accepted the request. Not a fill, and not yet proof the exchange has the order. */
export const BrokerAckSchema = z.object({
  intentId: IntentIdSchema,
  /** The broker's id for the order; opaque, stable, unique per account and day at least. */
  brokerOrderId: z.string().min(1),
  acceptedAt: epochMs,
})
export type BrokerAck = z.infer<typeof BrokerAckSchema>

/** The broker accepted a cancel request. The order is canceled only when a `canceled` event says so. */
export const CancelAckSchema = z.object({
  brokerOrderId: z.string().min(1),
  /** Some brokers (KIS) give the cancel request its own order number. */
  cancelRequestId: z.string().min(1).optional(),
  acceptedAt: epochMs,
})
export type CancelAck = z.infer<typeof CancelAckSchema>

/**
 * A change to a resting order. `limitPrice` moves the remaining quantity to a new price;
 * `quantity` reduces the remaining quantity to that many shares (it cannot grow it).
 */
export const ReplacePatchSchema = z
  .object({
    limitPrice: positiveKrw('limitPrice').optional(),
    quantity: positiveShares('quantity').optional(),
  })
  .refine((p) => p.limitPrice !== undefined || p.quantity !== undefined, {
    error: 'a replace needs a new limitPrice or a new quantity',
  })
export type ReplacePatch = z.infer<typeof ReplacePatchSchema>

/** The broker accepted a replace. The replacement carries a new broker id linked to the original. */
export const ReplaceAckSchema = z.object({
  brokerOrderId: z.string().min(1),
  newBrokerOrderId: z.string().min(1),
  acceptedAt: epochMs,
})
export type ReplaceAck = z.infer<typeof ReplaceAckSchema>

export const BrokerOrderStatusSchema = z.enum([
  'open',
  'partially_filled',
  'filled',
  'canceled',
  'rejected',
  'expired',
  'replaced',
])
export type BrokerOrderStatus = z.infer<typeof BrokerOrderStatusSchema>

/** Terminal broker statuses: nothing more will happen to such an order. */
export const TERMINAL_BROKER_STATUSES: ReadonlySet<BrokerOrderStatus> = new Set([
  'filled',
  'canceled',
  'rejected',
  'expired',
  'replaced',
])

/** The broker's view of one order, as reconciliation compares it with the local book. */
export const BrokerOrderSchema = z
  .object({
    brokerOrderId: z.string().min(1),
    /** The order this one replaced (KIS modify/cancel chains link a new number to the original). */
    predecessorId: z.string().min(1).optional(),
    account: AccountSchema,
    symbol: SymbolSchema,
    side: SideSchema,
    orderType: OrderTypeSchema,
    timeInForce: TimeInForceSchema,
    venue: VenueSchema,
    quantity: positiveShares('quantity'),
    limitPrice: positiveKrw('limitPrice').optional(),
    filledQuantity: shares('filledQuantity'),
    /** Volume-weighted average fill price; may be fractional. Absent while nothing is filled. */
    averageFillPrice: z.number().positive().optional(),
    remainingQuantity: shares('remainingQuantity'),
    status: BrokerOrderStatusSchema,
    submittedAt: epochMs,
  })
  .refine((o) => o.filledQuantity + o.remainingQuantity <= o.quantity, {
    error: 'filledQuantity + remainingQuantity must not exceed quantity',
  })
export type BrokerOrder = z.infer<typeof BrokerOrderSchema>

const eventBase = {
  /** Stable id for deduplication: the same broker fact always yields the same eventId. */
  eventId: z.string().min(1),
  account: AccountSchema,
  brokerOrderId: z.string().min(1),
  at: epochMs,
}

/**
 * What the broker tells us about an order, already normalised. Fills are reported as the
 * cumulative filled quantity after the fill, so applying the same event twice is harmless.
 */
export const BrokerOrderEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...eventBase,
    type: z.literal('accepted'),
    symbol: SymbolSchema,
    side: SideSchema,
    quantity: positiveShares('quantity'),
    limitPrice: positiveKrw('limitPrice').optional(),
    predecessorId: z.string().min(1).optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('rejected'),
    reason: z.string(),
    code: z.string().optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('filled'),
    symbol: SymbolSchema,
    side: SideSchema,
    /** Shares in this fill. */
    fillQuantity: positiveShares('fillQuantity'),
    fillPrice: positiveKrw('fillPrice'),
    /** Filled quantity of the order after this fill. */
    cumulativeQuantity: positiveShares('cumulativeQuantity'),
    /** The order quantity, when the broker reports it. */
    orderQuantity: positiveShares('orderQuantity').optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('canceled'),
    canceledQuantity: shares('canceledQuantity'),
  }),
  z.object({
    ...eventBase,
    type: z.literal('replaced'),
    newBrokerOrderId: z.string().min(1),
    quantity: positiveShares('quantity').optional(),
    limitPrice: positiveKrw('limitPrice').optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('expired'),
    expiredQuantity: shares('expiredQuantity'),
  }),
])
export type BrokerOrderEvent = z.infer<typeof BrokerOrderEventSchema>
export type BrokerOrderEventType = BrokerOrderEvent['type']

/** One execution. `fillId` is deterministic: the same fill always has the same id. */
export const FillSchema = z.object({
  fillId: z.string().min(1),
  brokerOrderId: z.string().min(1),
  account: AccountSchema,
  symbol: SymbolSchema,
  side: SideSchema,
  quantity: positiveShares('quantity'),
  price: positiveKrw('price'),
  /** The order's filled quantity after this fill. */
  cumulativeQuantity: positiveShares('cumulativeQuantity'),
  at: epochMs,
})
export type Fill = z.infer<typeof FillSchema>

/** A holding. Positions sold out today may still be reported with quantity 0. */
export const PositionSchema = z
  .object({
    account: AccountSchema,
    symbol: SymbolSchema,
    quantity: shares('quantity'),
    /** Shares that can be sold now (held minus shares reserved by open sells). */
    sellableQuantity: shares('sellableQuantity'),
    /** Average purchase price; may be fractional. */
    averagePrice: z.number().nonnegative(),
    lastPrice: positiveKrw('lastPrice').optional(),
  })
  .refine((p) => p.sellableQuantity <= p.quantity, { error: 'sellableQuantity must not exceed quantity' })
export type Position = z.infer<typeof PositionSchema>

/** Cash in KRW. D+1/D+2 are the projected balances after settlement (KR equities settle T+2). */
export const CashBalanceSchema = z.object({
  account: AccountSchema,
  currency: z.literal('KRW'),
  deposit: intKrw('deposit'),
  d1: intKrw('d1'),
  d2: intKrw('d2'),
  /** What a new buy may spend now, after reservations for open buys. */
  orderable: intKrw('orderable'),
})
export type CashBalance = z.infer<typeof CashBalanceSchema>

/** One trade print. */
export const TickSchema = z.object({
  symbol: SymbolSchema,
  price: positiveKrw('price'),
  quantity: shares('quantity'),
  cumulativeVolume: shares('cumulativeVolume'),
  /** Aggressor side when known. */
  aggressor: z.enum(['buy', 'sell', 'unknown']),
  bestAsk: positiveKrw('bestAsk').optional(),
  bestBid: positiveKrw('bestBid').optional(),
  at: epochMs,
})
export type Tick = z.infer<typeof TickSchema>

export const BookLevelSchema = z.object({ price: positiveKrw('price'), quantity: shares('quantity') })
export type BookLevel = z.infer<typeof BookLevelSchema>

/** Top levels of the book, best first on each side. */
export const OrderBookSnapshotSchema = z.object({
  symbol: SymbolSchema,
  asks: z.array(BookLevelSchema),
  bids: z.array(BookLevelSchema),
  totalAskQuantity: shares('totalAskQuantity').optional(),
  totalBidQuantity: shares('totalBidQuantity').optional(),
  at: epochMs,
})
export type OrderBookSnapshot = z.infer<typeof OrderBookSnapshotSchema>

/** Exchange market-warning designation (투자주의/경고/위험). */
export const MarketWarningSchema = z.enum(['none', 'caution', 'warning', 'risk'])
export type MarketWarning = z.infer<typeof MarketWarningSchema>

/** The symbol's state flags that pre-trade risk must honour. */
export const SymbolStateSchema = z.object({
  halted: z.boolean(),
  viActive: z.boolean(),
  marketWarning: MarketWarningSchema,
  /** Designated short-term overheated (단기과열). */
  shortTermOverheated: z.boolean(),
  /** Designated short-sale overheated (공매도 과열종목): short sales banned for the day. */
  shortSaleOverheated: z.boolean(),
  /** Administrative issue (관리종목). */
  administrative: z.boolean(),
})
export type SymbolState = z.infer<typeof SymbolStateSchema>

/** The broker's reference numbers for a symbol: what pre-trade price checks compare against. */
export const QuoteSchema = z
  .object({
    symbol: SymbolSchema,
    lastPrice: positiveKrw('lastPrice'),
    /** Base price for today's limits (usually the previous close). */
    basePrice: positiveKrw('basePrice'),
    upperLimit: positiveKrw('upperLimit'),
    lowerLimit: positiveKrw('lowerLimit'),
    /** Tick size at the last price, as the broker reports it. */
    tickSize: positiveKrw('tickSize'),
    open: positiveKrw('open').optional(),
    high: positiveKrw('high').optional(),
    low: positiveKrw('low').optional(),
    volume: shares('volume').optional(),
    state: SymbolStateSchema,
    at: epochMs,
  })
  .refine((q) => q.lowerLimit <= q.basePrice && q.basePrice <= q.upperLimit, {
    error: 'basePrice must lie within [lowerLimit, upperLimit]',
  })
export type Quote = z.infer<typeof QuoteSchema>

/** A calendar day in Korea, `YYYY-MM-DD` (KST). */
export const KstDateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'dates are YYYY-MM-DD (KST)' })

/** Which orders to list. Without dates: today (KST). */
export const OrderQuerySchema = z.object({
  from: KstDateSchema.optional(),
  to: KstDateSchema.optional(),
  symbol: SymbolSchema.optional(),
  side: SideSchema.optional(),
  /** `open`: still working; `done`: terminal; `all` (default). */
  state: z.enum(['all', 'open', 'done']).default('all'),
  brokerOrderId: z.string().min(1).optional(),
})
export type OrderQuery = z.input<typeof OrderQuerySchema>

/** Which fills to list. Without dates: today (KST). */
export const FillQuerySchema = z.object({
  from: KstDateSchema.optional(),
  to: KstDateSchema.optional(),
  symbol: SymbolSchema.optional(),
  brokerOrderId: z.string().min(1).optional(),
})
export type FillQuery = z.input<typeof FillQuerySchema>
