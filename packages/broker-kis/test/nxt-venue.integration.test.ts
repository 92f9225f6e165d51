import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { rigsClosedAfterEach, until } from './sim-harness'

// An order routed to Nextrade (reference §4.1 EXCG_ID_DVSN_CD=NXT, real accounts only) through the
// gateway against kis-sim over real HTTP and WebSocket: the venue comes back from the broker's
// own lists (inquire-daily-ccld `excg_id_dvsn_Cd`, inquire-psbl-rvsecncl `excg_id_dvsn_cd`), and a
// cancel from a gateway that did not place the order reaches it on its venue (reference §4.2).

const startRig = rigsClosedAfterEach()

describe('NXT venue (kis-sim)', () => {
  it('an NXT limit order is listed with venue NXT and can be cancelled on NXT after a restart', async () => {
    const r = await startRig('real')
    const events: BrokerOrderEvent[] = []
    r.gateway.streamOrderEvents(r.account, (e) => events.push(e))
    await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)

    const ack = await r.gateway.placeOrder({
      intentId: 'nxt-1',
      account: r.account,
      strategyId: 'nxt',
      symbol: '005930',
      side: 'buy',
      quantity: 3,
      orderType: 'limit',
      limitPrice: 69_000,
      venue: 'NXT',
    })
    const id = ack.brokerOrderId
    // The simulator put it in Nextrade's book, and its notice reached the stream.
    expect(r.sim.control.order(id)).toMatchObject({ route: 'NXT', venue: 'NXT', status: 'open' })
    await until('accepted', () => events.some((e) => e.type === 'accepted' && e.brokerOrderId === id))

    const listed = await r.gateway.getOrders(r.account)
    expect(listed.map((o) => [o.brokerOrderId, o.venue, o.status])).toEqual([[id, 'NXT', 'open']])
    const open = await r.gateway.getOpenOrders(r.account)
    expect(open.map((o) => [o.brokerOrderId, o.venue])).toEqual([[id, 'NXT']])

    // A gateway that never saw the order looks it up and cancels it on NXT (the simulator refuses a
    // cancel naming another venue).
    const other = r.newGateway()
    await other.cancelOrder(id, { account: r.account })
    await until('canceled', () => events.some((e) => e.type === 'canceled' && e.brokerOrderId === id))
    expect(r.sim.control.order(id)?.status).toBe('cancelled')
    const cancel = r.sim.control.orders({ cano: r.app.accounts[0]!.cano }).find((o) => o.kind === 'cancel')
    expect(cancel).toMatchObject({ venue: 'NXT', status: 'confirmed' })
  })
})
