import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange, type ExchangeOptions } from './exchange'
import type { Trade } from './market'

// Volatility interruptions fired by prints (reference/krx-market-rules.md §4.2).

function setup(options: ExchangeOptions = {}) {
  const clock = createSimClock({ mode: 'manual', start: '2026-11-24 10:00:00' })
  const ex = new Exchange(clock, createSessionCalendar(), 7, { priceModel: 'static', ...options })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true })
  ex.addSymbol({ code: '247540', basePrice: 150_000, market: 'KOSDAQ' })
  const acct = ex.addAccount(
    { cano: '50000001', cash: 1e10 },
    { env: 'real', appkey: 'k', htsId: 'H', branch: '06010' },
  )
  const buy = (symbol: string, price: number, qty = 10) => {
    const r = ex.placeOrder({
      account: acct,
      trId: 'TTTC0012U',
      side: 'buy',
      symbol,
      ordDvsn: '00',
      qty,
      price,
      sllType: '01',
      exchangeId: '',
    })
    if (!r.ok) throw new Error(r.key)
    return r.order
  }
  return { clock, ex, buy }
}

describe('dynamic VI', () => {
  it('fires at 3 % for a KOSPI200 constituent and 6 % for another stock, not below', () => {
    const { ex } = setup()
    ex.setPrice('247540', 155_000) // +3.3 %: below the 6 % of a non-constituent
    expect(ex.requireSymbol('247540').flags.vi).toBe('none')
    ex.setPrice('005930', 72_100) // +3.0 % from 70,000
    expect(ex.requireSymbol('005930').flags.vi).toBe('dynamic')
    ex.setPrice('247540', 164_500) // +6.1 % from 155,000 (and +9.7 % from the base: not static)
    expect(ex.requireSymbol('247540').flags.vi).toBe('dynamic')
  })

  it('holds orders in a call auction for two minutes, then uncrosses at the price', () => {
    const { clock, ex, buy } = setup()
    const resting = buy('005930', 69_900)
    ex.setPrice('005930', 72_600) // +3.7 %: VI
    expect(ex.requireSymbol('005930').flags.vi).toBe('dynamic')
    ex.setPrice('005930', 69_800) // would fill the 69,900 bid in continuous trading; not in the VI
    const during = buy('005930', 69_900) // accepted into the auction, not matched on entry
    expect(during.status).toBe('open')
    expect(resting.filledQty + during.filledQty).toBe(0)
    clock.advance(119_999)
    expect(ex.requireSymbol('005930').flags.vi).toBe('dynamic')
    clock.advance(1)
    const sym = ex.requireSymbol('005930')
    expect(sym.flags.vi).toBe('none')
    // The auction price is the last price (69,800): both bids at 69,900 cross and fill there.
    expect([resting.status, during.status]).toEqual(['filled', 'filled'])
    expect(resting.fills.map((f) => [f.price, f.source])).toEqual([[69_800, 'auction']])
    expect(sym.staticRef).toBe(69_800)
  })

  it('is off with viDurationMs 0', () => {
    const { ex } = setup({ viDurationMs: 0 })
    ex.setPrice('005930', 80_000)
    expect(ex.requireSymbol('005930').flags.vi).toBe('none')
  })
})

describe('static VI', () => {
  it('fires when prints drift 10 % from the last single-price auction, each below the dynamic rate', () => {
    const { ex } = setup()
    const prices = [153_000, 157_500, 162_000, 165_500] // each < 6 % from the last; the last +10.3 %
    for (const p of prices.slice(0, -1)) {
      ex.setPrice('247540', p)
      expect(ex.requireSymbol('247540').flags.vi).toBe('none')
    }
    ex.setPrice('247540', prices.at(-1)!)
    expect(ex.requireSymbol('247540').flags.vi).toBe('static')
  })

  it('measures from the previous VI once one has uncrossed', () => {
    const { clock, ex } = setup()
    ex.setPrice('247540', 160_000) // +6.7 %: dynamic VI
    clock.advance(120_000)
    expect(ex.requireSymbol('247540').staticRef).toBe(160_000)
    // 165,500 is +10.3 % from the base but only +3.4 % from the new reference.
    ex.setPrice('247540', 165_500)
    expect(ex.requireSymbol('247540').flags.vi).toBe('none')
  })
})

