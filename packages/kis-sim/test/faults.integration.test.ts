import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { decryptNotice, type KisSim } from '../src/index'
import {
  approvalKey,
  get,
  headers,
  ORDER_CASH,
  orderBody,
  PRICE,
  placeOrder,
  post,
  realApp,
  startSim,
  token,
  WsClient,
} from './helpers'

let sim: KisSim
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
})

async function connect(): Promise<WsClient> {
  const c = await WsClient.connect(`${sim.wsUrl}/tryitout`)
  clients.push(c)
  return c
}

const priceQ = { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' }
const isData = (m: string) => m.startsWith('1|') || m.startsWith('0|')

/** Raw POST that reports a socket error instead of throwing. */
function rawPost(
  url: string,
  body: string,
  hdrs: Record<string, string>,
): Promise<{ error?: string; status?: number }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', ...hdrs } },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }))
      },
    )
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }))
    req.end(body)
  })
}

describe('REST faults', () => {
  it('latency (sim time): the answer arrives only after the clock moves', async () => {
    // The clock moves only once the simulator holds the request (its fault is logged in the same
    // turn as the latency is scheduled): advancing earlier, on a loaded machine, would leave the
    // answer due at a time the clock never reaches.
    let held: () => void = () => {}
    const holding = new Promise<void>((resolve) => {
      held = resolve
    })
    sim = await startSim({ onEvent: (e) => e.type === 'fault' && held() })
    const app = realApp(sim)
    const tok = await token(sim, app)
    sim.control.faults.add({
      on: 'rest',
      path: 'inquire-price',
      effect: { type: 'latency', latency: { dist: 'uniform', min: 200, max: 300 } },
    })
    let done = false
    const p = get(sim, PRICE, priceQ, headers(app, tok, 'FHKST01010100')).then((r) => {
      done = true
      return r
    })
    await holding
    await new Promise((r) => setTimeout(r, 20))
    expect(done).toBe(false)
    sim.control.clock.advance(300)
    expect((await p).status).toBe(200)
  })

  it('lost response: the order commits at the broker, the client sees a connection reset', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      count: 1,
      effect: { type: 'drop-response', mode: 'reset' },
    })
    const r = await rawPost(
      `${sim.restUrl}${ORDER_CASH}`,
      JSON.stringify(orderBody(app, { ORD_UNPR: '69000' })),
      headers(app, tok, 'TTTC0012U'),
    )
    expect(r.error).toBe('ECONNRESET')
    const orders = sim.control.orders()
    expect(orders).toHaveLength(1)
    expect(orders[0]?.status).toBe('open')
    const l = sim.control.ledger()
    expect(l.orders[0]).toMatchObject({ outcome: 'accepted', responseLost: true })
    // A blind retry shows up as a duplicate in the ledger.
    await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    expect(sim.control.ledger().duplicates).toHaveLength(1)
  })

  it('HTTP 500 EGW00001 before processing, or after committing (ambiguous)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const id = sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      count: 1,
      effect: { type: 'http-error' },
    })
    const a = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    expect(a.status).toBe(500)
    expect(a.body).toEqual({ rt_cd: '1', msg_cd: 'EGW00001', msg1: '일시적 오류가 발생했습니다.' })
    expect(sim.control.orders()).toHaveLength(0)
    expect(sim.control.faults.list().find((f) => f.rule.id === id)?.applied).toBe(1)
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      count: 1,
      effect: { type: 'http-error', status: 502, commit: true },
    })
    const b = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    expect(b.status).toBe(502)
    expect(sim.control.orders()).toHaveLength(1)
  })

  it('forced EGW00201 and token invalidation (EGW00123 / EGW00121)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const h = headers(app, tok, 'FHKST01010100')
    sim.control.faults.add({ on: 'rest', count: 1, effect: { type: 'rate-limit' } })
    const r = await get(sim, PRICE, priceQ, h)
    expect([r.status, r.body.msg_cd]).toEqual([500, 'EGW00201'])
    expect(sim.control.ledger().rateViolations[0]?.forced).toBe(true)
    sim.control.faults.add({ on: 'rest', count: 1, effect: { type: 'token-invalid', code: 'EGW00121' } })
    expect((await get(sim, PRICE, priceQ, h)).body.msg_cd).toBe('EGW00121')
    expect(sim.control.invalidateTokens(app.appkey, 'expired')).toBe(1)
    expect((await get(sim, PRICE, priceQ, h)).body.msg_cd).toBe('EGW00123')
  })

  it('schema drift adds unknown trailing keys to outputs', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    sim.control.faults.add({
      on: 'rest',
      path: 'inquire-price',
      effect: { type: 'schema-drift', extraFields: 2 },
    })
    const r = await get(sim, PRICE, priceQ, headers(app, tok, 'FHKST01010100'))
    expect(r.body.output.sim_drift_2).toBe('')
    expect(r.body.sim_drift_1).toBe('')
  })

  it('the HTTP control endpoint scripts faults and serves the ledger', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const add = await post(sim, '/__sim/faults', [
      { on: 'rest', path: 'tokenP', count: 1, effect: { type: 'http-error', status: 503 } },
    ])
    expect(add.body.ids).toHaveLength(1)
    const bad = await post(sim, '/__sim/faults', { on: 'rest', effect: { type: 'nope' } })
    expect(bad.status).toBe(400)
    const t = await post(sim, '/oauth2/tokenP', {
      grant_type: 'client_credentials',
      appkey: app.appkey,
      appsecret: app.appsecret,
    })
    expect(t.status).toBe(503)
    const l = (await (await fetch(`${sim.restUrl}/__sim/ledger`)).json()) as { requests: number }
    expect(l.requests).toBe(1)
    const clock = await post(sim, '/__sim/clock', { advanceMs: 1000 })
    expect(clock.body.now).toBe(sim.control.clock.now())
  })
})

