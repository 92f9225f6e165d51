import { sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BrokerIdConflictError,
  fingerprintOfIntent,
  IntentConflictError,
  migrateOrderFsm,
  type OrderStore,
  type OrderStoreNotice,
  orderFsmMigrations,
  orderFsmTableRewrites,
  TransitionError,
} from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { ackedOrder, expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

let fx: Fixture
let store: OrderStore
const notices: OrderStoreNotice[] = []
const broker = new BrokerEventFactory({ at: T0 + 60_000 })

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store({ onNotice: (n) => notices.push(n), actor: 'test-runner' })
})
afterAll(async () => {
  await fx?.tdb.drop()
})

describe('migrations', () => {
  it('are exported under order_fsm_ names and create only order_ tables', async () => {
    expect(Object.keys(orderFsmMigrations)).toEqual([
      'order_fsm_0001_initial',
      'order_fsm_0002_write_functions',
      'order_fsm_0003_narrow_projection',
      'order_fsm_0004_lean_writes',
      'order_fsm_0005_checks_in_writes',
      'order_fsm_0006_json_documents',
    ])
    const { rows: functions } = await sql<{ proname: string }>`
      SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' ORDER BY p.proname`.execute(fx.db)
    expect(functions.map((f) => f.proname)).toEqual([
      'order_fsm_check_fence',
      'order_fsm_create',
      'order_fsm_create_v2',
      'order_fsm_park',
      'order_fsm_refuse_rewrite',
      'order_fsm_write',
      'order_fsm_write_v2',
    ])
    const { rows } = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`.execute(
      fx.db,
    )
    expect(rows.map((r) => r.table_name)).toEqual([
      'order_audit',
      'order_broker_ids',
      'order_events',
      'order_fills',
      'order_fsm_migration',
      'order_fsm_migration_lock',
      'order_orders',
      'order_unmatched',
    ])
  })

  it('name the ones that rewrite tables, with tables that exist', async () => {
    expect(Object.keys(orderFsmTableRewrites)).toEqual(['order_fsm_0006_json_documents'])
    for (const [name, tables] of Object.entries(orderFsmTableRewrites)) {
      expect(orderFsmMigrations[name], name).toBeDefined()
      for (const t of tables) {
        const { rows } = await sql<{
          n: number
        }>`SELECT count(*)::int AS n FROM pg_class WHERE relname = ${t} AND relkind = 'r'`.execute(fx.db)
        expect(rows[0]!.n, t).toBe(1)
      }
    }
  })

  it('run again as a no-op, and combine with other packages in one Migrator', async () => {
    const again = await migrateOrderFsm(fx.db)
    expect(again.results).toEqual([])
    const { createTestDatabase } = await import('@vellab/testkit/postgres')
    const other = await createTestDatabase('ofsm')
    try {
      const db = other.db()
      const migrator = new Migrator({
        db,
        provider: {
          getMigrations: async () => ({
            ...orderFsmMigrations,
            risk_kr_0001_initial: {
              up: async (k) => void (await sql`CREATE TABLE risk_x (id int)`.execute(k)),
            },
          }),
        },
      })
      const r = await migrator.migrateToLatest()
      expect(r.error).toBeUndefined()
      expect(r.results?.map((m) => m.migrationName)).toEqual([
        'order_fsm_0001_initial',
        'order_fsm_0002_write_functions',
        'order_fsm_0003_narrow_projection',
        'order_fsm_0004_lean_writes',
        'order_fsm_0005_checks_in_writes',
        'order_fsm_0006_json_documents',
        'risk_kr_0001_initial',
      ])
      const down = await migrator.migrateTo('order_fsm_0001_initial')
      expect(down.error).toBeUndefined()
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_proc WHERE proname IN ('order_fsm_write', 'order_fsm_create', 'order_fsm_park', 'order_fsm_write_v2', 'order_fsm_create_v2')`.execute(
        db,
      )
      expect(rows[0]?.n).toBe(0)
    } finally {
      await other.drop()
    }
  })

  it('make the event log and the audit trail append-only', async () => {
    const intent = await ackedOrder(store, '0000000900')
    // A repeated ack is an ignored decision, which lands in order_audit.
    const again = await store.recordAck({
      intentId: intent.intentId,
      brokerOrderId: '0000000900',
      acceptedAt: T0 + 1_000,
    })
    expect(again.status).toBe('ignored')
    await expect(
      sql`UPDATE order_events SET actor = 'x' WHERE intent_id = ${intent.intentId}`.execute(fx.db),
    ).rejects.toThrow(/append-only/)
    await expect(
      sql`DELETE FROM order_audit WHERE intent_id = ${intent.intentId}`.execute(fx.db),
    ).rejects.toThrow(/append-only/)
  })
})

