import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OrderStore } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// A KIS modify (정정) numbered by its REST answer and then refused by the exchange (the original
// filled first): the adapter emits a contract `rejected` under the modify's new number (broker-kis
// README "Modify/cancel outcomes"). The order must stay as the original number says.

const ACCOUNT = '50123456-01'
let fx: Fixture
let store: OrderStore
const broker = new BrokerEventFactory({ account: ACCOUNT, at: T0 + 60_000 })
let n = 0
const num = () => String(9_000 + ++n).padStart(10, '0')

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store({ actor: 'replace-refusal' })
})
afterAll(async () => {
  await fx?.tdb.drop()
})

async function working(quantity = 10) {
  const intent = anIntent({ account: ACCOUNT, quantity, limitPrice: 71_000 })
  await store.createIntent(intent)
  expect((await store.beginSubmit(intent.intentId)).proceed).toBe(true)
  const original = num()
  await store.recordAck({ intentId: intent.intentId, brokerOrderId: original, acceptedAt: T0 + 1_000 })
  return { id: intent.intentId, original, modify: num() }
}
const replaceAck = (original: string, modify: string) => ({
  brokerOrderId: original,
  newBrokerOrderId: modify,
  acceptedAt: T0 + 2_000,
})
const refusal = (modify: string) =>
  broker.rejected(modify, { reason: '정정 불가: 체결 완료', code: 'APBK0913' })
const fill = (id: string, cumulative: number) =>
  broker.filled(id, { cumulative, quantity: cumulative, price: 71_000 })

describe('a refused modify (store, Postgres)', () => {
  it('refusal after the REST answer, the original fills after: FILLED under the original number', async () => {
    const o = await working()
    expect((await store.requestReplace(o.id, { limitPrice: 70_900 })).proceed).toBe(true)
    await store.recordReplaceAck(o.id, replaceAck(o.original, o.modify))
    expect((await store.applyBrokerEvent(refusal(o.modify))).status).toBe('applied')
    expect(await store.get(o.id)).toMatchObject({
      state: 'ACKED',
      brokerOrderId: o.original,
      limitPrice: 71_000,
    })
    // A replayed refusal changes nothing.
    expect(['duplicate', 'ignored']).toContain((await store.applyBrokerEvent(refusal(o.modify))).status)
    expect((await store.applyBrokerEvent(fill(o.original, 10))).status).toBe('applied')
    const order = await expectLogExplainsProjection(store, o.id)
    expect(order).toMatchObject({
      state: 'FILLED',
      filledQuantity: 10,
      quantity: 10,
      brokerOrderId: o.original,
    })
    const trail = await store.auditTrail(o.id)
    expect(trail.some((e) => JSON.stringify(e).includes('replace_refused'))).toBe(true)
  })

  it('refusal before the REST answer (parked, applied on the link), fill first: FILLED', async () => {
    const o = await working()
    expect((await store.requestReplace(o.id, { quantity: 6 })).proceed).toBe(true)
    expect((await store.applyBrokerEvent(refusal(o.modify))).status).toBe('parked')
    expect((await store.applyBrokerEvent(fill(o.original, 10))).status).toBe('applied')
    await store.recordReplaceAck(o.id, replaceAck(o.original, o.modify))
    const order = await expectLogExplainsProjection(store, o.id)
    expect(order).toMatchObject({
      state: 'FILLED',
      filledQuantity: 10,
      quantity: 10,
      brokerOrderId: o.original,
    })
    expect(order.legs.find((l) => l.brokerOrderId === o.modify)?.refused).toBeDefined()
    expect((await store.listUnmatched({ account: ACCOUNT })).map((u) => u.brokerOrderId)).not.toContain(
      o.modify,
    )
  })

  it('reduce modify, refusal parked before the REST answer, the original fills after: FILLED at 10', async () => {
    const o = await working()
    expect((await store.requestReplace(o.id, { quantity: 6 })).proceed).toBe(true)
    expect((await store.applyBrokerEvent(refusal(o.modify))).status).toBe('parked')
    await store.recordReplaceAck(o.id, replaceAck(o.original, o.modify))
    expect(await store.get(o.id)).toMatchObject({ state: 'ACKED', quantity: 10, brokerOrderId: o.original })
    expect((await store.applyBrokerEvent(fill(o.original, 4))).status).toBe('applied')
    expect((await store.applyBrokerEvent(fill(o.original, 10))).status).toBe('applied')
    const order = await expectLogExplainsProjection(store, o.id)
    expect(order).toMatchObject({ state: 'FILLED', filledQuantity: 10, quantity: 10 })
  })

  it('reduce modify, the original partly fills before the refusal: PARTIAL_FILLED on the original terms', async () => {
    const o = await working()
    expect((await store.requestReplace(o.id, { quantity: 6 })).proceed).toBe(true)
    await store.recordReplaceAck(o.id, replaceAck(o.original, o.modify))
    expect((await store.applyBrokerEvent(fill(o.original, 3))).status).toBe('applied')
    expect((await store.applyBrokerEvent(refusal(o.modify))).status).toBe('applied')
    const order = await expectLogExplainsProjection(store, o.id)
    expect(order).toMatchObject({
      state: 'PARTIAL_FILLED',
      filledQuantity: 3,
      quantity: 10,
      brokerOrderId: o.original,
    })
  })

  it('a rejected under the original number still rejects the order', async () => {
    const o = await working()
    expect((await store.applyBrokerEvent(broker.rejected(o.original, { reason: 'limit' }))).status).toBe(
      'applied',
    )
    expect((await store.get(o.id))?.state).toBe('REJECTED')
  })
})
