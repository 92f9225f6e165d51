// `pnpm bench`: one reconciliation pass of an account with ORDERS orders of the day (default
// 10,000) and POSITIONS positions (default 500) in kis-sim, read through broker-kis at the real
// 18 requests/s limit, on embedded PostgreSQL 18. Prints the pass time beside the floor set by
// paging at the rate limit (the pass's own request count ÷ 18/s), the local work, and the MTTR of
// the breaks the pass auto-resolved (fills whose notices nobody received).
import { performance } from 'node:perf_hooks'
import type { Clock } from '@vellab/broker-gateway'
import { createKisGateway, MemoryTokenStore } from '@vellab/broker-kis'
import { createKisSim } from '@vellab/kis-sim'
import { createOrderStore, migrateOrderFsm, type OrderFsmTables } from '@vellab/order-fsm'
import { startEmbeddedPostgres } from '@vellab/testkit/embedded'
import { Kysely, PostgresDialect } from 'kysely'
import pLimit from 'p-limit'
import pg from 'pg'
import {
  type BrokerReader,
  createReconciler,
  migrateReconcile,
  type ReconcileEvent,
  type ReconcileTables,
} from '../src/index.ts'

const ORDERS = Number(process.env.ORDERS ?? 10_000)
const POSITIONS = Number(process.env.POSITIONS ?? 500)
const LIMIT = 18

const cluster = await startEmbeddedPostgres()
const admin = new pg.Client({ connectionString: cluster.adminUrl })
await admin.connect()
await admin.query('CREATE DATABASE recon_bench')
await admin.end()
const url = new URL(cluster.adminUrl)
url.pathname = '/recon_bench'
const pool = new pg.Pool({ connectionString: url.toString(), max: 16 })
const db = new Kysely<ReconcileTables & OrderFsmTables>({ dialect: new PostgresDialect({ pool }) })
await migrateOrderFsm(db)
await migrateReconcile(db)

const sim = await createKisSim({
  clock: { mode: 'real', start: '2026-11-24 09:30:00' },
  market: { priceModel: 'static', fillModel: 'manual' },
})
const app = sim.apps.find((a) => a.env === 'real')!
const acct = app.accounts[0]!
const account = `${acct.cano}-${acct.productCode}`
const symbols = Array.from({ length: POSITIONS }, (_, i) => String(100_000 + i * 10))
for (const code of symbols) sim.control.addSymbol({ code, basePrice: 10_000 })
sim.control.seedAccount(acct.cano, {
  productCode: acct.productCode,
  cash: 10_000_000_000,
  positions: symbols.map((symbol) => ({ symbol, qty: 1_000, avgPrice: 10_000 })),
})
const clock: Clock = sim.clientClock()
const tokenStore = new MemoryTokenStore()
const gatewayAt = (restPerSecond: number) =>
  createKisGateway({
    config: {
      environment: 'real',
      appKey: app.appkey,
      appSecret: app.appsecret,
      account,
      htsId: app.htsId,
      restBaseUrl: sim.restUrl,
      wsUrl: `${sim.wsUrl}/tryitout`,
      limits: { restPerSecond },
    },
    clock,
    tokenStore,
  })

// Seeding: the day's orders go through the adapter and the store quickly (the limit is raised for it).
sim.control.setRestLimit('real', 5_000)
const seeder = gatewayAt(5_000)
const store = createOrderStore({ db, clock })
const limit = pLimit(16)
const seedStart = performance.now()
await Promise.all(
  Array.from({ length: ORDERS }, (_, i) =>
    limit(async () => {
      const intent = {
        intentId: `bench-${i}`,
        account,
        strategyId: 'bench',
        symbol: symbols[i % symbols.length]!,
        side: 'buy' as const,
        quantity: 1 + (i % 7),
        orderType: 'limit' as const,
        limitPrice: 9_900,
      }
      await store.createIntent(intent)
      await store.beginSubmit(intent.intentId)
      const ack = await seeder.placeOrder(intent)
      await store.recordAck(ack)
      // One order in ten fills with nobody listening: a missed notice for the pass to find.
      if (i % 10 === 0) sim.control.fill(ack.brokerOrderId, { qty: intent.quantity, price: 9_900 })
    }),
  ),
)
await seeder.close()
console.log(
  `seeded ${ORDERS} orders and ${POSITIONS} positions in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
)

// The pass, at the real limit.
sim.control.setRestLimit('real', LIMIT)
const gateway = gatewayAt(LIMIT)
let brokerMs = 0
const timed =
  <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
  async (...a: A): Promise<R> => {
    const t = performance.now()
    try {
      return await f(...a)
    } finally {
      brokerMs += performance.now() - t
    }
  }
const reader: BrokerReader = {
  getOrders: timed((a, q) => gateway.getOrders(a, q)),
  getFills: timed((a, q) => gateway.getFills(a, q)),
  getPositions: timed((a) => gateway.getPositions(a)),
  getCash: timed((a) => gateway.getCash(a)),
}
// Warm the token outside the measured pass (a pass does not pay for issuance).
await gateway.getCash(account)
const events: ReconcileEvent[] = []
const reconciler = createReconciler({
  db,
  store,
  broker: reader,
  accounts: [account],
  clock,
  onEvent: (e) => events.push(e),
})
const rows = []
for (const label of ['pass with 10 % missed fills', 'clean pass (no drift)']) {
  brokerMs = 0
  const before = sim.control.ledger().requestsByAppkey[app.appkey] ?? 0
  const t0 = performance.now()
  const report = await reconciler.run(account)
  const passMs = performance.now() - t0
  const requests = (sim.control.ledger().requestsByAppkey[app.appkey] ?? 0) - before
  const floorMs = (requests / LIMIT) * 1000
  rows.push({
    pass: label,
    orders: ORDERS,
    positions: POSITIONS,
    status: report.status,
    breaks: report.findings.length,
    'requests (pages)': requests,
    'floor s (pages ÷ 18/s)': (floorMs / 1000).toFixed(2),
    'pass s': (passMs / 1000).toFixed(2),
    'pass ÷ floor': (passMs / floorMs).toFixed(3),
    'local work s': ((passMs - brokerMs) / 1000).toFixed(2),
    'local share': ((passMs - brokerMs) / passMs).toFixed(3),
  })
}
console.table(rows)
const mttr = events.flatMap((e) => (e.type === 'auto_resolved' ? [e.mttrMs] : [])).sort((a, b) => a - b)
const q = (p: number) => (mttr.length ? mttr[Math.min(mttr.length - 1, Math.floor(p * mttr.length))]! : 0)
console.log(
  `auto-resolved breaks: ${mttr.length}; MTTR (drift start → resolution, simulator time) p50 ${(q(0.5) / 1000).toFixed(1)} s, p99 ${(q(0.99) / 1000).toFixed(1)} s`,
)
await gateway.close()
await sim.close()
await db.destroy()
await cluster.stop()