describe('VI from the random walk', () => {
  it('fires on a seeded path, prints stop while it lasts, and trading resumes after', () => {
    const clock = createSimClock({ mode: 'manual', start: '2026-11-24 09:00:30' })
    const ex = new Exchange(clock, createSessionCalendar(), 11, { tickIntervalMs: 1_000 })
    clock.onTime((t) => ex.syncTo(t))
    // A volatile low-priced stock: one tick is 0.1 %, so a 10 % drift is reachable within the day.
    ex.addSymbol({ code: '900001', basePrice: 1_000, volatility: 1 })
    const prints: Trade[] = []
    ex.subscribe({ trade: (t) => prints.push(t) })
    let vi: { start: number; end?: number } | undefined
    for (let t = 0; t < 6 * 3_600 && !vi?.end; t++) {
      clock.advance(1_000)
      const s = ex.requireSymbol('900001')
      if (!vi && s.flags.vi === 'static') vi = { start: clock.now() }
      else if (vi && s.flags.vi === 'none') vi.end = clock.now()
    }
    expect(vi?.end, 'a static VI fired and ended within the session').toBeDefined()
    const { start, end } = vi as { start: number; end: number }
    expect(end - start).toBe(120_000)
    expect(
      prints.filter((p) => p.at > start && p.at < end),
      JSON.stringify({ start, end }),
    ).toEqual([])
    clock.advance(5_000)
    expect(prints.filter((p) => p.at > end)).not.toEqual([])
  })
})

describe('VI in the closing auction (krx-market-rules §4.2: 2 % / 4 %)', () => {
  it('fires at 2 % for a KOSPI200 constituent and 4 % for another stock', () => {
    const { clock, ex } = setup()
    clock.set('2026-11-24 15:21:00')
    ex.setPrice('005930', 71_300) // +1.9 %
    expect(ex.requireSymbol('005930').flags.vi).toBe('none')
    ex.setPrice('005930', 72_800) // +2.1 % from 71,300
    expect(ex.requireSymbol('005930').flags.vi).toBe('dynamic')
    ex.setPrice('247540', 155_500) // +3.7 %
    expect(ex.requireSymbol('247540').flags.vi).toBe('none')
    ex.setPrice('247540', 162_000) // +4.2 % from 155,500
    expect(ex.requireSymbol('247540').flags.vi).toBe('dynamic')
  })

  it('extends that symbol’s closing auction past 15:30; the others close on time', () => {
    const { clock, ex, buy } = setup()
    const late = buy('005930', 69_900)
    const other = buy('247540', 149_000)
    clock.set('2026-11-24 15:29:00')
    ex.setPrice('005930', 68_500) // −2.1 %: VI until 15:31
    ex.setPrice('247540', 149_000)
    clock.set('2026-11-24 15:30:00')
    expect(other.fills).toEqual([expect.objectContaining({ price: 149_000, source: 'auction' })])
    expect([late.status, late.filledQty]).toEqual(['open', 0]) // its auction goes on
    ex.setPrice('005930', 69_800)
    clock.set('2026-11-24 15:31:00')
    expect(late.fills).toEqual([expect.objectContaining({ price: 69_800, source: 'auction' })])
    expect(ex.requireSymbol('005930').flags.vi).toBe('none')
    expect(ex.openOrders()).toEqual([])
  })

  it('expires the extended symbol’s unfilled orders when its auction ends', () => {
    const { clock, ex, buy } = setup()
    const low = buy('005930', 60_000)
    clock.set('2026-11-24 15:29:30')
    ex.setPrice('005930', 71_500)
    clock.set('2026-11-24 15:30:00')
    expect(low.status).toBe('open')
    clock.set('2026-11-24 15:31:30')
    expect([low.status, low.expiredAt]).toEqual(['expired', Date.parse('2026-11-24T06:31:30Z')])
  })
})

describe('VI-extended closing auction over one long clock jump', () => {
  it('still uncrosses at the VI’s end, before the post-close session fills', () => {
    const { clock, ex, buy } = setup()
    const bid = buy('005930', 69_900)
    clock.set('2026-11-24 15:29:00')
    ex.setPrice('005930', 68_500) // VI until 15:31
    clock.set('2026-11-24 15:45:00')
    expect(bid.fills).toEqual([
      expect.objectContaining({ price: 68_500, source: 'auction', at: Date.parse('2026-11-24T06:31:00Z') }),
    ])
    expect(ex.requireSymbol('005930').flags.vi).toBe('none')
  })
})

describe('VI in the KRX after-market (rates UNVERIFIED: afterMarketViRates)', () => {
  it('uses the continuous rates by default and the option when given', () => {
    const base = setup()
    base.clock.set('2026-11-24 16:30:00')
    base.ex.setPrice('005930', 72_100) // +3 %
    expect(base.ex.requireSymbol('005930').flags.vi).toBe('dynamic')
    const wide = setup({ afterMarketViRates: { kospi200: 0.05, other: 0.1 } })
    wide.clock.set('2026-11-24 16:30:00')
    wide.ex.setPrice('005930', 72_100)
    expect(wide.ex.requireSymbol('005930').flags.vi).toBe('none')
  })
})
