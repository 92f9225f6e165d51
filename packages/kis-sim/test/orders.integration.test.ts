import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim } from '../src/index'
import {
  BALANCE,
  DAILY_CCLD,
  dailyCcldQuery,
  get,
  HOLIDAY,
  headers,
  ORDER_CASH,
  ORDER_RVSECNCL,
  orderBody,
  PRICE,
  PSBL_ORDER,
  PSBL_RVSECNCL,
  PSBL_SELL,
  paperApp,
  placeOrder,
  post,
  realApp,
  startSim,
  token,
} from './helpers'

let sim: KisSim
afterEach(async () => sim?.close())

const acctQ = (app: { accounts: { cano: string; productCode: string }[] }) => ({
  CANO: app.accounts[0]?.cano ?? '',
  ACNT_PRDT_CD: app.accounts[0]?.productCode ?? '',
})

async function setup(opts = {}) {
  sim = await startSim(opts)
  const app = realApp(sim)
  const tok = await token(sim, app)
  return { app, tok }
}

describe('orders from another channel (control route, issue #9)', () => {
  it('an order placed for the account outside its app trades and lists like any other, and is not in the ledger’s requests', async () => {
    const { app, tok } = await setup()
    const cano = app.accounts[0]?.cano ?? ''
    const r = await fetch(`${sim.restUrl}/__sim/external-order`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ cano, symbol: '005930', side: 'buy', qty: 4, price: 69_000 }),
    })
    expect(r.status).toBe(200)
    const o = (await r.json()) as { odno: string; status: string; appkey: string }
    expect(o).toMatchObject({ status: 'open', appkey: app.appkey })
    // The app sees it in its books (it is the account's order)...
    const daily = await get(sim, DAILY_CCLD, dailyCcldQuery(app), headers(app, tok, 'TTTC0081R'))
    expect(daily.body.output1.map((x: { odno: string }) => x.odno)).toContain(o.odno)
    // ...but its app never sent it.
    expect(sim.control.ledger().orders).toEqual([])
    // A refusal is a 400 with the reason, nothing placed.
    const bad = await fetch(`${sim.restUrl}/__sim/external-order`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ cano, symbol: '005930', side: 'buy', qty: 1, price: 69_050 }),
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/order refused/)
    expect(sim.control.orders({ appkey: app.appkey })).toHaveLength(1)
  })
})

