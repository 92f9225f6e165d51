import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerEventOutcome, OrderStore, OrderStoreNotice } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// Issue #19: five minimal broker histories that ended differently depending on the order their
// reports arrived in. Each is run twice on the real store, once in the order it happened and once
// reordered (causality kept: no report before the local command it follows), and both runs must
// end with the same books.

let fx: Fixture
let store: OrderStore
const notices: OrderStoreNotice[] = []

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store({ actor: 'delivery-order', onNotice: (n) => notices.push(n) })
})
afterAll(async () => {
  await fx?.tdb.drop()
})

let runs = 0
type Step = (ctx: RunContext) => Promise<unknown>
interface RunContext {
  intentId: string
  n1: string
  n3: string
  c: string
  broker: BrokerEventFactory
  outcomes: BrokerEventOutcome[]
}

/** A fresh order of `quantity` acked under N1, then `steps` in the given order. */
async function run(quantity: number, steps: readonly Step[]) {
  const k = runs++
  // One account per run: broker numbers are per account and day.
  const account = `5012${String(k).padStart(4, '0')}-01`
  const intent = anIntent({ account, quantity, limitPrice: 71_000 })
  await store.createIntent(intent)
  await store.beginSubmit(intent.intentId)
  const n1 = '0000000001'
  await store.recordAck({ intentId: intent.intentId, brokerOrderId: n1, acceptedAt: T0 + 1_000 })
  const ctx: RunContext = {
    intentId: intent.intentId,
    n1,
    n3: '0000000003',
    c: '0000000002',
    broker: new BrokerEventFactory({ account, at: T0 + 2_000 }),
    outcomes: [],
  }
  for (const step of steps) await step(ctx)
  await store.recover()
  const order = await expectLogExplainsProjection(store, intent.intentId)
  const fills = (await store.fills(intent.intentId))
    .map((f) => ({ n: f.brokerOrderId, cum: f.cumulativeQuantity, qty: f.quantity, price: f.price }))
    .sort((a, b) => a.n.localeCompare(b.n) || a.cum - b.cum)
  return {
    books: {
      state: order.state,
      quantity: order.quantity,
      filled: order.filledQuantity,
      notional: order.filledNotional,
      current: order.brokerOrderId,
      fills,
    },
    unmatched: (await store.listUnmatched({ account })).length,
    refused: ctx.outcomes.filter((o) => o.status === 'rejected'),
    critical: notices.filter(
      (x) => x.type === 'alarm' && x.intentId === intent.intentId && x.severity === 'critical',
    ),
  }
}

const deliver =
  (make: (ctx: RunContext) => BrokerOrderEvent): Step =>
  async (ctx) => {
    ctx.outcomes.push(await store.applyBrokerEvent(make(ctx)))
  }
const at = (ms: number) => T0 + ms

