import type { BrokerOrderEvent, OrderIntent } from '@vellab/broker-gateway'
import { InMemoryBroker } from '@vellab/broker-gateway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerEventOutcome, OrderStore } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// KIS modify (정정) chains against the contract's own paper broker: its `replaced` + `accepted`
// (with `predecessorId`) are exactly what an adapter emits, and the stream may deliver them late
// or out of order relative to the fills and to our own REST answers.

const ACCOUNT = '50123456-01'
let fx: Fixture
let store: OrderStore

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store({ actor: 'replace-chain' })
})
afterAll(async () => {
  await fx?.tdb.drop()
})

// One paper broker for the file: its order numbers are unique per day, like KIS's. No market price
// is set, so orders rest until the test fills them.
let shared: InMemoryBroker | undefined
function paperBroker() {
  shared ??= new InMemoryBroker({ clock: fx.clock, accounts: [{ account: ACCOUNT, cash: 10_000_000_000 }] })
  return shared
}

async function submitted(broker: InMemoryBroker, intent: OrderIntent): Promise<string> {
  await store.createIntent(intent)
  expect((await store.beginSubmit(intent.intentId)).proceed).toBe(true)
  const ack = await broker.placeOrder(intent)
  await store.recordAck(ack)
  return ack.brokerOrderId
}

async function deliver(events: readonly BrokerOrderEvent[]): Promise<BrokerEventOutcome[]> {
  const out: BrokerEventOutcome[] = []
  for (const e of events) out.push(await store.applyBrokerEvent(e))
  return out
}

const refused = (outcomes: BrokerEventOutcome[]) =>
  outcomes.filter((o) => o.status === 'rejected').map((o) => o.status === 'rejected' && o.error.message)

describe('fills across a replace chain', () => {
  it('counts a fill under the old number that is reported after the replace (price-only modify)', async () => {
    const broker = paperBroker()
    const intent = anIntent({ account: ACCOUNT, quantity: 10, limitPrice: 71_000 })
    const a = await submitted(broker, intent)
    const seen = broker.eventLog.length
    expect((await store.requestReplace(intent.intentId, { limitPrice: 70_900 })).proceed).toBe(true)
    broker.fill(a, 3, 71_000) // executed at the exchange before the modify took effect
    const ack = await broker.replaceOrder(a, { limitPrice: 70_900 })
    broker.fill(ack.newBrokerOrderId, 7, 70_900)
    const events = broker.eventLog.slice(seen)
    const fillA = events.filter((e) => e.type === 'filled' && e.brokerOrderId === a)
    // The stream delivers the modify first, then the old number's fill, then the rest.
    const outcomes = await deliver([
      ...events.filter((e) => !fillA.includes(e)).slice(0, 2),
      ...fillA,
      ...events.filter((e) => !fillA.includes(e)).slice(2),
    ])
    expect(refused(outcomes)).toEqual([])
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'FILLED', filledQuantity: 10, quantity: 10 })
  })

  it('counts an old-number fill reported after a quantity modify and after the REST answer', async () => {
    const broker = paperBroker()
    const intent = anIntent({ account: ACCOUNT, quantity: 10, limitPrice: 71_000 })
    const a = await submitted(broker, intent)
    const seen = broker.eventLog.length
    expect((await store.requestReplace(intent.intentId, { quantity: 5 })).proceed).toBe(true)
    broker.fill(a, 2, 71_000)
    const ack = await broker.replaceOrder(a, { quantity: 5 })
    await store.recordReplaceAck(intent.intentId, ack)
    broker.fill(ack.newBrokerOrderId, 5, 71_000)
    // Broker truth: 2 under A, then 5 under B = 7 of 7.
    const events = broker.eventLog.slice(seen)
    const late = events.filter((e) => e.type === 'filled' && e.brokerOrderId === a)
    const outcomes = await deliver([...events.filter((e) => !late.includes(e)), ...late])
    expect(refused(outcomes)).toEqual([])
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'FILLED', filledQuantity: 7, quantity: 7 })
  })

  it('still refuses a real overfill after a quantity modify', async () => {
    const broker = paperBroker()
    const intent = anIntent({ account: ACCOUNT, quantity: 10, limitPrice: 71_000 })
    const a = await submitted(broker, intent)
    await store.requestReplace(intent.intentId, { quantity: 4 })
    const ack = await broker.replaceOrder(a, { quantity: 4 })
    await store.recordReplaceAck(intent.intentId, ack)
    const b = new BrokerEventFactory({ account: ACCOUNT, at: fx.clock.now() })
    const outcome = await store.applyBrokerEvent(
      b.filled(ack.newBrokerOrderId, { cumulative: 5, quantity: 5, price: 71_000 }),
    )
    expect(outcome.status === 'rejected' && outcome.error.code).toBe('overfill')
  })
})

