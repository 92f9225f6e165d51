import type { OrderIntent } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { type Kysely, sql } from 'kysely'
import { Migrator } from 'kysely/migration'
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
  orderFsmMigrations,
  TransitionError,
  transition,
} from '../src'
import { anIntent } from '../src/testing'

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

/** The pure FSM applies `event` to `order`; anything else (refused, ignored) throws. */
export function step(order: Order, event: OrderEvent): Order {
  const r = transition(order, event)
  if (TransitionError.isTransitionError(r)) throw r
  if (r.change !== 'applied') throw new Error(`expected ${event.type} to apply in ${order.state}: ${r.note}`)
  return r.order
}

/** A new order (an {@link anIntent} with `overrides`), submitted and acked under `brokerOrderId`. */
export async function ackedOrder(
  store: OrderStore,
  brokerOrderId: string,
  overrides: Parameters<typeof anIntent>[0] = {},
): Promise<OrderIntent> {
  const intent = anIntent(overrides)
  await store.createIntent(intent)
  expect((await store.beginSubmit(intent.intentId)).proceed).toBe(true)
  await store.recordAck({ intentId: intent.intentId, brokerOrderId, acceptedAt: T0 + 1_000 })
  return intent
}

/**
 * The lease table of @vellab/lease (its shape is all a fenced store relies on), holding `key` at
 * `epoch`.
 */
export async function createLeaseTable(
  db: Kysely<OrderFsmTables>,
  key = 'appkey:k',
  epoch = 1,
): Promise<void> {
  await sql`CREATE TABLE vellab_leases (lease_key text PRIMARY KEY, epoch bigint NOT NULL)`.execute(db)
  await sql`INSERT INTO vellab_leases VALUES (${key}, ${epoch})`.execute(db)
}

/** The migrator `migrateOrderFsm` uses, on the fixture's database: to migrate down and up again. */
export function fixtureMigrator(fx: Fixture): Migrator {
  return new Migrator({
    db: fx.db,
    provider: { getMigrations: async () => ({ ...orderFsmMigrations }) },
    migrationTableName: 'order_fsm_migration',
    migrationLockTableName: 'order_fsm_migration_lock',
  })
}

/** Everything of the package's schema a migration changes: functions, indexes, constraints, column types. */
export async function schemaOf(db: Kysely<OrderFsmTables>) {
  const { rows: functions } = await sql<{ def: string }>`
    SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proname LIKE 'order_fsm_%' ORDER BY p.proname`.execute(db)
  const { rows: indexes } = await sql<{ def: string }>`
    SELECT indexdef AS def FROM pg_indexes
    WHERE schemaname = 'public' AND tablename LIKE 'order\\_%' AND tablename NOT LIKE 'order_fsm_%'
    ORDER BY indexname`.execute(db)
  const { rows: constraints } = await sql<{ def: string }>`
    SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text LIKE 'order\\_%'
      AND conrelid::regclass::text NOT LIKE 'order_fsm_%' ORDER BY 1`.execute(db)
  const { rows: columns } = await sql<{ def: string }>`
    SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS def
    FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name LIKE 'order\\_%' AND table_name NOT LIKE 'order_fsm_%'
    ORDER BY table_name, column_name`.execute(db)
  return {
    functions: functions.map((r) => r.def),
    indexes: indexes.map((r) => r.def),
    constraints,
    columns: columns.map((r) => r.def),
  }
}

/**
 * Migrate the fixture down to `target` and up again: down must leave exactly the schema that a new
 * database migrated up to `target` has, and up again the schema it had. `between` runs while the
 * fixture is at `target` (checks of its rows on the older schema).
 */
export async function expectDownAndUpAgain(
  fx: Fixture,
  target: string,
  between?: () => Promise<void>,
): Promise<void> {
  const latest = await schemaOf(fx.db)
  const names = Object.keys(orderFsmMigrations)
  const upToTarget = names.slice(0, names.indexOf(target) + 1)
  const reference = await createTestDatabase('ofsm')
  try {
    const r = await new Migrator({
      db: reference.db(),
      provider: {
        getMigrations: async () => Object.fromEntries(upToTarget.map((n) => [n, orderFsmMigrations[n]!])),
      },
    }).migrateToLatest()
    expect(r.error).toBeUndefined()
    const expected = await schemaOf(reference.db<OrderFsmTables>())

    const down = await fixtureMigrator(fx).migrateTo(target)
    expect(down.error).toBeUndefined()
    // Every later migration, the latest first.
    expect(down.results?.map((m) => m.migrationName)).toEqual(names.slice(upToTarget.length).reverse())
    expect(await schemaOf(fx.db)).toEqual(expected)
    await between?.()

    const up = await fixtureMigrator(fx).migrateToLatest()
    expect(up.error).toBeUndefined()
    expect(await schemaOf(fx.db)).toEqual(latest)
    expect(latest).not.toEqual(expected)
  } finally {
    await reference.drop()
  }
}
