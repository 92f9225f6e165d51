import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim, SimAccountView, SimOrderView } from '../src/index'
import {
  DAILY_CCLD,
  dailyCcldQuery,
  get,
  headers,
  ORDER_RVSECNCL,
  placeOrder,
  post,
  realApp,
  startSim,
  token,
} from './helpers'

// Whole days (issue #9): KIS order numbers restart every day, so an order is named by its date and
// number; open day orders expire at the roll, T+2 amounts move from D+2 to D+1 to settled, and
// the past days stay queryable by date range. Driven over HTTP (control routes included), as a
// separately started simulator is.

let sim: KisSim
afterEach(async () => sim?.close())

async function control<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${sim.restUrl}/__sim/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  })
  if (r.status !== 200) throw new Error(`${method} /__sim/${path}: ${r.status} ${await r.text()}`)
  return (await r.json()) as T
}

describe('day rollover', () => {
  it('restarts numbering, expires day orders, settles T+2 and keeps the past days queryable', async () => {
    sim = await startSim({ limits: { restPerSecond: { real: 1_000 } } })
    const app = realApp(sim)
    const cano = app.accounts[0]?.cano ?? ''
    const tok = await token(sim, app)
    const account = () => control<SimAccountView>('GET', `account?cano=${cano}`)
    const start = await account()

    // Day 1 (Tue 2026-11-24): one order rests, one fills 2 @ 70,000.
    const resting = await placeOrder(sim, app, tok, { ORD_UNPR: '60000', ORD_QTY: '1' })
    const bought = await placeOrder(sim, app, tok, { ORD_UNPR: '70000', ORD_QTY: '2' })
    const day1 = [resting.body.output.ODNO as string, bought.body.output.ODNO as string]
    await control('POST', 'fill', { odno: day1[1], price: 70_000 })
    const afterFill = await account()
    expect(afterFill.settledCash).toBe(start.settledCash)
    expect(afterFill.d2Cash).toBe(start.settledCash - 140_000)
    expect(afterFill.d1Cash).toBe(start.settledCash)

    // Day 2 (Wed): the resting order expired with its session; numbering starts again.
    const roll = await control<{ date: string }>('POST', 'day/next', { at: '09:30' })
    expect(roll.date).toBe('20261125')
    const expired = await control<SimOrderView>('GET', `order?odno=${day1[0]}&date=20261124`)
    expect(expired).toMatchObject({ status: 'expired', remaining: 0, date: '20261124' })
    const day2 = await placeOrder(sim, app, tok, { ORD_UNPR: '61000', ORD_QTY: '3' })
    expect(day2.body.rt_cd).toBe('0')
    expect(day2.body.output.ODNO).toBe(day1[0])
    const today = await control<SimOrderView>('GET', `order?odno=${day1[0]}`)
    expect(today).toMatchObject({ date: '20261125', qty: 3, price: 61_000, status: 'open' })
    const afterRoll = await account()
    expect(afterRoll.settledCash).toBe(start.settledCash)
    expect(afterRoll.d1Cash).toBe(start.settledCash - 140_000)

    // The same number on two days: a cancel names today's order, never the expired one.
    const cancel = await post(
      sim,
      ORDER_RVSECNCL,
      {
        CANO: cano,
        ACNT_PRDT_CD: app.accounts[0]?.productCode ?? '01',
        KRX_FWDG_ORD_ORGNO: app.branch,
        ORGN_ODNO: day1[0],
        ORD_DVSN: '00',
        RVSE_CNCL_DVSN_CD: '02',
        ORD_QTY: '0',
        ORD_UNPR: '0',
        QTY_ALL_ORD_YN: 'Y',
      },
      headers(app, tok, 'TTTC0013U'),
    )
    expect(cancel.body.rt_cd).toBe('0')
    expect((await control<SimOrderView>('GET', `order?odno=${day1[0]}`)).status).toBe('cancelled')
    expect((await control<SimOrderView>('GET', `order?odno=${day1[0]}&date=20261124`)).status).toBe('expired')

    // Yesterday is history for the date-range query; the range over both days holds both orders
    // numbered alike, told apart by ord_dt.
    const daily = async (from: string, to: string) => {
      const r = await get(
        sim,
        DAILY_CCLD,
        dailyCcldQuery(app, { INQR_STRT_DT: from, INQR_END_DT: to }),
        headers(app, tok, 'TTTC0081R'),
      )
      expect(r.body.rt_cd).toBe('0')
      return (r.body.output1 as { ord_dt: string; odno: string; ord_qty: string }[]).map(
        (o) => `${o.ord_dt}/${o.odno}/${Number(o.ord_qty)}`,
      )
    }
    expect((await daily('20261124', '20261124')).sort()).toEqual([
      `20261124/${day1[0]}/1`,
      `20261124/${day1[1]}/2`,
    ])
    expect((await daily('20261124', '20261125')).sort()).toEqual([
      `20261124/${day1[0]}/1`,
      `20261124/${day1[1]}/2`,
      `20261125/${day1[0]}/3`,
      // The cancel is an order record of its own (reference §4.2), numbered on its day.
      `20261125/${cancel.body.output.ODNO}/3`,
    ])

    // Day 3 (Thu): the buy settled.
    expect((await control<{ date: string }>('POST', 'day/next', {})).date).toBe('20261126')
    const settled = await account()
    expect(settled.settledCash).toBe(start.settledCash - 140_000)
    expect(settled.pending).toEqual([])

    // The ledger spans the days: each order entry carries the day that, with the number, names it.
    const ledger = await control<{ orders: { date: string; odno: string; kind: string }[] }>('GET', 'ledger')
    expect(ledger.orders.map((o) => `${o.date}/${o.odno}/${o.kind}`)).toEqual([
      `20261124/${day1[0]}/new`,
      `20261124/${day1[1]}/new`,
      `20261125/${day1[0]}/new`,
      `20261125/${cancel.body.output.ODNO}/cancel`,
    ])
    const byDay = await control<SimOrderView[]>('GET', 'orders?date=20261124')
    expect(byDay.map((o) => o.odno).sort()).toEqual([...day1].sort())
    await expect(control('GET', 'orders?date=2026-11-24')).rejects.toThrow(/400/)
  })

  it('a circuit breaker fired over the control route refuses new orders with its own code', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const cb = await control<{ stage: number; haltUntil: number; auctionUntil: number }>(
      'POST',
      'circuit-breaker',
      { market: 'KOSPI', stage: 1 },
    )
    expect(cb.auctionUntil - cb.haltUntil).toBe(10 * 60_000)
    const refused = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    expect(refused.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0573' })
    const closed = await control<{ haltUntil: null }>('POST', 'circuit-breaker', {
      market: 'KOSPI',
      stage: 3,
    })
    expect(closed.haltUntil).toBeNull()
    expect((await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })).body.msg_cd).toBe('APBK0574')
    await expect(control('POST', 'circuit-breaker', { market: 'KOSPI', stage: 4 })).rejects.toThrow(/400/)
  })
})
