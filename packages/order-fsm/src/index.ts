// Public API of @vellab/order-fsm. Explicit exports only. Left private on purpose: the SQL of the
// store (only its behaviour is the contract) and the intent hashing (an implementation detail of
// createIntent's idempotency).

export { kstDate } from '@vellab/broker-gateway'
export type { BrokerEventRoute } from './broker-events'
export { fromBrokerEvent, routingIdsOf } from './broker-events'
export type { OrderEffect, OrderEffectType } from './effects'
export type { OrderFsmErrorCode, TransitionErrorCode } from './errors'
export {
  BrokerIdConflictError,
  ConcurrencyExhaustedError,
  FENCED_SQLSTATE,
  FencedError,
  IntentConflictError,
  isConnectionError,
  OrderFsmError,
  OrderNotFoundError,
  StoreUnavailableError,
  TransitionError,
} from './errors'
export type {
  Acked,
  CancelAcked,
  Canceled,
  CancelRejected,
  CancelRequested,
  Expired,
  FillReported,
  OrderEvent,
  OrderEventType,
  OutcomeUnknown,
  ReconcileAmbiguous,
  ReconcileFlagged,
  ReconcileMatched,
  ReconcileNotFound,
  Rejected,
  ReplaceAcked,
  ReplaceRefused,
  ReplaceRejected,
  ReplaceRequested,
  SubmitStarted,
} from './events'
export { ORDER_EVENT_TYPES } from './events'
export { checkFence, FENCED_TRANSACTION_IDLE_MS, type Fence, type FenceRefusal, fencedWrite } from './fence'
export type { OrderFingerprint } from './fingerprint'
export { fingerprintKey, fingerprintOfBrokerOrder, fingerprintOfIntent } from './fingerprint'
export type { MigrateOrderFsmOptions } from './migrations'
export { migrateOrderFsm, orderFsmMigrations, orderFsmTableRewrites } from './migrations'
export type {
  BrokerLeg,
  FillGap,
  LegReduction,
  Order,
  PendingRequest,
  ReplacedTerms,
  Unresolved,
} from './order'
export {
  averageFillPrice,
  currentLeg,
  isSuperseded,
  newOrder,
  remainingQuantity,
  replaceUnanswered,
} from './order'
export type {
  OrderAuditTable,
  OrderBrokerIdsTable,
  OrderEventsTable,
  OrderFillsTable,
  OrderFsmTables,
  OrderOrdersTable,
  OrderProjectionDoc,
  OrderUnmatchedTable,
} from './schema'
export type { OrderState } from './states'
export { isTerminal, OPEN_STATES, ORDER_STATES, TERMINAL_STATES } from './states'
export type {
  ApplyOutcome,
  AuditEntry,
  BrokerEventOutcome,
  EventSource,
  FillRecord,
  OrderFilter,
  OrderStore,
  OrderStoreNotice,
  OrderStoreOptions,
  PgQueryable,
  RecordContext,
  RecoveryReport,
  RequestClaim,
  StoredOrderEvent,
  UnmatchedBrokerEvent,
} from './store'
export { brokerEventKey, createOrderStore } from './store'
export type { Transitioned, TransitionResult } from './transition'
export { transition } from './transition'
export {
  GENERATED_DOC_MARKERS,
  renderStateDiagram,
  renderTransitionDocs,
  renderTransitionTable,
  spliceTransitionDocs,
} from './transition-doc'
export type { TransitionRule, TransitionTable } from './transition-table'
export { ruleFor, TRANSITION_TABLE } from './transition-table'