describe('createIntent', () => {
  it('is idempotent on intentId with the same payload, and loud with a different one', async () => {
    const intent = anIntent()
    const a = await store.createIntent(intent)
    await store.beginSubmit(intent.intentId)
    const b = await store.createIntent({ ...intent })
    expect(a.state).toBe('INTENT_CREATED')
    expect(b.state).toBe('SUBMITTED') // the existing order, whatever it has become
    const err = await store.createIntent({ ...intent, quantity: 11 }).catch((e) => e)
    expect(IntentConflictError.isInstance(err) && err.code).toBe('intent_conflict')
    expect(String(err.message)).toContain('quantity: 10 ≠ 11')
    const audit = await store.auditTrail(intent.intentId)
    expect(audit.map((e) => e.decision)).toEqual([
      'intent_created',
      'applied',
      'intent_replayed',
      'intent_conflict',
    ])
    expect(audit[0]!.actor).toBe('test-runner')
  })

  it('validates the intent at the boundary', async () => {
    await expect(store.createIntent({ ...anIntent(), quantity: 0 })).rejects.toThrow(/quantity/)
  })
})

describe('write-ahead submit', () => {
  it('is durable before the caller sends, and only the first claim may send', async () => {
    const intent = anIntent()
    await store.createIntent(intent)
    const claim = await store.beginSubmit(intent.intentId)
    expect(claim).toMatchObject({ proceed: true, order: { state: 'SUBMITTED', submittedAt: T0 } })
    // Durable: another connection (another process, after a crash) sees it.
    const { rows } = await sql<{
      state: string
    }>`SELECT state FROM order_orders WHERE intent_id = ${intent.intentId}`.execute(fx.db)
    expect(rows[0]?.state).toBe('SUBMITTED')
    const second = await store.beginSubmit(intent.intentId)
    expect(second).toMatchObject({ proceed: false, reason: expect.stringContaining('already claimed') })
  })

  it('refuses to submit an order that is waiting for reconciliation', async () => {
    const intent = anIntent()
    await store.createIntent(intent)
    await store.beginSubmit(intent.intentId)
    await store.recordOutcomeUnknown(intent.intentId, {
      operation: 'submit',
      reason: 'HTTP timeout after 5 s',
    })
    const err = await store.beginSubmit(intent.intentId).catch((e) => e)
    expect(TransitionError.isTransitionError(err) && err.code).toBe('illegal_transition')
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'RECONCILE_REQUIRED', unresolved: { operation: 'submit' } })
  })
})

