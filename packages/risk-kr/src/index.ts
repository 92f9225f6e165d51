// Public API of @vellab/risk-kr. Explicit exports only; test doubles live in ./testing.
// Kept private on purpose: the Collector inside the gateway, ScopeBook internals and ring buffers.

export type { ClosureEntry, CoverageStatus, CoverageYear } from './calendar-data'
export { KRX_CLOSURES, KRX_COVERAGE } from './calendar-data'
export type {
  AbuseGuards,
  AbuseGuardsInput,
  ResolvedRiskGatewayOptions,
  RiskGatewayOptions,
  ScopeLimits,
  StrategyPolicy,
  StrategyPolicyInput,
} from './config'
export {
  AbuseGuardsSchema,
  RiskGatewayOptionsSchema,
  ScopeLimitsSchema,
  StrategyPolicySchema,
} from './config'
export type {
  AccountProfile,
  EngagedKillSwitch,
  KillSwitchScope,
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
export type { RiskErrorCode } from './errors'
export { RiskError } from './errors'
export type {
  EngageKillSwitch,
  KillSwitchAutomationOptions,
  KillSwitchBoardOptions,
  KillSwitchEngagement,
  KillSwitchListener,
  ReleaseKillSwitch,
  UnpersistedKillSwitchHook,
} from './kill-switch'
export {
  EngageKillSwitchSchema,
  KillSwitchAutomation,
  KillSwitchBoard,
  ReleaseKillSwitchSchema,
} from './kill-switch'
export type {
  KillSwitchBoardEvent,
  KillSwitchEventListener,
  KillSwitchRetryOptions,
  PendingKillSwitchWrite,
} from './kill-switch-events'
export type { KillSwitchAuditEntry, KillSwitchPersistence, KillSwitchRecord } from './kill-switch-store'
export { PostgresKillSwitchStore } from './kill-switch-store'
export type { KstDay } from './kst'
export {
  formatKstDay,
  KST_OFFSET_MS,
  kstDay,
  kstMsOfDay,
  kstToEpochMs,
  kstWeekday,
  parseKstDate,
} from './kst'
export type {
  BrokerOpenFlag,
  DaySchedule,
  DayStatus,
  HolidayDisagreement,
  MarketRulesData,
  PhaseResolution,
  ReviewedCalendarUpdate,
  ScheduledPhase,
} from './market-rules'
export {
  brokerOpenFlag,
  createKrxMarketRules,
  KRX_RULES_DATA,
  KrxMarketRules,
  ReviewedCalendarUpdateSchema,
} from './market-rules'
export type { RiskKillSwitchAuditTable, RiskKillSwitchTable, RiskKrDatabase } from './migrations'
export { riskKrMigrations } from './migrations'
export type { MatrixEntry, OrderDivisionCode } from './order-matrix'
export { AUCTION_FALLBACK, ORDER_TYPE_MATRIX, orderDivisionCode, SOR_CODES } from './order-matrix'
export type { DailyLimitInput, PriceBand } from './price-limits'
export { dailyLimits, intersectBands, percentBand } from './price-limits'
export type { Confidence, RuleSource } from './provenance'
export type { ReasonCode, RiskReason } from './reasons'
export { REASON_CATALOGUE } from './reasons'
export type { RiskDecision, RiskGateway, RiskOutcome } from './risk-gateway'
export { createRiskGateway } from './risk-gateway'
export type { AdoptedOrderMeta, BorrowRecord, RiskAlert, RiskStateOptions } from './risk-state'
export { RiskState } from './risk-state'
export type {
  PhaseDefinition,
  PhaseId,
  PhaseKind,
  PhaseOverride,
  SessionOverride,
  SessionRegime,
} from './sessions-data'
export { KRX_SESSION_OVERRIDES, KRX_SESSION_REGIMES } from './sessions-data'
export type { MarketWideShortBan } from './short-sale-rules'
export { MARKET_WIDE_SHORT_BANS } from './short-sale-rules'
export type { InstrumentKind, TickBand, TickTable } from './ticks'
export { KRX_TICK_TABLES, TickGrid, TickRules } from './ticks'
