import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim, KisSimOptions, SimAppInfo } from '../src/index'
import {
  approvalKey,
  DAILY_CCLD,
  dailyCcldQuery,
  decryptIndependently,
  get,
  headers,
  isData,
  ORDER_RVSECNCL,
  placeOrder,
  post,
  realApp,
  startSim,
  token,
  WsClient,
} from './helpers'

// The 확인 notice (reference §7.9 #14 ACPT_YN 2) of a modify/cancel that took effect, and the same
// confirmation on inquire-daily-ccld (reference §4.4 cnc_cfrm_qty). When KIS sends 확인 is
// UNVERIFIED; the simulator sends it at confirmation (option ws.confirmNotices). Everything goes
// over real sockets: REST and the /__sim/ control routes with fetch, notices with ws, decrypted here.

// H0STCNI0 field indexes (reference §7.9).
const F = {
  ODER_NO: 2,
  OODER_NO: 3,
  SELN_BYOV_CLS: 4,
  RCTF_CLS: 5,
  CNTG_QTY: 9,
  CNTG_UNPR: 10,
  RFUS_YN: 12,
  CNTG_YN: 13,
  ACPT_YN: 14,
  ODER_QTY: 16,
  ODER_PRC: 25,
} as const

let sim: KisSim
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
})

interface Session {
  app: SimAppInfo
  tok: string
  key: string
  c: WsClient
  aes: string
  iv: string
}

async function open(options: KisSimOptions = {}): Promise<Session> {
  sim = await startSim(options)
  const app = realApp(sim)
  const tok = await token(sim, app)
  const key = await approvalKey(sim, app)
  const c = await WsClient.connect(sim.wsUrl)
  clients.push(c)
  c.subscribe(key, 'H0STCNI0', app.htsId)
  const ack = await c.json()
  expect(ack.body.msg_cd).toBe('OPSP0000')
  return { app, tok, key, c, aes: ack.body.output.key, iv: ack.body.output.iv }
}

/** The next `n` execution notices, decrypted independently and split into their 26 fields. */
async function notices(s: Session, n: number): Promise<string[][]> {
  const out: string[][] = []
  for (let i = 0; i < n; i++) {
    const [enc, tr, count, b64] = (await s.c.next(isData)).split('|', 4)
    expect([enc, tr, count]).toEqual(['1', 'H0STCNI0', '001'])
    const rec = decryptIndependently(b64 ?? '', s.aes, s.iv).split('^')
    expect(rec).toHaveLength(26)
    out.push(rec)
  }
  return out
}

/** Asserts that no further notice was sent: a server round trip orders every earlier frame first. */
async function expectNoMoreNotices(s: Session): Promise<void> {
  await s.c.roundTrip(s.key)
  expect(s.c.messages.filter(isData)).toEqual([])
}

/** [ODER_NO, OODER_NO, RCTF_CLS, RFUS_YN, CNTG_YN, ACPT_YN, CNTG_QTY] of a notice. */
const summary = (r: string[]) =>
  [F.ODER_NO, F.OODER_NO, F.RCTF_CLS, F.RFUS_YN, F.CNTG_YN, F.ACPT_YN, F.CNTG_QTY].map((i) => r[i])

const amend = (s: Session, orig: string, over: Record<string, string> = {}) =>
  post(
    sim,
    ORDER_RVSECNCL,
    {
      CANO: s.app.accounts[0]?.cano,
      ACNT_PRDT_CD: s.app.accounts[0]?.productCode,
      KRX_FWDG_ORD_ORGNO: s.app.branch,
      ORGN_ODNO: orig,
      ORD_DVSN: '00',
      RVSE_CNCL_DVSN_CD: '02',
      ORD_QTY: '0',
      ORD_UNPR: '0',
      QTY_ALL_ORD_YN: 'Y',
      ...over,
    },
    headers(s.app, s.tok, 'TTTC0013U'),
  )

/** Forces a fill through the HTTP control route. */
async function forceFill(odno: string, qty?: number): Promise<void> {
  const r = await post(sim, '/__sim/fill', qty === undefined ? { odno } : { odno, qty })
  expect(r.status).toBe(200)
}

