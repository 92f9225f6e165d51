import { createServer, type Socket } from 'node:net'
import { seededRandom } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { KisError } from '../errors'
import type { KisEvent } from '../events'
import {
  dataFrame,
  encryptNoticePayload,
  fakeSocketFactory,
  noticeRecord,
  subscribeAck,
  tradeRecord,
} from '../testing'
import type { ExecutionNotice } from './decoders'
import { type KisSocket, type KisSocketFactory, KisStreamSession } from './session'

const KEY = 'abcdefghijklmnopqrstuvwxyzabcdef'
const IV = '0123456789abcdef'
// Tuesday 2026-11-24 10:00 KST: inside the regular session.
const T0 = Date.parse('2026-11-24T01:00:00Z')

function setup(
  over: { budget?: number; threshold?: number; createSocket?: KisSocketFactory; url?: string } = {},
) {
  const clock = new ManualClock(T0)
  const events: KisEvent[] = []
  const gaps: string[] = []
  const { create, sockets } = fakeSocketFactory()
  let approvals = 0
  const invalidations: string[] = []
  const session = new KisStreamSession({
    url: over.url ?? 'ws://sim/tryitout',
    createSocket: over.createSocket ?? create,
    approvals: {
      get: async () => `approval-key-${++approvals}`,
      invalidate: (r) => invalidations.push(r),
    },
    clock,
    random: seededRandom(3),
    emit: (e) => events.push(e),
    custType: 'P',
    budget: over.budget ?? 41,
    reconnect: {
      baseMs: 1000,
      maxMs: 60_000,
      appKeyInUseMs: 20_000,
      slotHoldMs: 20_000,
      stableSessionMs: 60_000,
      connectsPerMinute: 3,
      threshold: over.threshold ?? 5,
      windowMs: 60_000,
      openMs: 60_000,
    },
    socketIdleMs: 150_000,
    streamIdleMs: 120_000,
    watchdogIntervalMs: 5_000,
    connectTimeoutMs: 10_000,
    onGap: (r) => gaps.push(r),
    noticeTrIds: ['H0STCNI0', 'H0STCNI9'],
  })
  const last = () => sockets[sockets.length - 1]!
  return { clock, events, gaps, sockets, session, last, invalidations, approvals: () => approvals }
}

