import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { rigsClosedAfterEach, type SimRig, until } from './sim-harness'

// A cancel's 접수 notice (ACPT_YN 1, reference §7.9) says the broker received the request, not that
// it took effect: against kis-sim over real HTTP and WebSocket, with a confirmation delay
// (market.amendConfirmDelayMs) that lets a fill race the cancel.

const startRig = rigsClosedAfterEach()

const CONFIRM_DELAY_MS = 400

async function working(r: SimRig, events: BrokerOrderEvent[], quantity: number, id: string) {
  r.gateway.streamOrderEvents(r.account, (e) => events.push(e))
  await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)
  const ack = await r.gateway.placeOrder({
    intentId: id,
    account: r.account,
    strategyId: 'cc',
    symbol: '005930',
    side: 'buy',
    quantity,
    orderType: 'limit',
    limitPrice: 69_000,
  })
  const odno = ack.brokerOrderId
  await until('accepted', () => events.some((e) => e.type === 'accepted' && e.brokerOrderId === odno))
  return odno
}

const ofType = <T extends BrokerOrderEvent['type']>(events: BrokerOrderEvent[], type: T) =>
  events.filter((e): e is Extract<BrokerOrderEvent, { type: T }> => e.type === type)

describe('cancel confirmation against kis-sim', () => {
  it('a full fill beats the cancel: `rejected` for the cancel number, no `canceled`, the order ends filled', async () => {
    const r = await startRig('real', {
      sim: { market: { priceModel: 'static', fillModel: 'manual', amendConfirmDelayMs: CONFIRM_DELAY_MS } },
      gateway: { noticeSync: { settleMs: 150 } },
    })
    const events: BrokerOrderEvent[] = []
    const odno = await working(r, events, 10, 'race-full')
    const cancel = await r.gateway.cancelOrder(odno)
    // The cancel was received (its 접수 notice is on the wire); the whole order fills while the
    // cancel waits for its confirmation.
    r.sim.control.fill(odno, { qty: 10, price: 69_000 })
    await until('refusal', () =>
      ofType(events, 'rejected').find((e) => e.brokerOrderId === cancel.cancelRequestId),
    )
    await until('filled', () => ofType(events, 'filled').some((e) => e.cumulativeQuantity === 10))
    // The refusal settled the request (the simulator sends no 확인 after it, and no confirm
    // snapshot is pending); a short grace period for anything stray, then: no `canceled`.
    await new Promise((res) => setTimeout(res, 200))
    expect(ofType(events, 'canceled')).toEqual([])
    expect(ofType(events, 'rejected').map((e) => e.eventId)).toEqual([`${cancel.cancelRequestId}:rejected`])
    expect(r.events.some((e) => e.type === 'notice.unconfirmed')).toBe(false)
    const [order] = await r.gateway.getOrders(r.account, { brokerOrderId: odno })
    expect(order).toMatchObject({ status: 'filled', filledQuantity: 10 })
  })

  it('a partial fill during the wait shrinks the cancel: `canceled` of the rest, on the 확인', async () => {
    const r = await startRig('real', {
      sim: { market: { priceModel: 'static', fillModel: 'manual', amendConfirmDelayMs: CONFIRM_DELAY_MS } },
      // No confirm snapshot before the 확인 can come: it is the notice that confirms here.
      gateway: { noticeSync: { settleMs: 5_000 } },
    })
    const events: BrokerOrderEvent[] = []
    const odno = await working(r, events, 10, 'race-partial')
    const cancel = await r.gateway.cancelOrder(odno)
    r.sim.control.fill(odno, { qty: 4, price: 69_000 })
    await until('filled 4', () => ofType(events, 'filled').some((e) => e.cumulativeQuantity === 4))
    expect(ofType(events, 'canceled')).toEqual([])
    const c = await until('canceled', () => ofType(events, 'canceled')[0])
    expect(c).toMatchObject({
      eventId: `${odno}:canceled:${cancel.cancelRequestId}`,
      brokerOrderId: odno,
      canceledQuantity: 6,
    })
    expect(r.events.some((e) => e.type === 'notice.sync' && e.phase === 'confirm')).toBe(false)
  })

  it('without 확인 notices (ws.confirmNotices false) the cancel is confirmed from REST, same id', async () => {
    const r = await startRig('real', {
      sim: {
        market: { priceModel: 'static', fillModel: 'manual', amendConfirmDelayMs: CONFIRM_DELAY_MS },
        ws: { confirmNotices: false },
      },
      gateway: { noticeSync: { settleMs: 150 } },
    })
    const events: BrokerOrderEvent[] = []
    const odno = await working(r, events, 10, 'rest-confirm')
    const cancel = await r.gateway.cancelOrder(odno)
    const c = await until('canceled via REST', () => ofType(events, 'canceled')[0])
    expect(c).toMatchObject({
      eventId: `${odno}:canceled:${cancel.cancelRequestId}`,
      brokerOrderId: odno,
      canceledQuantity: 10,
    })
    expect(ofType(events, 'canceled')).toHaveLength(1)
    // It came from a confirm snapshot, after the confirmation delay.
    expect(r.events.some((e) => e.type === 'notice.sync' && e.phase === 'confirm' && e.terminal > 0)).toBe(
      true,
    )
    expect(r.events.some((e) => e.type === 'notice.unconfirmed')).toBe(false)
  })

  it.each([
    ['a 확인 notice', true],
    ['REST (ws.confirmNotices false)', false],
  ])('a modify is announced (`replaced` + `accepted`) once confirmed by %s', async (_how, confirmNotices) => {
    const r = await startRig('real', {
      sim: {
        market: { priceModel: 'static', fillModel: 'manual', amendConfirmDelayMs: 800 },
        ws: { confirmNotices },
      },
      gateway: { noticeSync: { settleMs: 150 } },
    })
    const events: BrokerOrderEvent[] = []
    const odno = await working(r, events, 10, `modify-${confirmNotices}`)
    const ack = await r.gateway.replaceOrder(odno, { limitPrice: 68_900 }, { account: r.account })
    const newNo = ack.newBrokerOrderId
    // The receipt was seen (it scheduled a confirm snapshot), well inside the confirmation delay:
    // nothing is announced yet.
    await until('receipt seen', () => r.events.some((e) => e.type === 'notice.sync' && e.phase === 'confirm'))
    expect(ofType(events, 'replaced')).toEqual([])
    await until('accepted replacement', () =>
      ofType(events, 'accepted').some((e) => e.brokerOrderId === newNo),
    )
    const chain = events.filter((e) => e.brokerOrderId === newNo || e.type === 'replaced')
    expect(chain.map((e) => [e.type, e.eventId])).toEqual([
      ['replaced', `${odno}:replaced:${newNo}`],
      ['accepted', `${newNo}:accepted`],
    ])
    expect(chain[1]).toMatchObject({ predecessorId: odno, quantity: 10, limitPrice: 68_900 })
    expect(r.events.some((e) => e.type === 'notice.unconfirmed')).toBe(false)
  })

  it('a fill beats the modify: `rejected` for the modify number, never `replaced`', async () => {
    const r = await startRig('real', {
      sim: { market: { priceModel: 'static', fillModel: 'manual', amendConfirmDelayMs: CONFIRM_DELAY_MS } },
      gateway: { noticeSync: { settleMs: 150 } },
    })
    const events: BrokerOrderEvent[] = []
    const odno = await working(r, events, 10, 'modify-race')
    const ack = await r.gateway.replaceOrder(odno, { limitPrice: 68_900 }, { account: r.account })
    r.sim.control.fill(odno, { qty: 10, price: 69_000 })
    await until('refusal', () =>
      ofType(events, 'rejected').some((e) => e.brokerOrderId === ack.newBrokerOrderId),
    )
    await until('filled', () => ofType(events, 'filled').some((e) => e.cumulativeQuantity === 10))
    await new Promise((res) => setTimeout(res, 200))
    expect(ofType(events, 'replaced')).toEqual([])
    expect(events.some((e) => e.brokerOrderId === ack.newBrokerOrderId && e.type !== 'rejected')).toBe(false)
    expect(r.events.some((e) => e.type === 'notice.unconfirmed')).toBe(false)
  })
})
