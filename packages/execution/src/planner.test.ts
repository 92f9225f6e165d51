import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type ParentOrder, ParentOrderSchema } from './parent'
import { childLimitPrice, maxChildQuantity, nextChildQuantity, targetQuantity } from './planner'

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0)
const MIN = 60_000

function twap(over: Partial<ParentOrder> = {}): ParentOrder {
  return ParentOrderSchema.parse({
    parentId: 'p1',
    account: '50000001-01',
    strategyId: 's',
    symbol: '005930',
    side: 'buy',
    quantity: 100,
    schedule: { kind: 'twap', slices: 10 },
    startAt: T0,
    deadline: T0 + 10 * MIN,
    ...over,
  })
}

describe('targetQuantity', () => {
  it('TWAP: the first slice at the start, one more per interval, all of it by the last slice', () => {
    const p = twap()
    expect(targetQuantity(p, T0 - 1, 0)).toBe(0)
    expect(targetQuantity(p, T0, 0)).toBe(10)
    expect(targetQuantity(p, T0 + MIN - 1, 0)).toBe(10)
    expect(targetQuantity(p, T0 + MIN, 0)).toBe(20)
    expect(targetQuantity(p, T0 + 9 * MIN, 0)).toBe(100)
  })

  it('after the deadline: everything with finish, nothing with stop', () => {
    expect(targetQuantity(twap({ onDeadline: 'finish' }), T0 + 10 * MIN, 0)).toBe(100)
    expect(targetQuantity(twap({ onDeadline: 'stop' }), T0 + 10 * MIN, 0)).toBe(0)
  })

  it('POV: a fraction of observed volume, rounded down, never above the quantity', () => {
    const p = twap({ schedule: { kind: 'pov', maxParticipation: 0.1, maxChildQuantity: 30 } })
    expect(targetQuantity(p, T0 + MIN, 95)).toBe(9)
    expect(targetQuantity(p, T0 + MIN, 1e9)).toBe(100)
    expect(maxChildQuantity(p)).toBe(30)
  })
})

describe('nextChildQuantity', () => {
  it('sends what the schedule is behind by, capped by the slice size', () => {
    const p = twap()
    expect(nextChildQuantity(p, T0, { filled: 0, working: 0 }, 0)).toBe(10)
    expect(nextChildQuantity(p, T0, { filled: 0, working: 10 }, 0)).toBe(0)
    expect(nextChildQuantity(p, T0 + 5 * MIN, { filled: 10, working: 0 }, 0)).toBe(10)
  })

  it('property: filled + working + the next child never exceeds the parent quantity', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 12 * MIN }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 10_000_000 }),
        fc.boolean(),
        (quantity, slices, elapsed, a, b, volume, pov) => {
          const p = twap({
            quantity,
            onDeadline: elapsed % 2 ? 'finish' : 'stop',
            schedule: pov
              ? { kind: 'pov', maxParticipation: 0.2, maxChildQuantity: slices }
              : { kind: 'twap', slices },
          })
          const filled = a % (quantity + 1)
          const working = b % (quantity - filled + 1)
          const q = nextChildQuantity(p, T0 + elapsed, { filled, working }, volume)
          expect(q).toBeGreaterThanOrEqual(0)
          expect(filled + working + q).toBeLessThanOrEqual(quantity)
          if (T0 + elapsed < p.deadline) expect(q).toBeLessThanOrEqual(maxChildQuantity(p))
        },
      ),
      { seed: 20261202, numRuns: 2_000 },
    )
  })
})

describe('childLimitPrice', () => {
  const market = { lastPrice: 70_000, tickSize: 100, lowerLimit: 49_000, upperLimit: 91_000 }

  it('prices by urgency around the last price', () => {
    expect(childLimitPrice({ side: 'buy', limitPrice: undefined }, market, 'low')).toBe(69_900)
    expect(childLimitPrice({ side: 'buy', limitPrice: undefined }, market, 'medium')).toBe(70_000)
    expect(childLimitPrice({ side: 'buy', limitPrice: undefined }, market, 'high')).toBe(70_200)
    expect(childLimitPrice({ side: 'sell', limitPrice: undefined }, market, 'low')).toBe(70_100)
    expect(childLimitPrice({ side: 'sell', limitPrice: undefined }, market, 'high')).toBe(69_800)
  })

  it('never beyond the parent limit, on the grid, and undefined when the band excludes every allowed price', () => {
    expect(childLimitPrice({ side: 'buy', limitPrice: 70_050 }, market, 'high')).toBe(70_000)
    expect(childLimitPrice({ side: 'sell', limitPrice: 69_950 }, market, 'high')).toBe(70_000)
    expect(childLimitPrice({ side: 'buy', limitPrice: 40_000 }, market, 'high')).toBeUndefined()
    expect(childLimitPrice({ side: 'sell', limitPrice: 95_000 }, market, 'low')).toBeUndefined()
  })

  it('property: a buy never pays above its limit, a sell never below, and the price is on the grid and in the band', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 1_000_000 }),
        fc.constantFrom(1, 5, 10, 50, 100, 500, 1000),
        fc.option(fc.integer({ min: 500, max: 2_000_000 }), { nil: undefined }),
        fc.constantFrom('buy' as const, 'sell' as const),
        fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
        (last, tick, limitPrice, side, urgency) => {
          const lastPrice = Math.round(last / tick) * tick || tick
          const m = {
            lastPrice,
            tickSize: tick,
            lowerLimit: Math.ceil((lastPrice * 0.7) / tick) * tick,
            upperLimit: Math.floor((lastPrice * 1.3) / tick) * tick,
          }
          const price = childLimitPrice({ side, limitPrice }, m, urgency)
          if (price === undefined) return
          expect(price % tick).toBe(0)
          expect(price).toBeGreaterThanOrEqual(m.lowerLimit)
          expect(price).toBeLessThanOrEqual(m.upperLimit)
          if (limitPrice !== undefined) {
            if (side === 'buy') expect(price).toBeLessThanOrEqual(limitPrice)
            else expect(price).toBeGreaterThanOrEqual(limitPrice)
          }
        },
      ),
      { seed: 7, numRuns: 2_000 },
    )
  })
})
