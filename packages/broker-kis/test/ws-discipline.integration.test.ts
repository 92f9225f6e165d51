import { describe, expect, it } from 'vitest'
import type { KisEvent } from '../src/events'
import { rigsClosedAfterEach, SIM_START, type SimRig, until } from './sim-harness'

// Issue #20: the adapter must never be the cause of an appkey lockout. Every test asserts what the
// simulator saw (its ledger), with the lockout behaviours switched on: a dead session holds the
// slot (`ws.deadSessionHoldMs`) and more than 5 sessions a minute block the appkey
// (`ws.reconnectLimit`).

const startRig = rigsClosedAfterEach()

const SPEED = 100
const LIMIT = { maxPerMinute: 5, blockMs: 60_000 }

const of = <T extends KisEvent['type']>(events: KisEvent[], type: T) =>
  events.filter((e): e is Extract<KisEvent, { type: T }> => e.type === type)

function connects(r: SimRig) {
  const l = r.sim.control.ledger()
  const mine = l.wsConnects.filter((c) => c.appkey === r.app.appkey)
  return {
    all: mine,
    blocked: mine.filter((c) => c.outcome === 'blocked').length,
    inUse: mine.filter((c) => c.outcome === 'in-use').length,
    maxPerMinute: l.maxConnectsPerMinute[r.app.appkey] ?? 0,
  }
}