describe('WebSocket faults', () => {
  async function session(opts = {}) {
    sim = await startSim(opts)
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNI0', app.htsId)
    const ack = await c.json()
    return { app, key, c, aes: ack.body.output.key as string, iv: ack.body.output.iv as string }
  }

  it('clean and unclean disconnects; a dead session holds the slot for N seconds (OPSP8996 storm)', async () => {
    const { app, c } = await session({ ws: { deadSessionHoldMs: 20_000 } })
    sim.control.ws.disconnect(app.appkey, { clean: false })
    expect(await c.next()).toBe('__closed__')
    expect(c.closeCode).toBe(1006)
    sim.control.clock.advance(1000)
    const key2 = await approvalKey(sim, app)
    const d = await connect()
    d.subscribe(key2, 'H0STCNT0', '005930')
    expect((await d.json()).body.msg_cd).toBe('OPSP8996')
    sim.control.clock.advance(20_000)
    const e = await connect()
    e.subscribe(key2, 'H0STCNT0', '005930')
    expect((await e.json()).body.msg_cd).toBe('OPSP0000')
    sim.control.ws.disconnect(app.appkey, { clean: true })
    expect(await e.next()).toBe('__closed__')
    expect(e.closeCode).toBe(1000)
    const f = await connect()
    f.subscribe(key2, 'H0STCNT0', '005930')
    expect((await f.json()).body.msg_cd).toBe('OPSP0000')
  })

  it('blocks an appkey that starts more than N sessions a minute', async () => {
    sim = await startSim({ ws: { reconnectLimit: { maxPerMinute: 2, blockMs: 30_000 } } })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const codes: string[] = []
    for (let i = 0; i < 3; i++) {
      const c = await connect()
      c.subscribe(key, 'H0STCNT0', '005930')
      codes.push((await c.json()).body.msg_cd)
      await c.close()
    }
    expect(codes).toEqual(['OPSP0000', 'OPSP0000', 'OPSP8996'])
    expect(sim.control.ledger().maxConnectsPerMinute[app.appkey]).toBe(3)
    sim.control.clock.advance(61_000)
    const c = await connect()
    c.subscribe(key, 'H0STCNT0', '005930')
    expect((await c.json()).body.msg_cd).toBe('OPSP0000')
  })

  it('a stale stream keeps the socket open but sends nothing', async () => {
    const { app, key, c } = await session({ market: { priceModel: 'random-walk' } })
    c.subscribe(key, 'H0STCNT0', '005930')
    await c.json()
    sim.control.ws.stall(app.appkey, true)
    sim.control.clock.advance(30_000)
    await c.roundTrip(key)
    expect(c.messages.filter(isData)).toHaveLength(0)
    expect(c.messages.filter((m) => m.includes('PINGPONG'))).toHaveLength(0)
    expect(c.closed).toBe(false)
    sim.control.ws.stall(app.appkey, false)
    sim.control.clock.advance(1000)
    expect(await c.next((m) => m.startsWith('0|H0STCNT0'))).toContain('005930')
  })

  it('duplicate, delayed and out-of-order execution notices', async () => {
    const { app, key, c, aes, iv } = await session()
    const tok = await token(sim, app)
    const odnoOf = (f: string) => decryptNotice(f.split('|')[3] ?? '', aes, iv).split('^')[2]
    sim.control.faults.add({ on: 'notice', count: 1, effect: { type: 'duplicate', copies: 1 } })
    const a = await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    expect(odnoOf(await c.next(isData))).toBe(a.body.output.ODNO)
    expect(odnoOf(await c.next(isData))).toBe(a.body.output.ODNO)

    sim.control.faults.add({ on: 'notice', count: 1, effect: { type: 'delay', ms: 5000 } })
    await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    await c.roundTrip(key)
    expect(c.messages.filter(isData)).toHaveLength(0)
    sim.control.clock.advance(5000)
    expect(await c.next(isData)).toMatch(/^1\|H0STCNI0\|001\|/)

    sim.control.faults.add({ on: 'notice', count: 2, effect: { type: 'reorder', window: 2 } })
    const x = await placeOrder(sim, app, tok, { ORD_UNPR: '68900' })
    const y = await placeOrder(sim, app, tok, { ORD_UNPR: '68800' })
    expect(odnoOf(await c.next(isData))).toBe(y.body.output.ODNO)
    expect(odnoOf(await c.next(isData))).toBe(x.body.output.ODNO)
  })

  it('schema drift appends fields to market data and notices', async () => {
    const { app, key, c, aes, iv } = await session({ market: { priceModel: 'random-walk' } })
    c.subscribe(key, 'H0STCNT0', '005930')
    await c.json()
    sim.control.faults.add({
      on: 'market-data',
      trId: 'H0STCNT0',
      effect: { type: 'schema-drift', extraFields: 3 },
    })
    sim.control.faults.add({ on: 'notice', effect: { type: 'schema-drift', extraFields: 1 } })
    sim.control.clock.advance(1000)
    const f = await c.next((m) => m.startsWith('0|H0STCNT0'))
    expect(f.split('|')[3]?.split('^')).toHaveLength(49)
    const tok = await token(sim, app)
    await placeOrder(sim, app, tok, { ORD_UNPR: '69000' })
    const n = await c.next((m) => m.startsWith('1|'))
    expect(decryptNotice(n.split('|')[3] ?? '', aes, iv).split('^')).toHaveLength(27)
  })
})
