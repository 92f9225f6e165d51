import { afterEach, describe, expect, it } from 'vitest'
import { type KisSim, resolvePaperProfile } from '../src/index'
import {
  approvalKey,
  DAILY_CCLD,
  dailyCcldQuery,
  decryptIndependently,
  get,
  headers,
  isData,
  ORDER_RVSECNCL,
  paperApp,
  placeOrder,
  post,
  startSim,
  token,
  WsClient,
} from './helpers'

// The paper environment as a paper account was seen to behave (reference §7.10), which is the
// simulator's default paper profile.

let sim: KisSim | undefined
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
  sim = undefined
})

type App = ReturnType<typeof paperApp>
const acctQ = (app: App) => ({
  CANO: app.accounts[0]?.cano ?? '',
  ACNT_PRDT_CD: app.accounts[0]?.productCode ?? '',
})

async function noticeClient(s: KisSim, app: App) {
  const key = await approvalKey(s, app)
  const c = await WsClient.connect(s.wsUrl)
  clients.push(c)
  c.subscribe(key, 'H0STCNI9', app.htsId)
  const ack = await c.json()
  const { key: k, iv } = ack.body.output as { key: string; iv: string }
  const nextNotice = async () => {
    const f = await c.next(isData)
    return decryptIndependently(f.split('|', 4)[3] ?? '', k, iv).split('^')
  }
  return { c, nextNotice }
}

const cancelBody = (app: App, orig: string) => ({
  ...acctQ(app),
  KRX_FWDG_ORD_ORGNO: '00950',
  ORGN_ODNO: orig,
  ORD_DVSN: '00',
  RVSE_CNCL_DVSN_CD: '02',
  ORD_QTY: '0',
  ORD_UNPR: '0',
  QTY_ALL_ORD_YN: 'Y',
})

describe('kis-sim paper profile (reference §7.10, defaults as reported)', () => {
  it('notices overtake the answer of an order and of a cancel', async () => {
    sim = await startSim({ limits: { restPerSecond: { paper: 1000 } } })
    const s = sim
    const app = paperApp(s)
    const tok = await token(s, app)
    const { nextNotice } = await noticeClient(s, app)
    let answered = false
    const order = placeOrder(s, app, tok, { ORD_UNPR: '69000', ORD_QTY: '3' }).then((r) => {
      answered = true
      return r
    })
    const receipt = await nextNotice()
    expect(answered).toBe(false)
    const o = await order
    expect(o.body.rt_cd).toBe('0')
    expect(receipt[2]).toBe(o.body.output.ODNO)
    answered = false
    const cancel = post(
      s,
      ORDER_RVSECNCL,
      cancelBody(app, o.body.output.ODNO),
      headers(app, tok, 'VTTC0013U'),
    ).then((r) => {
      answered = true
      return r
    })
    const confirmation = await nextNotice()
    expect(answered).toBe(false)
    const c = await cancel
    expect(c.body.rt_cd).toBe('0')
    expect(confirmation[2]).toBe(c.body.output.ODNO)
  })

  it('a cancel is confirmed by one notice under its own number: RCTF_CLS 2, ACPT_YN 2, OODER_NO the original, price 0, quantity the shares canceled; no receipt', async () => {
    sim = await startSim({ limits: { restPerSecond: { paper: 1000 } } })
    const s = sim
    const app = paperApp(s)
    const tok = await token(s, app)
    const { nextNotice, c } = await noticeClient(s, app)
    const o = await placeOrder(s, app, tok, { ORD_UNPR: '69000', ORD_QTY: '14' })
    const odno = o.body.output.ODNO as string
    expect((await nextNotice())[14]).toBe('1')
    s.control.fill(odno, { qty: 9, price: 69_000 })
    const fill = await nextNotice()
    expect([fill[13], fill[9]]).toEqual(['2', '9'])
    const cancel = await post(s, ORDER_RVSECNCL, cancelBody(app, odno), headers(app, tok, 'VTTC0013U'))
    expect(cancel.body.rt_cd).toBe('0')
    const n = await nextNotice()
    expect(n).toHaveLength(23)
    expect({
      odno: n[2],
      original: n[3],
      rctf: n[5],
      qty: n[9],
      price: n[10],
      cntg: n[13],
      acpt: n[14],
    }).toEqual({
      odno: cancel.body.output.ODNO,
      original: odno,
      rctf: '2',
      qty: '5',
      price: '0',
      cntg: '1',
      acpt: '2',
    })
    // Nothing else followed for the cancel (no 접수 before or after).
    await expect(c.next(isData, 300)).rejects.toThrow(/no matching message/)
  })

  it('inquire-daily-ccld lists no order rows (msg_cd 70070000) but output2 keeps the day’s totals; a listing profile lists them', async () => {
    for (const [profile, rows] of [
      ['reported', 0],
      [{ listsOrders: true }, 2],
    ] as const) {
      sim = await startSim({ limits: { restPerSecond: { paper: 1000 } }, paper: profile })
      const s = sim
      const app = paperApp(s)
      const tok = await token(s, app)
      const a = await placeOrder(s, app, tok, { ORD_UNPR: '69000', ORD_QTY: '4' })
      await placeOrder(s, app, tok, { ORD_UNPR: '69000', ORD_QTY: '2' })
      s.control.fill(a.body.output.ODNO, { qty: 3, price: 69_000 })
      const q = dailyCcldQuery(app)
      for (const trId of ['VTTC0081R', 'VTTC8001R']) {
        const r = await get(s, DAILY_CCLD, q, headers(app, tok, trId))
        expect(r.body.rt_cd).toBe('0')
        expect(r.body.output1).toHaveLength(rows)
        expect(r.body.output2).toMatchObject({ tot_ord_qty: '6', tot_ccld_qty: '3' })
        if (rows === 0) expect(r.body.msg_cd).toBe('70070000')
      }
      await s.close()
      sim = undefined
    }
  })

  it('the profile is validated and merged over the reported defaults', () => {
    expect(resolvePaperProfile(undefined)).toEqual({
      noticeFields: 23,
      listsOrders: false,
      psblRvsecncl: 'refused',
      answerAfterNoticeMs: [150, 400],
      cancelNotices: 'confirm-only',
    })
    expect(resolvePaperProfile('documented')).toMatchObject({ noticeFields: 26, listsOrders: true })
    expect(resolvePaperProfile({ noticeFields: 26 })).toMatchObject({ noticeFields: 26, listsOrders: false })
    expect(() => resolvePaperProfile({ answerAfterNoticeMs: [400, 150] })).toThrow(/answerAfterNoticeMs/)
    expect(() => resolvePaperProfile({ noticeFields: 24 as 23 })).toThrow(/noticeFields/)
  })
})
