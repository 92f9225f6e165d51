export type { SimApp, TokenPolicy } from './auth'
export {
  createSessionCalendar,
  type DaySchedule,
  KRX_HOLIDAYS,
  NXT_START,
  type NxtPhase,
  type NxtSchedule,
  REGIME_B_START,
  type SessionCalendar,
  type SessionCalendarOptions,
  type SessionOverride,
  type SessionPhase,
} from './calendar'
export {
  type ClockMode,
  createSimClock,
  type HostTimers,
  realHostTimers,
  type SimClock,
  type SimClockOptions,
  type SimTimer,
} from './clock'
export type {
  OrderFilter,
  SimAccountView,
  SimControl,
  SimOrderView,
  SimQuote,
  SymbolPatch,
} from './control'
export type { PaperProfile, PerEnv, ResolvedPaperProfile, SimEvent } from './core'
export { DOCUMENTED_PAPER_PROFILE, REPORTED_PAPER_PROFILE } from './core'
export type {
  AccountConfig,
  ExchangeOptions,
  PositionSeed,
  SimEnv,
  SimFill,
  SimOrderStatus,
} from './exchange'
export {
  type ActiveFault,
  type FaultRule,
  faultRuleSchema,
  type LatencySpec,
  type MarketDataFaultEffect,
  type NoticeFaultEffect,
  type RestFaultEffect,
  type WsConnectFaultEffect,
} from './faults'
export { decryptNotice, encryptNotice, FIELD_COUNTS, type NoticeLayout, type ReceiptQtyMode } from './frames'
export type {
  DuplicateOrderGroup,
  LedgerOrderEntry,
  LedgerRequestEntry,
  LedgerSnapshot,
  RateViolation,
  WsConnectEntry,
} from './ledger'
export type { SymbolConfig, SymbolFlags } from './market'
export { DEFAULT_MESSAGES, type MessageKey, type SimMessage, WS_MESSAGES } from './messages'
export { ORDER_TYPES, type OrderBookKind, type OrderTypeSpec, type PriceRule } from './order-types'
export { SIDECAR_DEFAULT_MS, type SidecarInfo } from './sidecar'
export {
  type AppConfig,
  createKisSim,
  DEFAULT_SYMBOLS,
  type KisSim,
  type KisSimOptions,
  resolvePaperProfile,
  type SimAppInfo,
  type SimClientClock,
} from './sim'
export { dailyLimits, type InstrumentKind, isOnTickGrid, type PriceLimits, tickSize } from './ticks'
export {
  CONSERVATIVE_NXT_SESSION_CODES,
  NXT_CODES,
  type NxtSession,
  type NxtSessionCodes,
  type OrderRoute,
  SOR_CODES,
  type Venue,
} from './venues'
export type { WsOptions, WsSessionInfo } from './ws'
// Left private on purpose: the Exchange, AuthRegistry, WsHub and REST internals. Drive the
// simulator over the wire and through `control`; those classes may change without notice.