describe('a modify that races a cancel', () => {
  async function replaceThenCancel() {
    const broker = paperBroker()
    const intent = anIntent({ account: ACCOUNT, quantity: 10, limitPrice: 71_000 })
    const a = await submitted(broker, intent)
    const seen = broker.eventLog.length
    expect((await store.requestReplace(intent.intentId, { limitPrice: 70_900 })).proceed).toBe(true)
    // The modify's answer is slow; the strategy cancels meanwhile (a cancel may overtake a replace).
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(true)
    const ack = await broker.replaceOrder(a, { limitPrice: 70_900 })
    return { broker, intent, a, b: ack.newBrokerOrderId, seen }
  }

  it('links the replacement as a replacement even when its accepted notice comes first, so its fills apply', async () => {
    const { broker, intent, b, seen } = await replaceThenCancel()
    const [replaced, accepted] = broker.eventLog.slice(seen)
    expect([replaced?.type, accepted?.type]).toEqual(['replaced', 'accepted'])
    broker.fill(b, 3, 70_900)
    const fill = broker.eventLog.at(-1)!
    const outcomes = await deliver([accepted!, replaced!, fill])
    expect(refused(outcomes)).toEqual([])
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'CANCEL_PENDING', filledQuantity: 3, brokerOrderId: b })
    expect(order.legs.find((l) => l.brokerOrderId === b)?.role).toBe('replacement')
  })

  it('does not take the replacement notice for a cancel ack: recover() still reconciles the unanswered cancel', async () => {
    const { broker, intent, seen } = await replaceThenCancel()
    await deliver(broker.eventLog.slice(seen))
    const before = await store.get(intent.intentId)
    expect(before?.pending).toMatchObject({ kind: 'cancel', acked: false })
    const report = await fx.store({ actor: 'restarted' }).recover()
    expect(report.movedToReconcile).toContainEqual({
      intentId: intent.intentId,
      from: 'CANCEL_PENDING',
      operation: 'cancel',
    })
  })
})

describe('stale answers to an earlier cancel', () => {
  it('a replayed reject of the first cancel request does not clear the second one', async () => {
    const intent = anIntent({ account: ACCOUNT })
    await store.createIntent(intent)
    await store.beginSubmit(intent.intentId)
    await store.recordAck({ intentId: intent.intentId, brokerOrderId: '0000031001', acceptedAt: T0 + 1_000 })
    const b = new BrokerEventFactory({ account: ACCOUNT, at: T0 + 2_000 })
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(true)
    await store.recordCancelAck(intent.intentId, {
      brokerOrderId: '0000031001',
      cancelRequestId: '0000031002',
      acceptedAt: T0 + 2_000,
    })
    const reject = b.rejected('0000031002', { reason: 'order already in matching' })
    expect((await store.applyBrokerEvent(reject)).status).toBe('applied')
    expect((await store.get(intent.intentId))?.state).toBe('ACKED')
    // A second cancel goes out; the stream replays the first cancel's reject (e.g. after a reconnect,
    // under a fresh event id, as a REST inquiry would report it).
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(true)
    const replay = await store.applyBrokerEvent({ ...reject, eventId: 'rest:0000031002:rejected' })
    expect(replay.status).toBe('ignored')
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'CANCEL_PENDING', pending: { kind: 'cancel' } })
  })
})

describe('a cancel refusal notice that overtakes the REST answer of the cancel', () => {
  it('is parked under the cancel number and applied as soon as the cancel ack links that number', async () => {
    const intent = anIntent({ account: ACCOUNT })
    await store.createIntent(intent)
    await store.beginSubmit(intent.intentId)
    await store.recordAck({ intentId: intent.intentId, brokerOrderId: '0000032001', acceptedAt: T0 + 1_000 })
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(true)
    // KIS numbers the cancel itself; its refusal notice names that number, unknown until the REST answer.
    const b = new BrokerEventFactory({ account: ACCOUNT, at: T0 + 2_000 })
    const refusal = b.rejected('0000032002', { reason: 'nothing left to cancel' })
    expect((await store.applyBrokerEvent(refusal)).status).toBe('parked')
    await store.recordCancelAck(intent.intentId, {
      brokerOrderId: '0000032001',
      cancelRequestId: '0000032002',
      acceptedAt: T0 + 2_000,
    })
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toMatchObject({ state: 'ACKED', pending: null })
    expect((await store.listUnmatched()).filter((u) => u.brokerOrderId === '0000032002')).toEqual([])
  })
})
