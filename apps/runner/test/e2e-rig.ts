// The shared end-to-end rig: the KIS adapter against the in-process simulator over real HTTP and
// WebSocket, every execution notice applied to the order store on real PostgreSQL.
import type { BrokerOrder, BrokerOrderEvent, Clock } from '@vellab/broker-gateway'
import { createKisGateway, type KisGateway } from '@vellab/broker-kis'
import { createKisSim, type KisSim } from '@vellab/kis-sim'
import { createOrderStore, type Order, type OrderFsmTables, type OrderStore } from '@vellab/order-fsm'
import type { TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil as until } from '@vellab/testkit/wait'
import { expect } from 'vitest'

/** 2026-11-24 (Tuesday) 10:00 KST: inside the regular session. */
export const SIM_START = '2026-11-24 10:00:00'
export const PRICE = 69_000

export interface Rig {
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

export async function startRig(
  tdb: TestDatabase,
  options: { amendConfirmDelayMs?: number } = {},
): Promise<Rig> {
  // Prices move only when told, orders fill only through control.fill.
  const sim = await createKisSim({
    clock: { mode: 'real', start: SIM_START },
    // amendConfirmDelayMs opens the window in which a modify/cancel awaits confirmation (kis-sim README, Market).
    market: { priceModel: 'static', fillModel: 'manual', ...options },
  })
  const app = sim.apps.find((a) => a.env === 'real')!
  const acct = app.accounts[0]!
  sim.control.seedAccount(acct.cano, { productCode: acct.productCode, cash: 100_000_000 })
  const account = `${acct.cano}-${acct.productCode}`
  // As the runner wires it: exchange time from the simulator, host timers.
  const clock: Clock = sim.clientClock()
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
  const store = createOrderStore({ db: tdb.db<OrderFsmTables>(), clock, actor: 'e2e' })
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

export { until }

/** Create, mark and place an order of `quantity`, recording its ack; waits for the accepted notice. */
export async function placed(r: Rig, intentId: string, quantity: number): Promise<string> {
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
export async function storeUntil(
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
export async function brokerChain(r: Rig, order: Order): Promise<BrokerOrder[]> {
  const ids = new Set(order.legs.filter((l) => l.role !== 'cancel').map((l) => l.brokerOrderId))
  const all = await r.gateway.getOrders(r.account)
  return all.filter((o) => ids.has(o.brokerOrderId))
}

export const FINAL: Record<string, Order['state']> = {
  filled: 'FILLED',
  canceled: 'CANCELED',
  expired: 'EXPIRED',
  rejected: 'REJECTED',
  partially_filled: 'PARTIAL_FILLED',
}
