// Migration order_fsm_0006_json_documents: the order's document and the events' payloads stored as
// `json`, written by the `_v2` functions. A process of a package before 0006 (calling
// order_fsm_create / order_fsm_write with `jsonb` arguments) must keep working during an upgrade,
// what either writes must read back the same, and `down` must give back exactly the schema of 0005
// with every document intact.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PgQueryable } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import {
  ackedOrder,
  expectDownAndUpAgain,
  expectLogExplainsProjection,
  type Fixture,
  setupFixture,
  T0,
} from './helpers'

let fx: Fixture
beforeAll(async () => {
  fx = await setupFixture()
})
afterAll(async () => {
  await fx?.tdb.drop()
})

/** The pool's statements, with the two hot writes renamed to the functions before 0006. */
function pre0006Pool(): PgQueryable & { renamed: string[] } {
  const renamed: string[] = []
  return {
    renamed,
    query(config) {
      const text = config.text
        .replace('order_fsm_write_v2(', 'order_fsm_write(')
        .replace('order_fsm_create_v2(', 'order_fsm_create(')
      if (text !== config.text) renamed.push(text.slice(0, text.indexOf('(')))
      return fx.tdb.pool.query({ name: `${config.name}_pre0006`, text, values: config.values })
    },
  }
}

describe('migration 0006 (json documents)', () => {
  it('stores the doc and the event payloads as json, and leaves the parked events jsonb', async () => {
    const { rows } = await sql<{ c: string }>`
      SELECT table_name || '.' || column_name || ' ' || data_type AS c FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name IN ('doc', 'payload', 'detail') ORDER BY 1`.execute(fx.db)
    expect(rows.map((r) => r.c)).toEqual([
      'order_audit.detail jsonb',
      'order_events.payload json',
      'order_orders.doc json',
      'order_unmatched.payload jsonb',
    ])
  })

  it('keeps a package before 0006 writing through the old functions, and both read the same orders', async () => {
    const old = pre0006Pool()
    const oldStore = fx.store({ pool: old })
    const newStore = fx.store({ pool: fx.tdb.pool })
    const broker = new BrokerEventFactory({ at: T0 + 60_000 })
    // One order written by each, then each one's order moved on by the other.
    const a = anIntent()
    const b = anIntent()
    expect((await oldStore.createIntentAndSubmit(a)).proceed).toBe(true)
    expect((await newStore.createIntentAndSubmit(b)).proceed).toBe(true)
    await newStore.recordAck({ intentId: a.intentId, brokerOrderId: '0000013001', acceptedAt: T0 + 1_000 })
    await oldStore.recordAck({ intentId: b.intentId, brokerOrderId: '0000013002', acceptedAt: T0 + 1_000 })
    for (const [store, number] of [
      [oldStore, '0000013001'],
      [newStore, '0000013002'],
    ] as const) {
      const fill = broker.filled(number, { cumulative: 3, quantity: 3, price: 71_000 })
      expect((await fx.store().applyBrokerEvent(fill)).status).toBe('applied')
      // The same event through the other writer is a duplicate, whoever wrote the first.
      expect((await store.applyBrokerEvent(fill)).status).toBe('duplicate')
    }
    expect(new Set(old.renamed)).toEqual(new Set(['SELECT order_fsm_create', 'SELECT order_fsm_write']))
    for (const intent of [a, b]) {
      const order = await expectLogExplainsProjection(fx.store(), intent.intentId)
      expect(order).toMatchObject({ state: 'PARTIAL_FILLED', filledQuantity: 3, intent })
    }
  })

  it('keeps what json keeps: the text as given, still readable by key', async () => {
    const intent = await ackedOrder(fx.store(), '0000013101')
    const { rows } = await sql<{ side: string; legs: number }>`
      SELECT i.payload -> 'intent' ->> 'side' AS side, json_array_length(o.doc -> 'legs') AS legs
      FROM order_orders o JOIN order_events i ON i.intent_id = o.intent_id AND i.seq = 1
      WHERE o.intent_id = ${intent.intentId}`.execute(fx.db)
    expect(rows[0]).toEqual({ side: intent.side, legs: 1 })
  })

  it('down gives back exactly the schema of 0005 with every document intact, and up again that of 0006', async () => {
    const intent = await ackedOrder(fx.store(), '0000013201')
    const documents = async () =>
      (
        await sql<{ doc: unknown; payloads: unknown }>`
          SELECT o.doc, (SELECT json_agg(e.payload ORDER BY e.seq) FROM order_events e WHERE e.intent_id = o.intent_id)
            AS payloads
          FROM order_orders o ORDER BY o.intent_id`.execute(fx.db)
      ).rows
    const before = await documents()
    await expectDownAndUpAgain(fx, 'order_fsm_0005_checks_in_writes', async () => {
      expect(await documents()).toEqual(before)
      // The order reads back through the old schema's SQL (this version's store needs 0006).
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM order_orders WHERE intent_id = ${intent.intentId} AND doc ? 'legs'`.execute(
        fx.db,
      )
      expect(rows[0]!.n).toBe(1)
    })
    expect(await documents()).toEqual(before)
    await expectLogExplainsProjection(fx.store(), intent.intentId)
  })
})
