import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim, SimAppInfo } from '../src/index'
import {
  approvalKey,
  DAILY_CCLD,
  dailyCcldQuery,
  decryptIndependently,
  get,
  headers,
  isData,
  ORDER_RVSECNCL,
  PSBL_RVSECNCL,
  placeOrder,
  post,
  realApp,
  startSim,
  token,
  WsClient,
} from './helpers'

// NXT and SOR over the wire (reference §4.1, §4.2, §4.4, §5, §7.9; krx-market-rules §2): orders
// through order-cash, their venue in inquire-daily-ccld / inquire-psbl-rvsecncl and in the
// execution notice (field 19 ORD_EXG_GB, field 18 ORD_COND_PRC), modify/cancel on the original's
// venue, and a sidecar started over the control route. REST and control with fetch, notices over
// ws, decrypted here.

const F = { ODER_NO: 2, RCTF_CLS: 5, ODER_KIND: 6, CNTG_YN: 13, ORD_COND_PRC: 18, ORD_EXG_GB: 19 } as const

let sim: KisSim
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
})

interface Session {
  app: SimAppInfo
  tok: string
  c: WsClient
  aes: string
  iv: string
}

async function open(start: string): Promise<Session> {
  sim = await startSim({ clock: { mode: 'manual', start } })
  const app = realApp(sim)
  const tok = await token(sim, app)
  const key = await approvalKey(sim, app)
  const c = await WsClient.connect(`${sim.wsUrl}/tryitout`)
  clients.push(c)
  c.subscribe(key, 'H0STCNI0', app.htsId)
  const ack = await c.json()
  expect(ack.body.msg_cd).toBe('OPSP0000')
  return { app, tok, c, aes: ack.body.output.key, iv: ack.body.output.iv }
}

/** The next execution notice, decrypted independently, as its 26 fields. */
async function notice(s: Session): Promise<string[]> {
  const [, tr, , b64] = (await s.c.next(isData)).split('|', 4)
  expect(tr).toBe('H0STCNI0')
  const rec = decryptIndependently(b64 ?? '', s.aes, s.iv).split('^')
  expect(rec).toHaveLength(26)
  return rec
}

async function order(s: Session, over: Record<string, string>): Promise<string> {
  const r = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '60000', ORD_QTY: '3', ...over })
  expect(r.body, JSON.stringify(over)).toMatchObject({ rt_cd: '0', msg_cd: 'APBK0013' })
  return r.body.output.ODNO as string
}

const setClock = async (set: string) => expect((await post(sim, '/__sim/clock', { set })).status).toBe(200)

async function daily(s: Session, venue: string): Promise<Record<string, string>[]> {
  const r = await get(
    sim,
    DAILY_CCLD,
    dailyCcldQuery(s.app, { EXCG_ID_DVSN_CD: venue }),
    headers(s.app, s.tok, 'TTTC0081R'),
  )
  expect(r.body.rt_cd).toBe('0')
  return r.body.output1
}