describe('KisStreamSession', () => {
  it('opens with the approval key, subscribes, answers PINGPONG, and delivers ticks', async () => {
    const { clock, session, last, events } = setup()
    const ticks: unknown[] = []
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], (t) => ticks.push(t))
    await clock.advanceAsync(0)
    last().open()
    expect(last().subscriptions()).toEqual([
      { trType: '1', trId: 'H0STCNT0', trKey: '005930', approvalKey: 'approval-key-1' },
    ])
    last().receive(subscribeAck('H0STCNT0', '005930'))
    const ping = '{"header":{"tr_id":"PINGPONG","datetime":"20261124100000"}}'
    last().receive(ping)
    expect(last().sent.at(-1)).toBe(ping)
    last().receive(
      dataFrame('H0STCNT0', [
        tradeRecord({
          symbol: '005930',
          time: '100001',
          price: 70000,
          volume: 1,
          cumulative: 5,
          date: '20261124',
        }),
      ]),
    )
    expect(ticks).toEqual([expect.objectContaining({ symbol: '005930', price: 70000 })])
    expect(session.acknowledged).toBe(1)
    expect(events.map((e) => e.type)).toContain('ws.pingpong')
  })

  it('refuses the 42nd registration locally and sends nothing for it', async () => {
    const { clock, session, last } = setup()
    const codes = Array.from({ length: 41 }, (_, i) => String(100000 + i))
    session.subscribe(
      codes.map((c) => ({ trId: 'H0STCNT0', trKey: c })),
      () => {},
    )
    await clock.advanceAsync(0)
    last().open()
    last().receive(subscribeAck('H0STCNT0', codes[0]!))
    expect(last().subscriptions()).toHaveLength(41)
    let err: unknown
    try {
      session.subscribe([{ trId: 'H0STASP0', trKey: '005930' }], () => {})
    } catch (e) {
      err = e
    }
    expect(KisError.isInstance(err) && err.code).toBe('KIS_SUBSCRIPTION_BUDGET')
    expect(last().subscriptions()).toHaveLength(41)
    // All or nothing: a batch that does not fit reserves nothing.
    expect(session.budget.used).toBe(41)
  })

  it('releases a registration (tr_type 2) when the last listener leaves', async () => {
    const { clock, session, last } = setup()
    const off = session.subscribe([{ trId: 'H0STASP0', trKey: '005930' }], () => {})
    await clock.advanceAsync(0)
    last().open()
    last().receive(subscribeAck('H0STASP0', '005930'))
    off()
    off()
    expect(
      last()
        .subscriptions()
        .map((s) => s.trType),
    ).toEqual(['1', '2'])
    expect(session.budget.used).toBe(0)
  })

  it('resubscribes everything after a reconnect, pinned notices first, and signals a gap', async () => {
    const { clock, session, last, sockets, gaps, events } = setup()
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'htsid' }], () => {}, true)
    await clock.advanceAsync(0)
    last().open()
    last().receive(subscribeAck('H0STCNT0', '005930'))
    last().serverClose(1006)
    expect(events).toContainEqual(expect.objectContaining({ type: 'ws.closed', clean: false }))
    // An unclean close: the broker may hold the dead session's slot, so the retry waits for it.
    await clock.advanceAsync(19_000)
    expect(sockets).toHaveLength(1)
    await clock.advanceAsync(3_000)
    expect(sockets).toHaveLength(2)
    last().open()
    // Only the first registration (the pinned notices) goes out before the session is accepted.
    expect(
      last()
        .subscriptions()
        .map((s) => s.trId),
    ).toEqual(['H0STCNI0'])
    // The gap is reported once the session works again (first ack), not on a bare open.
    expect(gaps).toEqual([])
    last().receive(subscribeAck('H0STCNI0', 'htsid'))
    expect(
      last()
        .subscriptions()
        .map((s) => s.trId),
    ).toEqual(['H0STCNI0', 'H0STCNT0'])
    last().receive(subscribeAck('H0STCNT0', '005930'))
    expect(gaps).toEqual(['reconnected'])
  })

  it('a registration with beforeSubscribe probes first after its hook on every connection, never on a dropped one', async () => {
    const { clock, session, last, sockets } = setup()
    const gates: (() => void)[] = []
    let acks = 0
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'htsid' }], () => {}, true, {
      beforeSubscribe: () => new Promise<void>((resolve) => gates.push(resolve)),
      onAcknowledged: () => acks++,
    })
    await clock.advanceAsync(0)
    last().open()
    // The notice registration goes first, after its hook; market data waits for the session.
    expect(last().subscriptions()).toEqual([])
    gates.shift()!()
    await clock.advanceAsync(0)
    expect(
      last()
        .subscriptions()
        .map((x) => x.trId),
    ).toEqual(['H0STCNI0'])
    last().receive(subscribeAck('H0STCNI0', 'htsid'))
    last().receive(subscribeAck('H0STCNI0', 'htsid', undefined, 'OPSP0002', 'ALREADY IN SUBSCRIBE'))
    expect(
      last()
        .subscriptions()
        .map((x) => x.trId),
    ).toEqual(['H0STCNI0', 'H0STCNT0'])
    expect(acks).toBe(1)
    // Dropped while the next connection's hook is still running: nothing is sent on the dead socket.
    last().serverClose(1006)
    await clock.advanceAsync(25_000)
    last().open()
    const second = last()
    second.serverClose(1006)
    gates.shift()!()
    await clock.advanceAsync(0)
    expect(second.subscriptions()).toEqual([])
    await clock.advanceAsync(25_000)
    expect(sockets).toHaveLength(3)
    last().open()
    gates.shift()!()
    await clock.advanceAsync(0)
    last().receive(subscribeAck('H0STCNI0', 'htsid'))
    expect(
      last()
        .subscriptions()
        .map((x) => x.trId),
    ).toEqual(['H0STCNI0', 'H0STCNT0'])
    expect(acks).toBe(2)
    session.close()
  })

  it('decrypts notices with the key/iv from the ack', async () => {
    const { clock, session, last } = setup()
    const got: ExecutionNotice[] = []
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'htsid' }], (n) => got.push(n as ExecutionNotice), true)
    await clock.advanceAsync(0)
    last().open()
    last().receive(subscribeAck('H0STCNI0', 'htsid', { key: KEY, iv: IV }))
    const rec = noticeRecord({
      htsId: 'htsid',
      account: '5012345601',
      orderNo: '77',
      side: 'sell',
      symbol: '005930',
      quantity: 3,
      price: 70000,
      time: '100002',
      fill: true,
      orderQuantity: 3,
      orderPrice: 70000,
    })
    last().receive(`1|H0STCNI0|001|${encryptNoticePayload(rec.join('^'), KEY, IV)}`)
    expect(got).toEqual([
      expect.objectContaining({ orderNo: '0000000077', side: 'sell', isFill: true, quantity: 3 }),
    ])
  })

  it('turns malformed frames into decode_error events and keeps going', async () => {
    const { clock, session, last, events } = setup()
    const ticks: unknown[] = []
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], (t) => ticks.push(t))
    await clock.advanceAsync(0)
    last().open()
    for (const bad of [
      'garbage',
      '0|H0STCNT0|002|1^2^3',
      '1|H0STCNI0|001|AAAA',
      '{"header":',
      '0|H0XXXXX0|001|a',
    ])
      last().receive(bad)
    last().receive(
      dataFrame('H0STCNT0', [
        [
          ...tradeRecord({
            symbol: '005930',
            time: '100001',
            price: 70000,
            volume: 1,
            cumulative: 5,
            date: '20261124',
          }),
          'extra',
        ],
      ]),
    )
    expect(events.filter((e) => e.type === 'ws.decode_error')).toHaveLength(5)
    expect(events).toContainEqual({
      type: 'ws.drift',
      trId: 'H0STCNT0',
      expectedFields: 46,
      actualFields: 47,
    })
    expect(ticks).toHaveLength(1)
    expect(session.state).toBe('open')
  })

  it('OPSP0011: drops the approval key and reconnects with a fresh one', async () => {
    const { clock, session, last, invalidations } = setup()
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    await clock.advanceAsync(0)
    last().open()
    last().receive('{"body":{"rt_cd":"1","msg_cd":"OPSP0011","msg1":"invalid approval : approval-key-1"}}')
    expect(invalidations).toEqual(['OPSP0011'])
    await clock.advanceAsync(2_000)
    last().open()
    expect(last().subscriptions()[0]?.approvalKey).toBe('approval-key-2')
  })

  it('OPSP8996 + unclean closes: long backoff and a bounded number of attempts per minute', async () => {
    const { clock, session, sockets, events } = setup({ threshold: 5 })
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    await clock.advanceAsync(0)
    // The broker keeps refusing for 10 minutes: every socket opens, says OPSP8996 and drops.
    const attempts: number[] = []
    const until = T0 + 10 * 60_000
    while (clock.now() < until) {
      const s = sockets[sockets.length - 1]!
      if (s.readyState === 0) {
        attempts.push(clock.now())
        s.open()
        s.receive('{"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}')
        s.serverClose(1006)
      }
      await clock.advanceAsync(1_000)
    }
    for (const t of attempts) {
      expect(attempts.filter((a) => a >= t && a < t + 60_000).length).toBeLessThanOrEqual(3)
    }
    const delays = events.flatMap((e) => (e.type === 'ws.reconnect_scheduled' ? [e] : []))
    expect(delays.every((d) => d.reason === 'appkey_in_use' && d.delayMs >= 20_000)).toBe(true)
    expect(attempts.length).toBeGreaterThan(5)
  })

  it('a silent market-data stream on a live socket is re-subscribed with backoff, never reconnected', async () => {
    const { clock, session, last, events, gaps, sockets } = setup()
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    await clock.advanceAsync(0)
    last().open()
    last().receive(subscribeAck('H0STCNT0', '005930'))
    // PINGPONG keeps the socket alive for 30 minutes, but the trade stream stays silent.
    const first = last()
    for (let i = 0; i < 180; i++) {
      await clock.advanceAsync(10_000)
      first.receive('{"header":{"tr_id":"PINGPONG","datetime":"x"}}')
    }
    expect(sockets).toHaveLength(1)
    expect(events.filter((e) => e.type === 'ws.reconnect_scheduled')).toEqual([])
    expect(gaps).toEqual([])
    const resubs = events.flatMap((e) => (e.type === 'ws.resubscribed' ? [e] : []))
    expect(resubs.every((e) => e.stream === 'H0STCNT0|005930')).toBe(true)
    // Silences of 120 s, then 240 s, 480 s, then 600 s each: 4 in 30 minutes, not one every 2 minutes.
    expect(resubs.map((e) => e.attempt)).toEqual([1, 2, 3, 4])
    const trades = first.subscriptions().filter((x) => x.trId === 'H0STCNT0')
    expect(trades.map((x) => x.trType)).toEqual(['1', '2', '1', '2', '1', '2', '1', '2', '1'])
    expect(first.closedWith).toBeUndefined()
    session.close()
  })

  it('a notices-only session is not declared stale while PINGPONG flows', async () => {
    const { clock, session, last, events } = setup()
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'h' }], () => {}, true)
    await clock.advanceAsync(0)
    last().open()
    for (let i = 0; i < 60; i++) {
      await clock.advanceAsync(10_000)
      last().receive('{"header":{"tr_id":"PINGPONG","datetime":"x"}}')
    }
    expect(events.filter((e) => e.type === 'ws.stale')).toEqual([])
  })

  it('a socket with no frames at all past socketIdleMs is stale', async () => {
    const { clock, session, last, events } = setup()
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'h' }], () => {}, true)
    await clock.advanceAsync(0)
    const s = last()
    s.open()
    s.receive(subscribeAck('H0STCNI0', 'h'))
    await clock.advanceAsync(160_000)
    expect(events).toContainEqual(expect.objectContaining({ type: 'ws.stale', stream: 'socket' }))
    // Closed with a close frame, never terminated: a clean end does not leave the slot held.
    expect(s.closedWith).toEqual({ code: 1000, reason: 'stale' })
    expect(s.terminated).toBe(false)
  })

  it('OPSP8996 on a socket the server keeps open: the client drops it itself and backs off long', async () => {
    const { clock, session, sockets, events } = setup()
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'h' }], () => {}, true)
    await clock.advanceAsync(0)
    const s = sockets[0]!
    s.open()
    s.receive('{"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}')
    // No close from the server: without a client-side drop the session would sit on a dead socket.
    expect(s.readyState).toBe(3)
    const scheduled = events.filter((e) => e.type === 'ws.reconnect_scheduled')
    expect(scheduled).toEqual([expect.objectContaining({ reason: 'appkey_in_use' })])
    expect(scheduled[0]!.type === 'ws.reconnect_scheduled' && scheduled[0]!.delayMs).toBeGreaterThanOrEqual(
      20_000,
    )
    await clock.advanceAsync(19_000)
    expect(sockets).toHaveLength(1)
    session.close()
  })

  it('a connect timeout against a real ws socket never leaves an unhandled error (no process crash)', async () => {
    // A TCP server that accepts and never answers the HTTP upgrade.
    const held: Socket[] = []
    const server = createServer((c) => held.push(c))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const uncaught: unknown[] = []
    const onUncaught = (e: unknown) => uncaught.push(e)
    process.on('uncaughtException', onUncaught)
    try {
      const { clock, session, events } = setup({
        url: `ws://127.0.0.1:${port}`,
        createSocket: (url) => new WebSocket(url) as unknown as KisSocket,
      })
      session.subscribe([{ trId: 'H0STCNI0', trKey: 'h' }], () => {}, true)
      await clock.advanceAsync(0)
      await clock.advanceAsync(10_000)
      // ws emits the aborted handshake's 'error' on process.nextTick; advanceAsync already let a
      // macrotask turn pass, one more makes sure.
      await new Promise((r) => setImmediate(r))
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'ws.reconnect_scheduled', reason: 'connect_timeout' }),
      )
      session.close()
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('uncaughtException', onUncaught)
      for (const c of held) c.destroy()
      await new Promise((r) => server.close(() => r(undefined)))
    }
    expect(uncaught).toEqual([])
  })

  it('a refused session (OPSP8996) costs one registration and nothing more is sent on it', async () => {
    const { clock, session, sockets } = setup()
    session.subscribe(
      ['005930', '000660', '035420'].map((c) => ({ trId: 'H0STCNT0', trKey: c })),
      () => {},
    )
    session.subscribe([{ trId: 'H0STCNI0', trKey: 'h' }], () => {}, true)
    await clock.advanceAsync(0)
    const s = sockets[0]!
    s.open()
    expect(s.subscriptions().map((x) => x.trId)).toEqual(['H0STCNI0'])
    s.receive('{"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}')
    s.receive('{"header":{"tr_id":"PINGPONG","datetime":"x"}}')
    expect(s.sent).toHaveLength(1)
    expect(s.closedWith).toEqual({ code: 1000, reason: 'appkey_in_use' })
  })

  it('OPSP0011: the socket is closed with a close frame, not terminated', async () => {
    const { clock, session, last } = setup()
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    await clock.advanceAsync(0)
    const s = last()
    s.open()
    s.receive('{"body":{"rt_cd":"1","msg_cd":"OPSP0011","msg1":"invalid approval : approval-key-1"}}')
    expect(s.closedWith).toEqual({ code: 1000, reason: 'auth' })
    expect(s.terminated).toBe(false)
  })

  it('a server that accepts and closes cleanly every 3 s meets a growing backoff and the connection budget', async () => {
    const { clock, session, sockets, events } = setup({ threshold: 1_000 })
    session.subscribe([{ trId: 'H0STCNT0', trKey: '005930' }], () => {})
    await clock.advanceAsync(0)
    const opened: number[] = []
    const until = T0 + 10 * 60_000
    let handled = 0
    while (clock.now() < until) {
      if (sockets.length > handled) {
        const s = sockets[handled++]!
        opened.push(clock.now())
        s.open()
        s.receive(subscribeAck('H0STCNT0', '005930'))
        await clock.advanceAsync(3_000)
        s.serverClose(1000)
        continue
      }
      await clock.advanceAsync(500)
    }
    // The budget (3 per minute by default in the gateway; here 3 via `connectsPerMinute`).
    for (const t of opened)
      expect(opened.filter((a) => a >= t && a < t + 60_000).length).toBeLessThanOrEqual(3)
    const delays = events.flatMap((e) => (e.type === 'ws.reconnect_scheduled' ? [e.attempt] : []))
    // Sessions of 3 s never count as "up": the attempt counter keeps growing.
    expect(delays.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6])
    // The waits the budget imposed were reported.
    const waits = events.flatMap((e) => (e.type === 'ws.connect_budget' ? [e] : []))
    expect(waits.length).toBeGreaterThan(0)
    expect(waits.every((w) => w.maxPerMinute === 3 && w.used === 3 && w.waitMs > 0)).toBe(true)
    session.close()
  })
})
