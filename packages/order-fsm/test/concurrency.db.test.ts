import { type BrokerOrderEvent, seededRandom } from '@vellab/broker-gateway'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type BrokerEventOutcome,
  createOrderStore,
  type Order,
  type OrderFsmTables,
  type OrderStore,
  TransitionError,
  transition,
} from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// Many workers, each on its own connection pool (as separate processes would be), apply
// overlapping, shuffled, duplicated streams of broker events for the same orders at once.
const WORKERS = 12
const ORDERS = 24
const QUANTITY = 20
const PRICE = 71_000

let fx: Fixture
const pools: pg.Pool[] = []
const stores: OrderStore[] = []

beforeAll(async () => {
  fx = await setupFixture()
  for (let w = 0; w < WORKERS; w++) {
    const pool = new pg.Pool({ connectionString: fx.tdb.url, max: 2 })
    pool.on('error', () => {})
    pools.push(pool)
    const db = new Kysely<OrderFsmTables>({ dialect: new PostgresDialect({ pool }) })
    stores.push(createOrderStore({ db, clock: fx.clock, actor: `worker-${w}` }))
  }
})
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()))
  await fx?.tdb.drop()
})

function shuffle<T>(items: T[], random: () => number): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

describe('concurrent workers on real Postgres', () => {
  it('let exactly one of many concurrent callers create and claim each intent', async () => {
    const intents = Array.from({ length: ORDERS }, () => anIntent({ quantity: QUANTITY, limitPrice: PRICE }))
    await Promise.all(stores.flatMap((s) => intents.map((i) => s.createIntent(i))))
    const claims = await Promise.all(stores.flatMap((s) => intents.map((i) => s.beginSubmit(i.intentId))))
    for (const i of intents) {
      expect(claims.filter((c) => c.proceed && c.order.intentId === i.intentId)).toHaveLength(1)
    }
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM order_orders`.execute(fx.db)
    expect(rows[0]?.n).toBe(ORDERS)
  })

  it('end with exactly the result of applying each distinct event once', async () => {
    const random = seededRandom(20261124)
    const intents = Array.from({ length: ORDERS }, () => anIntent({ quantity: QUANTITY, limitPrice: PRICE }))
    const broker = new BrokerEventFactory({ at: T0 + 60_000 })
    for (const i of intents) {
      await stores[0]!.createIntent(i)
      await stores[0]!.beginSubmit(i.intentId)
    }
    const brokerId = (k: number) => `00000${String(20_000 + k).padStart(5, '0')}`
    // Half the orders are acked before the streams start; the other half are acked by one worker
    // in the middle of them, so their first fills race the ack (parked, then applied).
    const ackLater = new Set(intents.filter((_, k) => k % 2 === 1).map((i) => i.intentId))
    for (const [k, i] of intents.entries()) {
      if (!ackLater.has(i.intentId)) {
        await stores[0]!.recordAck({
          intentId: i.intentId,
          brokerOrderId: brokerId(k),
          acceptedAt: T0 + 1_000,
        })
      }
    }

    const distinct = new Map<string, BrokerOrderEvent[]>()
    const deliveries: BrokerOrderEvent[][] = Array.from({ length: WORKERS }, () => [])
    for (const [k, intent] of intents.entries()) {
      const levels = shuffle(
        Array.from({ length: QUANTITY }, (_, n) => n + 1),
        random,
      ).slice(0, 3 + Math.floor(random() * 6))
      if (k % 3 === 0) levels.push(QUANTITY)
      const events: BrokerOrderEvent[] = levels.map((c) =>
        broker.filled(brokerId(k), { cumulative: c, quantity: 1, price: PRICE }),
      )
      // The REST path re-reports some fills under its own event ids.
      for (const c of levels.slice(0, 2))
        events.push({
          ...broker.filled(brokerId(k), { cumulative: c, quantity: 1, price: PRICE }),
          eventId: `rest:${brokerId(k)}:${c}`,
        })
      // Some orders are canceled at our request with fills still in flight: the broker cancels what
      // it had left, so the notice names fewer shares than the books think are working.
      const max = Math.max(...levels)
      if (cancels(k, max)) {
        await stores[0]!.requestCancel(intent.intentId)
        events.push(broker.canceled(brokerId(k), { canceledQuantity: QUANTITY - max }))
      }
      distinct.set(intent.intentId, events)
      for (const e of events) {
        const owner = Math.floor(random() * WORKERS)
        for (let w = 0; w < WORKERS; w++) {
          if (w === owner || random() < 0.5) deliveries[w]!.push(e)
          if (random() < 0.1) deliveries[w]!.push(e) // the same worker sees it twice
        }
      }
    }
    const acks = intents
      .map((i, k) => ({ i, k }))
      .filter(({ i }) => ackLater.has(i.intentId))
      .map(({ i, k }) => ({ intentId: i.intentId, brokerOrderId: brokerId(k), acceptedAt: T0 + 1_000 }))

    const outcomes: BrokerEventOutcome[] = []
    await Promise.all(
      stores.map(async (store, w) => {
        const mine = shuffle(deliveries[w]!, random)
        for (const [n, e] of mine.entries()) {
          if (w === 0 && n === Math.floor(mine.length / 3)) for (const a of acks) await store.recordAck(a)
          outcomes.push(await store.applyBrokerEvent(e))
        }
      }),
    )

    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([])
    expect(await stores[0]!.listUnmatched()).toEqual([])
    let appliedInLogs = 0
    for (const [k, intent] of intents.entries()) {
      const order = await expectLogExplainsProjection(stores[0]!, intent.intentId)
      // The reference: every distinct event applied exactly once, in one sequential pass.
      const canceling = distinct.get(intent.intentId)!.some((e) => e.type === 'canceled')
      let reference = (await referenceAfterAck(intent.intentId, brokerId(k), canceling)) as Order
      for (const e of distinct.get(intent.intentId)!) {
        const r = transition(reference, toFsm(e))
        if (!TransitionError.isTransitionError(r)) reference = r.order
      }
      expect({
        state: order.state,
        filled: order.filledQuantity,
        notional: order.filledNotional,
        legs: order.legs,
      }).toEqual({
        state: reference.state,
        filled: reference.filledQuantity,
        notional: reference.filledNotional,
        legs: reference.legs,
      })
      const fills = await stores[0]!.fills(intent.intentId)
      expect(fills.reduce((s, f) => s + f.quantity, 0)).toBe(order.filledQuantity)
      expect(new Set(fills.map((f) => f.cumulativeQuantity)).size).toBe(fills.length)
      appliedInLogs += order.version - (canceling ? 4 : 3) // intent_created, submit_started, acked, cancel
    }
    // Every delivery got an answer, and exactly the applied ones are in the logs.
    expect(outcomes).toHaveLength(deliveries.reduce((s, d) => s + d.length, 0))
    const appliedByWorkers = outcomes.filter((o) => o.status === 'applied').length
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM order_events WHERE source = 'broker'`.execute(fx.db)
    expect(rows[0]?.n).toBe(appliedInLogs)
    // Drained parked events are applied inside another call (ack or park re-check), so workers'
    // own "applied" answers can be fewer than the log, never more.
    expect(appliedByWorkers).toBeLessThanOrEqual(appliedInLogs)
  })
})

