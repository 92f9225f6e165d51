// Migration order_fsm_0003_narrow_projection changes what `order_orders.doc` holds without
// rewriting a row: the store must read rows of both formats, narrow a whole doc on its next
// transition, and `down` must give the package before 0003 whole docs back.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrderStore, type Order, type OrderStore } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import {
  ackedOrder,
  expectLogExplainsProjection,
  type Fixture,
  fixtureMigrator,
  setupFixture,
  T0,
} from './helpers'

let fx: Fixture
let store: OrderStore
const broker = new BrokerEventFactory({ at: T0 + 60_000 })

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store()
})
afterAll(async () => {
  await fx?.tdb.drop()
})

async function docOf(intentId: string): Promise<Record<string, unknown>> {
  const { rows } = await sql<{ doc: Record<string, unknown> }>`
    SELECT doc FROM order_orders WHERE intent_id = ${intentId}`.execute(fx.db)
  return rows[0]!.doc
}

/** A few orders in different states, with fills and a replacement leg. */
async function someOrders(tag: string): Promise<string[]> {
  const ids: string[] = []
  for (let k = 0; k < 4; k++) {
    if (k === 0) {
      const intent = anIntent({ intentId: `${tag}-${k}` })
      ids.push(intent.intentId)
      await store.createIntent(intent)
      continue
    }
    const intent = await ackedOrder(store, `${tag}${k}`, { intentId: `${tag}-${k}` })
    ids.push(intent.intentId)
    if (k === 1) continue
    await store.applyBrokerEvent(broker.filled(`${tag}${k}`, { cumulative: 3, quantity: 3, price: 71_000 }))
    if (k === 2) continue
    await store.requestReplace(intent.intentId, { limitPrice: 70_900 })
    await store.recordReplaceAck(intent.intentId, {
      brokerOrderId: `${tag}${k}`,
      newBrokerOrderId: `${tag}${k}r`,
      acceptedAt: T0 + 2_000,
    })
  }
  return ids
}

describe('the narrow projection (migration 0003)', () => {
  it('writes doc without the intent and the columns, and reads the whole order back', async () => {
    const [created, , , replaced] = await someOrders('narrow')
    for (const id of [created!, replaced!]) {
      const doc = await docOf(id)
      expect(doc).not.toHaveProperty('intent')
      expect(doc).not.toHaveProperty('state')
      await expectLogExplainsProjection(createOrderStore({ db: fx.db, cacheSize: 0 }), id)
    }
  })

  it('down gives whole docs back, and up reads them unchanged and narrows each on its next write', async () => {
    const ids = await someOrders('wide')
    const before = new Map<string, Order>()
    for (const id of ids) before.set(id, (await store.get(id))!)

    const down = await fixtureMigrator(fx).migrateTo('order_fsm_0002_write_functions')
    expect(down.error).toBeUndefined()
    for (const id of ids) {
      // What the package before 0003 reads: `doc` is the whole order.
      expect(await docOf(id)).toEqual(JSON.parse(JSON.stringify(before.get(id))))
    }

    const up = await fixtureMigrator(fx).migrateToLatest()
    expect(up.error).toBeUndefined()
    const fresh = createOrderStore({ db: fx.db, cacheSize: 0 })
    for (const id of ids) {
      expect(await fresh.get(id)).toEqual(before.get(id))
      expect(await docOf(id)).toHaveProperty('intent')
    }
    expect(await fresh.listByState(['INTENT_CREATED', 'ACKED', 'PARTIAL_FILLED'], {})).toEqual(
      expect.arrayContaining(ids.slice(0, 3).map((id) => before.get(id))),
    )
    expect(await fresh.findByBrokerOrderId('50123456-01', 'wide3r')).toEqual(before.get(ids[3]!))

    // The next transition of each order writes it narrow; the log still explains it.
    for (const id of ids) {
      expect((await fresh.requestCancel(id)).proceed).toBe(true)
      expect(await docOf(id)).not.toHaveProperty('intent')
      await expectLogExplainsProjection(fresh, id)
    }
  })
})
