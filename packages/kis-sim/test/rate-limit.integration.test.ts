import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim } from '../src/index'
import { get, headers, PRICE, paperApp, realApp, startSim, token } from './helpers'

let sim: KisSim
afterEach(async () => sim?.close())
const q = { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' }

describe('per-appkey REST limits (reference §8, NOTICE-LIMITS 2026-04-20; §3.4 HTTP 500 EGW00201)', () => {
  it('real: 18 in a sliding second, the 19th is HTTP 500 EGW00201 and recorded', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const h = headers(app, tok, 'FHKST01010100')
    const statuses: number[] = []
    for (let i = 0; i < 19; i++) statuses.push((await get(sim, PRICE, q, h)).status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(18)
    const last = await get(sim, PRICE, q, h)
    expect(last.status).toBe(500)
    expect(last.body).toEqual({ rt_cd: '1', msg_cd: 'EGW00201', msg1: '초당 거래건수를 초과하였습니다.' })
    const v = sim.control.ledger().rateViolations.filter((x) => x.channel === 'rest')
    expect(v).toHaveLength(2)
    expect(v[0]).toMatchObject({ appkey: app.appkey, limit: 18, inWindow: 18, forced: false })
    // The ledger's worst sliding second counts refused arrivals too: 20 arrived in one second.
    expect(sim.control.ledger().maxRequestsPerSecond[app.appkey]).toBe(20)
    // The window slides: 1 s later the budget is back.
    sim.control.clock.advance(1000)
    expect((await get(sim, PRICE, q, h)).status).toBe(200)
    expect(sim.control.ledger().maxRequestsPerSecond[app.appkey]).toBe(20)
  })

  it('counts requests by appkey and TR id, refused ones included', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    for (let i = 0; i < 20; i++) await get(sim, PRICE, q, headers(app, tok, 'FHKST01010100'))
    const byTr = sim.control.ledger().requestsByTrId[app.appkey]
    // 18 answered and 2 refused with EGW00201 (token issues are counted apart, in tokenIssues).
    expect(byTr).toEqual({ FHKST01010100: 20 })
    expect(Object.values(byTr ?? {}).reduce((a, b) => a + b, 0)).toBe(
      sim.control.ledger().requestsByAppkey[app.appkey],
    )
    sim.control.resetLedger()
    expect(sim.control.ledger().requestsByTrId).toEqual({})
  })

  it('maxRequestsPerSecond is the worst sliding second, not a calendar second', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const h = headers(app, tok, 'FHKST01010100')
    // 10 at t=0.6 s and 10 at t=1.4 s: no calendar second holds more than 10, one sliding second holds 20.
    sim.control.clock.advance(600)
    for (let i = 0; i < 10; i++) await get(sim, PRICE, q, h)
    sim.control.clock.advance(800)
    for (let i = 0; i < 10; i++) await get(sim, PRICE, q, h)
    expect(sim.control.ledger().maxRequestsPerSecond[app.appkey]).toBe(20)
    sim.control.resetLedger()
    expect(sim.control.ledger().maxRequestsPerSecond[app.appkey]).toBeUndefined()
  })

  it('paper: 1 per second', async () => {
    sim = await startSim()
    const app = paperApp(sim)
    const tok = await token(sim, app)
    const h = headers(app, tok, 'FHKST01010100')
    expect((await get(sim, PRICE, q, h)).status).toBe(200)
    sim.control.clock.advance(999)
    expect((await get(sim, PRICE, q, h)).body.msg_cd).toBe('EGW00201')
    sim.control.clock.advance(1)
    expect((await get(sim, PRICE, q, h)).status).toBe(200)
  })

  it('legacy preset: 20/s real and 2/s paper; limits are per appkey', async () => {
    sim = await startSim({ limits: { preset: 'legacy' } })
    const real = realApp(sim)
    const paper = paperApp(sim)
    const rt = await token(sim, real)
    const pt = await token(sim, paper)
    let ok = 0
    for (let i = 0; i < 21; i++)
      if ((await get(sim, PRICE, q, headers(real, rt, 'FHKST01010100'))).status === 200) ok++
    expect(ok).toBe(20)
    let pok = 0
    for (let i = 0; i < 3; i++)
      if ((await get(sim, PRICE, q, headers(paper, pt, 'FHKST01010100'))).status === 200) pok++
    expect(pok).toBe(2)
  })
})
