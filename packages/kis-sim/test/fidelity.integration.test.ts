import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim } from '../src/index'
import {
  approvalKey,
  BALANCE,
  DAILY_CCLD,
  dailyCcldQuery,
  decryptIndependently,
  get,
  HOLIDAY,
  headers,
  isData,
  ORDER_CASH,
  ORDER_RVSECNCL,
  orderBody,
  PRICE,
  PSBL_ORDER,
  PSBL_RVSECNCL,
  paperApp,
  placeOrder,
  post,
  type Reply,
  realApp,
  startSim,
  token,
  WsClient,
} from './helpers'

// Checks of reference/kis-openapi.md §9 "Simulator fidelity checklist" (and the §2–§8 wire details
// it summarises) that the other suites do not cover. Everything goes over real sockets.

let sim: KisSim
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
})

type App = ReturnType<typeof realApp>

const acctQ = (app: App) => ({
  CANO: app.accounts[0]?.cano ?? '',
  ACNT_PRDT_CD: app.accounts[0]?.productCode ?? '',
})

const dailyQ = (app: App) => dailyCcldQuery(app)

const amendBody = (app: App, orig: string, over: Record<string, string> = {}) => ({
  ...acctQ(app),
  KRX_FWDG_ORD_ORGNO: app.branch,
  ORGN_ODNO: orig,
  ORD_DVSN: '00',
  RVSE_CNCL_DVSN_CD: '02',
  ORD_QTY: '0',
  ORD_UNPR: '0',
  QTY_ALL_ORD_YN: 'Y',
  ...over,
})

