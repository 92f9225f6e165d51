// Public API of @vellab/reconcile. Explicit exports only. Left private on purpose: the per-order
// comparison (`orders.ts`) and the broker read (`snapshot.ts`' function); only their behaviour
// through `createReconciler` is the contract.
export type { BookTolerances, OpeningBook, OpeningPosition } from './book'
export type { Break, BreakKind, BreakResolution, Finding } from './breaks'
export { BREAK_KINDS } from './breaks'
export type { ReconcileErrorCode } from './errors'
export { ReconcileError } from './errors'
export type { PassStatus, PassTrigger, ReconcileEvent } from './events'
export type { FingerprintGuard, GuardVerdict } from './guard'
export { createFingerprintGuard } from './guard'
export type {
  DefaultKillSwitchPolicyOptions,
  KillSwitchDecision,
  KillSwitchPolicy,
  KillSwitchPolicyInput,
  KillSwitchPort,
} from './kill-switch'
export { defaultKillSwitchPolicy } from './kill-switch'
export type { MigrateReconcileOptions } from './migrations'
export { migrateReconcile, reconcileMigrations } from './migrations'
export type { BarrierState, PassReport, Reconciler, ReconcilerOptions } from './reconciler'
export { createReconciler } from './reconciler'
export type {
  ReconBaselinesTable,
  ReconBreaksTable,
  ReconcileTables,
  ReconRunsTable,
  ReconTicketsTable,
} from './schema'
export type { BrokerReader, BrokerSnapshot, ReadCapabilities } from './snapshot'
export type { Ticket, TicketBookOptions, TicketFilter } from './tickets'
export { TicketBook } from './tickets'
