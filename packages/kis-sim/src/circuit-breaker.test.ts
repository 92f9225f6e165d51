import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange } from './exchange'

// Market-wide circuit breakers (reference/krx-market-rules.md §4.3), fired through the control API.

function setup() {
  const clock = createSimClock({ mode: 'manual', start: '2026-11-24 10:00:00' })
  const ex = new Exchange(clock, createSessionCalendar(), 3, { priceModel: 'static' })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true })
  ex.addSymbol({ code: '247540', basePrice: 150_000, market: 'KOSDAQ' })
  const acct = ex.addAccount(
    { cano: '50000001', cash: 1e10 },
    { env: 'real', appkey: 'k', htsId: 'H', branch: '06010' },
  )
  const buy = (symbol: string, price: number) =>
    ex.placeOrder({
      account: acct,
      trId: 'TTTC0012U',
      side: 'buy',
      symbol,
      ordDvsn: '00',
      qty: 5,
      price,
      sllType: '01',
      exchangeId: '',
    })
  const amend = (origOdno: string, kind: 'cancel' | 'modify', price = 0) =>
    ex.amendOrder({
      account: acct,
      trId: 'TTTC0013U',
      kind,
      origOdno,
      branch: '06010',
      ordDvsn: '00',
      qty: 0,
      qtyAll: true,
      price,
      exchangeId: '',
    })
  return { clock, ex, buy, amend }
}

describe('circuit breaker stage 1–2', () => {
  it('halts one market 20 minutes (cancels only), then a 10-minute auction uncrosses it', () => {
    const { clock, ex, buy, amend } = setup()
    const resting = buy('247540', 149_000)
    const other = buy('247540', 148_000)
    if (!resting.ok || !other.ok) throw new Error('setup')
    ex.circuitBreaker('KOSDAQ', 1)
    expect(ex.breakerState('KOSDAQ')).toBe('halt')
    expect(buy('247540', 149_000)).toEqual({ ok: false, key: 'CB_HALT' })
    expect(buy('005930', 69_000).ok).toBe(true) // KOSPI trades on
    expect(amend(resting.order.odno, 'modify', 148_500)).toEqual({ ok: false, key: 'CB_HALT' })
    expect(amend(other.order.odno, 'cancel').ok).toBe(true)
    expect(other.order.status).toBe('cancelled')
    ex.setPrice('247540', 148_000) // a print during the halt matches nothing
    expect(resting.order.filledQty).toBe(0)

    clock.advance(20 * 60_000)
    expect(ex.breakerState('KOSDAQ')).toBe('auction')
    const during = buy('247540', 148_500) // accepted into the auction, not matched on entry
    expect(during.ok && during.order.status).toBe('open')
    clock.advance(10 * 60_000 - 1)
    expect(resting.order.filledQty).toBe(0)
    clock.advance(1)
    expect(ex.breakerState('KOSDAQ')).toBe('none')
    // The auction uncrosses at the last price (148,000): both bids cross it.
    expect(resting.order.fills.map((f) => [f.price, f.source])).toEqual([[148_000, 'auction']])
    expect(during.ok && during.order.status).toBe('filled')
  })
})

describe('circuit breaker stage 3', () => {
  it('ends the market’s day: nothing is accepted, cancels included, until the next day', () => {
    const { clock, ex, buy, amend } = setup()
    const open = buy('005930', 69_000)
    if (!open.ok) throw new Error('setup')
    ex.circuitBreaker('KOSPI', 3)
    expect(ex.breakerState('KOSPI')).toBe('closed')
    expect(buy('005930', 69_000)).toEqual({ ok: false, key: 'CB_CLOSED' })
    expect(amend(open.order.odno, 'cancel')).toEqual({ ok: false, key: 'CB_CLOSED' })
    clock.advance(3 * 3_600_000)
    expect(ex.breakerState('KOSPI')).toBe('closed')
    clock.set(Date.parse('2026-11-25T00:30:00Z')) // 09:30 KST the next day
    expect(ex.breakerState('KOSPI')).toBe('none')
    expect(open.order.status).toBe('expired')
    expect(buy('005930', 69_000).ok).toBe(true)
  })
})
