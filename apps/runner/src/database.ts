import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { KIS_LISTING_TABLES_DDL, KIS_TOKEN_TABLE_DDL } from '@vellab/broker-kis'
import { type ExecutionTables, executionMigrations } from '@vellab/execution'
import { leaseMigrations } from '@vellab/lease'
import { type OrderFsmTables, orderFsmMigrations, orderFsmTableRewrites } from '@vellab/order-fsm'
import { type ReconcileTables, reconcileMigrations } from '@vellab/reconcile'
import { type RiskKrDatabase, riskKrMigrations } from '@vellab/risk-kr'
import { type ColumnType, type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import { type Migration, Migrator } from 'kysely/migration'
import pg from 'pg'
import { startEmbeddedPostgres } from './embedded-postgres'

/** `runner_phase_audit`: every change of the rollout phase, who and when. */
export interface RunnerPhaseAuditTable {
  id: Generated<number>
  phase: string
  previous: string | null
  changed_at: number
  actor: string
  /** The phase's caps as configured at the change. */
  caps: unknown
}

/**
 * `runner_appkey_activity`: what the appkey liveness check (`liveness.ts`) knows of each appkey,
 * keyed by its lease key (`leaseKeyOf(appkey)`, a hash): the appkey itself is a secret and is never
 * stored.
 */
export interface RunnerAppkeyActivityTable {
  lease_key: string
  /**
   * The KST day the appkey's service period began, as the operator configured it. A PostgreSQL
   * `date`, which pg reads as a JS `Date` at local midnight: select it as
   * `to_char(service_started_on, 'YYYY-MM-DD')`.
   */
  service_started_on: ColumnType<Date | null, string | null, string | null>
  /** Epoch ms of the last successful use (a token issued, a session that traded). bigint. */
  last_used_at: ColumnType<string | null, number | null, number | null>
  /** Epoch ms of the last liveness check. bigint. */
  checked_at: ColumnType<string | null, number | null, number | null>
}

/** The runner's own tables. */
export interface RunnerTables {
  runner_phase_audit: RunnerPhaseAuditTable
  runner_appkey_activity: RunnerAppkeyActivityTable
}

/** The database the runner works on: every package's tables, composed. */
export type RunnerDatabase = OrderFsmTables &
  RiskKrDatabase &
  ReconcileTables &
  ExecutionTables &
  RunnerTables

/** The runner's migrations, named `runner_…` like every package's. */
export const runnerMigrations: Record<string, Migration> = {
  runner_0001_phase_audit: {
    async up(db) {
      await sql`
        CREATE TABLE runner_phase_audit (
          id bigserial PRIMARY KEY,
          phase text NOT NULL,
          previous text,
          changed_at bigint NOT NULL,
          actor text NOT NULL,
          caps jsonb NOT NULL
        )`.execute(db)
    },
    async down(db) {
      await sql`DROP TABLE runner_phase_audit`.execute(db)
    },
  },
  // The KIS access-token store every runner of a deployment shares (broker-kis
  // PostgresTokenStore): a standby taking over reuses the leader's token instead of issuing one
  // inside KIS's one-per-minute throttle.
  runner_0002_kis_tokens: {
    async up(db) {
      await sql.raw(KIS_TOKEN_TABLE_DDL).execute(db)
    },
    async down(db) {
      await sql`DROP TABLE IF EXISTS kis_access_tokens`.execute(db)
    },
  },
  // Appkey service-period and inactivity liveness (liveness.ts): one row per lease key, never the
  // appkey itself.
  runner_0003_appkey_activity: {
    async up(db) {
      await sql`
        CREATE TABLE runner_appkey_activity (
          lease_key text PRIMARY KEY,
          service_started_on date,
          last_used_at bigint,
          checked_at bigint
        )`.execute(db)
    },
    async down(db) {
      await sql`DROP TABLE runner_appkey_activity`.execute(db)
    },
  },
  // Today's KIS order listing as the leader last read it (broker-kis PostgresListingStore): a
  // standby that takes over reads the day incrementally from its first listing instead of whole.
  runner_0004_kis_listing: {
    async up(db) {
      await sql.raw(KIS_LISTING_TABLES_DDL).execute(db)
    },
    async down(db) {
      await sql`DROP TABLE IF EXISTS kis_listing_rows`.execute(db)
      await sql`DROP TABLE IF EXISTS kis_listing_days`.execute(db)
    },
  },
}

export interface Database {
  db: Kysely<RunnerDatabase>
  /** The pool under `db` (the shared token store takes it). */
  pool: pg.Pool
  url: string
  /** `embedded` when the runner started its own PostgreSQL. */
  kind: 'embedded' | 'server'
  close(): Promise<void>
}

/**
 * Open the state database: the given URL, or an embedded PostgreSQL (binaries from the npm
 * registry) in `dataDir`, kept between runs so a restart recovers its orders. Durability stays on.
 */
export async function openDatabase(options: {
  url?: string
  /** Persistent data directory; a temporary one (removed at close) when absent. */
  dataDir?: string
  log: (line: string) => void
}): Promise<Database> {
  let url = options.url
  let stopEmbedded: (() => Promise<void>) | undefined
  if (!url) {
    // The same starter the test kit uses, with durability on.
    const dir = options.dataDir ? resolve(options.dataDir) : undefined
    if (dir) await mkdir(dir, { recursive: true })
    const cluster = await startEmbeddedPostgres(dir ? { dataDir: dir } : {})
    url = cluster.adminUrl
    stopEmbedded = () => cluster.stop()
    options.log(
      `embedded PostgreSQL on port ${cluster.port}, data in ${cluster.dataDir}${dir ? '' : ' (temporary)'}`,
    )
  }
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  // A client losing its server must not crash the process: pg-pool listens on idle clients only,
  // so checked-out clients get their own listener. The failing query still rejects (order-fsm
  // turns that into StoreUnavailableError).
  // Once we close the database ourselves, a connection ended by our own embedded server's
  // shutdown is expected, not news for the operator.
  let closing = false
  const onError = (e: Error) => {
    if (!closing) options.log(`database connection error: ${e.message}`)
  }
  pool.on('error', onError)
  pool.on('connect', (client) => client.on('error', onError))
  const db = new Kysely<RunnerDatabase>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    pool,
    url,
    kind: stopEmbedded ? 'embedded' : 'server',
    async close() {
      closing = true
      await db.destroy()
      await stopEmbedded?.()
    },
  }
}

