import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange, type ExchangeNotice } from './exchange'
import { noticeRecord } from './frames'

// H0STCNI0 fields 18 ORD_COND_PRC and 19 ORD_EXG_GB (reference §7.9), and the 23-field paper
// layout that keeps its reported values there (reference §7.10).

function notices(start: string) {
  const clock = createSimClock({ mode: 'manual', start })
  const ex = new Exchange(clock, createSessionCalendar(), 2, { priceModel: 'static', viDurationMs: 0 })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', name: '삼성전자', basePrice: 70_000, nxt: true })
  const acct = ex.addAccount(
    { cano: '50000001', cash: 1e10 },
    { env: 'real', appkey: 'k', htsId: 'H', branch: '06010' },
  )
  const seen: ExchangeNotice[] = []
  ex.subscribe({ notice: (n) => seen.push(n) })
  const place = (exchangeId: string, ordDvsn = '00', condPrice = 0) => {
    const r = ex.placeOrder({
      account: acct,
      trId: 'TTTC0012U',
      side: 'buy',
      symbol: '005930',
      ordDvsn,
      qty: 3,
      price: 60_000,
      sllType: '01',
      exchangeId,
      condPrice,
    })
    if (!r.ok) throw new Error(r.key)
    const n = seen.findLast((x) => x.order === r.order)
    if (!n) throw new Error('no notice')
    return n
  }
  return { clock, place }
}

const fields = (n: ExchangeNotice, layout: 23 | 26 = 26) =>
  noticeRecord(n, { accountName: '홍길동', symbolName: '삼성전자', receiptQty: 'order-qty', layout }).split(
    '^',
  )

describe('execution notice fields 18/19 (reference §7.9)', () => {
  it('ORD_EXG_GB: 1 KRX, 2 NXT, 3 SOR-KRX, 4 SOR-NXT', () => {
    const day = notices('2026-11-24 10:00:00')
    expect(fields(day.place('KRX'))[19]).toBe('1')
    expect(fields(day.place(''))[19]).toBe('1')
    expect(fields(day.place('NXT'))[19]).toBe('2')
    expect(fields(day.place('SOR'))[19]).toBe('3')
    const pre = notices('2026-11-24 08:10:00')
    expect(fields(pre.place('SOR'))[19]).toBe('4')
  })

  it('ORD_COND_PRC carries a stop-limit’s condition price, 0 otherwise', () => {
    const { place } = notices('2026-11-24 10:00:00')
    const stop = fields(place('KRX', '22', 71_000))
    expect([stop[6], stop[18], stop[19]]).toEqual(['22', '71000', '1'])
    expect(fields(place('NXT', '22', 71_000)).slice(18, 20)).toEqual(['71000', '2'])
    expect(fields(place('KRX'))[18]).toBe('0')
  })

  it('keeps the 26-field length, and the 23-field paper layout as reported', () => {
    const { place } = notices('2026-11-24 10:00:00')
    const n = place('NXT', '22', 71_000)
    expect(fields(n)).toHaveLength(26)
    const paper = fields(n, 23)
    expect(paper).toHaveLength(23)
    expect(paper.slice(18)).toEqual(['1Y', '10', '', '삼성전자', '60000'])
  })
})
