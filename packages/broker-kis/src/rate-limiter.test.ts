import { seededRandom } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { KisEvent, KisLane } from './events'
import { KIS_LANES, SlidingWindowLimiter } from './rate-limiter'

/** Largest number of grants in any half-open window [t, t + windowMs). */
function maxInAnyWindow(times: number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b)
  let best = 0
  let j = 0
  for (let i = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= windowMs) j++
    best = Math.max(best, i - j + 1)
  }
  return best
}

/** Run arrivals (offset ms, lane) through a limiter on a virtual clock; return grant times. */
async function run(
  limit: number,
  margin: number,
  arrivals: { at: number; lane: KisLane; rtt?: number }[],
): Promise<{
  grants: { at: number; lane: KisLane; arrived: number; seq: number; doneAt: number }[]
  events: KisEvent[]
}> {
  const clock = new ManualClock(1_800_000_000_000)
  const start = clock.now()
  const events: KisEvent[] = []
  const limiter = new SlidingWindowLimiter({
    name: 'rest',
    limit,
    safetyMarginMs: margin,
    clock,
    onEvent: (e) => events.push(e),
  })
  const grants: { at: number; lane: KisLane; arrived: number; seq: number; doneAt: number }[] = []
  arrivals.forEach((a, seq) => {
    clock.setTimeout(() => {
      const arrived = clock.now()
      void limiter.acquire(a.lane).then((permit) => {
        const at = clock.now()
        const rtt = a.rtt ?? 0
        grants.push({ at, lane: a.lane, arrived, seq, doneAt: at + rtt })
        if (rtt === 0) permit.done()
        else clock.setTimeout(() => permit.done(), rtt)
      })
    }, a.at)
  })
  const maxRtt = Math.max(0, ...arrivals.map((a) => a.rtt ?? 0))
  const horizon =
    Math.max(0, ...arrivals.map((a) => a.at)) +
    Math.ceil(arrivals.length / limit + 2) * (1000 + margin + maxRtt)
  await clock.advanceAsync(horizon)
  return { grants: grants.map((g) => ({ ...g, at: g.at - start, arrived: g.arrived - start })), events }
}

const arrivalArb = fc.array(
  fc.record({ at: fc.integer({ min: 0, max: 5_000 }), lane: fc.constantFrom<KisLane>(...KIS_LANES) }),
  { minLength: 1, maxLength: 120 },
)

