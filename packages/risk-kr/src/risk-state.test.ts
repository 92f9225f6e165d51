import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { kstToEpochMs } from './kst'
import { createRiskFixture } from './testing'
import { TimeRing } from './time-ring'

const NOW = kstToEpochMs('2026-11-24', '10:00')

describe('TimeRing', () => {
  it('counts events after a time and forgets beyond its capacity', () => {
    const r = new TimeRing(4)
    for (const t of [1, 2, 3, 4, 5, 6]) r.push(t)
    expect(r.countSince(0)).toBe(4)
    expect(r.countSince(4)).toBe(2)
    expect(r.countSince(6)).toBe(0)
    expect(r.latest).toBe(6)
  })
})

describe('RiskState', () => {
  it("gives a symbol's tick at a price from the tables its checks use, on the day asked", async () => {
    const f = await createRiskFixture({ now: NOW })
    // 005930 is a stock: the KRX table from 2023-01-25 (reference §3).
    expect(
      [1_999, 2_000, 19_990, 49_950, 50_000, 70_000, 200_000, 500_000].map((p) =>
        f.state.tickSize('005930', p),
      ),
    ).toEqual([1, 5, 10, 50, 100, 100, 500, 1_000])
    // Before that table, the fixture's rules have none for stocks: no tick rather than a guess.
    expect(f.state.tickSize('005930', 70_000, kstToEpochMs('2020-01-02', '10:00'))).toBeUndefined()
    expect(f.state.tickSize('999999', 70_000)).toBeUndefined()
  })

  it('keeps positions and gross exposure equal to a recomputation, whatever the fills and marks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('fill' as const),
              side: fc.constantFrom('buy' as const, 'sell' as const),
              qty: fc.integer({ min: 1, max: 50 }),
              price: fc.integer({ min: 690, max: 710 }),
            }),
            fc.record({ kind: fc.constant('mark' as const), price: fc.integer({ min: 690, max: 710 }) }),
          ),
          { maxLength: 40 },
        ),
        async (steps) => {
          const f = await createRiskFixture({ now: NOW })
          let pos = 0
          let mark = 70_000
          let n = 0
          for (const s of steps) {
            if (s.kind === 'mark') {
              mark = s.price * 100
              f.state.applyTick({
                symbol: '005930',
                price: mark,
                quantity: 1,
                cumulativeVolume: ++n,
                aggressor: 'buy',
                at: NOW,
              })
              continue
            }
            const intent = f.intent({ side: s.side, quantity: s.qty, limitPrice: s.price * 100 })
            const id = `P${++n}`
            f.state.recordSent({ kind: 'new', intent }, NOW)
            f.state.recordAck(intent.intentId, id)
            const event = {
              type: 'filled' as const,
              eventId: id,
              account: 'A1',
              brokerOrderId: id,
              at: NOW,
              symbol: '005930',
              side: s.side,
              fillQuantity: s.qty,
              fillPrice: s.price * 100,
              cumulativeQuantity: s.qty,
            }
            f.state.applyOrderEvent(event)
            f.state.applyOrderEvent(event) // a replayed fill changes nothing
            pos += s.side === 'buy' ? s.qty : -s.qty
            mark = s.price * 100
            f.state.applyTick({
              symbol: '005930',
              price: mark,
              quantity: 1,
              cumulativeVolume: ++n,
              aggressor: 'buy',
              at: NOW,
            })
          }
          const g = f.state.globalExposure()
          expect(g.positionQuantity('005930')).toBe(pos)
          expect(g.grossExposure).toBeCloseTo(Math.abs(pos) * mark, 6)
          expect(g.openBuyValue).toBeCloseTo(0, 6)
          expect(f.state.openOrdersOn('005930')).toHaveLength(0)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('tracks partial fills, replaces and cancels of open orders', async () => {
    const f = await createRiskFixture({ now: NOW })
    const intent = f.intent({ quantity: 100, limitPrice: 69_000 })
    f.state.recordSent({ kind: 'new', intent }, NOW)
    expect(f.state.globalExposure().openBuyValue).toBe(6_900_000)
    f.state.recordAck(intent.intentId, 'O1')
    f.state.applyOrderEvent({
      type: 'filled',
      eventId: 'f1',
      account: 'A1',
      brokerOrderId: 'O1',
      at: NOW,
      symbol: '005930',
      side: 'buy',
      fillQuantity: 40,
      fillPrice: 69_000,
      cumulativeQuantity: 40,
    })
    expect(f.state.openOrder('O1')?.remainingQuantity).toBe(60)
    f.state.applyOrderEvent({
      type: 'replaced',
      eventId: 'r1',
      account: 'A1',
      brokerOrderId: 'O1',
      at: NOW,
      newBrokerOrderId: 'O2',
      quantity: 30,
      limitPrice: 68_000,
    })
    expect(f.state.openOrder('O1')).toBeUndefined()
    expect(f.state.openOrder('O2')).toMatchObject({ remainingQuantity: 30, limitPrice: 68_000, quantity: 70 })
    expect(f.state.globalExposure().openBuyValue).toBe(30 * 68_000)
    f.state.applyOrderEvent({
      type: 'canceled',
      eventId: 'c1',
      account: 'A1',
      brokerOrderId: 'O2',
      at: NOW,
      canceledQuantity: 30,
    })
    expect(f.state.openOrdersOn('005930')).toEqual([])
    expect(f.state.globalExposure().openBuyQuantity('005930')).toBe(0)
  })

  it('closes an order the store says is not open (refused, or its end never seen): its reservation and the self-trade guard go with it', async () => {
    const f = await createRiskFixture({ now: NOW })
    const buy = f.intent({ quantity: 10, limitPrice: 69_000 })
    f.state.recordSent({ kind: 'new', intent: buy }, NOW)
    expect(f.state.openOrders().map((o) => o.intentId)).toEqual([buy.intentId])
    expect(f.state.globalExposure().openBuyValue).toBe(690_000)
    // The broker refused it: no order number ever came. A sell at the same price is no self-trade.
    expect(f.state.closeOrder(buy.intentId)).toBe(true)
    expect(f.state.closeOrder(buy.intentId)).toBe(false)
    expect(f.state.openOrders()).toEqual([])
    expect(f.state.openOrdersOn('005930')).toEqual([])
    expect(f.state.globalExposure().openBuyValue).toBe(0)
    // An acked one whose cancel notice was never seen: closed by its intent, its number with it.
    const other = f.intent({ quantity: 5, limitPrice: 69_000 })
    f.state.recordSent({ kind: 'new', intent: other }, NOW)
    f.state.recordAck(other.intentId, 'O9')
    expect(f.state.closeOrder(other.intentId)).toBe(true)
    expect(f.state.openOrder('O9')).toBeUndefined()
  })

  it('adopts open orders after a restart', async () => {
    const f = await createRiskFixture({ now: NOW })
    f.state.adoptOpenOrder(
      {
        brokerOrderId: 'K1',
        account: 'A1',
        symbol: '005930',
        side: 'sell',
        orderType: 'limit',
        timeInForce: 'day',
        venue: 'KRX',
        quantity: 10,
        limitPrice: 71_000,
        filledQuantity: 0,
        remainingQuantity: 10,
        status: 'open',
        submittedAt: NOW - 1_000,
      },
      { intentId: 'i-K1', strategyId: 's1', session: 'regular', shortSale: false },
    )
    expect(f.state.openOrder('K1')).toMatchObject({ intentId: 'i-K1', side: 'sell' })
    // the adopted order now takes part in self-trade prevention
    expect(
      f.gateway
        .check({ kind: 'new', intent: f.intent({ limitPrice: 71_000 }) }, f.state)
        .reasons.map((r) => r.code),
    ).toContain('SELF_TRADE')
  })
})