/** Every leaf of a JSON value with its path. */
function leaves(v: unknown, path = '$'): [string, unknown][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`))
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, `${path}.${k}`))
  return [[path, v]]
}

/** reference §9: all REST values are JSON strings; msg_cd is 8 chars; `rt_cd` is "0" on success. */
function expectWireStrings(r: Reply, label: string): void {
  const bad = leaves(r.body).filter(([, v]) => typeof v !== 'string')
  expect(bad, label).toEqual([])
  expect(r.body.msg_cd, label).toMatch(/^[0-9A-Z]{8}$/)
  expect(r.body.rt_cd, label).toBe('0')
}

/** reference §9: order outputs have upper-case keys, inquiry outputs lower-case keys. */
function outputKeys(body: Record<string, unknown>): string[] {
  const keys: string[] = []
  for (const k of ['output', 'output1', 'output2']) {
    const v = body[k]
    const rows = Array.isArray(v) ? v : v ? [v] : []
    for (const row of rows) keys.push(...Object.keys(row as object))
  }
  return keys
}

describe('wire formats (reference §9 "Wire formats", §3.2, §2.1, §2.2)', () => {
  it('every REST value is a string except tokenP expires_in and revokeP code; key casing by API', async () => {
    // Paper as documented, so that its daily-ccld has rows to check (the reported profile has none).
    sim = await startSim({ limits: { restPerSecond: { real: 1000, paper: 1000 } }, paper: 'documented' })
    const app = realApp(sim)
    const tp = await post(sim, '/oauth2/tokenP', {
      grant_type: 'client_credentials',
      appkey: app.appkey,
      appsecret: app.appsecret,
    })
    expect(typeof tp.body.expires_in).toBe('number')
    expect(leaves(tp.body).filter(([p, v]) => p !== '$.expires_in' && typeof v !== 'string')).toEqual([])
    // reference §2.1: access_token is a string of at most 350 chars (measured ≈346).
    expect(tp.body.access_token.length).toBeLessThanOrEqual(350)
    const tok: string = tp.body.access_token
    sim.control.setPosition(app.accounts[0]?.cano ?? '', { symbol: '000660', qty: 10 })

    const order = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const odno: string = order.body.output.ODNO
    sim.control.fill(odno, { qty: 2 })
    const modify = await post(
      sim,
      ORDER_RVSECNCL,
      amendBody(app, odno, { RVSE_CNCL_DVSN_CD: '01', ORD_UNPR: '69100' }),
      headers(app, tok, 'TTTC0013U'),
    )
    const cancel = await post(
      sim,
      ORDER_RVSECNCL,
      amendBody(app, modify.body.output.ODNO),
      headers(app, tok, 'TTTC0013U'),
    )
    for (const [label, r] of [
      ['order-cash', order],
      ['modify', modify],
      ['cancel', cancel],
    ] as const) {
      expectWireStrings(r, label)
      for (const k of outputKeys(r.body)) expect(k, label).toBe(k.toUpperCase())
    }

    const open = await placeOrder(sim, app, tok, { ORD_UNPR: '68000', ORD_QTY: '1' })
    expectWireStrings(open, 'order-cash 2')
    const inquiries: [string, Reply][] = [
      ['balance', await get(sim, BALANCE, acctQ(app), headers(app, tok, 'TTTC8434R'))],
      ['daily-ccld', await get(sim, DAILY_CCLD, dailyQ(app), headers(app, tok, 'TTTC0081R'))],
      [
        'psbl-rvsecncl',
        await get(
          sim,
          PSBL_RVSECNCL,
          { ...acctQ(app), INQR_DVSN_1: '0', INQR_DVSN_2: '0' },
          headers(app, tok, 'TTTC0084R'),
        ),
      ],
      [
        'psbl-order',
        await get(
          sim,
          PSBL_ORDER,
          { ...acctQ(app), PDNO: '005930', ORD_UNPR: '', ORD_DVSN: '01' },
          headers(app, tok, 'TTTC8908R'),
        ),
      ],
      [
        'price',
        await get(
          sim,
          PRICE,
          { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' },
          headers(app, tok, 'FHKST01010100'),
        ),
      ],
      ['holiday', await get(sim, HOLIDAY, { BASS_DT: '20261124' }, headers(app, tok, 'CTCA0903R'))],
    ]
    for (const [label, r] of inquiries) {
      expect(r.status, label).toBe(200)
      expectWireStrings(r, label)
      // reference §4.4: `excg_id_dvsn_Cd` keeps the spec's capital C.
      for (const k of outputKeys(r.body)) if (k !== 'excg_id_dvsn_Cd') expect(k, label).toBe(k.toLowerCase())
    }
    // reference §3.2: inquire-balance output2 is an array of one, inquire-daily-ccld output2 an object.
    expect(inquiries[0]?.[1].body.output2).toHaveLength(1)
    expect(Array.isArray(inquiries[1]?.[1].body.output2)).toBe(false)
    expect(inquiries[1]?.[1].body.output1).toHaveLength(4)

    const paper = paperApp(sim)
    const ptok = await token(sim, paper)
    const pOrder = await placeOrder(sim, paper, ptok, { ORD_UNPR: '69000', ORD_QTY: '1' })
    expectWireStrings(pOrder, 'paper order')
    // reference §9: ODNO 10 digits, branch 00950 on paper.
    expect(pOrder.body.output).toMatchObject({
      ODNO: expect.stringMatching(/^\d{10}$/),
      KRX_FWDG_ORD_ORGNO: '00950',
    })
    const pDaily = await get(sim, DAILY_CCLD, dailyQ(paper), headers(paper, ptok, 'VTTC0081R'))
    expectWireStrings(pDaily, 'paper daily-ccld')
    expect(pDaily.body.output1[0].ord_gno_brno).toBe('00950')

    const rv = await post(sim, '/oauth2/revokeP', {
      appkey: app.appkey,
      appsecret: app.appsecret,
      token: tok,
    })
    expect(rv.body.code).toBe(200)
    expect(typeof rv.body.message).toBe('string')
  })

  it('response header names and values as KIS sends them (reference §3.2; every route: headers.integration.test.ts)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const url = new URL(`${sim.restUrl}${PRICE}?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930`)
    const raw = await new Promise<string[]>((resolve, reject) => {
      const req = request(url, { headers: headers(app, tok, 'FHKST01010100') }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.rawHeaders))
      })
      req.on('error', reject)
      req.end()
    })
    const names = raw.filter((_, i) => i % 2 === 0)
    for (const n of ['Content-Type', 'tr_id', 'tr_cont', 'gt_uid']) expect(names).toContain(n)
    const value = (n: string) => raw[raw.indexOf(n) + 1]
    expect(value('Content-Type')).toBe('application/json; charset=utf-8')
    expect(value('tr_id')).toBe('FHKST01010100')
  })
})

describe('pagination on real accounts (reference §3.3: 100 daily-ccld, 50 psbl-rvsecncl, 50 balance)', () => {
  it('pages with tr_cont M then D and the ctx_area cursors', async () => {
    sim = await startSim({ limits: { restPerSecond: { real: 10_000 } } })
    const app = realApp(sim)
    const tok = await token(sim, app)
    for (let i = 0; i < 101; i++) {
      const r = await placeOrder(sim, app, tok, { ORD_UNPR: '60000', ORD_QTY: '1' })
      expect(r.body.rt_cd).toBe('0')
    }
    const pages = async (path: string, q: Record<string, string>, trId: string): Promise<number[]> => {
      const sizes: number[] = []
      let cursor = { CTX_AREA_FK100: '', CTX_AREA_NK100: '' }
      let cont = ''
      for (let i = 0; i < 5; i++) {
        const r = await get(sim, path, { ...q, ...cursor }, headers(app, tok, trId, { tr_cont: cont }))
        sizes.push((r.body.output1 ?? r.body.output).length)
        const more = r.headers.get('tr_cont')
        expect(['M', 'D']).toContain(more)
        if (more === 'D') break
        cursor = { CTX_AREA_FK100: r.body.ctx_area_fk100, CTX_AREA_NK100: r.body.ctx_area_nk100 }
        cont = 'N'
      }
      return sizes
    }
    expect(await pages(DAILY_CCLD, dailyQ(app), 'TTTC0081R')).toEqual([100, 1])
    expect(
      await pages(PSBL_RVSECNCL, { ...acctQ(app), INQR_DVSN_1: '0', INQR_DVSN_2: '0' }, 'TTTC0084R'),
    ).toEqual([50, 50, 1])
    const cano = app.accounts[0]?.cano ?? ''
    for (let i = 0; i < 51; i++) {
      const code = String(200000 + i)
      sim.control.addSymbol({ code, basePrice: 10_000 })
      sim.control.setPosition(cano, { symbol: code, qty: 1 })
    }
    expect(await pages(BALANCE, acctQ(app), 'TTTC8434R')).toEqual([50, 1])
  })
})

describe('paper restrictions (reference §9 "Paper restrictions", §4.0, §4.1)', () => {
  it('psbl-rvsecncl and chk-holiday are not offered; real TRs get EGW00213; only KRX routing', async () => {
    sim = await startSim({ limits: { restPerSecond: { paper: 1000 } } })
    const paper = paperApp(sim)
    const ptok = await token(sim, paper)
    for (const [path, tr] of [
      [PSBL_RVSECNCL, 'TTTC0084R'],
      [HOLIDAY, 'CTCA0903R'],
      [BALANCE, 'TTTC8434R'],
    ] as const) {
      const r = await get(sim, path, acctQ(paper), headers(paper, ptok, tr))
      expect(r.status, tr).toBe(500)
      expect(r.body, tr).toMatchObject({ rt_cd: '1', msg_cd: 'EGW00213' })
    }
    const v = await get(sim, PSBL_RVSECNCL, acctQ(paper), headers(paper, ptok, 'VTTC0084R'))
    expect(v.body).toMatchObject({ rt_cd: '1', msg1: '모의투자에서는 해당업무가 제공되지 않습니다.' })
    for (const ex of ['SOR', 'NXT']) {
      const r = await placeOrder(sim, paper, ptok, { ORD_UNPR: '69000', EXCG_ID_DVSN_CD: ex })
      expect(r.body, ex).toMatchObject({ rt_cd: '1', msg1: '모의투자는 KRX만 가능합니다.' })
    }
    const krx = await placeOrder(sim, paper, ptok, { ORD_UNPR: '69000', EXCG_ID_DVSN_CD: 'KRX' })
    expect(krx.body.rt_cd).toBe('0')
    // Real accounts: empty → KRX, SOR accepted (KRX takes a limit at 10:00), NXT for an
    // NXT-eligible symbol only (krx-market-rules §2.2).
    const app = realApp(sim)
    const tok = await token(sim, app)
    expect((await placeOrder(sim, app, tok, { ORD_UNPR: '69000', EXCG_ID_DVSN_CD: 'SOR' })).body.rt_cd).toBe(
      '0',
    )
    expect((await placeOrder(sim, app, tok, { ORD_UNPR: '69000', EXCG_ID_DVSN_CD: 'NXT' })).body.rt_cd).toBe(
      '0',
    )
    const ineligible = await placeOrder(sim, app, tok, {
      PDNO: '000020',
      ORD_UNPR: '1990',
      EXCG_ID_DVSN_CD: 'NXT',
    })
    expect(ineligible.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0575' })
  })
})

describe('modify/cancel linkage (reference §4.2, §7.9, §9 "Orders")', () => {
  it('the new ODNO links back through orgn_odno (inquiries) and OODER_NO (notices, RCTF_CLS 1/2)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const key = await approvalKey(sim, app)
    const c = await WsClient.connect(`${sim.wsUrl}/tryitout`)
    clients.push(c)
    c.subscribe(key, 'H0STCNI0', app.htsId)
    const ack = await c.json()
    const { key: aes, iv } = ack.body.output
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    const m = await post(
      sim,
      ORDER_RVSECNCL,
      // reference §9: inbound ORGN_ODNO may be un-padded.
      amendBody(app, String(Number(orig)), {
        RVSE_CNCL_DVSN_CD: '01',
        ORD_QTY: '4',
        ORD_UNPR: '68900',
        QTY_ALL_ORD_YN: 'N',
      }),
      headers(app, tok, 'TTTC0013U'),
    )
    const mod: string = m.body.output.ODNO
    expect(mod).toMatch(/^\d{10}$/)
    expect(mod).not.toBe(orig)
    sim.control.clock.advance(1000)
    const psbl = await get(
      sim,
      PSBL_RVSECNCL,
      { ...acctQ(app), INQR_DVSN_1: '0', INQR_DVSN_2: '0' },
      headers(app, tok, 'TTTC0084R'),
    )
    const rows = Object.fromEntries(
      psbl.body.output.map((r: { odno: string; orgn_odno: string; psbl_qty: string }) => [r.odno, r]),
    )
    expect(rows[orig]).toMatchObject({ psbl_qty: '6' })
    expect(rows[mod]).toMatchObject({ orgn_odno: orig, psbl_qty: '4', ord_unpr: '68900' })
    const c2 = await post(sim, ORDER_RVSECNCL, amendBody(app, mod), headers(app, tok, 'TTTC0803U'))
    const cxl: string = c2.body.output.ODNO
    sim.control.clock.advance(1000)
    const daily = await get(sim, DAILY_CCLD, dailyQ(app), headers(app, tok, 'TTTC0081R'))
    const byOdno = Object.fromEntries(daily.body.output1.map((r: { odno: string }) => [r.odno, r]))
    expect(byOdno[mod]).toMatchObject({ orgn_odno: orig, rmn_qty: '0', cnc_cfrm_qty: '4' })
    expect(byOdno[cxl]).toMatchObject({ orgn_odno: mod, cncl_yn: 'Y' })
    expect(byOdno[orig]).toMatchObject({ orgn_odno: '', rmn_qty: '6' })

    const recs: string[][] = []
    for (let i = 0; i < 5; i++) {
      const f = await c.next(isData)
      const [enc, tr, count, b64] = f.split('|', 4) as [string, string, string, string]
      expect([enc, tr, count]).toEqual(['1', 'H0STCNI0', '001'])
      recs.push(decryptIndependently(b64, aes, iv).split('^'))
    }
    const [rNew, rMod, rModOk, rCxl, rCxlOk] = recs as [string[], string[], string[], string[], string[]]
    // fields: 2 ODER_NO, 3 OODER_NO, 5 RCTF_CLS, 13 CNTG_YN, 14 ACPT_YN (1 접수, 2 확인), 16 ODER_QTY
    expect([rNew[2], rNew[3], rNew[5], rNew[13], rNew[14]]).toEqual([orig, '0000000000', '0', '1', '1'])
    expect([rMod[2], rMod[3], rMod[5], rMod[13], rMod[14], rMod[16]]).toEqual([mod, orig, '1', '1', '1', '4'])
    expect([rModOk[2], rModOk[3], rModOk[5], rModOk[13], rModOk[14], rModOk[16]]).toEqual([
      mod,
      orig,
      '1',
      '1',
      '2',
      '4',
    ])
    expect([rCxl[2], rCxl[3], rCxl[5], rCxl[13], rCxl[14]]).toEqual([cxl, mod, '2', '1', '1'])
    expect([rCxlOk[2], rCxlOk[3], rCxlOk[5], rCxlOk[13], rCxlOk[14]]).toEqual([cxl, mod, '2', '1', '2'])
  })

  it.each([
    ['reported', 23, 21],
    ['documented', 26, 24],
  ] as const)(
    'paper notices use H0STCNI9 and branch 00950 (%s profile: %i fields, name at %i)',
    async (profile, fields, nameAt) => {
      sim = await startSim({ paper: profile })
      const app = paperApp(sim)
      const tok = await token(sim, app)
      const key = await approvalKey(sim, app)
      const c = await WsClient.connect(sim.wsUrl)
      clients.push(c)
      c.subscribe(key, 'H0STCNI0', app.htsId)
      expect((await c.json()).body.msg_cd).toBe('OPSP8991')
      c.subscribe(key, 'H0STCNI9', app.htsId)
      const ack = await c.json()
      expect(ack.header).toEqual({ tr_id: 'H0STCNI9', tr_key: app.htsId, encrypt: 'Y' })
      const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '3' })
      const f = await c.next(isData)
      const [enc, tr, count, b64] = f.split('|', 4) as [string, string, string, string]
      expect([enc, tr, count]).toEqual(['1', 'H0STCNI9', '001'])
      const rec = decryptIndependently(b64, ack.body.output.key, ack.body.output.iv).split('^')
      expect(rec).toHaveLength(fields)
      expect([rec[0], rec[1], rec[2], rec[15], rec[16], rec[nameAt], rec[nameAt + 1]]).toEqual([
        app.htsId,
        `${app.accounts[0]?.cano}01`,
        o.body.output.ODNO,
        '00950',
        '3',
        '삼성전자',
        '69000',
      ])
      // reference §7.10: 18–20 held 1Y, 10 and blank in the reported layout.
      if (fields === 23) expect(rec.slice(18, 21)).toEqual(['1Y', '10', ''])
      // reference §9: an exchange reject of an accepted order is a notice with RFUS_YN=1.
      sim.control.rejectOrder(o.body.output.ODNO)
      const rj = await c.next(isData)
      const rr = decryptIndependently(
        rj.split('|', 4)[3] ?? '',
        ack.body.output.key,
        ack.body.output.iv,
      ).split('^')
      expect([rr[2], rr[12], rr[13]]).toEqual([o.body.output.ODNO, '1', '1'])
      expect(sim.control.account(app.accounts[0]?.cano ?? '').reservedCash).toBe(0)
    },
  )
})

describe('cancel races (issue: "a fill can land after a cancel was requested")', () => {
  it('a second cancel while the first is pending has nothing left; a full fill first refuses the cancel', async () => {
    sim = await startSim({ market: { priceModel: 'static', amendConfirmDelayMs: 500 } })
    const app = realApp(sim)
    const tok = await token(sim, app)
    const key = await approvalKey(sim, app)
    const c = await WsClient.connect(sim.wsUrl)
    clients.push(c)
    c.subscribe(key, 'H0STCNI0', app.htsId)
    const { key: aes, iv } = (await c.json()).body.output
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    const first = await post(sim, ORDER_RVSECNCL, amendBody(app, orig), headers(app, tok, 'TTTC0013U'))
    expect(first.body.rt_cd).toBe('0')
    sim.control.clock.advance(100)
    const psbl = await get(sim, PSBL_RVSECNCL, acctQ(app), headers(app, tok, 'TTTC0084R'))
    expect(psbl.body.output[0]).toMatchObject({ odno: orig, psbl_qty: '0' })
    const second = await post(sim, ORDER_RVSECNCL, amendBody(app, orig), headers(app, tok, 'TTTC0013U'))
    expect(second.body).toMatchObject({ rt_cd: '1', msg1: '정정/취소할 수량이 없습니다.' })
    // The whole order fills before the exchange confirms the cancel: the cancel is refused.
    sim.control.fill(orig)
    sim.control.clock.advance(400)
    expect(sim.control.order(orig)).toMatchObject({ status: 'filled', filledQty: 10, cancelledQty: 0 })
    expect(sim.control.order(first.body.output.ODNO)?.status).toBe('rejected')
    const recs: string[][] = []
    for (let i = 0; i < 4; i++) {
      const f = await c.next(isData)
      recs.push(decryptIndependently(f.split('|', 4)[3] ?? '', aes, iv).split('^'))
    }
    // 접수 (order), 접수 (cancel), 체결 (fill), 거부 (cancel refused: RFUS_YN 1, RCTF_CLS 2)
    expect(recs.map((r) => [r[2], r[5], r[12], r[13]])).toEqual([
      [orig, '0', '0', '1'],
      [first.body.output.ODNO, '2', '0', '1'],
      [orig, '0', '0', '2'],
      [first.body.output.ODNO, '2', '1', '1'],
    ])
    expect(recs[3]?.[3]).toBe(orig)
  })
})

describe('approval key lifetime (reference §2.3)', () => {
  it('an established session keeps working after 24 h; a new session with the old key gets OPSP0011', async () => {
    sim = await startSim({ ws: { pingIntervalMs: 0 } })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await WsClient.connect(sim.wsUrl)
    clients.push(c)
    c.subscribe(key, 'H0STCNT0', '005930')
    expect((await c.json()).body.msg_cd).toBe('OPSP0000')
    sim.control.clock.advance(25 * 3_600_000)
    c.subscribe(key, 'H0STASP0', '005930')
    expect((await c.json()).body.msg_cd).toBe('OPSP0000')
    await c.close()
    const d = await WsClient.connect(sim.wsUrl)
    clients.push(d)
    d.subscribe(key, 'H0STCNT0', '005930')
    expect((await d.json()).body).toEqual({
      rt_cd: '1',
      msg_cd: 'OPSP0011',
      msg1: `invalid approval : ${key}`,
    })
  })
})

describe('request header checks (reference §3.1, §6.1, §6.2)', () => {
  it('missing tr_id → OPSQ9999; unknown service path → OPSQ0002; paper order body keys upper case', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const { tr_id: _t, ...noTr } = headers(app, tok, 'TTTC0012U')
    const r = await post(sim, ORDER_CASH, orderBody(app), noTr)
    expect(r.status).toBe(500)
    expect(r.body).toEqual({ rt_cd: '1', msg_cd: 'OPSQ9999', msg1: 'tr_id not found' })
    sim.control.clock.advance(1000)
    const u = await get(
      sim,
      '/uapi/domestic-stock/v1/trading/no-such-api',
      {},
      headers(app, tok, 'TTTC0000R'),
    )
    expect(u.status).toBe(500)
    expect(u.body).toMatchObject({ rt_cd: '1', msg_cd: 'OPSQ0002' })
    expect(sim.control.orders()).toHaveLength(0)
  })
})
