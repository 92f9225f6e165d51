import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim } from '../src/index'
import {
  get,
  headers,
  ORDER_CASH,
  orderBody,
  PRICE,
  paperApp,
  post,
  realApp,
  startSim,
  token,
} from './helpers'

let sim: KisSim
afterEach(async () => sim?.close())

const creds = (a: { appkey: string; appsecret: string }) => ({
  grant_type: 'client_credentials',
  appkey: a.appkey,
  appsecret: a.appsecret,
})

describe('POST /oauth2/tokenP (reference §2.1)', () => {
  it('issues a Bearer token valid 24 h with a KST expiry string and numeric expires_in', async () => {
    sim = await startSim()
    const r = await post(sim, '/oauth2/tokenP', creds(realApp(sim)))
    expect(r.status).toBe(200)
    expect(r.body.token_type).toBe('Bearer')
    expect(r.body.expires_in).toBe(86_400)
    // clock starts 2026-11-24 10:00:00 KST
    expect(r.body.access_token_token_expired).toBe('2026-11-25 10:00:00')
    expect(r.body.access_token.split('.')).toHaveLength(3)
    expect(r.body.rt_cd).toBeUndefined()
  })

  it('returns the same token within 6 h and a new one after', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const a = await post(sim, '/oauth2/tokenP', creds(app))
    sim.control.clock.advance(5 * 3_600_000)
    const b = await post(sim, '/oauth2/tokenP', creds(app))
    expect(b.body.access_token).toBe(a.body.access_token)
    sim.control.clock.advance(1 * 3_600_000 + 1000)
    const c = await post(sim, '/oauth2/tokenP', creds(app))
    expect(c.body.access_token).not.toBe(a.body.access_token)
    expect(sim.control.ledger().tokenIssues.map((t) => t.reused)).toEqual([false, true, false])
  })

  it('throttles a second new token within 60 s: HTTP 403 with error_code EGW00133', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const first = await post(sim, '/oauth2/tokenP', creds(app))
    sim.control.invalidateTokens(app.appkey, 'invalid')
    const r = await post(sim, '/oauth2/tokenP', creds(app))
    expect(r.status).toBe(403)
    expect(r.body).toEqual({
      error_code: 'EGW00133',
      error_description: '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)',
    })
    sim.control.clock.advance(60_000)
    const ok = await post(sim, '/oauth2/tokenP', creds(app))
    expect(ok.status).toBe(200)
    expect(ok.body.access_token).not.toBe(first.body.access_token)
    expect(sim.control.ledger().rateViolations.filter((v) => v.channel === 'token')).toHaveLength(1)
  })

  it('rejects unknown appkey / wrong secret with 403 EGW00103 / EGW00105', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const a = await post(sim, '/oauth2/tokenP', { ...creds(app), appkey: `PS${'x'.repeat(34)}` })
    expect(a.status).toBe(403)
    expect(a.body.error_code).toBe('EGW00103')
    const b = await post(sim, '/oauth2/tokenP', { ...creds(app), appsecret: 'nope' })
    expect(b.body.error_code).toBe('EGW00105')
  })
})

describe('revokeP and Approval (reference §2.2, §2.3)', () => {
  it('revokes a token; the token then fails with EGW00121', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const r = await post(sim, '/oauth2/revokeP', { appkey: app.appkey, appsecret: app.appsecret, token: tok })
    expect(r.body).toEqual({ code: 200, message: '접근토큰 폐기에 성공하였습니다' })
    const q = await get(
      sim,
      PRICE,
      { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' },
      headers(app, tok, 'FHKST01010100'),
    )
    expect(q.status).toBe(500)
    expect(q.body.msg_cd).toBe('EGW00121')
  })

  it('issues a 36-char approval key for `secretkey`, refuses `appsecret`, limits 1/s', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const bad = await post(sim, '/oauth2/Approval', creds(app))
    expect(bad.status).toBe(403)
    expect(bad.body.error_code).toBe('EGW00104')
    const ok = await post(sim, '/oauth2/Approval', {
      grant_type: 'client_credentials',
      appkey: app.appkey,
      secretkey: app.appsecret,
    })
    expect(ok.status).toBe(200)
    expect(ok.body.approval_key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const again = await post(sim, '/oauth2/Approval', {
      grant_type: 'client_credentials',
      appkey: app.appkey,
      secretkey: app.appsecret,
    })
    expect(again.status).toBe(403)
    expect(again.body.error_code).toBe('EGW00201')
  })
})

