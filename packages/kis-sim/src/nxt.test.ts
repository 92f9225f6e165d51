import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange, type ExchangeNotice, type ExchangeOptions } from './exchange'
import { ensureBook } from './market'

// Nextrade as a second venue (krx-market-rules §2.1–§2.4, §4.1; reference §4.1, §4.2, §5).

function setup(start: string, options: ExchangeOptions = {}) {
  const clock = createSimClock({ mode: 'manual', start })
  const ex = new Exchange(clock, createSessionCalendar(), 11, { priceModel: 'static', ...options })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true, nxt: true })
  const acct = ex.addAccount(
    { cano: '50000001', cash: 1e10, positions: [{ symbol: '005930', qty: 1_000 }] },
    { env: 'real', appkey: 'k', htsId: 'H', branch: '06010' },
  )
  const notices: ExchangeNotice[] = []
  ex.subscribe({ notice: (n) => notices.push(n) })
  const place = (p: {
    side?: 'buy' | 'sell'
    price: number
    exchangeId: string
    ordDvsn?: string
    qty?: number
  }) => {
    const r = ex.placeOrder({
      account: acct,
      trId: p.side === 'sell' ? 'TTTC0011U' : 'TTTC0012U',
      side: p.side ?? 'buy',
      symbol: '005930',
      ordDvsn: p.ordDvsn ?? '00',
      qty: p.qty ?? 10,
      price: p.price,
      sllType: '01',
      exchangeId: p.exchangeId,
    })
    if (!r.ok) throw new Error(r.key)
    return r.order
  }
  const amend = (
    origOdno: string,
    kind: 'cancel' | 'modify',
    exchangeId: string,
    ordDvsn = '00',
    price = 0,
  ) =>
    ex.amendOrder({
      account: acct,
      trId: 'TTTC0013U',
      kind,
      origOdno,
      branch: '06010',
      ordDvsn,
      qty: 0,
      qtyAll: true,
      price,
      exchangeId,
    })
  return { clock, ex, acct, notices, place, amend }
}

describe('the NXT book (krx-market-rules §2.1)', () => {
  it('a pre-market order rests through the KRX day and the after-market, then expires at 20:00', () => {
    const { clock, ex, place } = setup('2026-11-24 08:10:00')
    const o = place({ price: 60_000, exchangeId: 'NXT' })
    expect([o.venue, o.route, o.book, o.status]).toEqual(['NXT', 'NXT', 'nxt', 'open'])
    clock.set('2026-11-24 15:35:00') // past the KRX regular book's expiry at 15:30
    expect(o.status).toBe('open')
    clock.set('2026-11-24 19:59:59')
    expect(o.status).toBe('open')
    clock.advance(1_000)
    expect(o.status).toBe('expired')
    expect(o.expiredAt).toBe(Date.parse('2026-11-24T11:00:00Z')) // 20:00 KST
    expect(ex.openOrders()).toEqual([])
  })

  it('a marketable NXT order fills on entry against the same price model, off the KRX feed', () => {
    const { ex, place } = setup('2026-11-24 10:00:00')
    const s = ensureBook(ex.requireSymbol('005930'))
    const ask = s.askPrices[0] ?? 0
    const before = s.volume
    const o = place({ price: ask, exchangeId: 'NXT', qty: 1 })
    expect(o.fills).toEqual([expect.objectContaining({ qty: 1, price: ask, source: 'book' })])
    // An NXT execution is not a KRX print: the KRX day's volume is untouched.
    expect(ex.requireSymbol('005930').volume).toBe(before)
  })

  it('resting NXT orders fill on prints while NXT trades, not during its pauses or the after-market call', () => {
    const { clock, ex, place } = setup('2026-11-24 08:10:00')
    const pre = place({ price: 69_500, exchangeId: 'NXT' })
    clock.set('2026-11-24 08:55:00') // NXT pauses 08:50–09:00:30
    ex.setPrice('005930', 69_400)
    expect(pre.filledQty).toBe(0)
    clock.set('2026-11-24 09:00:10') // KRX trades; NXT is still paused
    ex.setPrice('005930', 69_400)
    expect(pre.filledQty).toBe(0)
    clock.set('2026-11-24 09:00:30')
    ex.setPrice('005930', 69_400)
    expect(pre.status).toBe('filled')
    expect(pre.fills[0]?.price).toBe(69_500)

    clock.set('2026-11-24 15:32:00') // the after-market's opening call collects orders
    const call = place({ price: 69_000, exchangeId: 'NXT' })
    ex.setPrice('005930', 68_900)
    expect(call.filledQty).toBe(0)
    clock.set('2026-11-24 15:40:00') // and uncrosses at 15:40 at the symbol's price
    expect(call.fills).toEqual([expect.objectContaining({ price: 68_900, source: 'auction' })])
  })

  it('the random walk keeps trading NXT-eligible symbols while only NXT is open (15:40–16:00)', () => {
    const clock = createSimClock({ mode: 'manual', start: '2026-11-24 15:40:00' })
    const ex = new Exchange(clock, createSessionCalendar(), 3, { tickIntervalMs: 1_000 })
    clock.onTime((t) => ex.syncTo(t))
    ex.addSymbol({ code: '005930', basePrice: 70_000, nxt: true, volatility: 0.9 })
    ex.addSymbol({ code: '000020', basePrice: 1_999, volatility: 0.9 })
    const krxOnly = ex.requireSymbol('000020').price
    const s = ex.requireSymbol('005930')
    const volume = s.volume
    clock.advance(10 * 60_000)
    expect(s.price).not.toBe(70_000)
    expect(s.volume).toBe(volume) // no KRX prints
    expect(ex.requireSymbol('000020').price).toBe(krxOnly)
  })

  it('prices NXT orders against the KRX daily limits (krx-market-rules §4.1)', () => {
    const { ex, acct } = setup('2026-11-24 17:00:00')
    const s = ex.requireSymbol('005930')
    const r = ex.placeOrder({
      account: acct,
      trId: 'TTTC0012U',
      side: 'buy',
      symbol: '005930',
      ordDvsn: '00',
      qty: 1,
      price: s.upper + 100,
      sllType: '01',
      exchangeId: 'NXT',
    })
    expect(r).toEqual({ ok: false, key: 'PRICE_OUT_OF_LIMIT' })
  })
})

