import { afterEach, describe, expect, it } from 'vitest'
import { decryptNotice, FIELD_COUNTS, type KisSim } from '../src/index'
import { approvalKey, paperApp, placeOrder, realApp, startSim, token, WsClient } from './helpers'

let sim: KisSim
const clients: WsClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await sim?.close()
})

async function connect(path = '/tryitout'): Promise<WsClient> {
  const c = await WsClient.connect(`${sim.wsUrl}${path}`)
  clients.push(c)
  return c
}

const isData = (m: string) => m.startsWith('0|') || m.startsWith('1|')

describe('WebSocket control messages (reference §7.2, §7.3, §6.3)', () => {
  it('rejects an unknown approval key with OPSP0011 "invalid approval : <key>"', async () => {
    sim = await startSim()
    const c = await connect('/')
    c.subscribe('00000000-0000-4000-8000-000000000000', 'H0STCNT0', '005930')
    const j = await c.json()
    expect(j.body).toEqual({
      rt_cd: '1',
      msg_cd: 'OPSP0011',
      msg1: 'invalid approval : 00000000-0000-4000-8000-000000000000',
    })
  })

  it('acks subscribe with iv/key, duplicate OPSP0002, unsubscribe OPSP0001, unknown OPSP0003', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STASP0', '066570')
    const ack = await c.json()
    expect(ack.header).toEqual({ tr_id: 'H0STASP0', tr_key: '066570', encrypt: 'N' })
    expect(ack.body).toMatchObject({ rt_cd: '0', msg_cd: 'OPSP0000', msg1: 'SUBSCRIBE SUCCESS' })
    expect(ack.body.output.iv).toMatch(/^[0-9a-f]{16}$/)
    expect(ack.body.output.key).toMatch(/^[a-z]{32}$/)
    c.subscribe(key, 'H0STASP0', '066570')
    expect((await c.json()).body).toMatchObject({
      rt_cd: '1',
      msg_cd: 'OPSP0002',
      msg1: 'ALREADY IN SUBSCRIBE',
    })
    c.subscribe(key, 'H0STASP0', '066570', '2')
    const un = await c.json()
    expect(un.body).toMatchObject({ rt_cd: '0', msg_cd: 'OPSP0001' })
    expect(un.body.msg1.startsWith('UNSUB')).toBe(true)
    c.subscribe(key, 'H0STASP0', '066570', '2')
    expect((await c.json()).body).toMatchObject({ msg_cd: 'OPSP0003', msg1: 'UNSUBSCRIBE ERROR(not found!)' })
  })

  it('allows 41 registrations; the 42nd is OPSP0008 MAX SUBSCRIBE OVER (reference §8)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    for (let i = 0; i < 42; i++) c.subscribe(key, i % 2 ? 'H0STCNT0' : 'H0STASP0', String(100000 + i))
    const codes: string[] = []
    for (let i = 0; i < 42; i++) codes.push((await c.json()).body.msg_cd)
    expect(codes.filter((x) => x === 'OPSP0000')).toHaveLength(41)
    expect(codes[41]).toBe('OPSP0008')
  })

  it('one session per appkey: a second gets OPSP8996 (rt_cd 9) and is closed', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const a = await connect()
    a.subscribe(key, 'H0STCNT0', '005930')
    await a.json()
    const b = await connect()
    b.subscribe(key, 'H0STCNT0', '005930')
    expect((await b.json()).body).toEqual({ rt_cd: '9', msg_cd: 'OPSP8996', msg1: 'ALREADY IN USE appkey' })
    await b.next(() => false).catch(() => undefined)
    expect(b.closed).toBe(true)
    // Other appkeys are independent.
    const p = paperApp(sim)
    sim.control.clock.advance(1000)
    const pk = await approvalKey(sim, p)
    const c = await connect()
    c.subscribe(pk, 'H0STCNT0', '005930')
    expect((await c.json()).body.msg_cd).toBe('OPSP0000')
    expect(sim.control.ledger().wsConnects.map((x) => x.outcome)).toEqual(['ok', 'in-use', 'ok'])
  })

  it('a wrong HTS ID on the notice TR drops the connection without a close frame (reference §7.5)', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNI0', 'NOTME123')
    expect(await c.next()).toBe('__closed__')
    expect(c.closeCode).toBe(1006)
  })
})

