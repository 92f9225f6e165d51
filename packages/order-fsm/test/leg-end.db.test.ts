import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerEventOutcome, OrderStore, OrderStoreNotice } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// What broker-kis emits for replaceOrder(A, { quantity: q }) (a modify of q shares under a new
// number B, then a cancel of A's leftover) and for partial cancels, applied to the real store in
// the orders a stream can deliver them: duplicated, reordered, before or after the REST answer.

const ACCOUNT = '50123456-01'
let fx: Fixture
let store: OrderStore
const notices: OrderStoreNotice[] = []

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store({ actor: 'leg-end', onNotice: (n) => notices.push(n) })
})
afterAll(async () => {
  await fx?.tdb.drop()
})

let seq = 0
/** A live order of 10 acked under a fresh number; returns its ids and an event factory. */
async function ackedOrder() {
  const intent = anIntent({ account: ACCOUNT, quantity: 10, limitPrice: 71_000 })
  const n = 40_000 + 10 * seq++
  const a = `00000${n}`
  const b = `00000${n + 1}`
  await store.createIntent(intent)
  await store.beginSubmit(intent.intentId)
  await store.recordAck({ intentId: intent.intentId, brokerOrderId: a, acceptedAt: T0 + 1_000 })
  const broker = new BrokerEventFactory({ account: ACCOUNT, at: T0 + 2_000 })
  return { intentId: intent.intentId, a, b, broker }
}

async function deliver(events: readonly BrokerOrderEvent[]): Promise<BrokerEventOutcome[]> {
  const out: BrokerEventOutcome[] = []
  for (const e of events) out.push(await store.applyBrokerEvent(e))
  return out
}
const refused = (outcomes: BrokerEventOutcome[]) => outcomes.filter((o) => o.status === 'rejected')
const alarmsOf = (intentId: string) =>
  notices
    .filter((n) => n.type === 'alarm' && n.intentId === intentId)
    .map((n) => n.type === 'alarm' && n.code)

function reduceEvents(broker: BrokerEventFactory, a: string, b: string) {
  return {
    replaced: broker.replaced(a, { newBrokerOrderId: b, quantity: 4, limitPrice: 71_000 }),
    accepted: broker.accepted(b, { quantity: 4, limitPrice: 71_000, predecessorId: a }),
    leftover: broker.canceled(a, { canceledQuantity: 6 }),
    fills: [
      broker.filled(b, { cumulative: 1, quantity: 1, price: 71_000 }),
      broker.filled(b, { cumulative: 4, quantity: 3, price: 71_000 }),
    ],
  }
}

