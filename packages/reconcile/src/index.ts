// Public API of @vellab/reconcile. Explicit exports only.
export type { MigrateReconcileOptions } from './migrations'
export { migrateReconcile, reconcileMigrations } from './migrations'
export type {
  ReconBaselinesTable,
  ReconBreaksTable,
  ReconcileTables,
  ReconRunsTable,
  ReconTicketsTable,
} from './schema'
