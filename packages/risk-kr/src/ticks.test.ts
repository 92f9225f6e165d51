import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseKstDate } from './kst'
import { dailyLimits, intersectBands, percentBand } from './price-limits'
import { TickRules } from './ticks'

const ticks = new TickRules()
const stock = ticks.gridFor('stock', parseKstDate('2026-11-24'))!
const etf = ticks.gridFor('etf', parseKstDate('2026-11-24'))!

describe('tick tables (§3)', () => {
  it.each([
    [1_999, 1],
    [2_000, 5],
    [4_995, 5],
    [5_000, 10],
    [19_990, 10],
    [20_000, 50],
    [49_950, 50],
    [50_000, 100],
    [199_900, 100],
    [200_000, 500],
    [499_500, 500],
    [500_000, 1_000],
  ])('stock price %i moves in %i', (price, tick) => {
    expect(stock.tickAt(price)).toBe(tick)
  })

  it('ETF/ETN: 1 below 2,000 and 5 above, from 2023-12-18 only', () => {
    expect(etf.tickAt(1_999)).toBe(1)
    expect(etf.tickAt(2_000)).toBe(5)
    expect(ticks.gridFor('etf', parseKstDate('2023-12-17'))).toBeUndefined()
    expect(ticks.gridFor('etf', parseKstDate('2023-12-18'))).toBeDefined()
  })

  it('stock table starts 2023-01-25; earlier dates fail closed (§3.1)', () => {
    expect(ticks.gridFor('stock', parseKstDate('2023-01-24'))).toBeUndefined()
    expect(ticks.gridFor('stock', parseKstDate('2023-01-25'))?.table.id).toBe('stock-2023-01-25')
  })

  it('rejects off-grid prices, never rounds them', () => {
    expect(stock.isOnGrid(12_970)).toBe(true)
    expect(stock.isOnGrid(12_975)).toBe(false)
    expect(stock.isOnGrid(2_001)).toBe(false)
    expect(stock.isOnGrid(70_050)).toBe(false)
    expect(stock.isOnGrid(0)).toBe(false)
  })

  it('floor/ceil land on the grid across band boundaries (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_000_000 }), (p) => {
        const f = stock.floor(p)
        const c = stock.ceil(p)
        expect(f <= p && p <= c).toBe(true)
        if (f > 0) expect(stock.isOnGrid(f)).toBe(true)
        expect(stock.isOnGrid(c)).toBe(true)
      }),
    )
  })
})

describe('daily price limits (§4.1)', () => {
  it("reproduces KRX's worked example: base 9,980 → 12,970 / 6,990", () => {
    expect(dailyLimits(stock, { basePrice: 9_980 })).toEqual({ lower: 6_990, upper: 12_970 })
  })

  it.each([
    [70_000, 49_000, 91_000],
    [1_000, 700, 1_300],
    [2_000, 1_400, 2_600],
    [500_000, 350_000, 650_000],
    [15_550, 10_890, 20_200],
  ])('base %i → [%i, %i]', (base, lower, upper) => {
    expect(dailyLimits(stock, { basePrice: base })).toEqual({ lower, upper })
  })

  it('leveraged ETPs get ±30 % × multiple; listing day 60–400 %; liquidation has none', () => {
    expect(dailyLimits(etf, { basePrice: 10_000, leverage: 2 })).toEqual({ lower: 4_000, upper: 16_000 })
    expect(dailyLimits(stock, { basePrice: 10_000, listingDay: true })).toEqual({
      lower: 6_000,
      upper: 40_000,
    })
    expect(dailyLimits(stock, { basePrice: 10_000, noLimit: true })).toBeUndefined()
  })

  it('every limit is on the grid, ordered around the base, and within ±30 % (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2_000_000 }), (raw) => {
        const base = stock.ceil(raw)
        const band = dailyLimits(stock, { basePrice: base })!
        expect(stock.isOnGrid(band.upper)).toBe(true)
        expect(stock.isOnGrid(band.lower)).toBe(true)
        expect(band.lower <= base && base <= band.upper).toBe(true)
        expect(band.upper).toBeLessThanOrEqual(base * 1.3)
        expect(band.lower).toBeGreaterThanOrEqual(base * 0.7 - 1e-9)
      }),
    )
  })

  it('±10 % after-hours band intersects with the daily limit', () => {
    const daily = dailyLimits(stock, { basePrice: 10_000 })!
    const close = percentBand(stock, 12_000, 10)
    expect(close).toEqual({ lower: 10_800, upper: 13_200 })
    expect(intersectBands(daily, close)).toEqual({ lower: 10_800, upper: 13_000 })
    expect(intersectBands({ lower: 1, upper: 2 }, { lower: 3, upper: 4 })).toBeUndefined()
  })
})