describe('PINGPONG (reference §7.4)', () => {
  it('sends PINGPONG with datetime when idle and accepts text echo, pong and ping answers', async () => {
    sim = await startSim({ ws: { pingIntervalMs: 10_000 } })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNT0', '005930')
    await c.json()
    sim.control.clock.advance(10_000)
    const raw = await c.next((m) => m.includes('PINGPONG'))
    const ping = JSON.parse(raw)
    expect(ping).toEqual({ header: { tr_id: 'PINGPONG', datetime: '20261124100010' } })
    c.send(raw)
    c.socket.pong(raw)
    c.socket.ping(raw)
    await c.roundTrip(key)
    expect(sim.control.ledger().pongs[app.appkey]).toEqual({ text: 1, pong: 1, ping: 1 })
  })
})

describe('PINGPONG timing and clients that ignore it (issue #9)', () => {
  const pings = (c: WsClient) => c.messages.filter((m) => m.includes('"PINGPONG"'))

  it('the first PINGPONG comes one interval after the session was accepted, and keeps coming while market data flows', async () => {
    sim = await startSim({
      ws: { pingIntervalMs: 10_000 },
      market: { priceModel: 'random-walk', tickIntervalMs: 1_000 },
    })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNT0', '005930')
    await c.json()
    sim.control.clock.advance(9_999)
    await c.roundTrip(key)
    expect(pings(c)).toHaveLength(0)
    expect(c.messages.some(isData)).toBe(true)
    sim.control.clock.advance(1)
    await c.roundTrip(key)
    expect(pings(c).map((m) => JSON.parse(m).header.datetime)).toEqual(['20261124100010'])
    sim.control.clock.advance(20_000)
    await c.roundTrip(key)
    expect(pings(c).map((m) => JSON.parse(m).header.datetime)).toEqual([
      '20261124100010',
      '20261124100020',
      '20261124100030',
    ])
  })

  it('with pingWhenIdleOnly a busy socket gets none; an idle one gets the first after one interval', async () => {
    sim = await startSim({
      ws: { pingIntervalMs: 10_000, pingWhenIdleOnly: true },
      market: { priceModel: 'random-walk', tickIntervalMs: 1_000 },
    })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const busy = await connect()
    busy.subscribe(key, 'H0STCNT0', '005930')
    await busy.json()
    for (let t = 0; t < 30; t++) sim.control.clock.advance(1_000)
    await busy.roundTrip(key)
    expect(pings(busy)).toHaveLength(0)
    await busy.close()
    const idle = await connect()
    idle.subscribe(key, 'H0STCNT0', '999999', '2')
    await idle.json()
    sim.control.clock.advance(10_000)
    await idle.roundTrip(key)
    expect(pings(idle)).toHaveLength(1)
  })

  it('a client that never answers is closed without a close frame pongTimeoutMs after the PINGPONG; one that answers stays', async () => {
    sim = await startSim({
      ws: { pingIntervalMs: 10_000, pongTimeoutMs: 30_000 },
      market: { priceModel: 'random-walk', tickIntervalMs: 1_000 },
    })
    const real = realApp(sim)
    const paper = paperApp(sim)
    const deaf = await connect()
    const deafKey = await approvalKey(sim, real)
    deaf.subscribe(deafKey, 'H0STCNT0', '005930')
    await deaf.json()
    const polite = await connect()
    const politeKey = await approvalKey(sim, paper)
    polite.subscribe(politeKey, 'H0STCNT0', '005930')
    await polite.json()
    const answer = (m: string) => {
      if (m.includes('"PINGPONG"')) polite.send(m)
    }
    polite.socket.on('message', (d) => answer(d.toString()))
    // One virtual second at a time, letting the polite client's answers reach the simulator (two
    // round trips: the first may overtake an answer sent while it was under way).
    const step = async () => {
      sim.control.clock.advance(1_000)
      await polite.roundTrip(politeKey)
      await polite.roundTrip(politeKey)
    }
    // The first PINGPONG at +10 s; unanswered until +40 s.
    for (let t = 0; t < 39; t++) await step()
    expect(deaf.closed, `closed with ${deaf.closeCode}; ${pings(deaf).join(' ')}`).toBe(false)
    await step()
    const gone = await deaf.next(() => false, 2_000).catch(() => '__timeout__')
    expect(gone).toBe('__closed__')
    expect(deaf.closeCode).toBe(1006)
    for (let t = 0; t < 60; t++) await step()
    expect(polite.closed).toBe(false)
    expect(sim.control.ledger().pongs[paper.appkey]?.text).toBeGreaterThanOrEqual(9)
  })
})

