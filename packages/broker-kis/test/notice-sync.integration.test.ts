import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { MemoryTokenStore } from '../src/token-store'
import { rigsClosedAfterEach, type SimRig, until } from './sim-harness'

// Execution-notice totals against kis-sim over real HTTP and WebSocket: KIS notices carry one
// fill's quantity (reference §7.9) and are not replayed after a gap, so the adapter anchors its
// running totals to inquire-daily-ccld (§4.4) on every (re)subscription.

const startRig = rigsClosedAfterEach()

const buy = (r: SimRig, gateway: SimRig['gateway'], quantity: number, id: string) =>
  gateway.placeOrder({
    intentId: id,
    account: r.account,
    strategyId: 'ns',
    symbol: '005930',
    side: 'buy',
    quantity,
    orderType: 'limit',
    limitPrice: 69_000,
  })

/** The highest cumulative level the consumer has seen for an order (what order-fsm would hold). */
const level = (events: BrokerOrderEvent[], odno: string) =>
  Math.max(
    0,
    ...events.flatMap((e) => (e.type === 'filled' && e.brokerOrderId === odno ? [e.cumulativeQuantity] : [])),
  )

const strictlyIncreasing = (events: BrokerOrderEvent[], odno: string) => {
  const seen = new Map<string, number>()
  const cums: number[] = []
  for (const e of events) {
    if (e.type !== 'filled' || e.brokerOrderId !== odno) continue
    // Events with the same id are the same fact (a consumer collapses them).
    if (seen.has(e.eventId)) continue
    seen.set(e.eventId, e.cumulativeQuantity)
    cums.push(e.cumulativeQuantity)
  }
  return cums.every((c, i) => i === 0 || c > cums[i - 1]!)
}

describe('notice totals seeded from REST (kis-sim)', () => {
  it('fills during a forced disconnect: after the reconnect the consumer converges on the books', async () => {
    const r = await startRig('real', { config: { websocket: { reconnectBaseMs: 50, slotHoldMs: 200 } } })
    const events: BrokerOrderEvent[] = []
    r.gateway.streamOrderEvents(r.account, (e) => events.push(e))
    await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)
    const ack = await buy(r, r.gateway, 10, 'gap-1')
    const id = ack.brokerOrderId
    await until('accepted', () => events.some((e) => e.type === 'accepted' && e.brokerOrderId === id))
    r.sim.control.fill(id, { qty: 2, price: 69_000 })
    await until('first fill', () => level(events, id) === 2)
    const syncsBefore = r.events.filter((e) => e.type === 'notice.sync').length
    r.sim.control.ws.disconnect(r.app.appkey, { clean: false })
    // While nobody listens: two fills whose notices go nowhere.
    r.sim.control.fill(id, { qty: 3, price: 69_000 })
    r.sim.control.fill(id, { qty: 1, price: 68_900 })
    await until('caught up after the reconnect', () => level(events, id) === 6, 8_000)
    const catchUp = events.find(
      (e) => e.type === 'filled' && e.brokerOrderId === id && e.cumulativeQuantity === 6,
    )
    // One catch-up event for the missed shares, priced at their average (3 × 69,000 + 1 × 68,900) / 4.
    expect(catchUp).toMatchObject({ fillQuantity: 4, fillPrice: 68_975, eventId: `${id}:fill:6` })
    expect(r.events.slice(0).filter((e) => e.type === 'notice.sync').length).toBeGreaterThan(syncsBefore)
    // Live again: the next fill's notice continues from the books.
    await until('resubscribed', () => r.gateway.snapshot().ws.acknowledged === 1)
    r.sim.control.fill(id, { qty: 1, price: 69_000 })
    await until('fill after the reconnect', () => level(events, id) === 7)
    expect(level(events, id)).toBe(r.sim.control.order(id)!.filledQty)
    expect(strictlyIncreasing(events, id)).toBe(true)
  })

  it('a restarted gateway on the same account reports the next fill at the right cumulative level', async () => {
    // The token survives the restart in a store, as in production (FileTokenStore/PostgresTokenStore).
    const r = await startRig('real', { gateway: { tokenStore: new MemoryTokenStore() } })
    const first: BrokerOrderEvent[] = []
    r.gateway.streamOrderEvents(r.account, (e) => first.push(e))
    await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)
    const ack = await buy(r, r.gateway, 10, 'restart-1')
    const id = ack.brokerOrderId
    r.sim.control.fill(id, { qty: 3, price: 69_000 })
    await until('fill before the restart', () => level(first, id) === 3)
    await r.gateway.close()
    // The process restarts: a fresh gateway, no memory of running totals.
    const g2 = r.newGateway()
    const second: BrokerOrderEvent[] = []
    g2.streamOrderEvents(r.account, (e) => second.push(e))
    await until('notice ack after the restart', () => g2.snapshot().ws.acknowledged === 1)
    // The baseline re-reported the known level under the same id (a consumer collapses it).
    expect(second.find((e) => e.type === 'filled')).toMatchObject({
      eventId: `${id}:fill:3`,
      cumulativeQuantity: 3,
    })
    r.sim.control.fill(id, { qty: 2, price: 69_000 })
    const next = await until('the next fill', () =>
      second.find((e) => e.type === 'filled' && e.brokerOrderId === id && e.cumulativeQuantity > 3),
    )
    expect(next).toMatchObject({ cumulativeQuantity: 5, fillQuantity: 2, eventId: `${id}:fill:5` })
    expect(level(second, id)).toBe(r.sim.control.order(id)!.filledQty)
  })

  it('a reducing replace: the cancel of the rest is reported with its shares under the cancel request number, by notice and by REST alike', async () => {
    // 접수 notices with 0 in fields 9/10 (reference §10 item 10).
    const r = await startRig('real', {
      sim: { ws: { receiptQty: 'zero' } },
      gateway: { tokenStore: new MemoryTokenStore() },
    })
    const live: BrokerOrderEvent[] = []
    r.gateway.streamOrderEvents(r.account, (e) => live.push(e))
    await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)
    const ack = await buy(r, r.gateway, 10, 'reduce-1')
    const id = ack.brokerOrderId
    r.sim.control.fill(id, { qty: 2, price: 69_000 })
    await until('fill', () => level(live, id) === 2)
    const rack = await r.gateway.replaceOrder(id, { quantity: 3 }, { account: r.account })
    expect(rack.leftover?.status).toBe('canceled')
    const cancelNo = rack.leftover?.status === 'canceled' ? rack.leftover.cancelRequestId : ''
    const canceled = (events: BrokerOrderEvent[]) =>
      events.flatMap((e) => (e.type === 'canceled' ? [[e.eventId, e.brokerOrderId, e.canceledQuantity]] : []))
    await until('the rest canceled', () => canceled(live).length > 0)
    // 10 ordered − 2 filled − 3 moved to the replacement = 5.
    expect(canceled(live)).toEqual([[`${id}:canceled:${cancelNo}`, id, 5]])
    await r.gateway.close()
    // A restarted process learns the same fact from REST (daily-ccld), under the same id.
    const g2 = r.newGateway()
    const rest: BrokerOrderEvent[] = []
    g2.streamOrderEvents(r.account, (e) => rest.push(e))
    await until('notice ack after the restart', () => g2.snapshot().ws.acknowledged === 1)
    expect(canceled(rest)).toEqual(canceled(live))
  })
})