describe('SOR (reference §5 SOR column, krx-market-rules §2.4)', () => {
  it('records where the order went; a SOR order to NXT lives in the NXT book', () => {
    const { clock, place } = setup('2026-11-24 08:10:00')
    const early = place({ price: 60_000, exchangeId: 'SOR' })
    expect([early.route, early.venue, early.book]).toEqual(['SOR', 'NXT', 'nxt'])
    clock.set('2026-11-24 10:00:00')
    const day = place({ price: 60_000, exchangeId: 'SOR' })
    expect([day.route, day.venue, day.book]).toEqual(['SOR', 'KRX', 'regular'])
    clock.set('2026-11-24 15:31:00')
    expect(day.status).toBe('expired') // the KRX book's day ended at 15:30
    expect(early.status).toBe('open')
  })
})

describe('modify/cancel: the original venue governs (reference §4.2)', () => {
  it('refuses a request naming another venue (empty is KRX) unless amendVenueMismatch is ignore', () => {
    const { place, amend } = setup('2026-11-24 10:00:00')
    const nxt = place({ price: 60_000, exchangeId: 'NXT' })
    expect(amend(nxt.odno, 'cancel', '')).toEqual({ ok: false, key: 'VENUE_MISMATCH' })
    expect(amend(nxt.odno, 'cancel', 'KRX')).toEqual({ ok: false, key: 'VENUE_MISMATCH' })
    const sor = place({ price: 60_000, exchangeId: 'SOR' }) // → KRX
    expect(amend(sor.odno, 'cancel', 'NXT')).toEqual({ ok: false, key: 'VENUE_MISMATCH' })
    expect(amend(sor.odno, 'modify', 'KRX', '00', 60_100).ok).toBe(true)
    const krx = place({ price: 60_000, exchangeId: '' })
    expect(amend(krx.odno, 'cancel', 'SOR')).toEqual({ ok: false, key: 'VENUE_MISMATCH' })
    const c = amend(nxt.odno, 'cancel', 'NXT')
    expect(c.ok && [c.order.route, c.order.venue, c.order.status]).toEqual(['NXT', 'NXT', 'confirmed'])
    expect(nxt.status).toBe('cancelled')

    const lax = setup('2026-11-24 10:00:00', { amendVenueMismatch: 'ignore' })
    const o = lax.place({ price: 60_000, exchangeId: 'NXT' })
    const r = lax.amend(o.odno, 'modify', '', '00', 60_500)
    expect(r.ok && [r.order.venue, r.order.book, r.order.price]).toEqual(['NXT', 'nxt', 60_500])
  })

  it('an NXT order can be cancelled while KRX is shut, and a modify keeps to the NXT session codes', () => {
    const { clock, place, amend } = setup('2026-11-24 17:00:00')
    const o = place({ price: 60_000, exchangeId: 'NXT' })
    expect(amend(o.odno, 'modify', 'NXT', '03')).toEqual({ ok: false, key: 'NXT_ORDER_TYPE_NOT_IN_SESSION' })
    expect(amend(o.odno, 'modify', 'NXT', '01')).toEqual({ ok: false, key: 'VENUE_ORDER_TYPE' })
    const m = amend(o.odno, 'modify', 'NXT', '00', 60_100)
    if (!m.ok) throw new Error(m.key)
    expect([m.order.venue, m.order.book, m.order.status]).toEqual(['NXT', 'nxt', 'open'])
    clock.set('2026-11-25 08:10:00') // the next day's pre-market
    expect(m.ok && m.order.status).toBe('expired')
    const pre = place({ price: 60_000, exchangeId: 'NXT', qty: 1 })
    clock.set('2026-11-25 08:55:00') // NXT pauses for the KRX open: SOR finds the KRX auction…
    expect(place({ price: 60_000, exchangeId: 'SOR', qty: 1 }).venue).toBe('KRX')
    const c = amend(pre.odno, 'cancel', 'NXT') // …and a cancel still reaches the resting NXT order
    expect(c.ok).toBe(true)
    expect(pre.status).toBe('cancelled')
  })
})
