import { seededRandom } from '@vellab/broker-gateway'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fullJitterDelay } from '../backoff'
import { CircuitBreaker, ReconnectPolicy } from './reconnect'

describe('fullJitterDelay', () => {
  it('stays within [0, min(cap, base·2^n))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, base, cap, r) => {
          const d = fullJitterDelay(n, { baseMs: base, maxMs: cap }, () => r)
          expect(d).toBeGreaterThanOrEqual(0)
          expect(d).toBeLessThan(Math.max(1, Math.min(cap, base * 2 ** n)))
        },
      ),
    )
  })
})

describe('CircuitBreaker', () => {
  it('opens after N failures in the window, half-opens after openMs, re-opens on a failed probe', () => {
    const b = new CircuitBreaker({ threshold: 3, windowMs: 60_000, openMs: 30_000 })
    expect(b.recordFailure(0)).toBe('closed')
    expect(b.recordFailure(1_000)).toBe('closed')
    expect(b.recordFailure(2_000)).toBe('open')
    expect(b.allowedAt(5_000)).toBe(32_000)
    expect(b.state(32_000)).toBe('half_open')
    expect(b.recordFailure(32_000)).toBe('open')
    expect(b.allowedAt(32_000)).toBe(62_000)
    b.recordSuccess()
    expect(b.state(62_000)).toBe('closed')
  })
  it('forgets failures older than the window', () => {
    const b = new CircuitBreaker({ threshold: 3, windowMs: 10_000, openMs: 30_000 })
    b.recordFailure(0)
    b.recordFailure(1)
    expect(b.recordFailure(20_000)).toBe('closed')
  })
})

describe('ReconnectPolicy', () => {
  it('OPSP8996 (appkey in use) gets the long floor, never a tight loop', () => {
    const p = new ReconnectPolicy({
      baseMs: 1000,
      maxMs: 60_000,
      appKeyInUseMs: 20_000,
      random: seededRandom(1),
      breaker: { threshold: 100, windowMs: 60_000, openMs: 60_000 },
    })
    for (let i = 0; i < 5; i++) expect(p.onFailure(i, 'appkey_in_use').delayMs).toBeGreaterThanOrEqual(20_000)
  })

  it('property: any failure sequence yields at most threshold+1 attempts in any 60 s window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(
          fc.constantFrom('closed', 'error', 'appkey_in_use', 'auth', 'stale') as fc.Arbitrary<
            'closed' | 'error' | 'appkey_in_use' | 'auth' | 'stale'
          >,
          { minLength: 20, maxLength: 60 },
        ),
        (seed, reasons) => {
          const threshold = 5
          const p = new ReconnectPolicy({
            baseMs: 1000,
            maxMs: 60_000,
            appKeyInUseMs: 20_000,
            random: seededRandom(seed),
            breaker: { threshold, windowMs: 60_000, openMs: 60_000 },
          })
          // Every attempt fails instantly: the worst case for a reconnect storm.
          let now = 0
          const attempts: number[] = []
          for (const r of reasons) {
            attempts.push(now)
            now += p.onFailure(now, r).delayMs
          }
          for (let i = 0; i < attempts.length; i++) {
            const inWindow = attempts.filter((t) => t >= attempts[i]! && t < attempts[i]! + 60_000).length
            expect(inWindow).toBeLessThanOrEqual(threshold + 1)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
