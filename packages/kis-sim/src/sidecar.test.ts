import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange, type ExchangeNotice } from './exchange'
import { ensureBook } from './market'
import { SIDECAR_DEFAULT_MS, sidecarRefusal } from './sidecar'

// The sidecar (reference/krx-market-rules.md §4.4), started through the control API.

function setup(start = '2026-11-24 10:00:00') {
  const clock = createSimClock({ mode: 'manual', start })
  const ex = new Exchange(clock, createSessionCalendar(), 4, { priceModel: 'static', viDurationMs: 0 })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true, nxt: true })
  ex.addSymbol({ code: '247540', basePrice: 150_000, market: 'KOSDAQ' })
  const owner = { env: 'real' as const, appkey: 'k', htsId: 'H', branch: '06010' }
  const program = ex.addAccount(
    { cano: '50000001', cash: 1e10, programTrading: true, positions: [{ symbol: '005930', qty: 100 }] },
    owner,
  )
  const manual = ex.addAccount({ cano: '50000002', cash: 1e10 }, owner)
  const notices: ExchangeNotice[] = []
  ex.subscribe({ notice: (n) => notices.push(n) })
  const place = (
    acct: typeof program,
    p: { side?: 'buy' | 'sell'; price: number; ordDvsn?: string; symbol?: string; exchangeId?: string },
  ) => {
    const r = ex.placeOrder({
      account: acct,
      trId: 'TTTC0012U',
      side: p.side ?? 'buy',
      symbol: p.symbol ?? '005930',
      ordDvsn: p.ordDvsn ?? '00',
      qty: 5,
      price: p.price,
      sllType: '01',
      exchangeId: p.exchangeId ?? '',
    })
    if (!r.ok) throw new Error(r.key)
    return r.order
  }
  return { clock, ex, program, manual, notices, place }
}

describe('sidecar rules (krx-market-rules §4.4)', () => {
  const cal = createSessionCalendar()
  const day = cal.schedule('20261124')
  const at = (h: number, m: number) => (h * 60 + m) * 60_000
  it('at most once a day, not in the first 5 minutes after the open nor the last 40 before the close', () => {
    expect(sidecarRefusal(day, at(9, 4), false)).toMatch(/first 5 minutes/)
    expect(sidecarRefusal(day, at(9, 5), false)).toBeUndefined()
    expect(sidecarRefusal(day, at(14, 49), false)).toBeUndefined()
    expect(sidecarRefusal(day, at(14, 50), false)).toMatch(/last 40 minutes/)
    expect(sidecarRefusal(day, at(11, 0), true)).toMatch(/once a day/)
    expect(sidecarRefusal(cal.schedule('20261225'), at(11, 0), false)).toMatch(/closed/)
  })
})

describe('sidecar', () => {
  it('holds program orders of its direction unmatched for 5 minutes, then releases them', () => {
    const { clock, ex, program, manual, notices, place } = setup()
    const info = ex.sidecar('KOSPI', 'buy')
    expect(info.endsAt - info.startedAt).toBe(SIDECAR_DEFAULT_MS)
    const ask = ensureBook(ex.requireSymbol('005930')).askPrices[0] ?? 0
    const held = place(program, { price: ask }) // marketable, yet held
    expect([held.status, held.filledQty, held.suspendedUntil]).toEqual(['open', 0, info.endsAt])
    expect(notices.filter((n) => n.order === held).map((n) => n.kind)).toEqual(['receipt']) // accepted
    ex.setPrice('005930', ask - 500) // a print through it does nothing either
    expect(held.filledQty).toBe(0)
    expect(place(manual, { price: ask }).filledQty).toBe(5) // not a program trader
    expect(place(program, { side: 'sell', price: 60_000 }).filledQty).toBe(5) // other direction
    expect(place(program, { symbol: '247540', price: 151_000 }).status).toBe('filled') // other market
    const ioc = place(program, { price: 60_000, ordDvsn: '11' }) // an IOC waits too, unexpired
    expect(ioc.status).toBe('open')
    clock.advance(SIDECAR_DEFAULT_MS - 1)
    expect(held.filledQty).toBe(0)
    clock.advance(1)
    expect(ex.sidecarState('KOSPI')).toBeUndefined()
    expect([held.status, held.suspendedUntil]).toEqual(['filled', 0])
    expect(held.fills[0]?.at).toBe(info.endsAt)
    expect([ioc.status, ioc.cancelledQty]).toEqual(['cancelled', 5]) // released, then IOC as usual
  })

  it('holds NXT program orders too (krx-market-rules §2.1: CB and sidecar apply)', () => {
    const { clock, ex, program, place } = setup()
    ex.sidecar('KOSPI', 'buy', { durationMs: 60_000 })
    const o = place(program, { price: 71_000, exchangeId: 'NXT' })
    expect(o.filledQty).toBe(0)
    clock.advance(60_000)
    expect(o.status).toBe('filled')
  })

  it('lets a held order be cancelled', () => {
    const { ex, program, place } = setup()
    ex.sidecar('KOSPI', 'buy')
    const o = place(program, { price: 69_000 })
    const c = ex.amendOrder({
      account: program,
      trId: 'TTTC0013U',
      kind: 'cancel',
      origOdno: o.odno,
      branch: '06010',
      ordDvsn: '00',
      qty: 0,
      qtyAll: true,
      price: 0,
      exchangeId: '',
    })
    expect(c.ok).toBe(true)
    expect(o.status).toBe('cancelled')
  })

  it('fires once a day per market outside the opening 5 and closing 40 minutes, unless forced', () => {
    const early = setup('2026-11-24 09:02:00')
    expect(() => early.ex.sidecar('KOSPI', 'sell')).toThrow(/first 5 minutes/)
    expect(early.ex.sidecar('KOSPI', 'sell', { force: true }).direction).toBe('sell')
    const { clock, ex } = setup()
    ex.sidecar('KOSDAQ', 'sell')
    expect(() => ex.sidecar('KOSDAQ', 'buy')).toThrow(/already in force/)
    clock.advance(SIDECAR_DEFAULT_MS)
    expect(() => ex.sidecar('KOSDAQ', 'buy')).toThrow(/once a day/)
    expect(ex.sidecar('KOSPI', 'buy').market).toBe('KOSPI')
    expect(() => ex.sidecar('KOSPI', 'buy', { durationMs: 0 })).toThrow(RangeError)
  })
})
