// Migration order_fsm_0004_lean_writes: fewer index entries per transition and leaner write
// functions. What the store relies on must hold on the new indexes (a duplicate key still reports
// the constraint name the store matches, the lookups still find their index), and `down` must give
// back exactly the schema of 0003, functions included.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BrokerEventFactory } from '../src/testing'
import { ackedOrder, expectDownAndUpAgain, type Fixture, setupFixture, T0 } from './helpers'

let fx: Fixture
beforeAll(async () => {
  fx = await setupFixture()
})
afterAll(async () => {
  await fx?.tdb.drop()
})

describe('migration 0004 (lean writes)', () => {
  it('keeps the duplicate-key constraint name the store matches, now on broker events only', async () => {
    const store = fx.store()
    const intent = await ackedOrder(store, '0000011001')
    const fill = new BrokerEventFactory({ at: T0 + 60_000 }).filled('0000011001', {
      cumulative: 1,
      quantity: 1,
      price: 71_000,
    })
    expect((await store.applyBrokerEvent(fill)).status).toBe('applied')
    const { rows } = await sql<{ event_key: string }>`
      SELECT event_key FROM order_events WHERE intent_id = ${intent.intentId} AND event_key IS NOT NULL`.execute(
      fx.db,
    )
    expect(rows).toHaveLength(1)
    const error = await sql`
      INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, payload, occurred_at, recorded_at)
      VALUES ('other', 1, 'x', ${rows[0]!.event_key}, 'broker', 'test', '{}', 0, 0)`
      .execute(fx.db)
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string; constraint?: string },
      )
    expect(error).toMatchObject({ code: '23505', constraint: 'order_events_event_key_key' })
    // Command events carry no key: any number of them, and the index holds none.
    const { rows: defs } = await sql<{ def: string }>`
      SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'order_events_event_key_key'`.execute(fx.db)
    expect(defs[0]?.def).toMatch(/UNIQUE INDEX .* WHERE \(event_key IS NOT NULL\)$/)
  })

  it('leaves every lookup of the store on an index', async () => {
    await sql`SET enable_seqscan = off`.execute(fx.db)
    try {
      const plan = async (query: ReturnType<typeof sql>) =>
        (await sql<{ 'QUERY PLAN': string }>`EXPLAIN ${query}`.execute(fx.db)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n')
      // The duplicate check of a broker event (core.readWithDup, broker-events #route).
      expect(
        await plan(sql`SELECT EXISTS (SELECT 1 FROM order_events WHERE event_key = ${'broker:x'})`),
      ).toMatch(/order_events_event_key_key/)
      // findReconcileCandidates.
      expect(
        await plan(sql`SELECT intent_id FROM order_orders o WHERE o.fingerprint = ${'f'}
          AND o.submitted_at BETWEEN ${1} AND ${2} AND o.state = 'RECONCILE_REQUIRED' AND o.broker_order_id IS NULL`),
      ).toMatch(/order_orders_fingerprint_idx/)
      // listOpen with a strategy (the runner's session): the state index, the strategy filtered.
      expect(
        await plan(sql`SELECT intent_id FROM order_orders o WHERE o.state IN (${'ACKED'}, ${'SUBMITTED'})
          AND o.account = ${'a'} AND o.strategy_id = ${'s'}`),
      ).toMatch(/order_orders_state_idx/)
    } finally {
      await sql`RESET enable_seqscan`.execute(fx.db)
    }
  })

  it('down gives back exactly the schema of 0003, and up again that of 0004', async () => {
    await expectDownAndUpAgain(fx, 'order_fsm_0003_narrow_projection')
  })
})
