import { kstDate } from '@vellab/broker-gateway'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrderStore, type OrderFsmTables, type OrderStore } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// A fill notice for a number nobody owns yet is parked; the ack that links the number drains it.
// When the two meet in the same instant, each must see the other: the link's write and the park
// both take the number's lock first and read after it. Here a third connection holds that lock
// while both queue behind it, in either order, so the interleaving is forced, not hoped for.

let fx: Fixture
const pools: pg.Pool[] = []
let linker: OrderStore
let parker: OrderStore
let holder: pg.Client

beforeAll(async () => {
  fx = await setupFixture()
  const store = (actor: string) => {
    const pool = new pg.Pool({ connectionString: fx.tdb.url, max: 2 })
    pools.push(pool)
    return createOrderStore({
      db: new Kysely<OrderFsmTables>({ dialect: new PostgresDialect({ pool }) }),
      actor,
    })
  }
  linker = store('linker')
  parker = store('parker')
  holder = new pg.Client({ connectionString: fx.tdb.url })
  await holder.connect()
})
afterAll(async () => {
  await holder?.end()
  await Promise.all(pools.map((p) => p.end()))
  await fx?.tdb.drop()
})

const holderPid = () => (holder as unknown as { processID: number }).processID

async function untilWaiting(n: number) {
  for (;;) {
    const { rows } = await fx.tdb.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND $2::int = ANY(pg_blocking_pids(pid))`,
      [fx.tdb.name, holderPid()],
    )
    if (rows[0]!.n >= n) return
    await new Promise((r) => setImmediate(r))
  }
}

describe('a fill notice racing the ack that links its number', () => {
  for (const first of ['link', 'park'] as const) {
    it(`is applied exactly once when the ${first} takes the number's lock first`, async () => {
      const intent = anIntent({ quantity: 10 })
      const number = first === 'link' ? '0000031001' : '0000031002'
      await linker.createIntentAndSubmit(intent)
      const broker = new BrokerEventFactory({ at: T0 + 5_000 })
      const fill = broker.filled(number, { cumulative: 4, quantity: 4, price: 71_000 })
      const key = `order_fsm_number|${intent.account}|${kstDate(fill.at)}|${number}`

      await holder.query('BEGIN')
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key])
      const runLink = () =>
        linker.recordAck({ intentId: intent.intentId, brokerOrderId: number, acceptedAt: T0 + 4_000 })
      const runPark = () => parker.applyBrokerEvent(fill)
      const a = first === 'link' ? runLink() : runPark()
      await untilWaiting(1)
      const b = first === 'link' ? runPark() : runLink()
      await untilWaiting(2)
      await holder.query('COMMIT')
      const [ra, rb] = await Promise.all([a, b])
      const [ack, fillOutcome] = first === 'link' ? [ra, rb] : [rb, ra]

      expect(ack.status).toBe('applied')
      // Whoever came second saw the other: the fill was routed (link first) or parked and drained
      // by the ack (park first). Either way it is in the books once and nothing stays parked.
      expect(fillOutcome.status).toBe(first === 'link' ? 'applied' : 'parked')
      const order = await expectLogExplainsProjection(linker, intent.intentId)
      expect(order).toMatchObject({ state: 'PARTIAL_FILLED', filledQuantity: 4 })
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM order_unmatched WHERE broker_order_id = ${number}`.execute(fx.db)
      expect(rows[0]?.n).toBe(0)
    })
  }
})
