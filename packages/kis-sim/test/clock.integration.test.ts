import { afterEach, describe, expect, it } from 'vitest'
import { createKisSim, type HostTimers, type KisSim } from '../src/index'
import { get, headers, PRICE, post, realApp, token } from './helpers'

/** Host timers driven by the test (no sleeps): the accelerated clock and the market pump run on them. */
function fakeHost(start: number): HostTimers & { advance(ms: number): void } {
  let now = start
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

let sim: KisSim
afterEach(async () => sim?.close())

describe('virtual clock (issue: real speed, accelerated, any date)', () => {
  it('accelerated: 1 host second = 1 virtual minute; the market opens and trades on its own', async () => {
    const host = fakeHost(0)
    sim = await createKisSim({
      hostTimers: host,
      clock: { mode: 'accelerated', speed: 60, start: '2026-11-24 08:59:00' },
    })
    const app = realApp(sim)
    const tok = await token(sim, app)
    const before = sim.control.quote('005930')
    expect(before.volume).toBe(0)
    host.advance(2_000) // 2 virtual minutes → 09:01
    const after = sim.control.quote('005930')
    expect(after.open).toBeGreaterThan(0)
    expect(after.volume).toBeGreaterThan(0)
    const r = await get(
      sim,
      PRICE,
      { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' },
      headers(app, tok, 'FHKST01010100'),
    )
    expect(r.body.output.stck_oprc).toBe(String(after.open))
  })

  it('the HTTP control endpoint moves the clock to any date (a holiday has no session)', async () => {
    sim = await createKisSim({ clock: { mode: 'manual', start: '2026-11-24 10:00:00' } })
    const r = await post(sim, '/__sim/clock', { set: '2026-09-24 10:00:00' })
    expect(r.body.now).toBe(Date.parse('2026-09-24T01:00:00Z'))
    const vol = sim.control.quote('005930').volume
    sim.control.clock.advance(3_600_000)
    expect(sim.control.quote('005930').volume).toBe(vol)
  })
})

describe('clientClock (a clock for the client under test)', () => {
  it('reads the simulator’s time and scales host timers by the accelerated speed; refuses a manual clock', async () => {
    const host = fakeHost(Date.parse('2026-12-06T00:00:00Z'))
    sim = await createKisSim({
      hostTimers: host,
      clock: { mode: 'accelerated', speed: 60, start: '2026-11-24 10:00:00', host },
      pumpIntervalMs: 1_000_000,
    })
    const c = sim.clientClock()
    expect(c.now()).toBe(Date.parse('2026-11-24T01:00:00Z'))
    let fired = 0
    const t = c.setTimeout(() => fired++, 60_000) // one virtual minute = one host second at 60×
    const never = c.setTimeout(() => fired++, 60_000)
    c.clearTimeout(never)
    host.advance(999)
    expect(fired).toBe(0)
    host.advance(1)
    expect(fired).toBe(1)
    expect(c.now()).toBe(Date.parse('2026-11-24T01:01:00Z'))
    expect(typeof t).toBe('object')
    await sim.close()
    sim = await createKisSim({ clock: { mode: 'manual', start: '2026-11-24 10:00:00' } })
    expect(() => sim.clientClock()).toThrow(/manual/)
  })
})
