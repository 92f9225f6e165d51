import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'

/** One test file's private database on the run's PostgreSQL server. */
export interface TestDatabase {
  /** Connection URL of the fresh database. */
  readonly url: string
  /** Its name (`vt_<random>`). */
  readonly name: string
  /** `embedded` when the run started its own cluster, `server` when `VELLAB_TEST_DATABASE_URL` named one. */
  readonly kind: 'embedded' | 'server'
  /** The server's major version, e.g. 15 or 18. */
  readonly serverVersion: number
  /** A pg pool on the database (closed by `drop`). */
  readonly pool: pg.Pool
  /** A Kysely instance over `pool`. */
  db<DB>(): Kysely<DB>
  /**
   * Simulate the database going away: terminate every server connection to this database (the
   * pool's idle clients error out and are replaced on next use). Returns how many were killed.
   */
  terminateConnections(): Promise<number>
  /** Close every connection this fixture opened and drop the database. */
  drop(): Promise<void>
}

function adminUrl(): string {
  const url = process.env.VELLAB_TEST_DATABASE_URL
  if (!url) {
    throw new Error(
      'No test PostgreSQL: VELLAB_TEST_DATABASE_URL is unset. Add @vellab/testkit/global-setup to the ' +
        "vitest config's globalSetup, or point VELLAB_TEST_DATABASE_URL at a server.",
    )
  }
  return url
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

/**
 * Create a fresh, empty database for one test file, so suites run in parallel without seeing each
 * other's rows. Call `drop()` in `afterAll`.
 */
export async function createTestDatabase(prefix = 'vt'): Promise<TestDatabase> {
  const admin = adminUrl()
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  let serverVersion: number
  try {
    await client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`)
    const res = await client.query<{ server_version_num: string }>('SHOW server_version_num')
    serverVersion = Math.floor(Number(res.rows[0]?.server_version_num) / 10000)
  } finally {
    await client.end()
  }
  const url = withDatabase(admin, name)
  const pool = new pg.Pool({ connectionString: url, max: 20 })
  // A test that kills connections on purpose must not crash the worker through an unhandled 'error':
  // pg-pool listens on idle clients only, so checked-out clients get their own listener.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  const kyselies: Kysely<unknown>[] = []
  let dropped = false
  return {
    url,
    name,
    kind: process.env.VELLAB_TEST_DATABASE_KIND === 'embedded' ? 'embedded' : 'server',
    serverVersion,
    pool,
    db<DB>() {
      const k = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
      kyselies.push(k as Kysely<unknown>)
      return k
    },
    async terminateConnections() {
      const c = new pg.Client({ connectionString: admin })
      await c.connect()
      try {
        const r = await c.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [name],
        )
        return r.rowCount ?? 0
      } finally {
        await c.end()
      }
    },
    async drop() {
      if (dropped) return
      dropped = true
      // Kysely's destroy ends the shared pool; end it ourselves only when no Kysely did.
      if (kyselies.length > 0) await Promise.all(kyselies.map((k) => k.destroy().catch(() => {})))
      else await pool.end().catch(() => {})
      const c = new pg.Client({ connectionString: admin })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}
