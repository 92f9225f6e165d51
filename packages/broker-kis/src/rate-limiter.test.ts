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

  it('bounds arrivals at the broker, not just sends, under random latency (jitter-compensated)', async () => {
    // Model: every round trip is FLOOR (split evenly up/down) plus random jitter on either leg; the
    // first request is jitter-free, so the observed minimum equals the true floor. The broker counts
    // arrival = send + up.
    const FLOOR = 20
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 18 }),
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 3_000 }),
            up: fc.integer({ min: 0, max: 150 }),
            down: fc.integer({ min: 0, max: 150 }),
          }),
          { minLength: 1, maxLength: 100 },
        ),
        async (limit, reqs) => {
          const all = [{ at: 0, up: 0, down: 0 }, ...reqs.map((r) => ({ ...r, at: r.at + 1 }))]
          const arrivals = all.map((r) => ({
            at: r.at,
            lane: 'market_data' as KisLane,
            rtt: FLOOR + r.up + r.down,
          }))
          const { grants } = await run(limit, 0, arrivals)
          expect(grants).toHaveLength(all.length)
          const atBroker = grants.map((g) => g.at + FLOOR / 2 + all[g.seq]!.up)
          expect(maxInAnyWindow(atBroker, 1000)).toBeLessThanOrEqual(limit)
        },
      ),
      { numRuns: 60 },
    )
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