describe('broker events', () => {
  it('apply fills as levels, dedupe by eventId and by (broker number, cumulative quantity)', async () => {
    const intent = await ackedOrder(store, '0000006555')
    const f4 = broker.filled('0000006555', { cumulative: 4, quantity: 4, price: 71_000 })
    expect((await store.applyBrokerEvent(f4)).status).toBe('applied')
    expect((await store.applyBrokerEvent(f4)).status).toBe('duplicate')
    // The same fill seen again by the REST path under another event id: the level is already there.
    expect((await store.applyBrokerEvent({ ...f4, eventId: 'rest:0000006555:4' })).status).toBe('ignored')
    const f10 = broker.filled('0000006555', { cumulative: 10, quantity: 6, price: 71_100 })
    expect((await store.applyBrokerEvent(f10)).status).toBe('applied')
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({
      state: 'FILLED',
      filledQuantity: 10,
      filledNotional: 4 * 71_000 + 6 * 71_100,
    })
    expect(
      (await store.fills(intent.intentId)).map((f) => [f.brokerOrderId, f.cumulativeQuantity, f.quantity]),
    ).toEqual([
      ['0000006555', 4, 4],
      ['0000006555', 10, 6],
    ])
    expect(notices.some((n) => n.type === 'duplicate' && n.intentId === intent.intentId)).toBe(true)
  })

  it('refuse an overfill: audited, alarmed, and the order is unchanged', async () => {
    const intent = await ackedOrder(store, '0000006556')
    const before = await store.get(intent.intentId)
    const outcome = await store.applyBrokerEvent(
      broker.filled('0000006556', { cumulative: 11, quantity: 11, price: 71_000 }),
    )
    expect(outcome.status === 'rejected' && outcome.error.code).toBe('overfill')
    expect(await store.get(intent.intentId)).toEqual(before)
    const audit = await store.auditTrail(intent.intentId)
    expect(audit.at(-1)).toMatchObject({ decision: 'rejected', code: 'overfill', source: 'broker' })
    expect(
      notices.some((n) => n.type === 'alarm' && n.intentId === intent.intentId && n.code === 'overfill'),
    ).toBe(true)
  })

  it('park a fill that overtakes its ack and apply it when the ack links the number', async () => {
    const intent = anIntent()
    await store.createIntent(intent)
    await store.beginSubmit(intent.intentId)
    const early = broker.filled('0000007001', { cumulative: 3, quantity: 3, price: 71_000 })
    expect(await store.applyBrokerEvent(early)).toEqual({ status: 'parked', brokerOrderId: '0000007001' })
    expect((await store.listUnmatched()).map((u) => u.eventKey)).toContain(
      `broker:${early.account}:${early.eventId}`,
    )
    await store.recordAck({ intentId: intent.intentId, brokerOrderId: '0000007001', acceptedAt: T0 + 2_000 })
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'PARTIAL_FILLED', filledQuantity: 3 })
    expect((await store.listUnmatched()).some((u) => u.eventKey.endsWith(early.eventId))).toBe(false)
    expect((await store.applyBrokerEvent(early)).status).toBe('duplicate')
  })

  it('follow the broker-number chain of a replace, and apply fills under old and new numbers', async () => {
    const intent = await ackedOrder(store, '0000008001')
    await store.applyBrokerEvent(broker.filled('0000008001', { cumulative: 2, quantity: 2, price: 71_000 }))
    const claim = await store.requestReplace(intent.intentId, { limitPrice: 70_800, quantity: 5 })
    expect(claim.proceed).toBe(true)
    expect((await store.requestReplace(intent.intentId, { limitPrice: 70_700 })).proceed).toBe(false)
    await store.recordReplaceAck(intent.intentId, {
      brokerOrderId: '0000008001',
      newBrokerOrderId: '0000008002',
      acceptedAt: T0 + 3_000,
    })
    // The stream reports the same replace again: no change.
    expect(
      (await store.applyBrokerEvent(broker.replaced('0000008001', { newBrokerOrderId: '0000008002' })))
        .status,
    ).toBe('ignored')
    await store.applyBrokerEvent(broker.filled('0000008002', { cumulative: 5, quantity: 5, price: 70_800 }))
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({
      state: 'FILLED',
      quantity: 7,
      filledQuantity: 7,
      limitPrice: 70_800,
      brokerOrderId: '0000008002',
    })
    expect((await store.findByBrokerOrderId(intent.account, '0000008001'))?.intentId).toBe(intent.intentId)
    expect((await store.findByBrokerOrderId(intent.account, '0000008002', '2026-11-24'))?.intentId).toBe(
      intent.intentId,
    )
  })

  it('apply a late fill after a cancel request and after the cancel', async () => {
    const intent = await ackedOrder(store, '0000009001')
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(true)
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(false)
    await store.recordCancelAck(intent.intentId, {
      brokerOrderId: '0000009001',
      cancelRequestId: '0000009002',
      acceptedAt: T0 + 4_000,
    })
    await store.applyBrokerEvent(broker.filled('0000009001', { cumulative: 2, quantity: 2, price: 71_000 }))
    // The confirmation may arrive under the cancel request's own number.
    await store.applyBrokerEvent(broker.canceled('0000009002', { canceledQuantity: 7 }))
    const late = await store.applyBrokerEvent(
      broker.filled('0000009001', { cumulative: 3, quantity: 1, price: 71_000 }),
    )
    expect(late.status).toBe('applied')
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'CANCELED', filledQuantity: 3 })
    expect(
      notices.some(
        (n) => n.type === 'alarm' && n.code === 'late_fill_after_cancel' && n.intentId === intent.intentId,
      ),
    ).toBe(true)
  })

  it('refuse to link one broker number to two orders on the same day, but allow it on another day', async () => {
    await ackedOrder(store, '0000010001')
    const other = anIntent()
    await store.createIntent(other)
    await store.beginSubmit(other.intentId)
    const err = await store
      .recordAck({ intentId: other.intentId, brokerOrderId: '0000010001', acceptedAt: T0 + 5_000 })
      .catch((e) => e)
    expect(BrokerIdConflictError.isInstance(err)).toBe(true)
    expect((await store.get(other.intentId))?.state).toBe('SUBMITTED')
    // KIS numbers restart every day: the same number tomorrow is another order.
    await store.recordAck({
      intentId: other.intentId,
      brokerOrderId: '0000010001',
      acceptedAt: T0 + 86_400_000,
    })
    expect((await store.findByBrokerOrderId(other.account, '0000010001'))?.intentId).toBe(other.intentId)
    expect((await store.findByBrokerOrderId(other.account, '0000010001', '2026-11-24'))?.intentId).not.toBe(
      other.intentId,
    )
  })
})