/** Orders acked before the streams (even k) that do not fill completely are canceled. */
function cancels(k: number, maxLevel: number): boolean {
  return k % 2 === 0 && maxLevel < QUANTITY
}

async function referenceAfterAck(
  intentId: string,
  brokerOrderId: string,
  canceling: boolean,
): Promise<Order> {
  const events = await stores[0]!.events(intentId)
  const first = events[0]!.event as { intent: Order['intent']; at: number; type: string }
  const { newOrder } = await import('../src')
  let o = newOrder(first.intent, first.at)
  for (const e of [
    { type: 'submit_started', at: T0 } as const,
    { type: 'acked', brokerOrderId, at: T0 + 1_000 } as const,
    ...(canceling ? [{ type: 'cancel_requested', at: T0 } as const] : []),
  ]) {
    o = (transition(o, e) as { order: Order }).order
  }
  return o
}

function toFsm(e: BrokerOrderEvent) {
  if (e.type === 'filled') {
    return {
      type: 'fill' as const,
      brokerOrderId: e.brokerOrderId,
      cumulativeQuantity: e.cumulativeQuantity,
      fillQuantity: e.fillQuantity,
      fillPrice: e.fillPrice,
      at: e.at,
    }
  }
  if (e.type !== 'canceled') throw new Error(`unexpected ${e.type}`)
  return {
    type: 'canceled' as const,
    brokerOrderId: e.brokerOrderId,
    canceledQuantity: e.canceledQuantity,
    eventId: e.eventId,
    at: e.at,
  }
}
