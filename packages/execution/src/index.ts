export type {
  ChildRiskRequest,
  DuplicateGuard,
  ExecutionEngineOptions,
  ExecutionEvent,
  ParentProgress,
  ParentView,
  PreTradeCheck,
  RetryPolicy,
  RiskVerdict,
  SentRecorder,
} from './engine'
export { ExecutionEngine } from './engine'
export { ExecutionFencedError, ParentConflictError, ParentNotFoundError } from './errors'
export type { ExecChildrenTable, ExecParentsTable, ExecutionTables } from './migrations'
export { executionMigrations, migrateExecution } from './migrations'
export type { ParentAmend, ParentOrder, ParentOrderInput, ParentState, Schedule, Urgency } from './parent'
export {
  PARENT_STATES,
  ParentAmendSchema,
  ParentOrderSchema,
  PovScheduleSchema,
  ScheduleSchema,
  TERMINAL_PARENT_STATES,
  TwapScheduleSchema,
  UrgencySchema,
} from './parent'
export type { Allocation, MarketView } from './planner'
export { childLimitPrice, maxChildQuantity, nextChildQuantity, targetQuantity } from './planner'
