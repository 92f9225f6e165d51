import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange, type SimEnv } from './exchange'
import { ensureBook, midpointOf } from './market'

// ORD_DVSN 21–24 (reference §5; krx-market-rules §1.2 note d: continuous trading only).

function setup(start = '2026-11-24 10:00:00') {
  const clock = createSimClock({ mode: 'manual', start })
  const ex = new Exchange(clock, createSessionCalendar(), 9, { priceModel: 'static', viDurationMs: 0 })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true, nxt: true, meanVolume: 50 })
  const owner = (env: SimEnv) => ({
    env,
    appkey: env,
    htsId: 'H',
    branch: env === 'paper' ? '00950' : '06010',
  })
  const acct = ex.addAccount(
    { cano: '50000001', cash: 1e10, positions: [{ symbol: '005930', qty: 10_000 }] },
    owner('real'),
  )
  const paper = ex.addAccount({ cano: '50000002', cash: 1e10 }, owner('paper'))
  const place = (p: {
    side?: 'buy' | 'sell'
    ordDvsn: string
    price?: number
    qty?: number
    condPrice?: number
    exchangeId?: string
    env?: SimEnv
  }) =>
    ex.placeOrder({
      account: p.env === 'paper' ? paper : acct,
      trId: p.side === 'sell' ? 'TTTC0011U' : 'TTTC0012U',
      side: p.side ?? 'buy',
      symbol: '005930',
      ordDvsn: p.ordDvsn,
      qty: p.qty ?? 10,
      price: p.price ?? 0,
      sllType: '01',
      exchangeId: p.exchangeId ?? 'KRX',
      ...(p.condPrice === undefined ? {} : { condPrice: p.condPrice }),
    })
  const ok = (r: ReturnType<typeof place>) => {
    if (!r.ok) throw new Error(r.key)
    return r.order
  }
  return { clock, ex, place, ok }
}

describe('22 stop-limit', () => {
  it('needs a usable CNDT_PRIC (reference §4.1)', () => {
    const { place } = setup()
    expect(place({ ordDvsn: '22', price: 71_200 })).toEqual({ ok: false, key: 'BAD_STOP_PRICE' })
    expect(place({ ordDvsn: '22', price: 71_200, condPrice: 71_050 })).toEqual({
      ok: false,
      key: 'BAD_STOP_PRICE',
    })
    expect(place({ ordDvsn: '22', price: 71_200, condPrice: 95_000 })).toEqual({
      ok: false,
      key: 'BAD_STOP_PRICE',
    })
    expect(place({ ordDvsn: '22', price: 71_200, condPrice: Number.NaN })).toEqual({
      ok: false,
      key: 'BAD_STOP_PRICE',
    })
    expect(place({ ordDvsn: '22', price: 0, condPrice: 71_000 })).toEqual({ ok: false, key: 'BAD_PRICE' })
  })

  it('a buy sleeps until the last trade reaches the condition (≥), then is a limit at ORD_UNPR', () => {
    const { ex, place, ok } = setup()
    const o = ok(place({ ordDvsn: '22', price: 71_200, condPrice: 71_000 }))
    expect(o.stopTriggeredAt).toBeUndefined()
    ex.setPrice('005930', 70_900)
    ex.setPrice('005930', 69_000) // a print through a buy limit does nothing while asleep
    expect([o.stopTriggeredAt, o.filledQty]).toEqual([undefined, 0])
    ex.setPrice('005930', 71_000)
    expect(o.stopTriggeredAt).toBeGreaterThan(0)
    expect(o.fills).toEqual([expect.objectContaining({ qty: 10, price: 71_200 })])
  })

  it('a sell wakes at or below the condition; once awake it waits for its limit like any order', () => {
    const { ex, place, ok } = setup()
    const o = ok(place({ side: 'sell', ordDvsn: '22', price: 69_500, condPrice: 69_000 }))
    ex.setPrice('005930', 69_100)
    expect(o.stopTriggeredAt).toBeUndefined()
    ex.setPrice('005930', 68_900)
    expect(o.stopTriggeredAt).toBeGreaterThan(0)
    expect(o.filledQty).toBe(0) // 68,900 is below the 69,500 limit
    ex.setPrice('005930', 69_600)
    expect(o.fills).toEqual([expect.objectContaining({ price: 69_500 })])
  })

  it('wakes at once when the last trade already meets the condition, and never trades in an auction asleep', () => {
    const { clock, ex, place, ok } = setup()
    const awake = ok(place({ ordDvsn: '22', price: 69_000, condPrice: 69_500 })) // last 70,000 ≥ 69,500
    expect(awake.stopTriggeredAt).toBe(clock.now())
    const asleep = ok(place({ ordDvsn: '22', price: 72_000, condPrice: 72_000 }))
    clock.set('2026-11-24 15:25:00')
    ex.setPrice('005930', 71_000) // in the closing auction: no wake-up
    clock.set('2026-11-24 15:30:00') // the uncross at 71,000 would cross its 72,000 limit
    expect(asleep.filledQty).toBe(0)
    expect(asleep.status).toBe('expired')
  })

  it('22 (and 21, 23, 24) trade in continuous trading only, real accounts only, not through SOR', () => {
    const { place } = setup('2026-11-24 08:45:00')
    expect(place({ ordDvsn: '22', price: 71_200, condPrice: 71_000 })).toEqual({
      ok: false,
      key: 'ORDER_TYPE_NOT_IN_SESSION',
    })
    const day = setup()
    expect(day.place({ ordDvsn: '21', env: 'paper' })).toEqual({ ok: false, key: 'PAPER_UNSUPPORTED' })
    expect(day.place({ ordDvsn: '22', price: 71_200, condPrice: 71_000, exchangeId: 'SOR' })).toEqual({
      ok: false,
      key: 'VENUE_ORDER_TYPE',
    })
    expect(day.place({ ordDvsn: '22', price: 71_200, condPrice: 71_000, exchangeId: 'NXT' }).ok).toBe(true)
  })
})

