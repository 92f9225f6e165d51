import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { orderFsmMigrations } from '@vellab/order-fsm'
import { riskKrMigrations } from '@vellab/risk-kr'
import { Kysely, PostgresDialect } from 'kysely'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import { startEmbeddedPostgres } from './embedded-postgres'

export interface Database {
  db: Kysely<unknown>
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
  const onError = (e: Error) => options.log(`database connection error: ${e.message}`)
  pool.on('error', onError)
  pool.on('connect', (client) => client.on('error', onError))
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    url,
    kind: stopEmbedded ? 'embedded' : 'server',
    async close() {
      await db.destroy()
      await stopEmbedded?.()
    },
  }
}

/** Run every package's migrations with one Migrator (names are package-prefixed, so they never clash). */
export async function migrate(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...orderFsmMigrations, ...riskKrMigrations }) },
    migrationTableName: 'vellab_migration',
    migrationLockTableName: 'vellab_migration_lock',
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw new Error('database migration failed', { cause: error })
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