describe('the same broker history ends the same way whatever order it arrives in (#19)', () => {
  it('1: a lower fill level after a higher one re-prices its gap: each fill row keeps its own price', async () => {
    const fill1 = deliver((x) =>
      x.broker.filled(x.n1, { cumulative: 1, quantity: 1, price: 70_900, at: at(2_000) }),
    )
    const fill2 = deliver((x) =>
      x.broker.filled(x.n1, { cumulative: 2, quantity: 1, price: 70_800, at: at(3_000) }),
    )
    const inOrder = await run(2, [fill1, fill2])
    const reordered = await run(2, [fill2, fill1])
    expect(inOrder.books).toMatchObject({ state: 'FILLED', filled: 2, notional: 141_700 })
    expect(inOrder.books.fills).toEqual([
      { n: '0000000001', cum: 1, qty: 1, price: 70_900 },
      { n: '0000000001', cum: 2, qty: 1, price: 70_800 },
    ])
    expect(reordered.books).toEqual(inOrder.books)
  })

  it('2: a cancel refused because a fill won is linked and absorbed, not parked forever', async () => {
    const requestCancel: Step = (x) => store.requestCancel(x.intentId)
    const fill = deliver((x) =>
      x.broker.filled(x.n1, { cumulative: 1, quantity: 1, price: 71_000, at: at(2_000) }),
    )
    const cancelAck: Step = (x) =>
      store.recordCancelAck(x.intentId, { brokerOrderId: x.n1, cancelRequestId: x.c, acceptedAt: at(2_500) })
    const refusal = deliver((x) => x.broker.rejected(x.c, { reason: 'already filled', at: at(3_000) }))
    const inOrder = await run(1, [requestCancel, fill, cancelAck, refusal])
    const fillLast = await run(1, [requestCancel, cancelAck, refusal, fill])
    const refusalFirst = await run(1, [requestCancel, fill, refusal, cancelAck])
    expect(inOrder.books).toMatchObject({ state: 'FILLED', filled: 1 })
    expect(fillLast.books).toEqual(inOrder.books)
    expect(refusalFirst.books).toEqual(inOrder.books)
    for (const r of [inOrder, fillLast, refusalFirst]) expect(r.unmatched).toBe(0)
  })

  it('3: two cancels of the same size under one number are two facts (identified by event id)', async () => {
    const brokerSide = deliver((x) => ({
      ...x.broker.canceled(x.n1, { canceledQuantity: 1, at: at(2_000) }),
      eventId: 'cancel-broker-side',
    }))
    const requestCancel: Step = (x) => store.requestCancel(x.intentId)
    const cancelAck: Step = (x) =>
      store.recordCancelAck(x.intentId, { brokerOrderId: x.n1, cancelRequestId: x.c, acceptedAt: at(3_000) })
    const ours = deliver((x) => ({
      ...x.broker.canceled(x.n1, { canceledQuantity: 1, at: at(3_500) }),
      eventId: 'cancel-ours',
    }))
    const inOrder = await run(2, [brokerSide, requestCancel, cancelAck, ours])
    const reordered = await run(2, [requestCancel, cancelAck, ours, brokerSide])
    expect(inOrder.books).toMatchObject({ state: 'CANCELED', quantity: 1, filled: 0 })
    expect(reordered.books).toEqual(inOrder.books)
    expect(reordered.critical).toEqual([])
  })

  it('4a: a broker-side partial cancel delivered after a price modify answer is not lost', async () => {
    const partial = deliver((x) => x.broker.canceled(x.n1, { canceledQuantity: 1, at: at(2_000) }))
    const requestReplace: Step = (x) => store.requestReplace(x.intentId, { limitPrice: 70_500 })
    const replaceAck: Step = (x) =>
      store.recordReplaceAck(x.intentId, {
        brokerOrderId: x.n1,
        newBrokerOrderId: x.n3,
        acceptedAt: at(3_000),
      })
    const replaced = deliver((x) =>
      x.broker.replaced(x.n1, { newBrokerOrderId: x.n3, quantity: 1, limitPrice: 70_500, at: at(3_100) }),
    )
    const accepted = deliver((x) =>
      x.broker.accepted(x.n3, { quantity: 1, limitPrice: 70_500, predecessorId: x.n1, at: at(3_200) }),
    )
    const fill = deliver((x) =>
      x.broker.filled(x.n3, { cumulative: 1, quantity: 1, price: 70_500, at: at(4_000) }),
    )
    const inOrder = await run(2, [partial, requestReplace, replaceAck, replaced, accepted, fill])
    const late = await run(2, [requestReplace, replaceAck, partial, replaced, accepted, fill])
    const later = await run(2, [requestReplace, replaceAck, replaced, accepted, fill, partial])
    expect(inOrder.books).toMatchObject({ state: 'FILLED', quantity: 1, filled: 1, current: '0000000003' })
    expect(late.books).toEqual(inOrder.books)
    expect(later.books).toEqual(inOrder.books)
  })

  it('4b: a partial cancel delivered after a quantity modify answer, then the leftover cancel: no alarm', async () => {
    const partial = deliver((x) => ({
      ...x.broker.canceled(x.n1, { canceledQuantity: 1, at: at(2_000) }),
      eventId: 'partial',
    }))
    const requestReplace: Step = (x) => store.requestReplace(x.intentId, { quantity: 1 })
    const replaceAck: Step = (x) =>
      store.recordReplaceAck(x.intentId, {
        brokerOrderId: x.n1,
        newBrokerOrderId: x.n3,
        acceptedAt: at(3_000),
      })
    const replaced = deliver((x) =>
      x.broker.replaced(x.n1, { newBrokerOrderId: x.n3, quantity: 1, limitPrice: 71_000, at: at(3_100) }),
    )
    const accepted = deliver((x) =>
      x.broker.accepted(x.n3, { quantity: 1, limitPrice: 71_000, predecessorId: x.n1, at: at(3_200) }),
    )
    const leftover = deliver((x) => ({
      ...x.broker.canceled(x.n1, { canceledQuantity: 2, at: at(3_300) }),
      eventId: 'leftover',
    }))
    const fill = deliver((x) =>
      x.broker.filled(x.n3, { cumulative: 1, quantity: 1, price: 71_000, at: at(4_000) }),
    )
    const inOrder = await run(4, [partial, requestReplace, replaceAck, replaced, accepted, leftover, fill])
    const late = await run(4, [requestReplace, replaceAck, replaced, accepted, leftover, partial, fill])
    expect(inOrder.books).toMatchObject({ state: 'FILLED', quantity: 1, filled: 1 })
    expect(late.books).toEqual(inOrder.books)
    for (const r of [inOrder, late]) {
      expect(r.refused).toEqual([])
      expect(r.critical).toEqual([])
    }
  })

  it('5: our own cancel of the rest, overtaking a price modify, closes the order whichever fill it beats', async () => {
    const fill1 = deliver((x) =>
      x.broker.filled(x.n1, { cumulative: 1, quantity: 1, price: 71_000, at: at(2_000) }),
    )
    const requestReplace: Step = (x) => store.requestReplace(x.intentId, { limitPrice: 70_500 })
    const requestCancel: Step = (x) => store.requestCancel(x.intentId)
    const fill2 = deliver((x) =>
      x.broker.filled(x.n1, { cumulative: 2, quantity: 1, price: 71_000, at: at(3_000) }),
    )
    const canceled = deliver((x) => x.broker.canceled(x.n1, { canceledQuantity: 1, at: at(3_500) }))
    const replaceReject: Step = (x) => store.recordReplaceReject(x.intentId, { reason: 'order closed' })
    const cancelAck: Step = (x) =>
      store.recordCancelAck(x.intentId, { brokerOrderId: x.n1, cancelRequestId: x.c, acceptedAt: at(4_000) })
    const inOrder = await run(3, [
      fill1,
      requestReplace,
      requestCancel,
      fill2,
      canceled,
      replaceReject,
      cancelAck,
    ])
    const cancelFirst = await run(3, [
      fill1,
      requestReplace,
      requestCancel,
      canceled,
      fill2,
      replaceReject,
      cancelAck,
    ])
    expect(inOrder.books).toMatchObject({ state: 'CANCELED', quantity: 3, filled: 2 })
    expect(cancelFirst.books).toEqual(inOrder.books)
  })
})