describe('hashkey (reference §2.4)', () => {
  it('echoes the body with a HASH; orders work with or without the hashkey header', async () => {
    sim = await startSim({ validateHashkey: true })
    const app = realApp(sim)
    const tok = await token(sim, app)
    const body = JSON.stringify(orderBody(app, { ORD_UNPR: '69000' }))
    const h = await post(sim, '/uapi/hashkey', body, { appkey: app.appkey, appsecret: app.appsecret })
    expect(h.status).toBe(200)
    expect(h.body.JsonBody.CANO).toBe(app.accounts[0]?.cano)
    const withKey = await post(
      sim,
      ORDER_CASH,
      body,
      headers(app, tok, 'TTTC0012U', { hashkey: h.body.HASH }),
    )
    expect(withKey.body.rt_cd).toBe('0')
    sim.control.clock.advance(1000)
    const without = await post(sim, ORDER_CASH, body, headers(app, tok, 'TTTC0012U'))
    expect(without.body.rt_cd).toBe('0')
    sim.control.clock.advance(1000)
    const wrong = await post(sim, ORDER_CASH, body, headers(app, tok, 'TTTC0012U', { hashkey: 'bad' }))
    expect(wrong.status).toBe(500)
    expect(wrong.body.msg_cd).toBe('EGW00131')
  })
})

describe('header validation (reference §3.1, §6.1)', () => {
  const q = { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' }

  it('answers EGW codes with HTTP 500 and the rt_cd envelope', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const h = headers(app, tok, 'FHKST01010100')
    const cases: [Record<string, string>, string][] = [
      [{ ...h, appkey: '' }, 'EGW00102'],
      [{ ...h, appkey: `PS${'y'.repeat(34)}` }, 'EGW00103'],
      [{ ...h, appsecret: '' }, 'EGW00104'],
      [{ ...h, appsecret: 'x' }, 'EGW00105'],
      [{ ...h, authorization: tok }, 'EGW00205'],
      [{ ...h, authorization: 'Bearer nope' }, 'EGW00121'],
    ]
    for (const [hh, code] of cases) {
      sim.control.clock.advance(1000)
      const r = await get(sim, PRICE, q, hh)
      expect(r.status, code).toBe(500)
      expect(r.body).toMatchObject({ rt_cd: '1', msg_cd: code })
    }
  })

  it('expires tokens after 24 h (EGW00123)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    sim.control.clock.advance(86_400_000)
    const r = await get(sim, PRICE, q, headers(app, tok, 'FHKST01010100'))
    expect(r.status).toBe(500)
    expect(r.body.msg_cd).toBe('EGW00123')
    expect(r.body.msg1).toBe('기간이 만료된 token 입니다.')
  })

  it('refuses a real TR on a paper account with EGW00213 and accepts V… ids', async () => {
    sim = await startSim()
    const app = paperApp(sim)
    const tok = await token(sim, app)
    const r = await post(
      sim,
      ORDER_CASH,
      orderBody(app, { ORD_UNPR: '69000' }),
      headers(app, tok, 'TTTC0012U'),
    )
    expect(r.status).toBe(500)
    expect(r.body.msg_cd).toBe('EGW00213')
    sim.control.clock.advance(1000)
    const ok = await post(
      sim,
      ORDER_CASH,
      orderBody(app, { ORD_UNPR: '69000' }),
      headers(app, tok, 'VTTC0012U'),
    )
    expect(ok.body).toMatchObject({
      rt_cd: '0',
      msg_cd: '40600000',
      msg1: '모의투자 매수주문이 완료 되었습니다.',
    })
    expect(ok.body.output.KRX_FWDG_ORD_ORGNO).toBe('00950')
  })

  it('requires custtype on trading TRs (EGW00208) and returns lower-case tr_id/tr_cont/gt_uid headers', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const { custtype: _c, ...noCust } = headers(app, tok, 'TTTC0012U')
    const r = await post(sim, ORDER_CASH, orderBody(app), noCust)
    expect(r.body.msg_cd).toBe('EGW00208')
    sim.control.clock.advance(1000)
    const ok = await get(sim, PRICE, q, headers(app, tok, 'FHKST01010100'))
    expect(ok.headers.get('tr_id')).toBe('FHKST01010100')
    expect(ok.headers.get('gt_uid')).toMatch(/^[0-9A-F]{32}$/)
    expect(ok.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(ok.body).toMatchObject({ rt_cd: '0', msg_cd: 'MCA00000' })
  })
})
