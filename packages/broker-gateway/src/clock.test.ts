import { describe, expect, it } from 'vitest'
import { seededRandom, sleep, systemClock } from './clock'
import { ManualClock } from './testing/manual-clock'

describe('ManualClock', () => {
  it('fires timers in due order, ties in scheduling order, and reports now() at fire time', () => {
    const c = new ManualClock(1_000)
    const log: string[] = []
    c.setTimeout(() => log.push(`b@${c.now()}`), 20)
    c.setTimeout(() => log.push(`a@${c.now()}`), 10)
    c.setTimeout(() => log.push(`c@${c.now()}`), 20)
    c.advance(15)
    expect(log).toEqual(['a@1010'])
    c.advance(100)
    expect(log).toEqual(['a@1010', 'b@1020', 'c@1020'])
    expect(c.now()).toBe(1_115)
  })

  it('runs timers scheduled by timers within the same advance, and clears', () => {
    const c = new ManualClock()
    const log: number[] = []
    c.setTimeout(() => {
      log.push(c.now())
      c.setTimeout(() => log.push(c.now()), 5)
    }, 5)
    const h = c.setTimeout(() => log.push(-1), 7)
    c.clearTimeout(h)
    c.advance(10)
    expect(log).toEqual([5, 10])
    expect(c.pendingTimers).toBe(0)
    expect(() => c.setTime(0)).toThrow(/cannot go back/)
  })

  it('drives async sleeps with advanceAsync and aborts them with a signal', async () => {
    const c = new ManualClock()
    const done: number[] = []
    const run = (async () => {
      await sleep(c, 100)
      done.push(c.now())
      await sleep(c, 50)
      done.push(c.now())
    })()
    await c.advanceAsync(200)
    await run
    expect(done).toEqual([100, 150])
    const ac = new AbortController()
    const p = sleep(c, 1_000, ac.signal)
    ac.abort(new Error('stop'))
    await expect(p).rejects.toThrow('stop')
    expect(c.pendingTimers).toBe(0)
  })

  it('runAll refuses an endless reschedule', () => {
    const c = new ManualClock()
    const loop = () => c.setTimeout(loop, 1)
    loop()
    expect(() => c.runAll(100)).toThrow(/more than 100 timers/)
  })
})

describe('seededRandom and systemClock', () => {
  it('repeats a sequence for a seed and stays in [0, 1)', () => {
    const a = seededRandom(42)
    const b = seededRandom(42)
    const xs = Array.from({ length: 1_000 }, () => a())
    expect(xs).toEqual(Array.from({ length: 1_000 }, () => b()))
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(new Set(xs).size).toBeGreaterThan(990)
  })

  it('systemClock reads the global time', () => {
    const before = Date.now()
    expect(systemClock.now()).toBeGreaterThanOrEqual(before)
  })
})
