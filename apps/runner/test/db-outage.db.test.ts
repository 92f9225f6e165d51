import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil } from '@vellab/testkit/wait'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
import { DatabaseUnavailableError, run } from '../src/run'
import { startPaperRehearsal } from './sim-process'

// The database goes away mid-session (a DBA closes it to connections and kills the sessions). The
// runner must fail closed: stop at once, send nothing it cannot record first, say so, and leave
// orders in flight for the next start to explain. Real processes: the runner in this process,
// kis-sim as its own, PostgreSQL for real.
describe('runner when the database goes away', () => {
  let db: TestDatabase
  let admin: pg.Client
  beforeAll(async () => {
    db = await createTestDatabase()
    admin = new pg.Client({ connectionString: process.env.VELLAB_TEST_DATABASE_URL })
    await admin.connect()
  })
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS true`).catch(() => {})
    await admin?.end()
    await db?.drop()
  })

  it('a database that refuses connections at start is an outage (exit 3), not a crash', async () => {
    await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS false`)
    try {
      const config = { ...loadRunnerConfig({ VELLAB_MODE: 'sim' }), databaseUrl: db.url }
      const outcome = await run(config, { log: () => {} }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(outcome).toBeInstanceOf(DatabaseUnavailableError)
    } finally {
      await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS true`)
    }
  })

  it('stops trading at once, sends nothing unrecorded, and the next start explains every order', async () => {
    // Paper as documented (its orders can be listed), so reconciliation can prove what was in
    // flight when the database went (as reported, those orders would be ticketed instead).
    const r = await startPaperRehearsal(['--paper', 'documented'])
    try {
      await r.post('/__sim/limits', { env: 'paper', perSecond: 10 })
      const env = {
        ...r.env,
        KIS_CAPABILITIES: 'listOrders=true,listFills=true',
        KIS_REST_PER_SECOND: '10',
        VELLAB_RECONCILE_REPORTING_DELAY_MS: '2000',
      }
      type Ledger = { orders: { appkey: string; kind: string; odno: string }[] }
      const sentByUs = async () =>
        (await r.get<Ledger>('/__sim/ledger')).orders.filter(
          (o) => o.appkey === r.app.appkey && o.odno !== '',
        )
      const config = {
        ...loadRunnerConfig(r.env),
        databaseUrl: db.url,
        runSeconds: 120,
        decisionIntervalMs: 300,
      }
      const lines: string[] = []
      const session = run(config, { log: (l) => lines.push(l), env }).then(
        () => undefined,
        (e: unknown) => e,
      )
      await waitUntil('a few orders at the broker', async () => (await sentByUs()).length >= 3, 60_000)

      await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS false`)
      await db.terminateConnections()
      const outcome = await session
      expect(outcome).toBeInstanceOf(DatabaseUnavailableError)
      expect((outcome as Error).message).toMatch(/trading stopped, nothing more was sent/)
      expect(lines.some((l) => l.startsWith('database unreachable: trading stopped'))).toBe(true)
      const atStop = await sentByUs()

      // Back up: every order the broker received has its durable intent (write-ahead before the
      // send), whatever state the outage left it in.
      await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS true`)
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM order_orders WHERE state <> 'INTENT_CREATED'`,
      )
      expect(rows[0]!.n).toBeGreaterThanOrEqual(atStop.filter((o) => o.kind === 'new').length)

      // The next start recovers, reconciles, trades and ends with books that match the broker.
      const again = await run({ ...config, runSeconds: 3 }, { log: (l) => lines.push(l), env })
      expect(lines.some((l) => l.startsWith('order store recovered'))).toBe(true)
      // Including "no rate limit exceeded": the restart came within a second of the last request.
      for (const check of again.checks) expect(check, check.detail).toMatchObject({ ok: true })
      const after = await sentByUs()
      // Nothing was sent twice: each broker order number appears once.
      expect(new Set(after.map((o) => o.odno)).size).toBe(after.length)
      expect(after.length).toBeGreaterThanOrEqual(atStop.length)
    } finally {
      expect(await r.sim.stop()).toBe(0)
    }
  }, 180_000)
})