describe('21/23/24 midpoint', () => {
  it('fills at the midpoint of the best bid and ask on entry, up to the opposite best size; the rest rests', () => {
    const { ex, place, ok } = setup()
    const s = ensureBook(ex.requireSymbol('005930'))
    const mid = midpointOf(s)
    expect(mid).toBe(((s.bidPrices[0] ?? 0) + (s.askPrices[0] ?? 0)) / 2)
    expect(mid).toBe(70_050)
    const avail = s.askQty[0] ?? 0
    const o = ok(place({ ordDvsn: '21', qty: avail + 7 }))
    expect(o.fills).toEqual([expect.objectContaining({ qty: avail, price: 70_050 })])
    expect([o.remaining, o.status]).toEqual([7, 'open'])
    ex.setPrice('005930', 70_200) // the next print fills the rest at the new midpoint
    expect(o.fills[1]).toEqual(expect.objectContaining({ qty: 7, price: 70_250 }))
    expect(o.status).toBe('filled')
  })

  it('a price caps the midpoint it accepts', () => {
    const { ex, place, ok } = setup()
    const o = ok(place({ ordDvsn: '21', price: 70_000 })) // midpoint 70,050 > cap 70,000
    expect(o.filledQty).toBe(0)
    ex.setPrice('005930', 69_900) // midpoint 69,950 ≤ 70,000
    expect(o.fills).toEqual([expect.objectContaining({ price: 69_950 })])
    const sell = ok(place({ side: 'sell', ordDvsn: '21', price: 70_000 })) // midpoint 69,950 < 70,000
    expect(sell.filledQty).toBe(0)
  })

  it('23 (IOC) cancels what the midpoint did not fill; 24 (FOK) fills all or nothing', () => {
    const { ex, place, ok } = setup()
    const avail = ensureBook(ex.requireSymbol('005930')).askQty[0] ?? 0
    const ioc = ok(place({ ordDvsn: '23', qty: avail + 5 }))
    expect([ioc.filledQty, ioc.cancelledQty, ioc.status]).toEqual([avail, 5, 'cancelled'])
    const bidAvail = ensureBook(ex.requireSymbol('005930')).bidQty[0] ?? 0
    const fok = ok(place({ side: 'sell', ordDvsn: '24', qty: bidAvail + 1 }))
    expect([fok.filledQty, fok.cancelledQty, fok.status]).toEqual([0, bidAvail + 1, 'cancelled'])
    const fits = ok(place({ side: 'sell', ordDvsn: '24', qty: bidAvail }))
    expect([fits.filledQty, fits.status]).toEqual([bidAvail, 'filled'])
  })

  it('a resting midpoint order takes no part in a call auction', () => {
    const { clock, ex, place, ok } = setup()
    ex.setPrice('005930', 70_000)
    const o = ok(place({ ordDvsn: '21', price: 69_000 }))
    expect(o.filledQty).toBe(0)
    clock.set('2026-11-24 15:25:00')
    ex.setPrice('005930', 68_000)
    clock.set('2026-11-24 15:30:00')
    expect([o.filledQty, o.status]).toEqual([0, 'expired'])
  })

  it('trades on NXT in its main market at the same midpoint', () => {
    const { place, ok } = setup()
    const o = ok(place({ ordDvsn: '21', qty: 1, exchangeId: 'NXT' }))
    expect([o.venue, o.fills[0]?.price]).toEqual(['NXT', 70_050])
    const pre = setup('2026-11-24 08:10:00')
    expect(pre.place({ ordDvsn: '21', qty: 1, exchangeId: 'NXT' })).toEqual({
      ok: false,
      key: 'NXT_ORDER_TYPE_NOT_IN_SESSION',
    })
  })
})

describe('modifying a stop-limit (reference §4.2 CNDT_PRIC optional; UNVERIFIED)', () => {
  const modify = (ex: Exchange, odno: string, price: number, condPrice?: number) =>
    ex.amendOrder({
      account: ex.account('50000001')!,
      trId: 'TTTC0013U',
      kind: 'modify',
      origOdno: odno,
      branch: '06010',
      ordDvsn: '22',
      qty: 0,
      qtyAll: true,
      price,
      exchangeId: 'KRX',
      ...(condPrice === undefined ? {} : { condPrice }),
    })

  it('needs CNDT_PRIC again by default; `stopModifyWithoutCondPrice: keep` keeps the original', () => {
    const { ex, place, ok } = setup()
    const o = ok(place({ ordDvsn: '22', price: 71_200, condPrice: 71_000 }))
    expect(modify(ex, o.odno, 71_300)).toEqual({ ok: false, key: 'BAD_STOP_PRICE' })
    const m = modify(ex, o.odno, 71_300, 71_100)
    expect(m.ok && [m.order.condPrice, m.order.stopTriggeredAt]).toEqual([71_100, undefined])
    ex.setOption('stopModifyWithoutCondPrice', 'keep')
    const o2 = ok(place({ ordDvsn: '22', price: 71_200, condPrice: 71_000 }))
    const kept = modify(ex, o2.odno, 71_300)
    expect(kept.ok && kept.order.condPrice).toBe(71_000)
  })
})
