import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createOrderStore,
  OrderFsmError,
  type OrderFsmTables,
  type OrderStore,
  StoreUnavailableError,
} from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// The database goes away in the middle of transitions (TestDatabase.terminateConnections kills
// every server connection to it). The store must surface a typed error, never crash the process
// through an unhandled 'error' event, lose nothing it reported as applied, and work again after.

let fx: Fixture
let pool: pg.Pool
let store: OrderStore
const broker = new BrokerEventFactory({ at: T0 + 60_000 })

beforeAll(async () => {
  fx = await setupFixture()
  // The caller's pool, set up as the README asks: pg emits 'error' on a client whose connection
  // dies, and while Kysely has the client checked out nothing else listens (pg-pool listens only
  // on idle clients), so without the per-client listener the process dies on an uncaught error.
  // The failing query itself still rejects, and the pool drops the broken client on release.
  pool = new pg.Pool({ connectionString: fx.tdb.url, max: 8 })
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  store = createOrderStore({
    db: new Kysely<OrderFsmTables>({ dialect: new PostgresDialect({ pool }) }),
    clock: fx.clock,
  })
})
afterAll(async () => {
  await pool?.end()
  await fx?.tdb.drop()
})

/**
 * Wait until a statement of the store is blocked by the row holder (it is in flight, client checked
 * out). Only waits on the holder count: workers briefly wait on each other too, and such a wait may
 * be over before the kill lands.
 */
async function untilBlockedBy(blocker: pg.Client) {
  for (;;) {
    const { rows } = await fx.tdb.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND $2::int = ANY(pg_blocking_pids(pid))`,
      [fx.tdb.name, holderPid(blocker)],
    )
    if (rows[0]!.n > 0) return
    await new Promise((r) => setImmediate(r))
  }
}

function holderPid(blocker: pg.Client): number {
  return (blocker as unknown as { processID: number }).processID
}

/**
 * Kill the sessions blocked by the row holder first, and wait until they are gone (PostgreSQL 14+),
 * so their statements die in flight; only then everything else. Killing all at once could end the
 * holder first, release the lock, and let a waiter commit before its own kill lands.
 */
async function killInFlightThenAll(blocker: pg.Client): Promise<number> {
  const { rows } = await fx.tdb.pool.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))::int AS n
       FROM pg_stat_activity WHERE datname = $1 AND $2::int = ANY(pg_blocking_pids(pid))`,
    [fx.tdb.name, holderPid(blocker)],
  )
  return rows[0]!.n + (await fx.tdb.terminateConnections())
}

/** Another session holds the order's row, so the store's next transition of it stays in flight. */
async function holdRow(intentId: string): Promise<pg.Client> {
  const blocker = new pg.Client({ connectionString: fx.tdb.url })
  blocker.on('error', () => {})
  await blocker.connect()
  await blocker.query('BEGIN')
  await blocker.query('SELECT 1 FROM order_orders WHERE intent_id = $1 FOR UPDATE', [intentId])
  return blocker
}

/**
 * What a caller does after an outage: retry an idempotent call while the store says the database
 * is unavailable (the pool may hand out a killed idle client once more before it notices).
 */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      if (!StoreUnavailableError.isInstance(error) || attempt >= 10) throw error
      await new Promise((r) => setImmediate(r))
    }
  }
}

async function acked(brokerOrderId: string, quantity = 10) {
  const intent = anIntent({ quantity })
  await store.createIntent(intent)
  await store.beginSubmit(intent.intentId)
  await store.recordAck({ intentId: intent.intentId, brokerOrderId, acceptedAt: T0 + 1_000 })
  return intent
}

describe('the database going away mid-transition', () => {
  it('fails the blocked transition with StoreUnavailableError, and the same event applies once afterwards', async () => {
    const intent = await acked('0000040001')
    // The store's transition is in flight (its pg client checked out, its statement waiting on the
    // row) when the connections die.
    const blocker = await holdRow(intent.intentId)
    const fill = broker.filled('0000040001', { cumulative: 4, quantity: 4, price: 71_000 })
    const inFlight = store.applyBrokerEvent(fill).then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    )
    await untilBlockedBy(blocker)
    expect(await killInFlightThenAll(blocker)).toBeGreaterThan(0)
    const result = await inFlight
    expect(result.ok).toBe(false)
    const error = !result.ok ? result.e : undefined
    expect(StoreUnavailableError.isInstance(error) && error.code).toBe('store_unavailable')
    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect((error as StoreUnavailableError).operation).toBe('applyBrokerEvent')
    await blocker.end().catch(() => {})

    // The store recovers with the pool: the statement rolled back, so the event applies now, once.
    expect((await retrying(() => store.applyBrokerEvent(fill))).status).toBe('applied')
    expect((await store.applyBrokerEvent(fill)).status).toBe('duplicate')
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'PARTIAL_FILLED', filledQuantity: 4 })
  })

  it('under concurrent load: only typed errors, nothing half-written, and replaying everything converges', async () => {
    const orders = await Promise.all(
      Array.from({ length: 6 }, async (_, k) => ({
        k,
        intent: await acked(`00000411${String(k).padStart(2, '0')}`, 40),
      })),
    )
    const events = orders.flatMap(({ k }) =>
      Array.from({ length: 40 }, (_, c) =>
        broker.filled(`00000411${String(k).padStart(2, '0')}`, {
          cumulative: c + 1,
          quantity: 1,
          price: 71_000,
        }),
      ),
    )
    const errors: unknown[] = []
    let decided = 0
    // Workers walk the orders in turn; the last order's row is held, so when they reach it their
    // statements are in flight, and that is when the connections die (the others are mid-stream).
    const blocker = await holdRow(orders.at(-1)!.intent.intentId)
    const workers = Array.from({ length: 6 }, async (_, w) => {
      for (const e of events.filter((_, i) => i % 6 === w)) {
        try {
          await store.applyBrokerEvent(e)
          decided++
        } catch (error) {
          errors.push(error)
        }
      }
    })
    const killer = (async () => {
      await untilBlockedBy(blocker)
      await killInFlightThenAll(blocker)
      await blocker.end().catch(() => {})
    })()
    await Promise.all([...workers, killer])
    expect(decided).toBeGreaterThan(100)
    expect(errors.length).toBeGreaterThan(0)
    for (const e of errors) expect(OrderFsmError.isInstance(e) && e.code, String(e)).toBe('store_unavailable')
    // What a runner does after an outage: re-deliver (the stream replays); duplicates are absorbed.
    for (const e of events) await retrying(() => store.applyBrokerEvent(e))
    for (const { intent } of orders) {
      const order = await expectLogExplainsProjection(store, intent.intentId)
      expect(order).toMatchObject({ state: 'FILLED', filledQuantity: 40 })
      const fills = await store.fills(intent.intentId)
      expect(fills.reduce((s, f) => s + f.quantity, 0)).toBe(40)
    }
  })
})
