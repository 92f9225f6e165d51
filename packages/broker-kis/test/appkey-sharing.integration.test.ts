import { describe, expect, it } from 'vitest'
import { MemoryTokenStore } from '../src/token-store'
import { rigsClosedAfterEach, type SimRig } from './sim-harness'

// Issue #20: gateways on one app key share its token issuance and its rate budget.

const startRig = rigsClosedAfterEach()

const tokenCalls = (r: SimRig) => r.sim.control.ledger().tokenIssues.filter((t) => t.appkey === r.app.appkey)

describe('gateways sharing an app key (kis-sim ledger)', () => {
  it('two gateways on one token store: one tokenP call on a cold start and one on a refresh', async () => {
    const r = await startRig('real', { gateway: { tokenStore: new MemoryTokenStore() } })
    const other = r.newGateway()
    await Promise.all([r.gateway.getQuote('005930'), other.getQuote('005930')])
    expect(tokenCalls(r)).toHaveLength(1)
    // The broker expires the token after the issuance throttle: both gateways see EGW00123.
    r.sim.control.clock.advance(61_000)
    r.sim.control.invalidateTokens(r.app.appkey, 'expired')
    await Promise.all([r.gateway.getQuote('005930'), other.getQuote('005930')])
    expect(tokenCalls(r)).toHaveLength(2)
    expect(tokenCalls(r).every((t) => !t.reused)).toBe(true)
  })

  it('three gateways on one app key: 0 EGW00201 (one limiter per app key in the process)', async () => {
    const r = await startRig('real')
    const gateways = [r.gateway, r.newGateway(), r.newGateway()]
    await Promise.all(gateways.map((g) => g.getQuote('005930')))
    await Promise.all(gateways.flatMap((g) => Array.from({ length: 15 }, () => g.getQuote('000660'))))
    const violations = r.sim.control.ledger().rateViolations.filter((v) => v.appkey === r.app.appkey)
    expect(violations).toEqual([])
    expect(r.events.filter((e) => e.type === 'rest.reject' && e.code === 'EGW00201')).toEqual([])
  })

  it('queued requests after a token refresh go out with the new token (taken after the slot)', async () => {
    const r = await startRig('real')
    await r.gateway.getQuote('005930')
    r.sim.control.clock.advance(61_000)
    r.sim.control.invalidateTokens(r.app.appkey, 'expired')
    const n = 45
    const quotes = await Promise.all(Array.from({ length: n }, () => r.gateway.getQuote('005930')))
    expect(quotes).toHaveLength(n)
    const rejected = r.events.filter((e) => e.type === 'rest.reject' && e.code === 'EGW00123')
    // At most the first window's requests (granted before the first rejection came back) used
    // the old token; everything granted after the refresh carried the new one.
    expect(rejected.length).toBeGreaterThan(0)
    expect(rejected.length).toBeLessThanOrEqual(18)
    expect(tokenCalls(r).filter((t) => !t.reused)).toHaveLength(2)
  })
})