async function advance(ms: number): Promise<void> {
  const r = await post(sim, '/__sim/clock', { advanceMs: ms })
  expect(r.status).toBe(200)
}

/** inquire-daily-ccld rows of today keyed by odno (reference §4.4). */
async function daily(s: Session): Promise<Record<string, Record<string, string>>> {
  const r = await get(sim, DAILY_CCLD, dailyCcldQuery(s.app), headers(s.app, s.tok, 'TTTC0081R'))
  expect(r.body.rt_cd).toBe('0')
  return Object.fromEntries(r.body.output1.map((row: Record<string, string>) => [row.odno, row]))
}

describe('확인 notices of modify/cancel (reference §7.9 ACPT_YN 2; timing UNVERIFIED)', () => {
  it('a cancel confirmed at once: 접수 then 확인 with the cancelled quantity', async () => {
    const s = await open()
    const o = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    await forceFill(orig, 3)
    const x = await amend(s, orig)
    expect(x.body.rt_cd).toBe('0')
    const cxl: string = x.body.output.ODNO
    const [rOrder, rFill, rAccept, rConfirm] = (await notices(s, 4)) as [
      string[],
      string[],
      string[],
      string[],
    ]
    expect(summary(rOrder)).toEqual([orig, '0000000000', '0', '0', '1', '1', '10'])
    expect(summary(rFill)).toEqual([orig, '0000000000', '0', '0', '2', '2', '3'])
    expect(summary(rAccept)).toEqual([cxl, orig, '2', '0', '1', '1', '7'])
    expect(summary(rConfirm)).toEqual([cxl, orig, '2', '0', '1', '2', '7'])
    // The 확인 is the 접수 record with ACPT_YN 2: same side, prices (the original's), quantities.
    const differing = rConfirm.flatMap((v, i) => (v === rAccept[i] ? [] : [i]))
    expect(differing).toEqual([F.ACPT_YN])
    expect([
      rConfirm[F.SELN_BYOV_CLS],
      rConfirm[F.CNTG_UNPR],
      rConfirm[F.ODER_QTY],
      rConfirm[F.ODER_PRC],
    ]).toEqual(['02', '69000', '7', '69000'])
    await expectNoMoreNotices(s)

    const rows = await daily(s)
    expect(rows[orig]).toMatchObject({ tot_ccld_qty: '3', cnc_cfrm_qty: '7', rmn_qty: '0' })
    expect(rows[cxl]).toMatchObject({
      orgn_odno: orig,
      cncl_yn: 'Y',
      ord_qty: '7',
      cnc_cfrm_qty: '7',
      rmn_qty: '0',
      rjct_qty: '0',
    })
  })

  it('a cancel that loses the race to a full fill: 접수, 체결, refusal (RFUS_YN 1), and no 확인', async () => {
    const s = await open({ market: { priceModel: 'static', amendConfirmDelayMs: 500 } })
    const o = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    const x = await amend(s, orig)
    expect(x.body.rt_cd).toBe('0')
    const cxl: string = x.body.output.ODNO
    await forceFill(orig)
    await advance(500)
    const recs = await notices(s, 4)
    expect(recs.map(summary)).toEqual([
      [orig, '0000000000', '0', '0', '1', '1', '10'],
      [cxl, orig, '2', '0', '1', '1', '10'],
      [orig, '0000000000', '0', '0', '2', '2', '10'],
      [cxl, orig, '2', '1', '1', '1', '10'],
    ])
    await expectNoMoreNotices(s)

    const rows = await daily(s)
    expect(rows[orig]).toMatchObject({ tot_ccld_qty: '10', cnc_cfrm_qty: '0', rmn_qty: '0' })
    expect(rows[cxl]).toMatchObject({ orgn_odno: orig, cncl_yn: 'Y', cnc_cfrm_qty: '0', rjct_qty: '10' })
  })

  it('a partial fill inside the confirm delay: the 확인 and cnc_cfrm_qty carry only what was cancelled, after confirmation', async () => {
    const s = await open({ market: { priceModel: 'static', amendConfirmDelayMs: 500 } })
    const o = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    const x = await amend(s, orig)
    const cxl: string = x.body.output.ODNO
    await forceFill(orig, 3)
    // Accepted, not yet confirmed: nothing is counted as cancelled on either row.
    let rows = await daily(s)
    expect(rows[orig]).toMatchObject({ tot_ccld_qty: '3', cnc_cfrm_qty: '0', rmn_qty: '7' })
    expect(rows[cxl]).toMatchObject({ cnc_cfrm_qty: '0', rjct_qty: '0' })
    expect((await notices(s, 3)).map(summary)).toEqual([
      [orig, '0000000000', '0', '0', '1', '1', '10'],
      [cxl, orig, '2', '0', '1', '1', '10'],
      [orig, '0000000000', '0', '0', '2', '2', '3'],
    ])
    await expectNoMoreNotices(s)

    await advance(500)
    const [rConfirm] = (await notices(s, 1)) as [string[]]
    expect(summary(rConfirm)).toEqual([cxl, orig, '2', '0', '1', '2', '7'])
    expect(rConfirm[F.ODER_QTY]).toBe('7')
    await expectNoMoreNotices(s)
    rows = await daily(s)
    expect(rows[orig]).toMatchObject({ tot_ccld_qty: '3', cnc_cfrm_qty: '7', rmn_qty: '0' })
    expect(rows[cxl]).toMatchObject({ ord_qty: '7', cnc_cfrm_qty: '7', rjct_qty: '0' })
  })

  it('a modify that moves part of the quantity: 접수 + 확인 with the moved quantity and the new price', async () => {
    const s = await open()
    const o = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    const m = await amend(s, orig, {
      RVSE_CNCL_DVSN_CD: '01',
      ORD_QTY: '4',
      ORD_UNPR: '68900',
      QTY_ALL_ORD_YN: 'N',
    })
    expect(m.body.rt_cd).toBe('0')
    const mod: string = m.body.output.ODNO
    const [, rAccept, rConfirm] = (await notices(s, 3)) as [string[], string[], string[]]
    expect(summary(rAccept)).toEqual([mod, orig, '1', '0', '1', '1', '4'])
    expect(summary(rConfirm)).toEqual([mod, orig, '1', '0', '1', '2', '4'])
    expect([rConfirm[F.CNTG_UNPR], rConfirm[F.ODER_QTY], rConfirm[F.ODER_PRC]]).toEqual([
      '68900',
      '4',
      '68900',
    ])
    await expectNoMoreNotices(s)
    const rows = await daily(s)
    expect(rows[orig]).toMatchObject({ rmn_qty: '6', tot_ccld_qty: '0' })
    expect(rows[mod]).toMatchObject({ orgn_odno: orig, ord_qty: '4', ord_unpr: '68900', rmn_qty: '4' })
  })

  it('ws.confirmNotices false: only the 접수 notices; REST still reports the confirmed cancel', async () => {
    const s = await open({ ws: { confirmNotices: false } })
    const o = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const orig: string = o.body.output.ODNO
    const mod: string = (
      await amend(s, orig, { RVSE_CNCL_DVSN_CD: '01', ORD_QTY: '4', ORD_UNPR: '68900', QTY_ALL_ORD_YN: 'N' })
    ).body.output.ODNO
    const cxl: string = (await amend(s, orig)).body.output.ODNO
    expect((await notices(s, 3)).map(summary)).toEqual([
      [orig, '0000000000', '0', '0', '1', '1', '10'],
      [mod, orig, '1', '0', '1', '1', '4'],
      [cxl, orig, '2', '0', '1', '1', '6'],
    ])
    await expectNoMoreNotices(s)
    const rows = await daily(s)
    expect(rows[orig]).toMatchObject({ cnc_cfrm_qty: '6', rmn_qty: '0' })
    expect(rows[cxl]).toMatchObject({ cnc_cfrm_qty: '6' })
  })
})
