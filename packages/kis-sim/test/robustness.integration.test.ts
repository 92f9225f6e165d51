import { connect as netConnect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { KisSim, SimEvent } from '../src/index'
import {
  approvalKey,
  get,
  headers,
  ORDER_CASH,
  orderBody,
  PRICE,
  post,
  realApp,
  startSim,
  token,
  WsClient,
} from './helpers'

// Hostile or broken clients: the simulator answers with the reference's codes where they exist
// (reference/kis-openapi.md §6.1–§6.3) and keeps serving everyone else.

let sim: KisSim
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
})

const priceQ = { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' }

/** Sends raw bytes on a fresh TCP connection; resolves with everything the server wrote. */
function rawHttp(sim: KisSim, text: string, hangUpAfterWrite = false): Promise<string> {
  const { hostname, port } = new URL(sim.restUrl)
  return new Promise((resolve) => {
    let out = ''
    const s = netConnect(Number(port), hostname, () => {
      s.write(text)
      if (hangUpAfterWrite) s.destroy()
    })
    s.on('data', (d) => {
      out += d.toString()
    })
    s.on('error', () => {})
    s.on('close', () => resolve(out))
  })
}

async function stillServing(sim: KisSim): Promise<void> {
  const app = realApp(sim)
  sim.control.clock.advance(1000)
  const r = await get(sim, PRICE, priceQ, headers(app, await token(sim, app), 'FHKST01010100'))
  expect(r.body.rt_cd).toBe('0')
}

describe('REST bodies (reference §6.2 OPSQ9995/OPSQ9997, §6.1 EGW00132)', () => {
  it('malformed, empty and non-object JSON bodies are refused before any order exists', async () => {
    sim = await startSim({ limits: { restPerSecond: { real: 1000 } } })
    const app = realApp(sim)
    const tok = await token(sim, app)
    const h = headers(app, tok, 'TTTC0012U')
    const cases: [string, string][] = [
      ['{"CANO":', 'OPSQ9997'],
      ['[]', 'OPSQ9997'],
      ['null', 'OPSQ9997'],
      ['"CANO"', 'OPSQ9997'],
      ['', 'OPSQ9995'],
      ['   ', 'OPSQ9995'],
    ]
    for (const [body, code] of cases) {
      const r = await post(sim, ORDER_CASH, body, h)
      expect(r.status, body).toBe(500)
      expect(r.body, body).toMatchObject({ rt_cd: '1', msg_cd: code })
    }
    expect((await post(sim, ORDER_CASH, '{bad', h)).body.msg1).toBe('invalid json format')
    const text = await post(sim, ORDER_CASH, JSON.stringify(orderBody(app)), {
      ...h,
      'content-type': 'text/plain',
    })
    expect(text.body.msg_cd).toBe('EGW00132')
    const hash = await post(sim, '/uapi/hashkey', '{bad', { appkey: app.appkey, appsecret: app.appsecret })
    expect(hash.body.msg_cd).toBe('OPSQ9997')
    expect(sim.control.orders()).toEqual([])
    expect(sim.control.ledger().orders).toEqual([])
  })

  it('tokenP, Approval and revokeP answer malformed JSON with 403 EGW00101 in the error_code shape', async () => {
    sim = await startSim()
    for (const path of ['/oauth2/tokenP', '/oauth2/Approval', '/oauth2/revokeP']) {
      const r = await post(sim, path, '{"appkey":')
      expect(r.status, path).toBe(403)
      expect(r.body, path).toEqual({ error_code: 'EGW00101', error_description: '유효하지 않은 요청입니다.' })
    }
    const app = realApp(sim)
    const rv = await post(sim, '/oauth2/revokeP', { appkey: app.appkey, token: 'x' })
    expect(rv.body.error_code).toBe('EGW00104')
  })
})

describe('broken HTTP clients', () => {
  it('a request target that is not a URL gets 400 EGW00101 and the server keeps serving', async () => {
    sim = await startSim()
    const out = await rawHttp(sim, 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(out).toMatch(/^HTTP\/1\.1 400 /)
    expect(out).toContain('"msg_cd":"EGW00101"')
    // An origin-form target starting with `//` is a path, not a host.
    const slashes = await rawHttp(sim, 'GET //uapi/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(slashes).toMatch(/^HTTP\/1\.1 404 /)
    await stillServing(sim)
  })

  it('a body over 1 MiB is refused with 413 EGW00101 without parsing it', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const huge = JSON.stringify({ ...orderBody(app), PAD: 'x'.repeat(2_000_000) })
    const r = await post(sim, ORDER_CASH, huge, headers(app, tok, 'TTTC0012U'))
    expect(r.status).toBe(413)
    expect(r.body).toMatchObject({ rt_cd: '1', msg_cd: 'EGW00101' })
    expect(sim.control.orders()).toEqual([])
    await stillServing(sim)
  })

  it('a client that hangs up mid-body leaves no order behind and does not disturb others', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const tok = await token(sim, app)
    const body = JSON.stringify(orderBody(app))
    const head = Object.entries({ ...headers(app, tok, 'TTTC0012U'), 'content-type': 'application/json' })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')
    await rawHttp(
      sim,
      `POST ${ORDER_CASH} HTTP/1.1\r\nHost: x\r\n${head}content-length: ${body.length}\r\n\r\n${body.slice(0, 20)}`,
      true,
    )
    await stillServing(sim)
    expect(sim.control.orders()).toEqual([])
  })

  it('a client that leaves while its answer is delayed: the order still commits, the sim carries on', async () => {
    let committed: () => void = () => {}
    const seen = new Promise<void>((resolve) => {
      committed = resolve
    })
    sim = await startSim({
      onEvent: (e) => {
        if (e.type === 'request' && e.path === ORDER_CASH) committed()
      },
    })
    const app = realApp(sim)
    const tok = await token(sim, app)
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      count: 1,
      effect: { type: 'latency', latency: 1000, phase: 'after' },
    })
    const ac = new AbortController()
    const pending = fetch(`${sim.restUrl}${ORDER_CASH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers(app, tok, 'TTTC0012U') },
      body: JSON.stringify(orderBody(app)),
      signal: ac.signal,
    }).catch((e: unknown) => e)
    // phase 'after': the broker processes the order at once and holds the answer for 1 s (sim time).
    await seen
    expect(sim.control.orders()).toHaveLength(1)
    ac.abort()
    expect(await pending).toBeInstanceOf(Error)
    sim.control.clock.advance(1000)
    await stillServing(sim)
  })

  it('a failure inside the simulator answers HTTP 500 EGW00002 and reports it instead of crashing', async () => {
    const events: SimEvent[] = []
    let armed = false
    sim = await startSim({
      onEvent: (e) => {
        events.push(e)
        if (armed && e.type === 'request') {
          armed = false
          throw new Error('observer bug')
        }
      },
    })
    const app = realApp(sim)
    const tok = await token(sim, app)
    armed = true
    const r = await get(sim, PRICE, priceQ, headers(app, tok, 'FHKST01010100'))
    expect(r.status).toBe(500)
    expect(r.body).toEqual({ rt_cd: '1', msg_cd: 'EGW00002', msg1: '서버 에러가 발생했습니다.' })
    expect(events).toContainEqual({ type: 'internal-error', message: 'observer bug' })
    await stillServing(sim)
  })

  it('unknown paths: 404 outside /uapi, OPSQ0002 inside; a GET on a POST route is 405', async () => {
    sim = await startSim()
    const r = await fetch(`${sim.restUrl}/nowhere`)
    expect(r.status).toBe(404)
    expect(await r.json()).toMatchObject({ rt_cd: '1', msg_cd: 'OPSQ0002' })
    const m = await fetch(`${sim.restUrl}${ORDER_CASH}`)
    expect(m.status).toBe(405)
    expect(await m.json()).toMatchObject({ rt_cd: '1', msg_cd: 'EGW00101' })
  })
})

describe('broken WebSocket clients (reference §6.3)', () => {
  it('answers each malformed frame with its OPSP code and still serves a good subscribe', async () => {
    sim = await startSim({ ws: { pingIntervalMs: 0 } })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await WsClient.connect(sim.wsUrl)
    clients.push(c)
    const hdr = { approval_key: key, custtype: 'P', tr_type: '1', 'content-type': 'utf-8' }
    const input = { tr_id: 'H0STCNT0', tr_key: '005930' }
    const cases: [unknown, string, string][] = [
      ['{"header":', 'OPSP9999', 'JSON PARSING ERROR : invalid json format'],
      ['null', 'OPSP9998', 'JSON PARSING ERROR : header not found'],
      [{ body: { input } }, 'OPSP9998', 'JSON PARSING ERROR : header not found'],
      [{ header: { ...hdr, approval_key: 'nope' }, body: { input } }, 'OPSP0011', 'invalid approval : nope'],
      [{ header: { ...hdr, tr_type: '3' }, body: { input } }, 'OPSP8997', 'invalid tr_type'],
      [{ header: { ...hdr, custtype: 'X' }, body: { input } }, 'OPSP8998', 'invalid custtype'],
      [{ header: hdr }, 'OPSP9992', 'JSON PARSING ERROR : body not found'],
      [{ header: hdr, body: {} }, 'OPSP9991', 'JSON PARSING ERROR : input not found'],
      [
        { header: hdr, body: { input: { tr_id: 'H0STCNT0' } } },
        'OPSP9990',
        'JSON PARSING ERROR : tr_key not found',
      ],
      [
        { header: hdr, body: { input: { ...input, tr_id: 'H0XXXXX0' } } },
        'OPSP8991',
        'SUBSCRIBE ERROR : invalid tr_id',
      ],
      [
        { header: hdr, body: { input: { ...input, tr_key: '12' } } },
        'OPSP8992',
        'SUBSCRIBE ERROR : invalid tr_key',
      ],
    ]
    for (const [frame, code, msg1] of cases) {
      c.send(frame)
      const j = await c.json()
      expect(j.body, code).toEqual({ rt_cd: '1', msg_cd: code, msg1 })
    }
    c.socket.send(Buffer.from([0xde, 0xad]))
    c.send({ header: hdr, body: { input } })
    expect((await c.json()).body.msg_cd).toBe('OPSP0000')
    expect(c.closed).toBe(false)
  })

  it('an oversized frame closes only that socket (1009)', async () => {
    sim = await startSim({ ws: { pingIntervalMs: 0 } })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const big = await WsClient.connect(sim.wsUrl)
    clients.push(big)
    big.send('x'.repeat(2_000_000))
    expect(await big.next()).toBe('__closed__')
    expect(big.closeCode).toBe(1009)
    const c = await WsClient.connect(sim.wsUrl)
    clients.push(c)
    c.subscribe(key, 'H0STCNT0', '005930')
    expect((await c.json()).body.msg_cd).toBe('OPSP0000')
  })
})
