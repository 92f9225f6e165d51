// What the bench scripts share: a throwaway database on DATABASE_URL or on an embedded PostgreSQL 18
// with durable settings (fsync and synchronous_commit on, like production), its pools, the baseline
// table that every ratio is taken against, and the intent the benches trade. BENCH_MIGRATE_TO=<name>
// stops the package's migrations at that one (e.g. order_fsm_0006_json_documents), to measure
// the schema before a migration (with this version's store, 0006 or later: it calls the `_v2`
// write functions).
import { randomBytes } from 'node:crypto'
import { startEmbeddedPostgres } from '@vellab/testkit/embedded'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import { migrateOrderFsm, type OrderFsmTables, orderFsmMigrations } from '../src/index.ts'

export interface BenchDatabase {
  /** Where the server came from, for the report. */
  readonly source: string
  /** `name=setting` of the settings that decide a commit's cost. */
  readonly settings: string
  /** A new pool of `max` connections on the bench database, with Kysely on it. */
  connect(max: number): { pool: pg.Pool; db: Kysely<OrderFsmTables> }
}

/**
 * Run `bench` on a fresh database (`<prefix>_<random>`) where this package's migrations and the
 * baseline table exist; drops it, ends the pools and stops the embedded server afterwards.
 */
export async function withBenchDatabase(prefix: string, bench: (b: BenchDatabase) => Promise<void>) {
  const cluster = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres()
  const adminUrl = process.env.DATABASE_URL ?? cluster!.adminUrl
  const name = `${prefix}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  const pools: pg.Pool[] = []
  try {
    await admin.query(`CREATE DATABASE ${name}`)
    const { rows } = await admin.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version', 'wal_sync_method')`,
    )
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    const connect = (max: number) => {
      const pool = new pg.Pool({ connectionString: url.toString(), max })
      // DROP DATABASE … WITH (FORCE) at the end may close idle connections first.
      pool.on('error', () => {})
      pools.push(pool)
      return { pool, db: new Kysely<OrderFsmTables>({ dialect: new PostgresDialect({ pool }) }) }
    }
    const { db } = connect(1)
    if (process.env.BENCH_MIGRATE_TO) {
      // An earlier schema, to compare a migration's effect in the same session.
      const r = await new Migrator({
        db,
        provider: { getMigrations: async () => ({ ...orderFsmMigrations }) },
      }).migrateTo(process.env.BENCH_MIGRATE_TO)
      if (r.error) throw r.error
    } else {
      await migrateOrderFsm(db)
    }
    await sql`CREATE TABLE bench_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k text NOT NULL, at bigint NOT NULL)`.execute(
      db,
    )
    await bench({
      source: cluster ? 'embedded (durable settings)' : 'DATABASE_URL',
      settings: rows.map((r) => `${r.name}=${r.setting}`).join(', '),
      connect,
    })
  } finally {
    await Promise.all(pools.map((p) => p.end()))
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
    await cluster?.stop()
  }
}

/** The baseline of every ratio: one bare single-row INSERT, one commit. */
export function baselineInsert(db: Kysely<OrderFsmTables>) {
  return sql`INSERT INTO bench_baseline (k, at) VALUES (${'x'}, ${Date.now()})`.execute(db)
}

/** A limit buy of 005930 on the bench account. */
export function benchIntent(id: string, quantity = 10) {
  return {
    intentId: id,
    account: '50123456-01',
    strategyId: 'bench',
    symbol: '005930',
    side: 'buy' as const,
    quantity,
    orderType: 'limit' as const,
    limitPrice: 71_000,
  }
}
