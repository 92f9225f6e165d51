import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KisSim, SimAppInfo } from '../src/index'
import {
  BALANCE,
  DAILY_CCLD,
  HOLIDAY,
  headers,
  ORDER_CASH,
  ORDER_RVSECNCL,
  orderBody,
  PRICE,
  PSBL_ORDER,
  PSBL_RVSECNCL,
  PSBL_SELL,
  realApp,
  startSim,
  token,
} from './helpers'

// reference §3.2: KIS sends Content-Type and Content-Length in canonical case and tr_id, tr_cont,
// gt_uid in lower case; clients that turn lower-case names into identifiers break on anything else.
// rawHeaders keeps the names exactly as they came off the wire (fetch and IncomingMessage.headers
// lower-case them), so these tests read rawHeaders from plain node:http requests.

interface RawReply {
  status: number
  names: string[]
}

function raw(
  sim: KisSim,
  method: string,
  path: string,
  hdrs: Record<string, string>,
  body?: string,
): Promise<RawReply> {
  const url = new URL(path, sim.restUrl)
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: { ...hdrs, ...(body ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, names: res.rawHeaders.filter((_, i) => i % 2 === 0) }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function expectKisCase(names: readonly string[], withTr: boolean): void {
  expect(names).toContain('Content-Type')
  expect(names).toContain('Content-Length')
  expect(names).not.toContain('content-type')
  expect(names).not.toContain('content-length')
  for (const n of ['tr_id', 'tr_cont', 'gt_uid']) {
    if (withTr) expect(names).toContain(n)
    expect(names).not.toContain(n.toUpperCase())
  }
}

let sim: KisSim
let app: SimAppInfo
let tok: string
beforeAll(async () => {
  sim = await startSim()
  app = realApp(sim)
  tok = await token(sim, app)
})
afterAll(async () => sim?.close())

const account = () => ({ CANO: app.accounts[0]!.cano, ACNT_PRDT_CD: app.accounts[0]!.productCode })

describe('response header names are exactly as KIS sends them', () => {
  it('oauth2 routes (no tr_id)', async () => {
    const creds = JSON.stringify({
      grant_type: 'client_credentials',
      appkey: app.appkey,
      appsecret: app.appsecret,
    })
    for (const path of ['/oauth2/tokenP', '/oauth2/Approval']) {
      const r = await raw(
        sim,
        'POST',
        path,
        {},
        path.endsWith('Approval')
          ? JSON.stringify({ grant_type: 'client_credentials', appkey: app.appkey, secretkey: app.appsecret })
          : creds,
      )
      expect(r.status, path).toBe(200)
      expectKisCase(r.names, false)
    }
    const revoke = await raw(
      sim,
      'POST',
      '/oauth2/revokeP',
      {},
      JSON.stringify({ appkey: app.appkey, appsecret: app.appsecret, token: 'not-a-token' }),
    )
    expectKisCase(revoke.names, false)
  })

  it('every /uapi route, on success and on a refusal', async () => {
    const q = (o: Record<string, string>) => `?${new URLSearchParams(o)}`
    const routes: [method: string, path: string, trId: string, body?: string][] = [
      ['POST', ORDER_CASH, 'TTTC0012U', JSON.stringify(orderBody(app))],
      [
        'POST',
        ORDER_RVSECNCL,
        'TTTC0013U',
        JSON.stringify({
          ...account(),
          KRX_FWDG_ORD_ORGNO: '',
          ORGN_ODNO: '0000009999',
          ORD_DVSN: '00',
          RVSE_CNCL_DVSN_CD: '02',
          ORD_QTY: '0',
          ORD_UNPR: '0',
          QTY_ALL_ORD_YN: 'Y',
        }),
      ],
      [
        'GET',
        `${PSBL_RVSECNCL}${q({ ...account(), CTX_AREA_FK100: '', CTX_AREA_NK100: '', INQR_DVSN_1: '0', INQR_DVSN_2: '0' })}`,
        'TTTC0084R',
      ],
      [
        'GET',
        `${DAILY_CCLD}${q({ ...account(), INQR_STRT_DT: '20261124', INQR_END_DT: '20261124', SLL_BUY_DVSN_CD: '00', INQR_DVSN: '00', PDNO: '', CCLD_DVSN: '00', ORD_GNO_BRNO: '', ODNO: '', INQR_DVSN_3: '00', INQR_DVSN_1: '', CTX_AREA_FK100: '', CTX_AREA_NK100: '' })}`,
        'TTTC0081R',
      ],
      [
        'GET',
        `${BALANCE}${q({ ...account(), AFHR_FLPR_YN: 'N', OFL_YN: '', INQR_DVSN: '02', UNPR_DVSN: '01', FUND_STTL_ICLD_YN: 'N', FNCG_AMT_AUTO_RDPT_YN: 'N', PRCS_DVSN: '00', CTX_AREA_FK100: '', CTX_AREA_NK100: '' })}`,
        'TTTC8434R',
      ],
      [
        'GET',
        `${PSBL_ORDER}${q({ ...account(), PDNO: '005930', ORD_UNPR: '70000', ORD_DVSN: '00', CMA_EVLU_AMT_ICLD_YN: 'N', OVRS_ICLD_YN: 'N' })}`,
        'TTTC8908R',
      ],
      ['GET', `${PSBL_SELL}${q({ ...account(), PDNO: '005930' })}`, 'TTTC8408R'],
      ['GET', `${PRICE}${q({ FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' })}`, 'FHKST01010100'],
      ['GET', `${HOLIDAY}${q({ BASS_DT: '20261124', CTX_AREA_NK: '', CTX_AREA_FK: '' })}`, 'CTCA0903R'],
    ]
    for (const [method, path, trId, body] of routes) {
      const ok = await raw(sim, method, path, headers(app, tok, trId), body)
      expect(ok.status, `${method} ${path}`).toBe(200)
      expectKisCase(ok.names, true)
      // A refusal (bad token) carries the same header names.
      const refused = await raw(sim, method, path, headers(app, 'bogus', trId), body)
      expect(refused.status, `${method} ${path} refused`).not.toBe(200)
      expectKisCase(refused.names, false)
    }
  })

  it('the master-file downloads', async () => {
    for (const m of ['kospi', 'kosdaq']) {
      const r = await raw(sim, 'GET', `/common/master/${m}_code.mst.zip`, {})
      expect(r.status).toBe(200)
      expect(r.names).toEqual(
        ['Content-Type', 'Content-Length', 'Date', 'Connection', 'Keep-Alive'].filter((n) =>
          r.names.includes(n),
        ),
      )
      expect(r.names).toContain('Content-Type')
      expect(r.names).toContain('Content-Length')
    }
  })

  it('/__sim control routes and the WebSocket port', async () => {
    const control = await raw(sim, 'GET', '/__sim/ledger', {})
    expect(control.status).toBe(200)
    expectKisCase(control.names, false)
    // The sidecar route (krx-market-rules §4.4), on success and on a refusal (schema / once a day).
    for (const [body, status] of [
      [{ market: 'KOSPI', direction: 'buy' }, 200],
      [{ market: 'KOSPI', direction: 'buy' }, 400],
      [{ market: 'KOSPI', direction: 'up' }, 400],
    ] as const) {
      const r = await raw(sim, 'POST', '/__sim/sidecar', {}, JSON.stringify(body))
      expect(r.status, JSON.stringify(body)).toBe(status)
      expectKisCase(r.names, false)
    }
    const ws = await raw({ ...sim, restUrl: sim.wsUrl.replace('ws:', 'http:') } as KisSim, 'GET', '/', {})
    expect(ws.status).toBe(426)
    expect(ws.names).toContain('Content-Type')
  })
})
