import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration'

// Plain SQL that runs unchanged on PostgreSQL 15 and 18 (ARCHITECTURE.md "Dependency direction").
// Times are epoch milliseconds (bigint), like order-fsm's, so one clock orders both packages' rows.
const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE recon_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account text NOT NULL,
        broker_date text NOT NULL,
        trigger text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'clean', 'ticketed', 'pending', 'failed')),
        started_at bigint NOT NULL,
        finished_at bigint,
        duration_ms bigint,
        pages_read integer NOT NULL DEFAULT 0,
        requests_spent integer NOT NULL DEFAULT 0,
        breaks_found integer NOT NULL DEFAULT 0,
        breaks_resolved integer NOT NULL DEFAULT 0,
        tickets_opened integer NOT NULL DEFAULT 0,
        error text
      )`.execute(db)
    await sql`CREATE INDEX recon_runs_account_idx ON recon_runs (account, started_at)`.execute(db)
    await sql`
      CREATE TABLE recon_tickets (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dedup_key text NOT NULL,
        account text NOT NULL,
        kind text NOT NULL,
        severity text NOT NULL CHECK (severity IN ('warning', 'critical')),
        state text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
        intent_id text,
        broker_order_id text,
        symbol text,
        summary text NOT NULL,
        evidence jsonb NOT NULL,
        opened_at bigint NOT NULL,
        first_run_id bigint NOT NULL REFERENCES recon_runs (id),
        last_run_id bigint NOT NULL REFERENCES recon_runs (id),
        last_seen_at bigint NOT NULL,
        seen_count integer NOT NULL DEFAULT 1,
        acknowledged_at bigint,
        acknowledged_by text,
        acknowledged_why text,
        resolved_at bigint,
        resolved_by text,
        resolved_why text
      )`.execute(db)
    // One live ticket per break: a break seen again on the next pass updates it instead of opening another.
    await sql`
      CREATE UNIQUE INDEX recon_tickets_live_key ON recon_tickets (dedup_key) WHERE state <> 'resolved'`.execute(
      db,
    )
    await sql`CREATE INDEX recon_tickets_account_idx ON recon_tickets (account, state)`.execute(db)
    await sql`
      CREATE TABLE recon_breaks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id bigint NOT NULL REFERENCES recon_runs (id),
        account text NOT NULL,
        broker_date text NOT NULL,
        kind text NOT NULL,
        dedup_key text NOT NULL,
        resolution text NOT NULL CHECK (resolution IN ('auto_resolved', 'ticketed', 'pending')),
        intent_id text,
        broker_order_id text,
        symbol text,
        evidence jsonb NOT NULL,
        occurred_at bigint,
        found_at bigint NOT NULL,
        resolved_at bigint,
        ticket_id bigint REFERENCES recon_tickets (id)
      )`.execute(db)
    await sql`CREATE INDEX recon_breaks_run_idx ON recon_breaks (run_id)`.execute(db)
    await sql`CREATE INDEX recon_breaks_kind_idx ON recon_breaks (account, kind, found_at)`.execute(db)
    // The opening book of a day: the broker's positions and cash less what the day's known fills
    // already did to them, taken on the day's first complete pass. Later passes expect opening +
    // fills and call the rest unexplained.
    await sql`
      CREATE TABLE recon_baselines (
        account text NOT NULL,
        broker_date text NOT NULL,
        positions jsonb NOT NULL,
        cash jsonb NOT NULL,
        run_id bigint NOT NULL REFERENCES recon_runs (id),
        taken_at bigint NOT NULL,
        PRIMARY KEY (account, broker_date)
      )`.execute(db)
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE recon_baselines`.execute(db)
    await sql`DROP TABLE recon_breaks`.execute(db)
    await sql`DROP TABLE recon_tickets`.execute(db)
    await sql`DROP TABLE recon_runs`.execute(db)
  },
}

/**
 * This package's migrations, named `recon_<nnnn>_<what>` so they sort together and never clash with
 * another package's. Give them to the runner's single `Migrator` with the others' (order-fsm's
 * migrations must run too: the reconciler resolves through its store).
 *
 * @example
 * ```ts
 * const migrator = new Migrator({ db, provider: { getMigrations: async () => ({
 *   ...orderFsmMigrations, ...riskKrMigrations, ...reconcileMigrations }) } })
 * await migrator.migrateToLatest()
 * ```
 */
export const reconcileMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  recon_0001_initial: initial,
})

/** Options of {@link migrateReconcile}. */
export interface MigrateReconcileOptions {
  /**
   * Kysely's bookkeeping table; this package's own by default (do not mix with a shared `Migrator`
   * on one database).
   * @default 'recon_migration'
   */
  migrationTableName?: string
  /** @default 'recon_migration_lock' */
  migrationLockTableName?: string
}

/**
 * Bring this package's tables up to date on their own (tests, tools, single-package apps). Throws
 * with the failing migration's error when one fails.
 */
export async function migrateReconcile<DB>(
  db: Kysely<DB>,
  options: MigrateReconcileOptions = {},
): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...reconcileMigrations }) },
    migrationTableName: options.migrationTableName ?? 'recon_migration',
    migrationLockTableName: options.migrationLockTableName ?? 'recon_migration_lock',
  })
  const result = await migrator.migrateToLatest()
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`reconcile migration ${failed} failed: ${String(result.error)}`, { cause: result.error })
  }
  return result
}
