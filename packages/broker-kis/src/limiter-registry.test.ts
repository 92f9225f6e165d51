import { ManualClock } from '@vellab/broker-gateway/testing'
import { describe, expect, it } from 'vitest'
import type { KisEvent } from './events'
import { acquireAppKeyLimiters } from './limiter-registry'
import { SlidingWindowLimiter } from './rate-limiter'

const make = (clock: ManualClock) => (emit: (e: KisEvent) => void) => ({
  rest: new SlidingWindowLimiter({ name: 'rest', limit: 2, clock, onEvent: emit }),
  token: new SlidingWindowLimiter({ name: 'token', limit: 1, clock, onEvent: emit }),
  approval: new SlidingWindowLimiter({ name: 'approval', limit: 1, clock, onEvent: emit }),
})

describe('acquireAppKeyLimiters', () => {
  it('one set of limiters per app key and clock, shared by every holder, events to all holders', async () => {
    const clock = new ManualClock(0)
    const seenA: KisEvent[] = []
    const seenB: KisEvent[] = []
    let created = 0
    const create = (emit: (e: KisEvent) => void) => {
      created++
      return make(clock)(emit)
    }
    const a = acquireAppKeyLimiters('real:k1', clock, (e) => seenA.push(e), create)
    const b = acquireAppKeyLimiters('real:k1', clock, (e) => seenB.push(e), create)
    const other = acquireAppKeyLimiters('real:k2', clock, () => {}, create)
    expect(created).toBe(2)
    expect(b.limiters.rest).toBe(a.limiters.rest)
    expect(other.limiters.rest).not.toBe(a.limiters.rest)
    // Two holders, one budget: the third request in the window waits whoever sends it.
    ;(await a.limiters.rest.acquire('order')).done()
    ;(await b.limiters.rest.acquire('order')).done()
    const third = b.limiters.rest.acquire('order')
    await clock.advanceAsync(1_000)
    await third
    expect(seenA.filter((e) => e.type === 'limiter.wait')).toHaveLength(1)
    expect(seenB.filter((e) => e.type === 'limiter.wait')).toHaveLength(1)
    a.release()
    b.release()
    b.release()
    // All released: the next holder starts afresh.
    const c = acquireAppKeyLimiters('real:k1', clock, () => {}, create)
    expect(created).toBe(3)
    expect(c.limiters.rest).not.toBe(a.limiters.rest)
  })

  it('gateways on different clocks never share (tests with their own manual clocks)', () => {
    const create = make(new ManualClock(0))
    const a = acquireAppKeyLimiters('real:k', new ManualClock(0), () => {}, create)
    const b = acquireAppKeyLimiters('real:k', new ManualClock(0), () => {}, create)
    expect(a.limiters.rest).not.toBe(b.limiters.rest)
  })
})
