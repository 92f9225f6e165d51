import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { dailyLimits, floorToTick, isOnTickGrid, stepTicks, tickDown, tickSize, tickUp } from './ticks'

describe('tick grid (krx-market-rules §3.1)', () => {
  it('uses the 2023-01-25 bands', () => {
    expect(
      [1_999, 2_000, 4_995, 5_000, 19_990, 20_000, 49_950, 50_000, 199_900, 200_000, 499_500, 500_000].map(
        (p) => tickSize(p),
      ),
    ).toEqual([1, 5, 5, 10, 10, 50, 50, 100, 100, 500, 500, 1_000])
    expect(tickSize(1_500, 'etf')).toBe(1)
    expect(tickSize(35_000, 'etf')).toBe(5)
  })

  it('steps stay on the grid and invert each other', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_000_000 }), fc.integer({ min: -50, max: 50 }), (raw, n) => {
        const p = floorToTick(raw)
        expect(isOnTickGrid(p)).toBe(true)
        const q = stepTicks(p, n)
        expect(isOnTickGrid(q)).toBe(true)
        if (p > 1 && tickDown(p) >= 1) expect(tickUp(tickDown(p))).toBe(p)
      }),
    )
  })

  it('computes daily limits like the KRX example (krx-market-rules §4.1: 9,980 → 12,970 / 6,990)', () => {
    expect(dailyLimits(9_980)).toEqual({ upper: 12_970, lower: 6_990 })
    expect(dailyLimits(70_000)).toEqual({ upper: 91_000, lower: 49_000 })
  })

  it('limits are on the grid and within ±30 % of the base', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 2_000_000 }), (raw) => {
        const base = floorToTick(raw)
        const { upper, lower } = dailyLimits(base)
        expect(isOnTickGrid(upper) && isOnTickGrid(lower)).toBe(true)
        expect(upper).toBeLessThanOrEqual(base * 1.3)
        expect(lower).toBeGreaterThanOrEqual(base * 0.7 - tickSize(base))
        expect(lower).toBeLessThan(base)
        expect(upper).toBeGreaterThan(base)
      }),
    )
  })
})