describe('market data frames (reference §7.5, §7.7, §7.8)', () => {
  it('H0STCNT0 bundles records of 46 fields; H0STASP0 carries 59 fields', async () => {
    sim = await startSim({ market: { priceModel: 'random-walk', tickIntervalMs: 1000 } })
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNT0', '005930')
    c.subscribe(key, 'H0STASP0', '005930')
    await c.json()
    await c.json()
    sim.control.clock.advance(25_000)
    const frame = await c.next((m) => m.startsWith('0|H0STCNT0|'))
    const [enc, tr, count, payload] = frame.split('|', 4) as [string, string, string, string]
    expect(enc).toBe('0')
    expect(tr).toBe('H0STCNT0')
    expect(count).toBe('020')
    const fields = payload.split('^')
    expect(fields.length).toBe(20 * FIELD_COUNTS.H0STCNT0)
    expect(fields[0]).toBe('005930')
    expect(fields[33]).toBe('20261124')
    const second = await c.next((m) => m.startsWith('0|H0STCNT0|'))
    expect(second.split('|')[2]).toBe('005')
    const asp = await c.next((m) => m.startsWith('0|H0STASP0|'))
    const af = asp.split('|')[3]?.split('^') ?? []
    expect(asp.split('|')[2]).toBe('001')
    expect(af.length).toBe(FIELD_COUNTS.H0STASP0)
    expect(Number(af[3])).toBeGreaterThan(Number(af[13]))
  })
})

describe('execution notices (reference §7.9)', () => {
  it('encrypts 26-field notices with the ack key/iv: one 접수 per order, one 체결 per fill', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const tok = await token(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNI0', app.htsId)
    const ack = await c.json()
    expect(ack.header.encrypt).toBe('Y')
    const { iv, key: aes } = ack.body.output
    const o = await placeOrder(sim, app, tok, { ORD_UNPR: '69000', ORD_QTY: '10' })
    const odno = o.body.output.ODNO
    sim.control.fill(odno, { qty: 4 })
    sim.control.fill(odno)
    const frames = [await c.next(isData), await c.next(isData), await c.next(isData)]
    const recs = frames.map((f) => {
      const [enc, tr, count, b64] = f.split('|', 4) as [string, string, string, string]
      expect([enc, tr, count]).toEqual(['1', 'H0STCNI0', '001'])
      return decryptNotice(b64, aes, iv).split('^')
    })
    for (const r of recs) expect(r).toHaveLength(FIELD_COUNTS.notice)
    const [receipt, fill1, fill2] = recs as [string[], string[], string[]]
    expect(receipt[2]).toBe(odno)
    expect([receipt[13], receipt[14], receipt[12]]).toEqual(['1', '1', '0'])
    expect([fill1[13], fill1[9], fill1[10]]).toEqual(['2', '4', '69000'])
    expect([fill2[13], fill2[9]]).toEqual(['2', '6'])
    expect(receipt[0]).toBe(app.htsId)
    expect(receipt[15]).toBe('06010')
  })

  it('real refuses H0STCNI9 (paper id); IOC remainder gives ACPT_YN 3; a cancel receipt links OODER_NO', async () => {
    sim = await startSim()
    const app = realApp(sim)
    const key = await approvalKey(sim, app)
    const tok = await token(sim, app)
    const c = await connect()
    c.subscribe(key, 'H0STCNI9', app.htsId)
    expect((await c.json()).body.msg_cd).toBe('OPSP8991')
    c.subscribe(key, 'H0STCNI0', app.htsId)
    const { iv, key: aes } = (await c.json()).body.output
    const q = sim.control.quote('005930')
    const o = await placeOrder(sim, app, tok, { ORD_DVSN: '11', ORD_UNPR: String(q.bestBid), ORD_QTY: '10' })
    expect(o.body.rt_cd).toBe('0')
    const recs: string[][] = []
    for (let i = 0; i < 2; i++) {
      const f = await c.next(isData)
      recs.push(decryptNotice(f.split('|')[3] ?? '', aes, iv).split('^'))
    }
    expect(recs[1]?.[14]).toBe('3')
    expect(recs[1]?.[7]).toBe('1')
  })
})
