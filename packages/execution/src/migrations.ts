import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration'

// Plain SQL that runs unchanged on PostgreSQL 15 and 18. A child row is written before its order
// intent, so a restart finds every child it ever planned (the intent id is derived from the row).

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE exec_parents (
        parent_id text PRIMARY KEY,
        account text NOT NULL,
        strategy_id text NOT NULL,
        symbol text NOT NULL,
        side text NOT NULL CHECK (side IN ('buy', 'sell')),
        spec jsonb NOT NULL,
        state text NOT NULL,
        reason text,
        arrival_price integer,
        next_seq integer NOT NULL DEFAULT 0,
        consecutive_rejects integer NOT NULL DEFAULT 0,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`.execute(db)
    await sql`CREATE INDEX exec_parents_state_idx ON exec_parents (state, account)`.execute(db)
    await sql`
      CREATE TABLE exec_children (
        intent_id text PRIMARY KEY,
        parent_id text NOT NULL REFERENCES exec_parents (parent_id),
        seq integer NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        limit_price integer,
        created_at bigint NOT NULL,
        UNIQUE (parent_id, seq)
      )`.execute(db)
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE exec_children`.execute(db)
    await sql`DROP TABLE exec_parents`.execute(db)
  },
}

/** This package's migrations, named `execution_*` so they never clash with another package's. */
export const executionMigrations: Readonly<Record<string, Migration>> = {
  execution_0001_initial: initial,
}

/** `exec_parents`: one row per parent order. */
export interface ExecParentsTable {
  parent_id: string
  account: string
  strategy_id: string
  symbol: string
  side: 'buy' | 'sell'
  spec: unknown
  state: string
  reason: string | null
  arrival_price: number | null
  next_seq: number
  consecutive_rejects: number
  created_at: string | number
  updated_at: string | number
}

/** `exec_children`: one row per planned child, written before its order intent. */
export interface ExecChildrenTable {
  intent_id: string
  parent_id: string
  seq: number
  quantity: number
  limit_price: number | null
  created_at: string | number
}

/** The tables this package owns; compose with the other packages' table interfaces. */
export interface ExecutionTables {
  exec_parents: ExecParentsTable
  exec_children: ExecChildrenTable
}

/** Bring this package's tables up to date on their own (tests, single-package apps). */
export async function migrateExecution<DB>(db: Kysely<DB>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...executionMigrations }) },
    migrationTableName: 'execution_migration',
    migrationLockTableName: 'execution_migration_lock',
  })
  const result = await migrator.migrateToLatest()
  if (result.error) throw result.error
  return result
}
