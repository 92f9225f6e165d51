import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate } from '../src/database'
import { brokerChain, FINAL, PRICE, placed, type Rig, startRig, storeUntil, until } from './e2e-rig'

// End to end over real HTTP and WebSocket: the KIS adapter against the simulator, every execution
// notice applied to the order store on real PostgreSQL. A quantity-reducing replace is a modify of
// q shares (a new number) plus a cancel of the original's leftover; the store must end exactly as
// the broker's books say, not CANCELED by that leftover's cancel.

// Each test gets its own simulator, whose order numbers start again, so its own database too.
let tdb: TestDatabase
beforeEach(async () => {
  tdb = await createTestDatabase()
  await migrate(tdb.db())
})
afterEach(async () => {
  await tdb?.drop()
})

describe('the order store against the KIS adapter and simulator', () => {
  let rig: Rig
  beforeEach(async () => {
    rig = await startRig(tdb)
  })
  afterEach(async () => {
    await rig?.close()
  })

  it('reduce-replace 10 → 4, then fills under the new number: FILLED at 4, as the broker says', async () => {
    const r = rig
    // Every execution notice arrives twice.
    r.sim.control.faults.add({ on: 'notice', effect: { type: 'duplicate', copies: 2 } })
    const a = await placed(r, 'e2e-reduce-1', 10)

    expect((await r.store.requestReplace('e2e-reduce-1', { quantity: 4 })).proceed).toBe(true)
    const rack = await r.gateway.replaceOrder(a, { quantity: 4 }, { account: r.account, symbol: '005930' })
    await r.store.recordReplaceAck('e2e-reduce-1', rack)
    const b = rack.newBrokerOrderId
    // The leftover's cancel under the original number arrives: the order must stay live at 4.
    await until('the leftover cancel notice', () =>
      r.events.some((e) => e.type === 'canceled' && e.brokerOrderId === a),
    )
    const reduced = await storeUntil(
      r,
      'e2e-reduce-1',
      'the replacement linked',
      (o) => o.brokerOrderId === b,
    )
    expect(reduced).toMatchObject({ state: 'ACKED', quantity: 4, filledQuantity: 0 })

    r.sim.control.fill(b, { qty: 1, price: PRICE })
    r.sim.control.fill(b, { qty: 3, price: PRICE })
    const order = await storeUntil(r, 'e2e-reduce-1', 'FILLED', (o) => o.state === 'FILLED')

    const books = await brokerChain(r, order)
    const original = books.find((o) => o.brokerOrderId === a)!
    const replacement = books.find((o) => o.brokerOrderId === b)!
    expect(replacement).toMatchObject({
      status: 'filled',
      quantity: 4,
      filledQuantity: 4,
      remainingQuantity: 0,
    })
    expect(original).toMatchObject({ filledQuantity: 0, remainingQuantity: 0 })
    expect(order).toMatchObject({
      state: FINAL[replacement.status],
      quantity: original.filledQuantity + replacement.quantity,
      filledQuantity: books.reduce((s, o) => s + o.filledQuantity, 0),
    })
    expect(order.legs.find((l) => l.brokerOrderId === a)).toMatchObject({ closed: 'canceled' })
    expect(await r.store.fills('e2e-reduce-1')).toHaveLength(2)
  })

  it('a partial fill, then a reduce, then a cancel of the rest: CANCELED with what filled', async () => {
    const r = rig
    const a = await placed(r, 'e2e-reduce-2', 10)
    r.sim.control.fill(a, { qty: 3, price: PRICE })
    await storeUntil(r, 'e2e-reduce-2', '3 filled', (o) => o.filledQuantity === 3)

    expect((await r.store.requestReplace('e2e-reduce-2', { quantity: 5 })).proceed).toBe(true)
    const rack = await r.gateway.replaceOrder(a, { quantity: 5 }, { account: r.account, symbol: '005930' })
    await r.store.recordReplaceAck('e2e-reduce-2', rack)
    const b = rack.newBrokerOrderId
    await until('the leftover cancel notice', () =>
      r.events.some((e) => e.type === 'canceled' && e.brokerOrderId === a),
    )
    const reduced = await storeUntil(
      r,
      'e2e-reduce-2',
      'the replacement linked',
      (o) => o.brokerOrderId === b,
    )
    expect(reduced).toMatchObject({ state: 'PARTIAL_FILLED', quantity: 8, filledQuantity: 3 })

    r.sim.control.fill(b, { qty: 2, price: PRICE })
    await storeUntil(r, 'e2e-reduce-2', '5 filled', (o) => o.filledQuantity === 5)
    expect((await r.store.requestCancel('e2e-reduce-2')).proceed).toBe(true)
    const cack = await r.gateway.cancelOrder(b, { account: r.account, symbol: '005930' })
    await r.store.recordCancelAck('e2e-reduce-2', cack)
    const order = await storeUntil(r, 'e2e-reduce-2', 'CANCELED', (o) => o.state === 'CANCELED')

    const books = await brokerChain(r, order)
    const replacement = books.find((o) => o.brokerOrderId === b)!
    expect(replacement).toMatchObject({ status: 'canceled', filledQuantity: 2, remainingQuantity: 0 })
    expect(order).toMatchObject({
      state: FINAL[replacement.status],
      quantity: 3 + replacement.quantity,
      filledQuantity: books.reduce((s, o) => s + o.filledQuantity, 0),
    })
  })

  it('a plain partial fill and cancel: CANCELED with the filled shares, as the broker says', async () => {
    const r = rig
    const a = await placed(r, 'e2e-cancel-1', 10)
    r.sim.control.fill(a, { qty: 4, price: PRICE })
    await storeUntil(r, 'e2e-cancel-1', '4 filled', (o) => o.filledQuantity === 4)
    expect((await r.store.requestCancel('e2e-cancel-1')).proceed).toBe(true)
    const cack = await r.gateway.cancelOrder(a, { account: r.account, symbol: '005930' })
    await r.store.recordCancelAck('e2e-cancel-1', cack)
    const order = await storeUntil(r, 'e2e-cancel-1', 'CANCELED', (o) => o.state === 'CANCELED')
    const [broker] = await brokerChain(r, order)
    expect(broker).toMatchObject({
      status: 'canceled',
      quantity: 10,
      filledQuantity: 4,
      remainingQuantity: 0,
    })
    expect(order).toMatchObject({
      state: FINAL[broker!.status],
      quantity: broker!.quantity,
      filledQuantity: broker!.filledQuantity,
    })
    expect(order.legs[0]).toMatchObject({
      closed: 'canceled',
      reductions: [{ type: 'canceled', quantity: 6 }],
    })
  })
})
