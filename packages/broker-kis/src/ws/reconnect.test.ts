import { seededRandom } from '@vellab/broker-gateway'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fullJitterDelay } from '../backoff'
import { CircuitBreaker, ConnectionBudget, ReconnectPolicy, type ReconnectReason } from './reconnect'

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

  it('property: random close kinds and session lifetimes never exceed the connection budget', () => {
    type Step = { kind: 'clean' | 'unclean' | 'in_use' | 'refused_before_open'; lifeMs: number }
    const step: fc.Arbitrary<Step> = fc.record({
      kind: fc.constantFrom('clean', 'unclean', 'in_use', 'refused_before_open'),
      lifeMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 180_000 })),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(step, { minLength: 10, maxLength: 80 }),
        (seed, perMinute, steps) => {
          const slotHoldMs = 15_000
          const p = new ReconnectPolicy({
            baseMs: 500,
            maxMs: 60_000,
            appKeyInUseMs: 20_000,
            slotHoldMs,
            stableSessionMs: 30_000,
            budget: { maxPerWindow: perMinute, windowMs: 60_000 },
            random: seededRandom(seed),
            // A breaker that never opens: the budget alone must hold.
            breaker: { threshold: 1_000_000, windowMs: 60_000, openMs: 1 },
          })
          let now = 0
          const attempts: number[] = []
          for (const s of steps) {
            // The policy's own delay already fits the budget: the session never has to wait extra.
            expect(p.budgetWait(now)).toBe(0)
            p.onAttempt(now)
            attempts.push(now)
            let reason: ReconnectReason = 'closed'
            let unclean = false
            if (s.kind === 'refused_before_open') {
              reason = 'error'
              now += Math.min(s.lifeMs, 10_000)
            } else if (s.kind === 'in_use') {
              reason = 'appkey_in_use'
              now += 50
            } else {
              p.onSuccess(now)
              now += s.lifeMs
              unclean = s.kind === 'unclean'
              reason = unclean ? 'error' : 'closed'
            }
            const d = p.onFailure(now, { reason, unclean })
            if (unclean || reason === 'appkey_in_use') expect(d.delayMs).toBeGreaterThanOrEqual(slotHoldMs)
            now += d.delayMs
          }
          for (const t of attempts) {
            expect(attempts.filter((a) => a >= t && a < t + 60_000).length).toBeLessThanOrEqual(perMinute)
          }
        },
      ),
      { numRuns: 300, seed: 20 },
    )
  })

  it('short sessions do not reset the backoff; a session that stayed up does', () => {
    const p = new ReconnectPolicy({
      baseMs: 1_000,
      maxMs: 60_000,
      appKeyInUseMs: 20_000,
      stableSessionMs: 30_000,
      random: () => 0.999,
      breaker: { threshold: 1_000, windowMs: 60_000, openMs: 1 },
    })
    let now = 0
    const ceilings: number[] = []
    for (let i = 0; i < 4; i++) {
      p.onSuccess(now)
      now += 3_000
      ceilings.push(p.onFailure(now, 'closed').delayMs)
    }
    expect(ceilings).toEqual([999, 1_998, 3_996, 7_992])
    p.onSuccess(now)
    now += 31_000
    expect(p.onFailure(now, 'closed').delayMs).toBe(999)
  })
})

describe('ConnectionBudget', () => {
  it('allows N attempts in any window, then the slot the oldest one frees', () => {
    const b = new ConnectionBudget({ maxPerWindow: 3, windowMs: 60_000 })
    for (const t of [0, 1_000, 2_000]) {
      expect(b.nextAllowedAt(t)).toBe(t)
      b.record(t)
    }
    expect(b.nextAllowedAt(3_000)).toBe(60_000)
    expect(b.nextAllowedAt(60_000)).toBe(60_000)
    expect(b.used(60_500)).toBe(2)
  })
})
