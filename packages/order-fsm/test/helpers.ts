import { ManualClock } from '@vellab/broker-gateway/testing'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import type { Kysely } from 'kysely'
import { expect } from 'vitest'
import {
  createOrderStore,
  migrateOrderFsm,
  newOrder,
  type Order,
  type OrderEvent,
  type OrderFsmTables,
  type OrderStore,
  type OrderStoreOptions,
  TransitionError,
  transition,
} from '../src'

/** 2026-11-24 10:00 KST. */
export const T0 = Date.UTC(2026, 10, 24, 1, 0, 0)

export interface Fixture {
  tdb: TestDatabase
  db: Kysely<OrderFsmTables>
  clock: ManualClock
  store(options?: Partial<OrderStoreOptions<OrderFsmTables>>): OrderStore
}

/** A private database with this package's tables, and a store factory on it. */
export async function setupFixture(): Promise<Fixture> {
  const tdb = await createTestDatabase('ofsm')
  const db = tdb.db<OrderFsmTables>()
  await migrateOrderFsm(db)
  const clock = new ManualClock(T0)
  return { tdb, db, clock, store: (options = {}) => createOrderStore({ db, clock, ...options }) }
}

/**
 * The event log explains the projection: replaying the stored events through the pure FSM from
 * the stored intent gives exactly the stored order, every event applies, and seq runs 1..version.
 */
export async function expectLogExplainsProjection(store: OrderStore, intentId: string): Promise<Order> {
  const order = await store.get(intentId)
  expect(order, `order ${intentId}`).toBeDefined()
  const events = await store.events(intentId)
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
  const first = events[0]!.event as { type: string; at: number; intent: Order['intent'] }
  expect(first.type).toBe('intent_created')
  let replayed = newOrder(first.intent, first.at)
  for (const e of events.slice(1)) {
    const r = transition(replayed, e.event as OrderEvent)
    if (TransitionError.isTransitionError(r)) throw r
    expect(r.change, `event ${e.seq} (${e.event.type}) of ${intentId}`).toBe('applied')
    replayed = r.order
  }
  expect(replayed).toEqual(order)
  expect(order!.version).toBe(events.length)
  return order!
}
