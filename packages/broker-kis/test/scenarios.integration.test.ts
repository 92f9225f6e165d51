import { BrokerError, type BrokerOrderEvent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { rigsClosedAfterEach, type SimRig, until } from './sim-harness'

const startRig = rigsClosedAfterEach()

const buy = (r: SimRig, quantity: number, id: string, price = 69_000) =>
  r.gateway.placeOrder({
    intentId: id,
    account: r.account,
    strategyId: 'sc',
    symbol: '005930',
    side: 'buy',
    quantity,
    orderType: 'limit',
    limitPrice: price,
  })

describe('kis-sim scenarios', () => {
  it('lost order response (socket reset, then a hang): unknown_outcome, and the ledger shows exactly one order each', async () => {
    const r = await startRig('real', { config: { timeouts: { orderMs: 300 } } })
    r.sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      count: 1,
      effect: { type: 'drop-response', mode: 'reset' },
    })
    const e1 = await buy(r, 1, 'lost-1').catch((e: unknown) => e)
    expect(BrokerError.isKind(e1, 'unknown_outcome')).toBe(true)
    r.sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      count: 1,
      effect: { type: 'drop-response', mode: 'hang' },
    })
    const e2 = await buy(r, 2, 'lost-2').catch((e: unknown) => e)
    expect(BrokerError.isKind(e2, 'unknown_outcome')).toBe(true)
    const ledger = r.sim.control.ledger()
    const orders = ledger.orders.filter((o) => o.appkey === r.app.appkey)
    expect(orders).toHaveLength(2)
    expect(orders.every((o) => o.responseLost && o.outcome === 'accepted')).toBe(true)
    expect(ledger.duplicates).toEqual([])
    // Reconciliation finds both orders: the outcome was "placed", and nothing was resent.
    const mine = await r.gateway.getOrders(r.account)
    expect(mine.map((o) => o.quantity).sort()).toEqual([1, 2])
  })

  it('a quantity-reducing replace leaves exactly the new quantity working (no remainder on the original)', async () => {
    const r = await startRig('real')
    const ack = await buy(r, 5, 'rq-1')
    const rack = await r.gateway.replaceOrder(ack.brokerOrderId, { quantity: 2 }, { account: r.account })
    const open = await until('original gone from open orders', async () => {
      const o = await r.gateway.getOpenOrders(r.account)
      return o.some((x) => x.brokerOrderId === ack.brokerOrderId) ? undefined : o
    })
    expect(open.map((o) => [o.brokerOrderId, o.remainingQuantity])).toEqual([[rack.newBrokerOrderId, 2]])
  })

  it('a stop-limit keeps its condition price through a reprice, also when another process placed it (real: looked up)', async () => {
    const r = await startRig('real')
    const stop = (id: string) =>
      r.gateway.placeOrder({
        intentId: id,
        account: r.account,
        strategyId: 'sc',
        symbol: '005930',
        side: 'buy',
        quantity: 3,
        orderType: 'stop_limit',
        limitPrice: 72_000,
        stopPrice: 71_500,
      })
    const condOf = (odno: string) => r.sim.control.orders().find((o) => o.odno === odno)?.condPrice
    const a = await stop('sl-1')
    const ra = await r.gateway.replaceOrder(a.brokerOrderId, { limitPrice: 72_100 }, { account: r.account })
    expect(condOf(ra.newBrokerOrderId)).toBe(71_500)
    // A process that did not place it (a restart) reads the condition price from the broker.
    const b = await stop('sl-2')
    const other = r.newGateway()
    const rb = await other.replaceOrder(b.brokerOrderId, { limitPrice: 72_200 }, { account: r.account })
    expect(condOf(rb.newBrokerOrderId)).toBe(71_500)
    expect(r.sim.control.orders().find((o) => o.odno === rb.newBrokerOrderId)?.price).toBe(72_200)
  })

  it('EGW00201 bursts: orders come back rate_limited with zero extra orders; queries retry through', async () => {
    const r = await startRig('real')
    r.sim.control.faults.add({ on: 'rest', path: 'order-cash', count: 3, effect: { type: 'rate-limit' } })
    const results = await Promise.allSettled([
      buy(r, 1, 'b1'),
      buy(r, 1, 'b2'),
      buy(r, 1, 'b3'),
      buy(r, 1, 'b4'),
    ])
    const limited = results.filter(
      (x) => x.status === 'rejected' && BrokerError.isKind(x.reason, 'rate_limited'),
    )
    const acked = results.filter((x) => x.status === 'fulfilled')
    expect(limited).toHaveLength(3)
    expect(acked).toHaveLength(1)
    expect(r.sim.control.orders({ appkey: r.app.appkey }).length).toBe(1)
    r.sim.control.faults.add({ on: 'rest', path: 'inquire-price', count: 1, effect: { type: 'rate-limit' } })
    const q = await r.gateway.getQuote('005930')
    expect(q.lastPrice).toBeGreaterThan(0)
    expect(r.events.filter((e) => e.type === 'rest.retry')).toHaveLength(1)
    expect(r.sim.control.ledger().rateViolations.filter((v) => !v.forced)).toEqual([])
  })

  it('token expiry mid-session: one refresh-and-retry, one new issuance, no order resent', async () => {
    const r = await startRig('paper', {
      sim: { limits: { restPerSecond: { paper: 10 } } },
      config: { limits: { restPerSecond: 10 } },
    })
    await r.gateway.getPositions(r.account)
    // Past the one-per-minute issuance throttle, then the broker expires the token.
    r.sim.control.clock.advance(61_000)
    r.sim.control.invalidateTokens(r.app.appkey, 'expired')
    await expect(buy(r, 1, 'tx-1')).rejects.toSatisfy((e: unknown) => BrokerError.isKind(e, 'auth'))
    expect(r.sim.control.orders({ appkey: r.app.appkey })).toHaveLength(0)
    // The order path dropped the token; the next call issues a new one and succeeds.
    const ack = await buy(r, 1, 'tx-2')
    expect(ack.brokerOrderId).toMatch(/^\d{10}$/)
    r.sim.control.invalidateTokens(r.app.appkey, 'expired')
    await expect(r.gateway.getPositions(r.account)).rejects.toSatisfy((e: unknown) =>
      BrokerError.isKind(e, 'rate_limited'),
    )
    r.sim.control.clock.advance(61_000)
    await r.gateway.getPositions(r.account)
    const issues = r.sim.control.ledger().tokenIssues.filter((t) => t.appkey === r.app.appkey && !t.reused)
    expect(issues).toHaveLength(3)
  })

  it('42nd subscription is refused locally; the broker never sees more than 41', async () => {
    const symbols = Array.from({ length: 42 }, (_, i) => ({
      code: String(100000 + i * 10),
      basePrice: 10_000,
    }))
    const r = await startRig('real', { sim: { symbols } })
    r.gateway.streamOrderEvents(r.account, () => {})
    r.gateway.streamTicks(
      symbols.slice(0, 40).map((s) => s.code),
      () => {},
    )
    await until('41 acks', () => r.gateway.snapshot().ws.acknowledged === 41, 8_000)
    let err: unknown
    try {
      r.gateway.streamOrderBooks([symbols[41]!.code], () => {})
    } catch (e) {
      err = e
    }
    expect(BrokerError.isKind(err, 'rejected') && err.brokerCode).toBe('OPSP0008')
    const sent = r.events.filter(
      (e) => e.type === 'ws.subscription' && e.result === 'sent' && e.action === 'subscribe',
    )
    expect(sent).toHaveLength(41)
    expect(r.events.filter((e) => e.type === 'ws.control' && e.code === 'OPSP0008')).toEqual([])
  })

  it('duplicate and out-of-order notices: cumulative state is right and never overshoots', async () => {
    const r = await startRig('real')
    const events: BrokerOrderEvent[] = []
    r.gateway.streamOrderEvents(r.account, (e) => events.push(e))
    await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)
    r.sim.control.faults.add({ on: 'notice', effect: { type: 'duplicate', copies: 2 } })
    const ack = await buy(r, 6, 'dup-1')
    await until('accepted', () =>
      events.find((e) => e.type === 'accepted' && e.brokerOrderId === ack.brokerOrderId),
    )
    r.sim.control.faults.add({ on: 'notice', effect: { type: 'reorder', window: 2 } })
    r.sim.control.fill(ack.brokerOrderId, { qty: 1, price: 69_000 })
    r.sim.control.fill(ack.brokerOrderId, { qty: 2, price: 69_000 })
    r.sim.control.fill(ack.brokerOrderId, { qty: 3, price: 69_000 })
    r.sim.control.ws.releaseHeldNotices()
    const fills = await until('all fills', () => {
      const f = events.filter((e) => e.type === 'filled' && e.brokerOrderId === ack.brokerOrderId)
      return f.some((e) => e.type === 'filled' && e.cumulativeQuantity === 6) ? f : undefined
    })
    const cums = fills.map((e) => (e.type === 'filled' ? e.cumulativeQuantity : 0))
    expect(Math.max(...cums)).toBe(6)
    expect(new Set(fills.map((e) => e.eventId)).size).toBe(fills.length)
    expect(fills).toHaveLength(3)
    const order = (await r.gateway.getOrders(r.account, { brokerOrderId: ack.brokerOrderId }))[0]
    expect(order).toMatchObject({ status: 'filled', filledQuantity: 6 })
  })

  it('a stalled stream (open socket, no data, no PINGPONG) is detected, reconnected and reported as a gap', async () => {
    const r = await startRig('real', {
      config: { websocket: { socketIdleMs: 600, watchdogIntervalMs: 100, reconnectBaseMs: 50 } },
    })
    const gaps: string[] = []
    r.gateway.onStreamGap((g) => gaps.push(g))
    r.gateway.streamOrderEvents(r.account, () => {})
    await until('notice ack', () => r.gateway.snapshot().ws.acknowledged === 1)
    r.sim.control.ws.stall(r.app.appkey, true)
    await until('stale', () => r.events.find((e) => e.type === 'ws.stale'), 5_000)
    r.sim.control.ws.stall(r.app.appkey, false)
    await until(
      'reconnected with a gap',
      () => gaps.length >= 1 && r.gateway.snapshot().ws.acknowledged === 1,
      8_000,
    )
  })
})
