import { describe, expect, it } from 'vitest'
import { rigsClosedAfterEach } from './sim-harness'

const startRig = rigsClosedAfterEach()

// Today's listing against the simulator (5 rows a page here): reconciliation, the notice catch-up
// and the closing summary list the day again and again, and on paper's 15-row pages a busy day
// made every one of them cost a request per 15 orders.
describe('incremental daily listing against kis-sim', () => {
  it('pages only down to the oldest order not settled at the last read; the rows equal a whole read', async () => {
    const r = await startRig('real', { sim: { pageSizes: { dailyCcld: { real: 5 } } } })
    const listings = () => r.sim.control.ledger().requestsByTrId[r.app.appkey]?.TTTC0081R ?? 0
    const buy = (id: string, price: number) =>
      r.gateway.placeOrder({
        intentId: id,
        account: r.account,
        strategyId: 'inc',
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: price,
      })
    // 20 orders: 19 filled at once (settled), one left open (order 3).
    const acks = []
    for (let i = 0; i < 20; i++) acks.push(await buy(`inc-${i}`, 68_000 + i * 100))
    for (const [i, a] of acks.entries()) if (i !== 2) r.sim.control.fill(a.brokerOrderId)
    const whole = await r.gateway.getOrders(r.account)
    expect(whole).toHaveLength(20)
    expect(listings()).toBe(4)
    // 5 more orders, all filled: the listing reads from the newest down to order 3, the oldest open
    // one (25..3: 23 rows, 5 pages), and takes orders 1 and 2 from the last read.
    for (let i = 20; i < 25; i++) r.sim.control.fill((await buy(`inc-${i}`, 70_000)).brokerOrderId)
    const before = listings()
    const second = await r.gateway.getOrders(r.account)
    expect(listings() - before).toBe(5)
    // Order 3 fills; then a listing reads only the newest page (everything it knew is settled).
    r.sim.control.fill(acks[2]!.brokerOrderId)
    await r.gateway.getOrders(r.account)
    const third = listings()
    const settled = await r.gateway.getOrders(r.account)
    expect(listings() - third).toBe(1)
    // What it returns is what a whole read returns.
    const fresh = await r.newGateway().getOrders(r.account)
    const view = (os: typeof fresh) =>
      os.map((o) => `${o.brokerOrderId}:${o.filledQuantity}/${o.remainingQuantity}:${o.status}`).sort()
    expect(view(settled)).toEqual(view(fresh))
    expect(second).toHaveLength(25)
    // Fills of the same day come from the same listing (no second paging of the day).
    const beforeFills = listings()
    const fills = await r.gateway.getFills(r.account)
    expect(fills).toHaveLength(25)
    expect(listings() - beforeFills).toBeLessThanOrEqual(1)
  })
})