/** The migrations (of every package) that rewrite tables, with the tables each rewrites. */
const TABLE_REWRITES: Readonly<Record<string, readonly string[]>> = { ...orderFsmTableRewrites }

/** A pending migration that would rewrite a table, and that table's estimated rows. */
export interface PendingRewrite {
  migration: string
  table: string
  rows: number
}

/**
 * The runner would not start: a pending migration rewrites tables larger than
 * `VELLAB_MIGRATE_MAX_REWRITE_ROWS`, under an exclusive lock that stops every order write while
 * it copies. `vellab migrate` runs it whatever the size; do that outside trading hours.
 */
export class MigrationDeferredError extends Error {
  override readonly name = 'MigrationDeferredError'
  readonly rewrites: readonly PendingRewrite[]

  constructor(rewrites: readonly PendingRewrite[], maxRows: number) {
    const rows = rewrites.reduce((n, r) => n + r.rows, 0)
    const tables = new Map<string, string[]>()
    for (const r of rewrites) tables.set(r.migration, [...(tables.get(r.migration) ?? []), r.table])
    const what = [...tables].map(([m, ts]) => `${m} would rewrite ${ts.join(' and ')}`).join('; ')
    super(
      `not migrating at startup: ${what} (about ${rows.toLocaleString('en-US')} rows, over ` +
        `VELLAB_MIGRATE_MAX_REWRITE_ROWS=${maxRows.toLocaleString('en-US')}) under an exclusive lock that stops ` +
        'every order write while it copies (a few seconds per million rows). Run `vellab migrate` outside ' +
        'trading hours, then start again.',
    )
    this.rewrites = rewrites
  }
}

/** The one Migrator of every package's migrations on the runner's database. */
export function runnerMigrator(db: Kysely<RunnerDatabase>): Migrator {
  return new Migrator({
    db,
    provider: {
      getMigrations: async () => ({
        ...orderFsmMigrations,
        ...riskKrMigrations,
        ...reconcileMigrations,
        ...executionMigrations,
        ...leaseMigrations,
        ...runnerMigrations,
      }),
    },
    migrationTableName: 'vellab_migration',
    migrationLockTableName: 'vellab_migration_lock',
  })
}

/**
 * The pending migrations that rewrite a table, each table with its estimated rows (the planner's
 * statistics; from the table's size where it has none yet).
 */
export async function pendingRewrites(db: Kysely<RunnerDatabase>): Promise<PendingRewrite[]> {
  const pending = (await runnerMigrator(db).getMigrations()).filter((m) => !m.executedAt).map((m) => m.name)
  const wanted = pending.flatMap((migration) =>
    (TABLE_REWRITES[migration] ?? []).map((table) => ({ migration, table })),
  )
  if (wanted.length === 0) return []
  const { rows } = await sql<{ table: string; rows: string }>`
    SELECT c.relname AS table,
      CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE pg_relation_size(c.oid) / 256 END AS rows
    FROM pg_class c
    WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
      AND c.relname IN (${sql.join(wanted.map((w) => w.table))})`.execute(db)
  const size = new Map(rows.map((r) => [r.table, Number(r.rows)]))
  return wanted.map((w) => ({ ...w, rows: size.get(w.table) ?? 0 }))
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * Refuse (with {@link MigrationDeferredError}, nothing migrated) when the pending migrations
   * would rewrite more rows than this in all. Unset: migrate whatever the size.
   */
  maxRewriteRows?: number
}

/** Run every package's migrations with one Migrator (names are package-prefixed, so they never clash). */
export async function migrate(db: Kysely<RunnerDatabase>, options: MigrateOptions = {}): Promise<string[]> {
  if (options.maxRewriteRows !== undefined) {
    const rewrites = await pendingRewrites(db)
    const rows = rewrites.reduce((n, r) => n + r.rows, 0)
    if (rows > options.maxRewriteRows) throw new MigrationDeferredError(rewrites, options.maxRewriteRows)
  }
  const { error, results } = await runnerMigrator(db).migrateToLatest()
  if (error) throw new Error('database migration failed', { cause: error })
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
