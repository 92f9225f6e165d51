import { describe, expect, it } from 'vitest'
import { createSimClock, type HostTimers } from './clock'
import { kstDateTimeDashed } from './kst'

function fakeHost(): HostTimers & { advance(ms: number): void } {
  let now = 1_000_000
  const timers = new Map<number, { at: number; fn: () => void }>()
  let id = 0
  return {
    now: () => now,
    setTimeout(fn, ms) {
      timers.set(++id, { at: now + ms, fn })
      return id
    },
    clearTimeout(h) {
      timers.delete(h as number)
    },
    advance(ms) {
      const target = now + ms
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0]
        if (!next || next[1].at > target) break
        timers.delete(next[0])
        now = next[1].at
        next[1].fn()
      }
      now = target
    },
  }
}

describe('SimClock', () => {
  it('manual: reads KST start, fires timers in order at their due instants', () => {
    const c = createSimClock({ mode: 'manual', start: '2026-11-24 09:00:00' })
    expect(kstDateTimeDashed(c.now())).toBe('2026-11-24 09:00:00')
    const seen: string[] = []
    c.setTimeout(() => seen.push(`b@${kstDateTimeDashed(c.now())}`), 2000)
    c.setTimeout(() => seen.push(`a@${kstDateTimeDashed(c.now())}`), 1000)
    const iv = c.setInterval(() => seen.push('i'), 1500)
    c.advance(3000)
    expect(seen).toEqual(['a@2026-11-24 09:00:01', 'i', 'b@2026-11-24 09:00:02', 'i'])
    c.clear(iv)
    c.advance(10_000)
    expect(seen).toHaveLength(4)
  })

  it('accelerated: virtual time runs `speed` times the host clock and timers follow it', () => {
    const host = fakeHost()
    const c = createSimClock({ mode: 'accelerated', speed: 60, start: 0, host })
    let fired = 0
    c.setTimeout(() => fired++, 60_000)
    host.advance(999)
    expect(fired).toBe(0)
    host.advance(1)
    expect(fired).toBe(1)
    expect(c.now()).toBe(60_000)
    c.setMode('manual')
    host.advance(10_000)
    expect(c.now()).toBe(60_000)
  })

  it('set jumps and keeps running at real speed', () => {
    const host = fakeHost()
    const c = createSimClock({ mode: 'real', host })
    c.set('2027-01-04 09:59:59')
    host.advance(1000)
    expect(kstDateTimeDashed(c.now())).toBe('2027-01-04 10:00:00')
  })
})