describe('WebSocket discipline against kis-sim (slot hold + 5/min reconnect limit on)', () => {
  it('an unclean drop: no OPSP8996, never blocked, every stream back within the hold plus a few seconds', async () => {
    const holdMs = 1_500
    const r = await startRig('real', {
      sim: { ws: { deadSessionHoldMs: holdMs, reconnectLimit: LIMIT }, limits: { timebase: 'host' } },
      config: { websocket: { reconnectBaseMs: 50, slotHoldMs: holdMs, connectsPerMinute: 3 } },
    })
    const gaps: string[] = []
    r.gateway.onStreamGap((g) => gaps.push(g))
    r.gateway.streamOrderEvents(r.account, () => {})
    r.gateway.streamTicks(['005930', '000660'], () => {})
    r.gateway.streamOrderBooks(['035720'], () => {})
    await until('4 acks', () => r.gateway.snapshot().ws.acknowledged === 4, 8_000)
    const before = connects(r).all.length
    const t0 = Date.now()
    r.sim.control.ws.disconnect(r.app.appkey, { clean: false })
    await until(
      'all streams back',
      () => r.gateway.snapshot().ws.acknowledged === 4 && gaps.length === 1,
      holdMs + 6_000,
    )
    expect(Date.now() - t0).toBeLessThan(holdMs + 4_000)
    const c = connects(r)
    // One new session: the first retry waited for the slot the dead session held.
    expect(c.all.length - before).toBe(1)
    expect(c.inUse).toBe(0)
    expect(c.blocked).toBe(0)
    expect(c.maxPerMinute).toBeLessThanOrEqual(3)
    expect(of(r.events, 'ws.control').filter((e) => e.code === 'OPSP8996')).toEqual([])
  })

  it('a slot still held after the estimate (OPSP8996): one counted attempt per refused socket, never blocked', async () => {
    const r = await startRig('real', {
      speed: SPEED,
      sim: {
        clock: { mode: 'accelerated', start: SIM_START, speed: SPEED },
        limits: { timebase: 'sim' },
        ws: { reconnectLimit: LIMIT },
      },
      config: {
        timeouts: { authMs: 600_000, queryMs: 600_000 },
        websocket: {
          slotHoldMs: 3_000,
          appKeyInUseBackoffMs: 3_000,
          connectsPerMinute: 3,
          connectBudgetMarginMs: 30_000,
          connectTimeoutMs: 600_000,
        },
      },
    })
    r.gateway.streamOrderEvents(r.account, () => {})
    r.gateway.streamTicks(['005930', '000660', '035720', '005380'], () => {})
    await until('5 acks', () => r.gateway.snapshot().ws.acknowledged === 5, 8_000)
    // The broker keeps the slot far longer than we estimated.
    r.sim.control.ws.holdSlot(r.app.appkey, 40_000)
    r.sim.control.ws.disconnect(r.app.appkey, { clean: false })
    await until('dropped', () => r.gateway.snapshot().ws.acknowledged === 0)
    await until('back', () => r.gateway.snapshot().ws.acknowledged === 5, 30_000)
    const c = connects(r)
    expect(c.blocked).toBe(0)
    expect(c.maxPerMinute).toBeLessThanOrEqual(3)
    // Each refused socket sent one registration only: attempts == sockets opened.
    const sockets = of(r.events, 'ws.open').length
    expect(c.all.length).toBe(sockets)
    expect(of(r.events, 'ws.connect_budget').length).toBeGreaterThan(0)
  })

  it('a market-data stream silent for 10 minutes (other streams flowing): re-subscribed, no reconnect, no OPSP8996', async () => {
    const r = await startRig('real', {
      speed: SPEED,
      sim: {
        clock: { mode: 'accelerated', start: SIM_START, speed: SPEED },
        market: { priceModel: 'random-walk', fillModel: 'manual' },
        limits: { timebase: 'sim' },
        ws: { deadSessionHoldMs: 30_000, reconnectLimit: LIMIT },
      },
      config: {
        timeouts: { authMs: 600_000, queryMs: 600_000 },
        // At 100× a loaded host's pause is minutes of virtual silence: the socket check stays out of
        // the way, the test is about one stream.
        websocket: { socketIdleMs: 3_600_000, watchdogIntervalMs: 1_000 },
      },
      gateway: { streamIdleThreshold: (trId) => (trId === 'H0STCNT0' ? 10_000 : undefined) },
    })
    let books = 0
    r.gateway.streamTicks(['005930'], () => {})
    r.gateway.streamOrderBooks(['000660'], () => books++)
    await until('2 acks', () => r.gateway.snapshot().ws.acknowledged === 2, 8_000)
    // One symbol's trades vanish (halted, illiquid, or lost by the broker); books keep flowing.
    r.sim.control.faults.add({ on: 'market-data', trId: 'H0STCNT0', effect: { type: 'drop' } })
    const start = r.sim.control.clock.now()
    await until('10 virtual minutes', () => r.sim.control.clock.now() - start >= 600_000, 20_000)
    const c = connects(r)
    expect(c.all.length).toBe(1)
    expect(of(r.events, 'ws.reconnect_scheduled')).toEqual([])
    expect(of(r.events, 'ws.control').filter((e) => e.code === 'OPSP8996')).toEqual([])
    expect(books).toBeGreaterThan(100)
    const resubs = of(r.events, 'ws.resubscribed')
    expect(resubs.every((e) => e.stream === 'H0STCNT0|005930')).toBe(true)
    // 10 s, then doubling: ~5 in 10 minutes, not 40.
    expect(resubs.length).toBeGreaterThanOrEqual(3)
    expect(resubs.length).toBeLessThanOrEqual(8)
  })

  it('20 clean server closes at 3 s intervals: the connection budget holds, never blocked', async () => {
    const r = await startRig('real', {
      speed: SPEED,
      sim: {
        clock: { mode: 'accelerated', start: SIM_START, speed: SPEED },
        limits: { timebase: 'sim' },
        ws: { deadSessionHoldMs: 30_000, reconnectLimit: LIMIT },
      },
      config: {
        timeouts: { authMs: 600_000, queryMs: 600_000 },
        // At 100× a host hiccup of 100 ms is 10 virtual seconds between our attempt and the sim's count.
        websocket: {
          connectsPerMinute: 3,
          connectBudgetMarginMs: 30_000,
          reconnectMaxMs: 20_000,
          connectTimeoutMs: 600_000,
        },
      },
    })
    r.gateway.streamTicks(['005930'], () => {})
    await until('ack', () => r.gateway.snapshot().ws.acknowledged === 1, 8_000)
    let closes = 0
    let next = r.sim.control.clock.now() + 3_000
    await until(
      '20 clean closes',
      () => {
        const now = r.sim.control.clock.now()
        if (now >= next) {
          next = now + 3_000
          if (r.sim.control.ws.disconnect(r.app.appkey, { clean: true })) closes++
        }
        return closes >= 20
      },
      40_000,
    )
    const c = connects(r)
    expect(c.blocked).toBe(0)
    expect(c.inUse).toBe(0)
    expect(c.maxPerMinute).toBeLessThanOrEqual(3)
    expect(of(r.events, 'ws.connect_budget').length).toBeGreaterThan(0)
  })
})
