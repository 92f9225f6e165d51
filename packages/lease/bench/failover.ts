// pnpm bench — (1) lease failover: a holder's session dies (as kill -9 leaves it) → time until a
// waiting standby holds the lease, over 12 takeovers; (2) the fencing check's cost per order write:
// one fenced transition vs the same unfenced, side by side in one run on the same database.
// Uses DATABASE_URL when set; otherwise an embedded PostgreSQL 18 with durable settings.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createOrderStore, migrateOrderFsm, type OrderFsmTables } from '@vellab/order-fsm'
import { startEmbeddedPostgres } from '@vellab/testkit/embedded'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { AppKeyLease, migrateLease } from '../src/index.ts'

const TAKEOVERS = Number(process.env.BENCH_TAKEOVERS ?? 12)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1500)
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!

const cluster = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres()
const adminUrl = process.env.DATABASE_URL ?? cluster!.adminUrl
const name = `lease_bench_${randomBytes(4).toString('hex')}`
const admin = new pg.Client({ connectionString: adminUrl })
await admin.connect()
await admin.query(`CREATE DATABASE ${name}`)
const url = new URL(adminUrl)
url.pathname = `/${name}`
const pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
pool.on('error', () => {})
const db = new Kysely<OrderFsmTables>({ dialect: new PostgresDialect({ pool }) })
try {
  await migrateLease(db)
  await migrateOrderFsm(db)

  // (1) failover
  const takeovers: number[] = []
  for (let i = 0; i < TAKEOVERS; i++) {
    const key = `bench:${i}`
    const opts = { connectionString: url.toString(), key, holder: 'bench', ttlMs: 5_000, pollMs: 50 }
    const a = await AppKeyLease.acquire(opts)
    const standby = AppKeyLease.acquire({ ...opts, holder: 'standby' })
    await new Promise((r) => setTimeout(r, 120)) // the standby is polling
    const t0 = performance.now()
    await pool.query('SELECT pg_terminate_backend(backend_pid) FROM vellab_leases WHERE lease_key = $1', [
      key,
    ])
    const b = await standby
    takeovers.push(performance.now() - t0)
    await b.release()
    await a.release()
  }
  console.log(
    `lease failover (holder session killed → standby holds the lease), ${TAKEOVERS} takeovers, pollMs 50:`,
  )
  console.log(
    `  median ${pct(takeovers, 50).toFixed(1)} ms  max ${Math.max(...takeovers).toFixed(1)} ms  (min ${Math.min(...takeovers).toFixed(1)} ms)`,
  )

  // (2) fencing cost: requestCancel on acked orders, fenced vs not, interleaved in rounds.
  await sql`INSERT INTO vellab_leases (lease_key, epoch, holder, backend_pid, acquired_at) VALUES ('bench:fence', 1, 'bench', NULL, now())`.execute(
    db,
  )
  const plain = createOrderStore({ db, actor: 'bench' })
  const fenced = createOrderStore({ db, actor: 'bench', fence: () => ({ key: 'bench:fence', epoch: 1 }) })
  // Each store prepares its own orders, so both decide on a warm cache (one round-trip per write).
  const prepare = async (tag: string, n: number, store: typeof plain) => {
    for (let i = 0; i < n; i++) {
      const id = `${tag}-${i}`
      await store.createIntentAndSubmit({
        intentId: id,
        account: '50123456-01',
        strategyId: 'bench',
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: 71_000,
      })
      await store.recordAck({ intentId: id, brokerOrderId: `${tag}${i}`, acceptedAt: Date.now() })
    }
  }
  await prepare('p', SAMPLES + 100, plain)
  await prepare('f', SAMPLES + 100, fenced)
  const times = { p: [] as number[], f: [] as number[] }
  let next = 0
  for (let i = 0; i < 100; i++) {
    await plain.requestCancel(`p-${next}`)
    await fenced.requestCancel(`f-${next++}`)
  }
  const per = Math.ceil(SAMPLES / 5)
  for (let round = 0; round < 5; round++) {
    for (const [tag, store] of [
      ['p', plain],
      ['f', fenced],
    ] as const) {
      for (let i = 0; i < per && next + i < SAMPLES + 100; i++) {
        const t = performance.now()
        await store.requestCancel(`${tag}-${next + i}`)
        times[tag].push(performance.now() - t)
      }
    }
    next += per
  }
  console.log('fencing cost per write (requestCancel on an acked order, durable commit each):')
  console.log(`  unfenced  p50 ${pct(times.p, 50).toFixed(3)} ms  p99 ${pct(times.p, 99).toFixed(3)} ms`)
  console.log(`  fenced    p50 ${pct(times.f, 50).toFixed(3)} ms  p99 ${pct(times.f, 99).toFixed(3)} ms`)
  console.log(
    `  ratio     p50 ${(pct(times.f, 50) / pct(times.p, 50)).toFixed(2)}x  p99 ${(pct(times.f, 99) / pct(times.p, 99)).toFixed(2)}x`,
  )
} finally {
  await db.destroy()
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.end()
  await cluster?.stop()
}
