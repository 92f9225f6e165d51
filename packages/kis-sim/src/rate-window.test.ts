import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SlidingWindowLimiter } from './rate-window'

describe('sliding one-second window (reference §8)', () => {
  it('never admits more than `limit` requests in any 1,000 ms window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (limit, gaps) => {
          const l = new SlidingWindowLimiter(1000)
          const admitted: number[] = []
          let t = 0
          for (const g of gaps) {
            t += g
            if (l.tryAcquire('k', t, limit).ok) admitted.push(t)
          }
          for (let i = 0; i < admitted.length; i++) {
            const inWindow = admitted.filter((x) => x > (admitted[i] ?? 0) - 1000 && x <= (admitted[i] ?? 0))
            expect(inWindow.length).toBeLessThanOrEqual(limit)
          }
        },
      ),
    )
  })

  it('admits again once the oldest request leaves the window', () => {
    const l = new SlidingWindowLimiter(1000)
    expect(l.tryAcquire('k', 0, 1).ok).toBe(true)
    expect(l.tryAcquire('k', 999, 1).ok).toBe(false)
    expect(l.tryAcquire('k', 1000, 1).ok).toBe(true)
    expect(l.tryAcquire('other', 1000, 1).ok).toBe(true)
  })
})