describe('reconciliation support', () => {
  it('finds RECONCILE_REQUIRED orders by fingerprint and submit window, and resolves them on a match', async () => {
    const intent = anIntent({ symbol: '000660', quantity: 3, limitPrice: 180_000, strategyId: 'recon' })
    await store.createIntent(intent)
    await store.beginSubmit(intent.intentId)
    await store.recordOutcomeUnknown(intent.intentId, { operation: 'submit', reason: 'socket hang up' })
    const fp = fingerprintOfIntent(intent)
    expect(
      (await store.findReconcileCandidates(fp, { from: T0 - 1_000, to: T0 + 1_000 })).map((o) => o.intentId),
    ).toEqual([intent.intentId])
    expect(await store.findReconcileCandidates(fp, { from: T0 + 1, to: T0 + 1_000 })).toEqual([])
    expect(
      await store.findReconcileCandidates({ ...fp, quantity: 4 }, { from: T0 - 1_000, to: T0 + 1_000 }),
    ).toEqual([])
    // A fill the stream delivered for the lost order waits until the match links its number.
    const b = new BrokerEventFactory({ symbol: '000660', at: T0 + 10_000 })
    expect(
      (await store.applyBrokerEvent(b.filled('0000011001', { cumulative: 1, quantity: 1, price: 180_000 })))
        .status,
    ).toBe('parked')
    const matched = await store.apply(
      intent.intentId,
      {
        type: 'reconcile_matched',
        brokerOrderId: '0000011001',
        reason: 'unique fingerprint match',
        at: T0 + 20_000,
      },
      { actor: 'reconcile', reason: 'inquire-daily-ccld: one unlinked order matches' },
    )
    expect(matched.status).toBe('applied')
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'PARTIAL_FILLED', filledQuantity: 1, brokerOrderId: '0000011001' })
    const events = await store.events(intent.intentId)
    expect(events.find((e) => e.event.type === 'reconcile_matched')).toMatchObject({
      source: 'reconciliation',
      actor: 'reconcile',
    })
    expect(
      (await store.listByState('PARTIAL_FILLED', { strategyId: 'recon' })).map((o) => o.intentId),
    ).toEqual([intent.intentId])
    expect((await store.listOpen({ symbol: '000660' })).map((o) => o.intentId)).toEqual([intent.intentId])
  })
})

describe('the in-process cache', () => {
  it('never lets a stale cached order decide: two processes, one cancel sent, the log consistent', async () => {
    const a = fx.store({ actor: 'process-a' })
    const b = fx.store({ actor: 'process-b' })
    const intent = anIntent()
    await a.createIntent(intent)
    await a.beginSubmit(intent.intentId)
    await a.recordAck({ intentId: intent.intentId, brokerOrderId: '0000012001', acceptedAt: T0 + 1_000 })
    // b moves the order on; a still has ACKED cached.
    expect((await b.requestCancel(intent.intentId)).proceed).toBe(true)
    expect((await a.requestCancel(intent.intentId)).proceed).toBe(false)
    await b.applyBrokerEvent(broker.filled('0000012001', { cumulative: 6, quantity: 6, price: 71_000 }))
    // a's cache says filled 0: its "applied" guess loses the version check, the fresh read wins.
    const r = await a.applyBrokerEvent(
      broker.filled('0000012001', { cumulative: 8, quantity: 2, price: 71_000 }),
    )
    expect(r.status === 'applied' && r.order.filledQuantity).toBe(8)
    // An "ignored" guess is never trusted either: b's stale view re-reads before answering.
    expect(
      (
        await b.applyBrokerEvent({
          ...broker.filled('0000012001', { cumulative: 8, quantity: 2, price: 71_000 }),
          eventId: 'rest:8',
        })
      ).status,
    ).toBe('ignored')
    const order = await expectLogExplainsProjection(a, intent.intentId)
    expect(order).toMatchObject({ state: 'CANCEL_PENDING', filledQuantity: 8 })
    expect((await a.events(intent.intentId)).filter((e) => e.event.type === 'cancel_requested')).toHaveLength(
      1,
    )
  })

  it('can be turned off', async () => {
    const s = fx.store({ cacheSize: 0 })
    const intent = anIntent()
    await s.createIntent(intent)
    expect((await s.beginSubmit(intent.intentId)).proceed).toBe(true)
    expect((await s.beginSubmit(intent.intentId)).proceed).toBe(false)
  })
})