describe('SlidingWindowLimiter', () => {
  it('never lets more than N requests into any one-second window, for random arrivals', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 50 }),
        arrivalArb,
        async (limit, margin, arrivals) => {
          const { grants } = await run(limit, margin, arrivals)
          expect(grants).toHaveLength(arrivals.length)
          expect(
            maxInAnyWindow(
              grants.map((g) => g.at),
              1000 + margin,
            ),
          ).toBeLessThanOrEqual(limit)
          // The margin is real: no N+1 grants within window+margin either.
          for (const g of grants) expect(g.at).toBeGreaterThanOrEqual(g.arrived)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('property: at most N arrivals at the broker in any sliding second, for any split of latency, timer lateness, stalls and lost responses', async () => {
    // A simulated network on a virtual clock. For each request: a stall between the grant and the
    // actual send (event loop busy), an uplink delay (send → arrival at the broker), a downlink
    // delay (arrival → answer back); some answers never come. The limiter's own timers fire late
    // by a random amount. The broker counts arrivals; the receiver-side count is what must hold.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 18 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 5, max: 60 }),
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 3_000 }),
            stall: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })),
            // Share of the path's base latency on the uplink: all of it, none, or anything between.
            upShare: fc.oneof(fc.constant(1), fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
            jitterUp: fc.oneof(
              fc.constant(0),
              fc.integer({ min: 0, max: 200 }),
              fc.integer({ min: 0, max: 2_000 }),
            ),
            jitterDown: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 })),
            lost: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
          }),
          { minLength: 1, maxLength: 90 },
        ),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (limit, margin, base, reqs, seed) => {
          const clock = new ManualClock(1_800_000_000_000)
          const rnd = seededRandom(seed)
          const lateClock = {
            now: () => clock.now(),
            setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms + Math.floor(rnd() * 40)),
            clearTimeout: (h: Parameters<typeof clock.clearTimeout>[0]) => clock.clearTimeout(h),
          }
          const maxInFlightMs = 5_000
          const limiter = new SlidingWindowLimiter({
            name: 'rest',
            limit,
            safetyMarginMs: margin,
            clock: lateClock,
            maxInFlightMs,
          })
          const arrivals: number[] = []
          for (const r of reqs) {
            const up = Math.round(base * r.upShare) + r.jitterUp
            const down = base - Math.round(base * r.upShare) + r.jitterDown
            clock.setTimeout(() => {
              void limiter.acquire('order').then((permit) => {
                clock.setTimeout(() => {
                  // Sent now; it reaches the broker after `up` (a lost answer still arrived, within the in-flight bound).
                  clock.setTimeout(
                    () => {
                      arrivals.push(clock.now())
                      if (!r.lost) clock.setTimeout(() => permit.done(), down)
                    },
                    r.lost ? Math.min(up, maxInFlightMs - r.stall - 1) : up,
                  )
                }, r.stall)
              })
            }, r.at)
          }
          for (let i = 0; i < 400 && arrivals.length < reqs.length; i++) await clock.advanceAsync(250)
          expect(arrivals).toHaveLength(reqs.length)
          expect(maxInAnyWindow(arrivals, 1000)).toBeLessThanOrEqual(limit)
        },
      ),
      { numRuns: 1_000, seed: 20261202 },
    )
  }, 120_000)

  it('regression: latency that moves onto the uplink after the round-trip floor is known cannot compress arrivals', async () => {
    // The shape: 20 symmetric round trips of 50 ms, then a burst whose first 18 spend all
    // 50 ms on the way in and whose next 18 spend it all on the way back. The old bound assumed
    // ≥ 50 ms after arrival for everyone and let 19 arrivals into one second.
    const clock = new ManualClock(1_800_000_000_000)
    const limiter = new SlidingWindowLimiter({ name: 'rest', limit: 18, clock })
    const arrivals: number[] = []
    const send = (up: number, down: number) =>
      limiter.acquire('order').then((permit) => {
        clock.setTimeout(() => {
          arrivals.push(clock.now())
          clock.setTimeout(() => permit.done(), down)
        }, up)
      })
    for (let i = 0; i < 20; i++) void send(25, 25)
    await clock.advanceAsync(5_000)
    for (let i = 0; i < 18; i++) void send(50, 0)
    for (let i = 0; i < 18; i++) void send(0, 50)
    await clock.advanceAsync(10_000)
    expect(arrivals).toHaveLength(56)
    expect(maxInAnyWindow(arrivals, 1000)).toBeLessThanOrEqual(18)
  })

  it('holdFirstWindow: a restarted process spends nothing until its predecessor’s window has passed', async () => {
    // A predecessor sent a full window just before this process started; the broker counts both.
    const clock = new ManualClock(1_800_000_000_000)
    const predecessor = Array.from({ length: 18 }, (_, i) => clock.now() - 900 + i * 10)
    const limiter = new SlidingWindowLimiter({
      name: 'rest',
      limit: 18,
      safetyMarginMs: 5,
      clock,
      holdFirstWindow: true,
    })
    const ours: number[] = []
    for (let i = 0; i < 18; i++)
      void limiter.acquire('order').then((p) => {
        ours.push(clock.now())
        p.done()
      })
    await clock.advanceAsync(1_004)
    expect(ours).toEqual([])
    await clock.advanceAsync(1)
    expect(ours).toHaveLength(18)
    expect(maxInAnyWindow([...predecessor, ...ours], 1000)).toBeLessThanOrEqual(18)
    // Without the hold the same start would have doubled the predecessor's window.
    const cold = new SlidingWindowLimiter({ name: 'rest', limit: 18, clock })
    const granted: number[] = []
    const now = clock.now()
    const before = Array.from({ length: 18 }, (_, i) => now - 900 + i * 10)
    for (let i = 0; i < 18; i++)
      void cold.acquire('order').then((p) => {
        granted.push(clock.now())
        p.done()
      })
    await clock.advanceAsync(0)
    expect(maxInAnyWindow([...before, ...granted], 1000)).toBe(36)
  })

  it('is work-conserving: a backlog drains at the full rate (N per window + margin)', async () => {
    const arrivals = Array.from({ length: 180 }, () => ({ at: 0, lane: 'market_data' as KisLane }))
    const { grants } = await run(18, 20, arrivals)
    const last = Math.max(...grants.map((g) => g.at))
    // 180 requests at 18 per 1020 ms: 9 full windows after the first burst.
    expect(last).toBe(9 * 1020)
    expect(
      maxInAnyWindow(
        grants.map((g) => g.at),
        1000,
      ),
    ).toBe(18)
  })

  it('serves waiting lanes in priority order: cancel, order, reconcile, market data', async () => {
    const arrivals: { at: number; lane: KisLane }[] = [
      { at: 0, lane: 'market_data' }, // takes the only slot
      { at: 10, lane: 'market_data' },
      { at: 20, lane: 'reconcile' },
      { at: 30, lane: 'order' },
      { at: 40, lane: 'cancel' },
    ]
    const { grants } = await run(1, 0, arrivals)
    expect(grants.map((g) => g.lane)).toEqual(['market_data', 'cancel', 'order', 'reconcile', 'market_data'])
  })

  it('does not starve lower lanes: a quote waits at most maxLaneWaitMs behind a flood of orders', async () => {
    // 1 slot/s, orders arriving every 200 ms for 30 s; one market-data request at t = 100.
    const arrivals: { at: number; lane: KisLane }[] = [
      ...Array.from({ length: 150 }, (_, i) => ({ at: i * 200, lane: 'order' as KisLane })),
      { at: 100, lane: 'market_data' },
    ]
    const { grants } = await run(1, 0, arrivals)
    const quote = grants.find((g) => g.lane === 'market_data')!
    // Served at the first slot after 5 s of waiting, not after the whole order backlog (~150 s).
    expect(quote.at - quote.arrived).toBeLessThanOrEqual(5_000 + 1_000)
  })

  it('property: aging never delays a cancel, and every waiter is served', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), arrivalArb, async (limit, arrivals) => {
        const { grants } = await run(limit, 0, arrivals)
        expect(grants).toHaveLength(arrivals.length)
        // Whenever a grant goes to a non-cancel lane, no cancel that arrived earlier is still waiting.
        for (const g of grants) {
          if (g.lane === 'cancel') continue
          const starvedCancel = grants.find((c) => c.lane === 'cancel' && c.arrived < g.at && c.at > g.at)
          expect(starvedCancel).toBeUndefined()
        }
      }),
      { numRuns: 40 },
    )
  })

  it('keeps FIFO order within a lane', async () => {
    const arrivals = Array.from({ length: 10 }, (_, i) => ({ at: i, lane: 'order' as KisLane }))
    const { grants } = await run(2, 0, arrivals)
    expect(grants.map((g) => g.seq)).toEqual([...Array(10).keys()])
  })

  it('reports every wait with its lane, duration and the queue left behind', async () => {
    const arrivals = Array.from({ length: 4 }, () => ({ at: 0, lane: 'reconcile' as KisLane }))
    const { events } = await run(2, 0, arrivals)
    const waits = events.filter((e) => e.type === 'limiter.wait')
    expect(waits).toEqual([
      { type: 'limiter.wait', limiter: 'rest', lane: 'reconcile', waitedMs: 1000, queueDepth: 1 },
      { type: 'limiter.wait', limiter: 'rest', lane: 'reconcile', waitedMs: 1000, queueDepth: 0 },
    ])
  })

  it('blockUntil holds every grant until the broker window has passed', async () => {
    const clock = new ManualClock(0)
    const limiter = new SlidingWindowLimiter({ name: 'rest', limit: 5, clock })
    ;(await limiter.acquire('order')).done()
    limiter.blockUntil(1000)
    let granted = -1
    void limiter.acquire('cancel').then(() => {
      granted = clock.now()
    })
    await clock.advanceAsync(999)
    expect(granted).toBe(-1)
    await clock.advanceAsync(1)
    expect(granted).toBe(1000)
  })

  it('rejects an aborted waiter and keeps serving the others', async () => {
    const clock = new ManualClock(0)
    const limiter = new SlidingWindowLimiter({ name: 'rest', limit: 1, clock })
    ;(await limiter.acquire('order')).done()
    const ac = new AbortController()
    const aborted = limiter.acquire('order', ac.signal)
    const other = limiter.acquire('order')
    ac.abort(new Error('gave up'))
    await expect(aborted).rejects.toThrow('gave up')
    expect(limiter.queueDepth).toBe(1)
    await clock.advanceAsync(1000)
    await expect(other).resolves.toHaveProperty('done')
  })

  it('turns a fractional limit into a longer window (0.5/s = 1 per 2 s)', () => {
    const l = new SlidingWindowLimiter({ name: 'x', limit: 0.5 })
    expect(l.limit).toBe(1)
    expect(l.windowMs).toBe(2000)
  })
})