describe('NXT and SOR orders over HTTP and WebSocket', () => {
  it('order-cash routes them; daily-ccld, psbl-rvsecncl and the notice carry the venue', async () => {
    const s = await open('2026-11-24 08:10:00')
    // 08:10: only NXT trades (krx-market-rules §2.1).
    const nxt = await order(s, { EXCG_ID_DVSN_CD: 'NXT' })
    expect((await notice(s))[F.ORD_EXG_GB]).toBe('2')
    const sorNxt = await order(s, { EXCG_ID_DVSN_CD: 'SOR' })
    const n2 = await notice(s)
    expect([n2[F.ODER_NO], n2[F.ORD_EXG_GB]]).toEqual([sorNxt, '4'])
    const krxShut = await placeOrder(sim, s.app, s.tok, { ORD_UNPR: '60000', EXCG_ID_DVSN_CD: 'KRX' })
    expect(krxShut.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0919' })
    const ineligible = await placeOrder(sim, s.app, s.tok, {
      PDNO: '000020',
      ORD_UNPR: '1990',
      EXCG_ID_DVSN_CD: 'NXT',
    })
    expect(ineligible.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0575' })
    const market = await placeOrder(sim, s.app, s.tok, {
      ORD_DVSN: '01',
      ORD_UNPR: '0',
      EXCG_ID_DVSN_CD: 'NXT',
    })
    expect(market.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0576' })

    // 10:00: KRX's continuous session takes SOR first; a stop-limit carries its condition price.
    await setClock('2026-11-24 10:00:00')
    const krx = await order(s, {})
    expect((await notice(s))[F.ORD_EXG_GB]).toBe('1')
    const sorKrx = await order(s, { EXCG_ID_DVSN_CD: 'SOR' })
    expect((await notice(s))[F.ORD_EXG_GB]).toBe('3')
    const stop = await order(s, { ORD_DVSN: '22', ORD_UNPR: '71200', CNDT_PRIC: '71000' })
    const n5 = await notice(s)
    expect([n5[F.ODER_KIND], n5[F.ORD_COND_PRC], n5[F.ORD_EXG_GB]]).toEqual(['22', '71000', '1'])
    const noCond = await placeOrder(sim, s.app, s.tok, { ORD_DVSN: '22', ORD_UNPR: '71200' })
    expect(noCond.body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0542' })

    // reference §4.4: the EXCG_ID_DVSN_CD filter, and the venue on each row (`excg_id_dvsn_Cd`).
    const venueOf = (rows: Record<string, string>[]) =>
      Object.fromEntries(rows.map((r) => [r.odno, r.excg_id_dvsn_Cd]))
    expect(venueOf(await daily(s, 'ALL'))).toEqual({
      [nxt]: 'NXT',
      [sorNxt]: 'SOR',
      [krx]: 'KRX',
      [sorKrx]: 'SOR',
      [stop]: 'KRX',
    })
    expect(venueOf(await daily(s, ''))).toEqual(venueOf(await daily(s, 'ALL')))
    expect(Object.keys(venueOf(await daily(s, 'NXT')))).toEqual([nxt])
    expect(Object.keys(venueOf(await daily(s, 'SOR'))).sort()).toEqual([sorNxt, sorKrx].sort())
    expect(Object.keys(venueOf(await daily(s, 'KRX'))).sort()).toEqual([krx, stop].sort())
    const stopRow = (await daily(s, 'KRX')).find((r) => r.odno === stop)
    expect([stopRow?.ord_dvsn_cd, stopRow?.stpm_cndt_pric, stopRow?.stpm_efct_occr_dtmd]).toEqual([
      '22',
      '71000',
      '',
    ])

    const psbl = await get(
      sim,
      PSBL_RVSECNCL,
      {
        CANO: s.app.accounts[0]!.cano,
        ACNT_PRDT_CD: s.app.accounts[0]!.productCode,
        CTX_AREA_FK100: '',
        CTX_AREA_NK100: '',
        INQR_DVSN_1: '0',
        INQR_DVSN_2: '0',
      },
      headers(s.app, s.tok, 'TTTC0084R'),
    )
    const psblVenue = Object.fromEntries(
      psbl.body.output.map((r: Record<string, string>) => [r.odno, [r.excg_id_dvsn_cd, r.excg_id_dvsn_name]]),
    )
    expect(psblVenue[nxt]).toEqual(['NXT', '넥스트레이드'])
    expect(psblVenue[krx]).toEqual(['KRX', '한국거래소'])

    // reference §4.2: a cancel must name the original's venue (empty means KRX).
    const cancel = (orig: string, venue: string) =>
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
          EXCG_ID_DVSN_CD: venue,
        },
        headers(s.app, s.tok, 'TTTC0013U'),
      )
    expect((await cancel(nxt, '')).body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0579' })
    const ok = await cancel(nxt, 'NXT')
    expect(ok.body.rt_cd).toBe('0')
    const receipt = await notice(s)
    expect([receipt[F.RCTF_CLS], receipt[F.ORD_EXG_GB]]).toEqual(['2', '2'])
  })

  it('a sidecar started over the control route holds a program trader’s orders, then releases them', async () => {
    const s = await open('2026-11-24 10:00:00')
    const acct = s.app.accounts[0]!
    const marked = await post(sim, '/__sim/account', { cano: acct.cano, programTrading: true })
    expect(marked.body.programTrading).toBe(true)
    const sc = await post(sim, '/__sim/sidecar', { market: 'KOSPI', direction: 'buy' })
    expect(sc.status).toBe(200)
    expect(sc.body).toMatchObject({ market: 'KOSPI', direction: 'buy' })
    expect(sc.body.endsAt - sc.body.startedAt).toBe(300_000)
    const ask = (await get(sim, '/__sim/quote', { symbol: '005930' }, {})).body.bestAsk as number
    const odno = await order(s, { ORD_UNPR: String(ask), ORD_QTY: '1', EXCG_ID_DVSN_CD: 'NXT' })
    expect((await notice(s))[F.CNTG_YN]).toBe('1') // accepted (접수)…
    const held = (await get(sim, '/__sim/order', { odno }, {})).body
    expect([held.status, held.filledQty, held.suspendedUntil, held.venue]).toEqual([
      'open',
      0,
      sc.body.endsAt,
      'NXT',
    ])
    expect((await post(sim, '/__sim/clock', { advanceMs: 300_000 })).status).toBe(200)
    const fill = await notice(s) // …and fills once released
    expect([fill[F.ODER_NO], fill[F.CNTG_YN]]).toEqual([odno, '2'])
    // krx-market-rules §4.4: at most once a day; `force` overrides.
    const again = await post(sim, '/__sim/sidecar', { market: 'KOSPI', direction: 'sell' })
    expect(again.status).toBe(400)
    expect(again.body.error).toMatch(/once a day/)
    const forced = await post(sim, '/__sim/sidecar', {
      market: 'KOSPI',
      direction: 'sell',
      force: true,
      durationMs: 60_000,
    })
    expect(forced.status).toBe(200)
    expect(forced.body.endsAt - forced.body.startedAt).toBe(60_000)
    expect((await post(sim, '/__sim/sidecar', { market: 'NASDAQ', direction: 'buy' })).status).toBe(400)
  })
})
