import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange } from './exchange'
import { stepTicks } from './ticks'

function setup(seed: number) {
  const clock = createSimClock({ mode: 'manual', start: '2026-11-24 09:30:00' })
  const ex = new Exchange(clock, createSessionCalendar(), seed, { tickIntervalMs: 1000 })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, meanVolume: 50 })
  ex.addSymbol({ code: '003490', basePrice: 19_990, meanVolume: 50 })
  const acct = ex.addAccount(
    { cano: '50000001', cash: 50_000_000, positions: [{ symbol: '005930', qty: 300, avgPrice: 69_000 }] },
    { env: 'real', appkey: 'k', htsId: 'H', branch: '06010' },
  )
  return { clock, ex, acct }
}

const op = fc.oneof(
  fc.record({
    t: fc.constant('order' as const),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    sym: fc.constantFrom('005930', '003490'),
    dvsn: fc.constantFrom('00', '01', '03', '04', '11', '12'),
    ticks: fc.integer({ min: -5, max: 5 }),
    qty: fc.integer({ min: 1, max: 400 }),
  }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 20_000 }) }),
  fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({ t: fc.constant('fill' as const), pick: fc.nat(), part: fc.integer({ min: 1, max: 100 }) }),
)

describe('matching invariants (property)', () => {
  it('filled ≤ ordered; cash and positions are conserved; reservations return to zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(op, { maxLength: 60 }), (seed, ops) => {
        const { clock, ex, acct } = setup(seed)
        const start = { cash: ex.d2Cash(acct), qty: new Map([...acct.positions].map(([k, p]) => [k, p.qty])) }
        for (const o of ops) {
          if (o.t === 'order') {
            const s = ex.requireSymbol(o.sym)
            const price = stepTicks(s.price, o.ticks)
            const priced = o.dvsn === '00' || o.dvsn === '11' || o.dvsn === '12'
            ex.placeOrder({
              account: acct,
              trId: o.side === 'buy' ? 'TTTC0012U' : 'TTTC0011U',
              side: o.side,
              symbol: o.sym,
              ordDvsn: o.dvsn,
              qty: o.qty,
              price: priced ? price : 0,
              sllType: '01',
              exchangeId: '',
            })
          } else if (o.t === 'advance') clock.advance(o.ms)
          else {
            const open = ex.openOrders()
            const target = open[o.pick % Math.max(1, open.length)]
            if (!target) continue
            if (o.t === 'cancel') {
              ex.amendOrder({
                account: acct,
                trId: 'TTTC0013U',
                kind: 'cancel',
                origOdno: target.odno,
                branch: '06010',
                ordDvsn: '00',
                qty: 0,
                qtyAll: true,
                price: 0,
                exchangeId: '',
              })
            } else ex.forceFill(target.odno, Math.max(1, Math.ceil((target.remaining * o.part) / 100)))
          }
          expect(ex.orderableCash(acct)).toBeGreaterThanOrEqual(0)
          expect(acct.reservedCash).toBeGreaterThanOrEqual(0)
        }
        let buyCost = 0
        let sellProceeds = 0
        const net = new Map<string, number>()
        for (const o of ex.orders.values()) {
          expect(o.filledQty).toBeLessThanOrEqual(o.qty)
          if (o.kind !== 'cancel')
            expect(o.filledQty + o.cancelledQty + o.movedQty + o.remaining).toBeLessThanOrEqual(o.qty)
          for (const f of o.fills) {
            if (o.side === 'buy') buyCost += f.qty * f.price
            else sellProceeds += f.qty * f.price
            net.set(o.symbol, (net.get(o.symbol) ?? 0) + (o.side === 'buy' ? f.qty : -f.qty))
          }
        }
        expect(ex.d2Cash(acct)).toBe(start.cash - buyCost + sellProceeds)
        expect(ex.d2Cash(acct)).toBeGreaterThanOrEqual(0)
        for (const [sym, p] of acct.positions) {
          expect(p.qty).toBe((start.qty.get(sym) ?? 0) + (net.get(sym) ?? 0))
          expect(p.qty).toBeGreaterThanOrEqual(0)
          expect(p.reservedSell).toBeLessThanOrEqual(p.qty)
        }
        // End of day: every order expires, every reservation is released.
        clock.set('2026-11-24 21:00:00')
        expect(ex.openOrders()).toHaveLength(0)
        expect(acct.reservedCash).toBe(0)
        for (const p of acct.positions.values()) expect(p.reservedSell).toBe(0)
      }),
      { numRuns: 150 },
    )
  })

  it('is deterministic for a seed', () => {
    const run = (seed: number) => {
      const { clock, ex } = setup(seed)
      clock.advance(600_000)
      return [...ex.symbols.values()].map((s) => [s.price, s.volume])
    }
    expect(run(7)).toEqual(run(7))
    expect(run(7)).not.toEqual(run(8))
  })
})
