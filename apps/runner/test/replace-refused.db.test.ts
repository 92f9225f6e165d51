import type { BrokerOrder, BrokerOrderEvent, Clock, TimerHandle } from '@vellab/broker-gateway'
import { createKisGateway, type KisGateway } from '@vellab/broker-kis'
import { createKisSim, type KisSim } from '@vellab/kis-sim'
import { createOrderStore, type Order, type OrderStore } from '@vellab/order-fsm'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate } from '../src/database'

// End to end over real HTTP and WebSocket: the KIS adapter against the simulator, every execution
// notice applied to the order store on real PostgreSQL. A modify (정정) gets its number in the REST
// answer but takes effect only when the exchange confirms it; with a confirmation delay, a fill of
// the whole original lands first and the exchange refuses the modify (RFUS_YN 1, a contract
// `rejected` under the modify's number). The store must end as the broker's books say: FILLED under
// the original number, not REJECTED.

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
    // The race window: a modify is confirmed only after this long (kis-sim README, Market).
    market: { priceModel: 'static', fillModel: 'manual', amendConfirmDelayMs: 1_000 },
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

describe('a modify refused because the original filled first (KIS adapter + simulator)', () => {
  let rig: Rig
  beforeEach(async () => {
    rig = await startRig()
  })
  afterEach(async () => {
    await rig?.close()
  })

  for (const [name, patch] of [
    ['price modify', { limitPrice: PRICE - 100 }],
    ['reducing modify 10 → 6', { quantity: 6 }],
  ] as const) {
    it(`${name}: the original fills before the confirmation: FILLED under the original, as the broker says`, async () => {
      const r = rig
      const id = `e2e-refused-${'quantity' in patch ? 'qty' : 'px'}`
      const a = await placed(r, id, 10)

      expect((await r.store.requestReplace(id, patch)).proceed).toBe(true)
      const rack = await r.gateway.replaceOrder(a, patch, { account: r.account, symbol: '005930' })
      await r.store.recordReplaceAck(id, rack)
      const b = rack.newBrokerOrderId
      // Inside the confirmation delay: the whole original fills, so the exchange refuses the modify.
      r.sim.control.fill(a, { qty: 10, price: PRICE })
      await until('the refusal of the modify', () =>
        r.events.some((e) => e.type === 'rejected' && e.brokerOrderId === b),
      )
      const order = await storeUntil(
        r,
        id,
        'FILLED at 10',
        (o) => o.state === 'FILLED' && o.filledQuantity === 10,
      )

      const books = await brokerChain(r, order)
      const original = books.find((o) => o.brokerOrderId === a)!
      expect(original).toMatchObject({
        status: 'filled',
        quantity: 10,
        filledQuantity: 10,
        remainingQuantity: 0,
      })
      expect(books.filter((o) => o.brokerOrderId !== a).every((o) => o.filledQuantity === 0)).toBe(true)
      expect(order).toMatchObject({
        state: FINAL[original.status],
        quantity: original.quantity,
        filledQuantity: books.reduce((s, o) => s + o.filledQuantity, 0),
        brokerOrderId: a,
        limitPrice: PRICE,
      })
      expect(order.legs.find((l) => l.brokerOrderId === b)?.refused).toBeDefined()
      expect(await r.store.fills(id)).toHaveLength(1)
    })
  }
})
