import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SimRig, startRig } from './sim-harness'

// After real traffic (a token issued, an approval key, a subscription, an order refused), no public
// object of the adapter prints the app key, the app secret, the access token or the approval key.

let rig: SimRig
beforeAll(async () => {
  rig = await startRig('real')
})
afterAll(async () => rig?.close())

function printed(value: unknown): string {
  const seen = new WeakSet()
  const json = JSON.stringify(value, (_k, x) => {
    if (x && typeof x === 'object') {
      if (seen.has(x)) return '[cycle]'
      seen.add(x)
    }
    return typeof x === 'function' ? undefined : x
  })
  return [inspect(value, { depth: 12, showHidden: true }), String(value), json].join('\n')
}

describe('secrets after live traffic', () => {
  it('gateway, its members, events and errors print none of them', async () => {
    const { gateway, account, sim, app } = rig
    await gateway.getCash(account)
    const stop = gateway.streamOrderEvents(account, () => {})
    let refused: unknown
    try {
      await gateway.placeOrder({
        intentId: 'secret-check-1',
        account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: 1, // outside the band: refused by the broker
      })
    } catch (err) {
      refused = err
    }
    stop()
    // KIS (and the simulator) hand the same token back within its reuse window: this is the
    // gateway's token.
    const r = await fetch(`${sim.restUrl}/oauth2/tokenP`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        appkey: app.appkey,
        appsecret: app.appsecret,
      }),
    })
    const { access_token: token } = (await r.json()) as { access_token: string }
    expect(sim.control.ledger().tokenIssues.some((t) => t.reused)).toBe(true)
    const secrets = [app.appkey, app.appsecret, token]
    const surfaces: unknown[] = [
      gateway,
      gateway.config,
      gateway.rest,
      gateway.tokens,
      gateway.approvals,
      gateway.stream,
      rig.events,
      refused,
    ]
    for (const surface of surfaces) {
      const text = printed(surface)
      for (const s of secrets) expect(text).not.toContain(s)
    }
  })
})
