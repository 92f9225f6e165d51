// Public API of @vellab/broker-gateway. Explicit exports only; test doubles live in ./testing.

export type { BrokerCapabilities } from './capabilities'
export {
  capabilitiesOf,
  FULL_CAPABILITIES,
  isNotSupportedInEnvironment,
  NOT_SUPPORTED_IN_ENVIRONMENT,
  notSupportedInEnvironment,
} from './capabilities'
export type { Clock, RandomSource, TimerHandle } from './clock'
export { seededRandom, sleep, systemClock, systemRandom } from './clock'
export type {
  BookLevel,
  BrokerAck,
  BrokerOrder,
  BrokerOrderEvent,
  BrokerOrderEventType,
  BrokerOrderStatus,
  CancelAck,
  CashBalance,
  Fill,
  FillQuery,
  MarketWarning,
  OrderBookSnapshot,
  OrderIntent,
  OrderIntentInput,
  OrderQuery,
  OrderType,
  Position,
  Quote,
  ReplaceAck,
  ReplacePatch,
  Side,
  Symbol,
  SymbolState,
  Tick,
  TimeInForce,
  TradingSession,
  Venue,
} from './domain'
export {
  AccountSchema,
  BookLevelSchema,
  BrokerAckSchema,
  BrokerOrderEventSchema,
  BrokerOrderSchema,
  BrokerOrderStatusSchema,
  CancelAckSchema,
  CashBalanceSchema,
  FillQuerySchema,
  FillSchema,
  IntentIdSchema,
  KstDateSchema,
  MarketWarningSchema,
  OrderBookSnapshotSchema,
  OrderIntentSchema,
  OrderQuerySchema,
  OrderTypeSchema,
  PositionSchema,
  PRICED_ORDER_TYPES,
  PRICELESS_ORDER_TYPES,
  QuoteSchema,
  ReplaceAckSchema,
  ReplacePatchSchema,
  SideSchema,
  SymbolSchema,
  SymbolStateSchema,
  TERMINAL_BROKER_STATUSES,
  TickSchema,
  TimeInForceSchema,
  TradingSessionSchema,
  VenueSchema,
} from './domain'
export type { BrokerErrorKind, BrokerErrorOptions } from './errors'
export { BROKER_ERROR_KINDS, BrokerError, redactSecrets } from './errors'
export type { BrokerGateway, OrderRef, Unsubscribe } from './gateway'
export { addKstDays, KST_TIME_ZONE, kstDate, kstInstant, kstTime, startOfKstDay } from './kst'
export { describeIssues, parseOrThrow } from './validate'