describe('order-cash (reference §4.1)', () => {
  it('accepts new and old TR ids; 10-digit ODNO, 5-digit branch, upper-case output keys', async () => {
    const { app, tok } = await setup()
    for (const tr of ['TTTC0012U', 'TTTC0802U']) {
      const r = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' }, tr)
      expect(r.status).toBe(200)
      expect(r.body).toMatchObject({ rt_cd: '0', msg_cd: 'APBK0013', msg1: '주문 전송 완료 되었습니다.' })
      expect(Object.keys(r.body.output)).toEqual(['KRX_FWDG_ORD_ORGNO', 'ODNO', 'ORD_TMD'])
      expect(r.body.output.ODNO).toMatch(/^\d{10}$/)
      expect(r.body.output.KRX_FWDG_ORD_ORGNO).toMatch(/^\d{5}$/)
      expect(r.body.output.ORD_TMD).toBe('100000')
    }
  })

  it('requires upper-case keys and string values (reference §3.1)', async () => {
    const { app, tok } = await setup()
    const lower = Object.fromEntries(Object.entries(orderBody(app)).map(([k, v]) => [k.toLowerCase(), v]))
    const r = await post(sim, ORDER_CASH, lower, headers(app, tok, 'TTTC0012U'))
    expect(r.body.rt_cd).toBe('1')
    const numeric = await post(
      sim,
      ORDER_CASH,
      { ...orderBody(app), ORD_QTY: 10 },
      headers(app, tok, 'TTTC0012U'),
    )
    expect(numeric.body.rt_cd).toBe('1')
    expect(sim.control.orders()).toHaveLength(0)
  })

  it('rejects insufficient cash, bad tick, outside limits, market closed (business errors, HTTP 200)', async () => {
    const { app, tok } = await setup()
    sim.control.seedAccount(app.accounts[0]?.cano ?? '', { cash: 1_000_000 })
    const cash = await placeOrder(sim, app, tok, { ORD_QTY: '100', ORD_UNPR: '69000' })
    expect(cash.status).toBe(200)
    expect(cash.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0918', msg1: '주문가능금액을 초과 했습니다' })
    const tick = await placeOrder(sim, app, tok, { ORD_QTY: '1', ORD_UNPR: '69050' })
    expect(tick.body.msg_cd).toBe('APBK0507')
    const limit = await placeOrder(sim, app, tok, { ORD_QTY: '1', ORD_UNPR: '91100' })
    expect(limit.body.msg_cd).toBe('APBK0506')
    sim.control.clock.set('2026-11-24 20:30:00')
    const closed = await placeOrder(sim, app, tok, { ORD_QTY: '1', ORD_UNPR: '69000' })
    expect(closed.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0919' })
  })

  it('decides order types by session: 06 only 15:30–16:00, 41 only in the after-market (krx-market-rules §1.2)', async () => {
    const { app, tok } = await setup()
    const early = await placeOrder(sim, app, tok, { ORD_DVSN: '06', ORD_UNPR: '0', ORD_QTY: '1' })
    expect(early.body.msg_cd).toBe('APBK0531')
    sim.control.clock.set('2026-11-24 15:35:00')
    const post06 = await placeOrder(sim, app, tok, { ORD_DVSN: '06', ORD_UNPR: '0', ORD_QTY: '1' })
    expect(post06.body.rt_cd).toBe('0')
    sim.control.clock.set('2026-11-24 16:30:00')
    const limit00 = await placeOrder(sim, app, tok, { ORD_DVSN: '00', ORD_UNPR: '69000', ORD_QTY: '1' })
    expect(limit00.body.msg_cd).toBe('APBK0531')
    const after41 = await placeOrder(sim, app, tok, { ORD_DVSN: '41', ORD_UNPR: '69000', ORD_QTY: '1' })
    expect(after41.body.rt_cd).toBe('0')
  })

  it('a holiday is closed (2026-12-25, krx-market-rules §5.1)', async () => {
    const { app } = await setup()
    sim.control.clock.set('2026-12-25 10:00:00')
    const r = await placeOrder(sim, app, await token(sim, app), { ORD_UNPR: '69000' })
    expect(r.body.msg_cd).toBe('APBK0919')
  })

  it('paper rejects real-only order types (reference §5, UNVERIFIED) and after 15:30 says 장종료', async () => {
    sim = await startSim()
    const app = paperApp(sim)
    const tok = await token(sim, app)
    const ioc = await placeOrder(sim, app, tok, { ORD_DVSN: '11' })
    expect(ioc.body.rt_cd).toBe('1')
    sim.control.clock.set('2026-11-24 15:45:00')
    const late = await placeOrder(sim, app, tok)
    expect(late.body.msg1).toBe('모의투자 장종료 입니다.')
  })

  it('market orders fill against the book; IOC cancels the remainder; FOK all-or-nothing', async () => {
    const { app, tok } = await setup()
    const m = await placeOrder(sim, app, tok, { ORD_DVSN: '01', ORD_UNPR: '0', ORD_QTY: '5' })
    const mo = sim.control.order(m.body.output.ODNO)
    expect(mo?.status).toBe('filled')
    expect(mo?.fills.reduce((a, f) => a + f.qty, 0)).toBe(5)
    const q = sim.control.quote('005930')
    sim.control.clock.advance(100)
    const ioc = await placeOrder(sim, app, tok, {
      ORD_DVSN: '11',
      ORD_UNPR: String(q.bestAsk),
      ORD_QTY: '1000',
    })
    const io = sim.control.order(ioc.body.output.ODNO)
    expect(io?.status).toBe('cancelled')
    expect(io?.filledQty).toBeGreaterThan(0)
    expect(io?.cancelledQty).toBe(1000 - (io?.filledQty ?? 0))
    const fok = await placeOrder(sim, app, tok, {
      ORD_DVSN: '12',
      ORD_UNPR: String(q.bestAsk),
      ORD_QTY: '1000',
    })
    const fo = sim.control.order(fok.body.output.ODNO)
    expect(fo?.filledQty).toBe(0)
    expect(fo?.cancelledQty).toBe(1000)
  })

  it('resting limit orders fill partially as the price path crosses them', async () => {
    sim = await startSim({ market: { priceModel: 'static' } })
    const app = realApp(sim)
    const tok = await token(sim, app)
    const r = await placeOrder(sim, app, tok, { ORD_UNPR: '69500', ORD_QTY: '500' })
    const odno = r.body.output.ODNO
    expect(sim.control.order(odno)?.status).toBe('open')
    sim.control.setPrice('005930', 69_500, 120)
    expect(sim.control.order(odno)).toMatchObject({ filledQty: 120, remaining: 380, status: 'open' })
    sim.control.setPrice('005930', 69_400, 1000)
    expect(sim.control.order(odno)).toMatchObject({ filledQty: 500, remaining: 0, status: 'filled' })
  })
})

describe('order-rvsecncl (reference §4.2)', () => {
  it('cancel returns a new ODNO linked by ORGN_ODNO; un-padded ORGN_ODNO accepted; nothing left → error', async () => {
    const { app, tok } = await setup()
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    const odno: string = o.body.output.ODNO
    const cancel = {
      ...{ CANO: app.accounts[0]?.cano, ACNT_PRDT_CD: '01' },
      KRX_FWDG_ORD_ORGNO: o.body.output.KRX_FWDG_ORD_ORGNO,
      ORGN_ODNO: String(Number(odno)),
      ORD_DVSN: '00',
      RVSE_CNCL_DVSN_CD: '02',
      ORD_QTY: '0',
      ORD_UNPR: '0',
      QTY_ALL_ORD_YN: 'Y',
    }
    const c = await post(sim, ORDER_RVSECNCL, cancel, headers(app, tok, 'TTTC0013U'))
    expect(c.body).toMatchObject({ rt_cd: '0', msg_cd: 'APBK0013' })
    expect(c.body.output.ODNO).not.toBe(odno)
    expect(Object.keys(c.body.output)).toEqual(['KRX_FWDG_ORD_ORGNO', 'ODNO', 'ORD_TMD'])
    expect(sim.control.order(c.body.output.ODNO)).toMatchObject({
      kind: 'cancel',
      origOdno: odno,
      cancelledQty: 10,
    })
    expect(sim.control.order(odno)?.status).toBe('cancelled')
    const again = await post(sim, ORDER_RVSECNCL, cancel, headers(app, tok, 'TTTC0803U'))
    expect(again.body).toMatchObject({ rt_cd: '1', msg1: '정정/취소할 수량이 없습니다.' })
  })

  it('modify moves the remainder to a new order at the new price', async () => {
    const { app, tok } = await setup()
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const m = await post(
      sim,
      ORDER_RVSECNCL,
      {
        CANO: app.accounts[0]?.cano,
        ACNT_PRDT_CD: '01',
        KRX_FWDG_ORD_ORGNO: '06010',
        ORGN_ODNO: o.body.output.ODNO,
        ORD_DVSN: '00',
        RVSE_CNCL_DVSN_CD: '01',
        ORD_QTY: '4',
        ORD_UNPR: '69500',
        QTY_ALL_ORD_YN: 'N',
      },
      headers(app, tok, 'TTTC0013U'),
    )
    expect(m.body.rt_cd).toBe('0')
    expect(sim.control.order(o.body.output.ODNO)).toMatchObject({ remaining: 6, movedQty: 4, status: 'open' })
    expect(sim.control.order(m.body.output.ODNO)).toMatchObject({
      price: 69_500,
      remaining: 4,
      status: 'open',
    })
  })

  it('cancel/replace race: a fill lands between the cancel request and its confirmation', async () => {
    sim = await startSim({ market: { priceModel: 'static', amendConfirmDelayMs: 500 } })
    const app = realApp(sim)
    const tok = await token(sim, app)
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const odno = o.body.output.ODNO
    const c = await post(
      sim,
      ORDER_RVSECNCL,
      {
        CANO: app.accounts[0]?.cano,
        ACNT_PRDT_CD: '01',
        KRX_FWDG_ORD_ORGNO: '06010',
        ORGN_ODNO: odno,
        ORD_DVSN: '00',
        RVSE_CNCL_DVSN_CD: '02',
        ORD_QTY: '0',
        ORD_UNPR: '0',
        QTY_ALL_ORD_YN: 'Y',
      },
      headers(app, tok, 'TTTC0013U'),
    )
    expect(c.body.rt_cd).toBe('0')
    sim.control.fill(odno, { qty: 3 })
    sim.control.clock.advance(500)
    expect(sim.control.order(odno)).toMatchObject({ filledQty: 3, cancelledQty: 7, status: 'cancelled' })
    expect(sim.control.order(c.body.output.ODNO)).toMatchObject({ status: 'confirmed', qty: 7 })
  })

  it('a wrong branch is refused; a cancel after a full fill is refused', async () => {
    const { app, tok } = await setup()
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    const body = {
      CANO: app.accounts[0]?.cano,
      ACNT_PRDT_CD: '01',
      KRX_FWDG_ORD_ORGNO: '99999',
      ORGN_ODNO: o.body.output.ODNO,
      ORD_DVSN: '00',
      RVSE_CNCL_DVSN_CD: '02',
      ORD_QTY: '0',
      ORD_UNPR: '0',
      QTY_ALL_ORD_YN: 'Y',
    }
    expect((await post(sim, ORDER_RVSECNCL, body, headers(app, tok, 'TTTC0013U'))).body.rt_cd).toBe('1')
    sim.control.fill(o.body.output.ODNO)
    const r = await post(
      sim,
      ORDER_RVSECNCL,
      { ...body, KRX_FWDG_ORD_ORGNO: '06010' },
      headers(app, tok, 'TTTC0013U'),
    )
    expect(r.body.msg1).toBe('정정/취소할 수량이 없습니다.')
  })
})

describe('inquiries (reference §4.3–§4.7)', () => {
  it('inquire-psbl-rvsecncl lists open orders on real and is refused on paper', async () => {
    const { app, tok } = await setup()
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    const r = await get(
      sim,
      PSBL_RVSECNCL,
      { ...acctQ(app), INQR_DVSN_1: '0', INQR_DVSN_2: '0', CTX_AREA_FK100: '', CTX_AREA_NK100: '' },
      headers(app, tok, 'TTTC0084R'),
    )
    expect(r.body.rt_cd).toBe('0')
    expect(r.body.output).toHaveLength(1)
    expect(r.body.output[0]).toMatchObject({
      odno: o.body.output.ODNO,
      psbl_qty: '10',
      ord_gno_brno: '06010',
    })
    const paper = paperApp(sim)
    const ptok = await token(sim, paper)
    const p = await get(sim, PSBL_RVSECNCL, acctQ(paper), headers(paper, ptok, 'TTTC0084R'))
    expect(p.body.msg_cd).toBe('EGW00213')
    sim.control.clock.advance(1000)
    const v = await get(sim, PSBL_RVSECNCL, acctQ(paper), headers(paper, ptok, 'VTTC0084R'))
    // reference §7.10: a paper account got rt_cd 1, msg_cd 90000000 (HTTP 200, a business answer).
    expect(v.status).toBe(200)
    expect(v.body).toMatchObject({ rt_cd: '1', msg_cd: '90000000' })
    await sim.close()
    // As documented (§4.3): not offered on paper at all.
    sim = await startSim({ paper: 'documented' })
    const dpaper = paperApp(sim)
    const dtok = await token(sim, dpaper)
    const d = await get(sim, PSBL_RVSECNCL, acctQ(dpaper), headers(dpaper, dtok, 'VTTC0084R'))
    expect(d.body.msg_cd).toBe('OPSQ0002')
  })

  it('inquire-psbl-sell: the holding and what is sellable after open sells; real only', async () => {
    const { app, tok } = await setup()
    const cano = app.accounts[0]?.cano ?? ''
    sim.control.setPosition(cano, { symbol: '000660', qty: 12, avgPrice: 170_000 })
    // A sell resting at the upper limit holds 5 of the 12 shares.
    const upper = String(sim.control.quote('000660').upper)
    const sell = await placeOrder(
      sim,
      app,
      tok,
      { PDNO: '000660', ORD_QTY: '5', ORD_UNPR: upper },
      'TTTC0011U',
    )
    expect(sell.body.rt_cd, JSON.stringify(sell.body)).toBe('0')
    const r = await get(sim, PSBL_SELL, { ...acctQ(app), PDNO: '000660' }, headers(app, tok, 'TTTC8408R'))
    expect(r.body.rt_cd).toBe('0')
    const price = Number(sim.control.quote('000660').price)
    expect(r.body.output).toMatchObject({
      pdno: '000660',
      cblc_qty: '12',
      ord_psbl_qty: '7',
      pchs_amt: String(12 * 170_000),
      pchs_avg_pric: '170000.0000',
      now_pric: String(price),
      evlu_amt: String(12 * price),
      evlu_pfls_amt: String(12 * price - 12 * 170_000),
    })
    expect(Object.values(r.body.output).every((v) => typeof v === 'string')).toBe(true)
    const none = await get(sim, PSBL_SELL, { ...acctQ(app), PDNO: '035720' }, headers(app, tok, 'TTTC8408R'))
    expect(none.body.output).toMatchObject({ cblc_qty: '0', ord_psbl_qty: '0' })
    const bad = await get(sim, PSBL_SELL, { ...acctQ(app), PDNO: '' }, headers(app, tok, 'TTTC8408R'))
    expect(bad.body).toMatchObject({ rt_cd: '1', msg_cd: 'OPSQ2002' })
    const paper = paperApp(sim)
    const ptok = await token(sim, paper)
    const p = await get(
      sim,
      PSBL_SELL,
      { ...acctQ(paper), PDNO: '000660' },
      headers(paper, ptok, 'VTTC8408R'),
    )
    expect(p.body.rt_cd).toBe('1')
    expect(p.body.output).toBeUndefined()
  })

  it('inquire-daily-ccld paginates 15 rows on paper with tr_cont M then D and cursors', async () => {
    // The paper profile as documented; the reported one lists no rows (paper-profile tests).
    sim = await startSim({ limits: { restPerSecond: { paper: 1000 } }, paper: 'documented' })
    const app = paperApp(sim)
    const tok = await token(sim, app)
    for (let i = 0; i < 20; i++) await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '1' })
    const q = dailyCcldQuery(app)
    const p1 = await get(sim, DAILY_CCLD, q, headers(app, tok, 'VTTC0081R', { tr_cont: '' }))
    expect(p1.headers.get('tr_cont')).toBe('M')
    expect(p1.body.output1).toHaveLength(15)
    expect(p1.body.output2.tot_ord_qty).toBe('20')
    expect(Array.isArray(p1.body.output2)).toBe(false)
    const p2 = await get(
      sim,
      DAILY_CCLD,
      { ...q, CTX_AREA_FK100: p1.body.ctx_area_fk100, CTX_AREA_NK100: p1.body.ctx_area_nk100 },
      headers(app, tok, 'VTTC0081R', { tr_cont: 'N' }),
    )
    expect(p2.headers.get('tr_cont')).toBe('D')
    expect(p2.body.output1).toHaveLength(5)
    const all = [...p1.body.output1, ...p2.body.output1].map((r: { odno: string }) => r.odno)
    expect(new Set(all).size).toBe(20)
    // 역순: newest first
    expect(Number(all[0]) > Number(all[19])).toBe(true)
    expect(p1.body.output1[0].excg_id_dvsn_Cd).toBe('KRX')
  })

  it('inquire-balance: output1 rows, output2 array of one, sold-out positions stay with qty 0 until D+2', async () => {
    const { app, tok } = await setup()
    const cano = app.accounts[0]?.cano ?? ''
    sim.control.setPosition(cano, { symbol: '000660', qty: 5, avgPrice: 170_000 })
    const s = await placeOrder(
      sim,
      app,
      tok,
      { PDNO: '000660', ORD_DVSN: '01', ORD_UNPR: '0', ORD_QTY: '5' },
      'TTTC0011U',
    )
    expect(s.body.rt_cd).toBe('0')
    const b = await get(
      sim,
      BALANCE,
      {
        ...acctQ(app),
        AFHR_FLPR_YN: 'N',
        INQR_DVSN: '02',
        UNPR_DVSN: '01',
        FUND_STTL_ICLD_YN: 'N',
        FNCG_AMT_AUTO_RDPT_YN: 'N',
        PRCS_DVSN: '00',
        OFL_YN: '',
        CTX_AREA_FK100: '',
        CTX_AREA_NK100: '',
      },
      headers(app, tok, 'TTTC8434R'),
    )
    expect(b.body.output2).toHaveLength(1)
    const row = b.body.output1.find((r: { pdno: string }) => r.pdno === '000660')
    expect(row).toMatchObject({ hldg_qty: '0', thdt_sll_qty: '5' })
    expect(Number(b.body.output2[0].prvs_rcdl_excc_amt)).toBeGreaterThan(
      Number(b.body.output2[0].dnca_tot_amt),
    )
    // D+2 is Thursday 2026-11-26: the row is gone and the cash settled.
    sim.control.clock.set('2026-11-26 09:30:00')
    const later = await get(sim, BALANCE, acctQ(app), headers(app, await token(sim, app), 'TTTC8434R'))
    expect(later.body.output1.find((r: { pdno: string }) => r.pdno === '000660')).toBeUndefined()
    expect(later.body.output2[0].dnca_tot_amt).toBe(later.body.output2[0].prvs_rcdl_excc_amt)
  })

  it('inquire-balance paginates 20 rows on paper', async () => {
    sim = await startSim({ limits: { restPerSecond: { paper: 100 } } })
    const app = paperApp(sim)
    const tok = await token(sim, app)
    const cano = app.accounts[0]?.cano ?? ''
    for (let i = 0; i < 25; i++) {
      const code = String(100000 + i)
      sim.control.addSymbol({ code, basePrice: 10_000 })
      sim.control.setPosition(cano, { symbol: code, qty: 1 })
    }
    const p1 = await get(sim, BALANCE, acctQ(app), headers(app, tok, 'VTTC8434R'))
    expect(p1.body.output1).toHaveLength(20)
    expect(p1.headers.get('tr_cont')).toBe('M')
    const p2 = await get(
      sim,
      BALANCE,
      { ...acctQ(app), CTX_AREA_NK100: p1.body.ctx_area_nk100, CTX_AREA_FK100: p1.body.ctx_area_fk100 },
      headers(app, tok, 'VTTC8434R', { tr_cont: 'N' }),
    )
    expect(p2.body.output1).toHaveLength(5)
    expect(p2.headers.get('tr_cont')).toBe('D')
  })

  it('orderable cash is reduced by open buys (inquire-psbl-order)', async () => {
    const { app, tok } = await setup()
    await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '100' })
    const r = await get(
      sim,
      PSBL_ORDER,
      {
        ...acctQ(app),
        PDNO: '005930',
        ORD_UNPR: '69000',
        ORD_DVSN: '00',
        CMA_EVLU_AMT_ICLD_YN: 'N',
        OVRS_ICLD_YN: 'N',
      },
      headers(app, tok, 'TTTC8908R'),
    )
    expect(r.body.output.ord_psbl_cash).toBe(String(100_000_000 - 6_900_000))
    expect(r.body.output.nrcvb_buy_qty).toBe(String(Math.floor(93_100_000 / 69_000)))
  })

  it('inquire-price returns limits, tick and control-set flags as strings', async () => {
    const { app, tok } = await setup()
    sim.control.setSymbol('005930', { halted: true, vi: 'static', warning: '02', shortOverheated: true })
    const r = await get(
      sim,
      PRICE,
      { fid_cond_mrkt_div_code: 'J', fid_input_iscd: '005930' },
      headers(app, tok, 'FHKST01010100'),
    )
    expect(r.body.output).toMatchObject({
      stck_sdpr: '70000',
      stck_mxpr: '91000',
      stck_llam: '49000',
      aspr_unit: '100',
      temp_stop_yn: 'Y',
      vi_cls_code: 'S',
      mrkt_warn_cls_code: '02',
      short_over_yn: 'Y',
    })
    for (const v of Object.values(r.body.output)) expect(typeof v).toBe('string')
    const halted = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    expect(halted.body.msg_cd).toBe('APBK0570')
  })

  it('chk-holiday reports opnd_yn per day', async () => {
    const { app, tok } = await setup()
    const r = await get(
      sim,
      HOLIDAY,
      { BASS_DT: '20261224', CTX_AREA_NK: '', CTX_AREA_FK: '' },
      headers(app, tok, 'CTCA0903R'),
    )
    const byDate = Object.fromEntries(
      r.body.output.map((x: { bass_dt: string; opnd_yn: string }) => [x.bass_dt, x.opnd_yn]),
    )
    expect(byDate).toMatchObject({
      '20261224': 'Y',
      '20261225': 'N',
      '20261226': 'N',
      '20261228': 'Y',
      '20261231': 'N',
    })
  })
})
