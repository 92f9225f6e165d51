import type { BrokerOrder, BrokerOrderEvent, Clock, TimerHandle } from '@vellab/broker-gateway'
import { createKisGateway, type KisGateway } from '@vellab/broker-kis'
import { createKisSim, type KisSim } from '@vellab/kis-sim'
import { createOrderStore, type Order, type OrderStore } from '@vellab/order-fsm'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate } from '../src/database'

// End to end over real HTTP and WebSocket: the KIS adapter against the simulator, every execution
// notice applied to the order store on real PostgreSQL. A quantity-reducing replace is a modify of
// q shares (a new number) plus a cancel of the original's leftover; the store must end exactly as
// the broker's books say, not CANCELED by that leftover's cancel.

/** 2026-11-24 (Tuesday) 10:00 KST: inside the regular session. */
const SIM_START = '2026-11-24 10:00:00'
const PRICE = 69_000

// Each test gets its own simulator, whose order numbers start again, so its own database too.
let tdb: TestDatabase
beforeEach(async () => {
  tdb = await createTestDatabase()
  await migrate(tdb.db())
})
afterEach(async () => {
  await tdb?.drop()
})

interface Rig {
  sim: KisSim
  gateway: KisGateway
  store: OrderStore
  account: string
  /** Every notice as received, and how each was applied. */
  events: BrokerOrderEvent[]
  /** Resolves when every notice received so far is applied to the store. */
  settled(): Promise<void>
  close(): Promise<void>
}

async function startRig(): Promise<Rig> {
  // Prices move only when told, orders fill only through control.fill.
  const sim = await createKisSim({
    clock: { mode: 'real', start: SIM_START },
    market: { priceModel: 'static', fillModel: 'manual' },
  })
  const app = sim.apps.find((a) => a.env === 'real')!
  const acct = app.accounts[0]!
  sim.control.seedAccount(acct.cano, { productCode: acct.productCode, cash: 100_000_000 })
  const account = `${acct.cano}-${acct.productCode}`
  // As the runner wires it: exchange time from the simulator, host timers.
  const clock: Clock = {
    now: () => sim.control.clock.now(),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
    clearTimeout: (h) => globalThis.clearTimeout(h as unknown as ReturnType<typeof setTimeout>),
  }
  const gateway = createKisGateway({
    config: {
      environment: 'real',
      appKey: app.appkey,
      appSecret: app.appsecret,
      account,
      htsId: app.htsId,
      restBaseUrl: sim.restUrl,
      wsUrl: `${sim.wsUrl}/tryitout`,
    },
    clock,
  })
  const store = createOrderStore({ db: tdb.db() as never, clock, actor: 'e2e' })
  const events: BrokerOrderEvent[] = []
  let chain: Promise<unknown> = Promise.resolve()
  const failures: unknown[] = []
  const stop = gateway.streamOrderEvents(account, (e) => {
    events.push(e)
    // Serialised like the runner's session; a refusal is a test failure, collected below.
    chain = chain.then(
      async () => {
        const outcome = await store.applyBrokerEvent(e, { actor: 'e2e:events' })
        if (outcome.status === 'rejected') failures.push(outcome.error)
      },
      (err: unknown) => failures.push(err),
    )
  })
  await until('the execution-notice subscription', () => gateway.snapshot().ws.acknowledged >= 1)
  return {
    sim,
    gateway,
    store,
    account,
    events,
    async settled() {
      await chain
      expect(failures).toEqual([])
    },
    async close() {
      stop()
      await chain.catch(() => {})
      await gateway.close()
      await sim.close()
    },
  }
}

/** Poll (real time, bounded) until `probe` returns a value. */
async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 4_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v as T
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Create, mark and place an order of `quantity`, recording its ack; waits for the accepted notice. */
async function placed(r: Rig, intentId: string, quantity: number): Promise<string> {
  const order = await r.store.createIntent({
    intentId,
    account: r.account,
    strategyId: 'e2e',
    symbol: '005930',
    side: 'buy',
    quantity,
    orderType: 'limit',
    limitPrice: PRICE,
  })
  expect((await r.store.beginSubmit(intentId)).proceed).toBe(true)
  const ack = await r.gateway.placeOrder(order.intent)
  await r.store.recordAck(ack)
  await until('the accepted notice', () =>
    r.events.some((e) => e.type === 'accepted' && e.brokerOrderId === ack.brokerOrderId),
  )
  await r.settled()
  return ack.brokerOrderId
}

/** Wait until the store's order satisfies `done` (every notice so far applied first). */
async function storeUntil(
  r: Rig,
  intentId: string,
  what: string,
  done: (o: Order) => boolean,
): Promise<Order> {
  return until(what, async () => {
    await r.settled()
    const o = await r.store.get(intentId)
    return o && done(o) ? o : undefined
  })
}

/** The broker's books for the numbers of one order's chain. */
async function brokerChain(r: Rig, order: Order): Promise<BrokerOrder[]> {
  const ids = new Set(order.legs.filter((l) => l.role !== 'cancel').map((l) => l.brokerOrderId))
  const all = await r.gateway.getOrders(r.account)
  return all.filter((o) => ids.has(o.brokerOrderId))
}

const FINAL: Record<string, Order['state']> = {
  filled: 'FILLED',
  canceled: 'CANCELED',
  expired: 'EXPIRED',
  rejected: 'REJECTED',
  partially_filled: 'PARTIAL_FILLED',
}

describe('the order store against the KIS adapter and simulator', () => {
  let rig: Rig
  beforeEach(async () => {
    rig = await startRig()
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