describe('a reduce-replace on the store', () => {
  it('in stream order, REST answer last: the order works on under the new number and fills', async () => {
    const { intentId, a, b, broker } = await ackedOrder()
    const e = reduceEvents(broker, a, b)
    expect((await store.requestReplace(intentId, { quantity: 4 })).proceed).toBe(true)
    const outcomes = await deliver([e.replaced, e.accepted, e.leftover])
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'ignored', 'applied'])
    expect(
      (
        await store.recordReplaceAck(intentId, {
          brokerOrderId: a,
          newBrokerOrderId: b,
          acceptedAt: T0 + 2_000,
        })
      ).status,
    ).toBe('ignored')
    expect(await store.get(intentId)).toMatchObject({ state: 'ACKED', quantity: 4, brokerOrderId: b })
    expect(refused(await deliver(e.fills))).toEqual([])
    const order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'FILLED', quantity: 4, filledQuantity: 4 })
    expect(order.legs.find((l) => l.brokerOrderId === a)).toMatchObject({ closed: 'canceled' })
    expect(alarmsOf(intentId)).toEqual([])
  })

  it('the leftover cancel first, then the REST answer, then the notices, all twice', async () => {
    const { intentId, a, b, broker } = await ackedOrder()
    const e = reduceEvents(broker, a, b)
    await store.requestReplace(intentId, { quantity: 4 })
    expect((await deliver([e.leftover, e.leftover])).map((o) => o.status)).toEqual(['applied', 'duplicate'])
    expect(await store.get(intentId)).toMatchObject({ state: 'REPLACE_PENDING', quantity: 4 })
    await store.recordReplaceAck(intentId, { brokerOrderId: a, newBrokerOrderId: b, acceptedAt: T0 + 2_000 })
    // A fill under the new number that overtakes its accepted notice routes by the linked number.
    const outcomes = await deliver([e.fills[1]!, e.accepted, e.replaced, e.leftover, e.accepted, e.fills[0]!])
    expect(refused(outcomes)).toEqual([])
    // The same leftover under another event id (a REST re-read) changes nothing either.
    expect((await store.applyBrokerEvent({ ...e.leftover, eventId: `rest:${a}:canceled` })).status).toBe(
      'ignored',
    )
    const order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'FILLED', quantity: 4, filledQuantity: 4 })
    expect(alarmsOf(intentId)).toEqual([])
  })

  it('new-number events before anything links it are parked, then applied in order', async () => {
    const { intentId, a, b, broker } = await ackedOrder()
    const e = reduceEvents(broker, a, b)
    await store.requestReplace(intentId, { quantity: 4 })
    const early = await deliver([e.fills[0]!, e.leftover])
    expect(early.map((o) => o.status)).toEqual(['parked', 'applied'])
    await deliver([e.accepted, e.fills[1]!, e.replaced])
    await store.recordReplaceAck(intentId, { brokerOrderId: a, newBrokerOrderId: b, acceptedAt: T0 + 2_000 })
    const order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'FILLED', quantity: 4, filledQuantity: 4, brokerOrderId: b })
    expect((await store.listUnmatched()).filter((u) => u.brokerOrderId === b)).toEqual([])
  })

  it('a cancel of the replacement then closes the order with what filled', async () => {
    const { intentId, a, b, broker } = await ackedOrder()
    const e = reduceEvents(broker, a, b)
    await store.requestReplace(intentId, { quantity: 4 })
    await deliver([e.replaced, e.accepted, e.leftover, e.fills[0]!])
    expect((await store.requestCancel(intentId)).proceed).toBe(true)
    await store.recordCancelAck(intentId, {
      brokerOrderId: b,
      cancelRequestId: `${b}9`,
      acceptedAt: T0 + 3_000,
    })
    await deliver([broker.canceled(b, { canceledQuantity: 3 })])
    const order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'CANCELED', quantity: 4, filledQuantity: 1 })
  })
})

describe('partial cancels and expiries on the store', () => {
  it('a partial cancel keeps the order working with fewer shares; a repeat changes nothing', async () => {
    const { intentId, a, broker } = await ackedOrder()
    const partial = broker.canceled(a, { canceledQuantity: 3 })
    await deliver([broker.filled(a, { cumulative: 2, quantity: 2, price: 71_000 }), partial, partial])
    // The same report has the same id on every path (broker-kis): the store sees a duplicate.
    expect((await store.applyBrokerEvent({ ...partial })).status).toBe('duplicate')
    let order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'PARTIAL_FILLED', quantity: 7, filledQuantity: 2 })
    expect(alarmsOf(intentId)).toEqual(['partial_cancel'])
    await deliver([broker.filled(a, { cumulative: 7, quantity: 5, price: 71_000 })])
    order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'FILLED', quantity: 7, filledQuantity: 7 })
  })

  it('our cancel confirmed before the fills it raced: CANCELED, the fills still count', async () => {
    const { intentId, a, broker } = await ackedOrder()
    await store.requestCancel(intentId)
    const outcomes = await deliver([
      broker.canceled(a, { canceledQuantity: 7 }),
      broker.filled(a, { cumulative: 3, quantity: 3, price: 71_000 }),
      broker.canceled(a, { canceledQuantity: 7 }),
    ])
    expect(refused(outcomes)).toEqual([])
    const order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'CANCELED', quantity: 10, filledQuantity: 3 })
  })

  it('an expiry overtaking fills: EXPIRED, and the fills are applied, not refused', async () => {
    const { intentId, a, broker } = await ackedOrder()
    const outcomes = await deliver([
      broker.expired(a, { expiredQuantity: 6 }),
      broker.filled(a, { cumulative: 4, quantity: 4, price: 71_000 }),
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'applied'])
    const order = await expectLogExplainsProjection(store, intentId)
    expect(order).toMatchObject({ state: 'EXPIRED', quantity: 10, filledQuantity: 4 })
    expect(alarmsOf(intentId)).toEqual(['late_fill_after_expiry'])
  })
})
