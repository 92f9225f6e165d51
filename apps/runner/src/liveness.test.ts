import { addKstDays, kstInstant } from '@vellab/broker-gateway'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assessLiveness,
  isCalendarDate,
  type LivenessLevel,
  livenessCheck,
  livenessRank,
  ServiceStartedOnSchema,
  unknownLiveness,
} from './liveness'

// Deterministic runs: a fixed seed, overridable to explore (`FC_SEED=$RANDOM pnpm vitest run liveness`).
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_261_201) })

const TODAY = '2026-12-01'
// 10:00 KST on TODAY.
const NOW = kstInstant(TODAY, '10:00')
/** The service start whose period (365 days) ends `d` days after TODAY. */
const startEndingIn = (d: number) => addKstDays(TODAY, d - 365)
/** A last use (15:00 KST) whose 90-day deactivation falls `d` days after TODAY. */
const usedDeactivatingIn = (d: number) => kstInstant(addKstDays(TODAY, d - 90), '15:00')

describe('assessLiveness', () => {
  // The boundaries of both deadlines: warn within 30 days, critical within 7 and past.
  const table: [days: number, level: LivenessLevel][] = [
    [31, 'ok'],
    [30, 'warn'],
    [8, 'warn'],
    [7, 'critical'],
    [0, 'critical'],
    [-1, 'critical'],
  ]

  it.each(table)('service period ending in %i days: %s', (d, level) => {
    const a = assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(d), lastUsedAt: NOW })
    expect(a.level).toBe(level)
    expect(a.daysToServiceEnd).toBe(d)
    expect(a.serviceEndsOn).toBe(addKstDays(TODAY, d))
    if (level !== 'ok')
      expect(a.messages[0]).toMatch(/^appkey service period .*renew it on the KIS Open API site/)
  })

  it.each(table)('deactivation for inactivity in %i days: %s', (d, level) => {
    const a = assessLiveness({
      now: NOW,
      serviceStartedOn: startEndingIn(200),
      lastUsedAt: usedDeactivatingIn(d),
    })
    expect(a.level).toBe(level)
    expect(a.daysToDeactivation).toBe(d)
    expect(a.daysSinceUse).toBe(90 - d)
    expect(a.deactivationOn).toBe(addKstDays(TODAY, d))
    if (level !== 'ok') expect(a.messages[0]).toMatch(/^appkey unused for .*UNVERIFIED/)
  })

  it('says the service period in words on the day, before and after', () => {
    const on = (d: number) => assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(d) }).messages[0]
    expect(on(0)).toMatch(/ends today \(2026-12-01\)/)
    expect(on(1)).toMatch(/ends 2026-12-02, in 1 day:/)
    expect(on(-3)).toMatch(/ended 2026-11-28, 3 days ago:/)
    expect(on(100)).toBe('appkey service period ends 2027-03-11, in 100 days')
  })

  it('is unknown without a service start, and says what to set', () => {
    const a = assessLiveness({ now: NOW, lastUsedAt: NOW })
    expect(a).toMatchObject({
      level: 'unknown',
      serviceEndsOn: null,
      daysToServiceEnd: null,
      daysSinceUse: 0,
    })
    expect(a.messages[0]).toMatch(
      /set VELLAB_APPKEY_SERVICE_STARTED_ON to the day it began \(YYYY-MM-DD, KST/,
    )
  })

  it('never lets a missing service start hide a near deactivation', () => {
    expect(assessLiveness({ now: NOW, lastUsedAt: usedDeactivatingIn(20) }).level).toBe('warn')
    expect(assessLiveness({ now: NOW, lastUsedAt: usedDeactivatingIn(3) }).level).toBe('critical')
  })

  it('takes the worse deadline, most pressing message first', () => {
    const a = assessLiveness({
      now: NOW,
      serviceStartedOn: startEndingIn(20),
      lastUsedAt: usedDeactivatingIn(5),
    })
    expect(a.level).toBe('critical')
    expect(a.messages[0]).toMatch(/^appkey unused/)
    expect(a.messages[1]).toMatch(/^appkey service period ends .* in 20 days/)
  })

  it('without a recorded use, counts the service period alone', () => {
    const a = assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(100) })
    expect(a).toMatchObject({
      level: 'ok',
      daysSinceUse: null,
      deactivationOn: null,
      daysToDeactivation: null,
    })
    expect(a.messages).toContain('no use of this appkey recorded yet')
  })

  it('counts KST days, not UTC ones', () => {
    // 00:30 KST on 2026-12-01 is still 2026-11-30 in UTC.
    const now = Date.parse('2026-11-30T15:30:00Z')
    expect(assessLiveness({ now, serviceStartedOn: '2025-12-01' }).daysToServiceEnd).toBe(0)
    // Used at 23:59 KST the day before: one KST day since use, though only 31 minutes.
    const a = assessLiveness({ now, lastUsedAt: kstInstant('2026-11-30', '23:59') })
    expect(a.daysSinceUse).toBe(1)
  })

  it('honours configured periods and thresholds', () => {
    const a = assessLiveness({
      now: NOW,
      serviceStartedOn: addKstDays(TODAY, -170),
      servicePeriodDays: 180,
      lastUsedAt: kstInstant(addKstDays(TODAY, -25), '12:00'),
      inactivityDays: 30,
      warnDays: 14,
      criticalDays: 3,
    })
    expect(a).toMatchObject({ level: 'warn', daysToServiceEnd: 10, daysSinceUse: 25, daysToDeactivation: 5 })
    expect(assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(3), criticalDays: 3 }).level).toBe(
      'critical',
    )
    expect(assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(4), criticalDays: 3 }).level).toBe(
      'warn',
    )
  })

  it('flags a service start in the future, and refuses days that are not days', () => {
    expect(assessLiveness({ now: NOW, serviceStartedOn: '2026-12-05' }).messages).toContain(
      'VELLAB_APPKEY_SERVICE_STARTED_ON 2026-12-05 is in the future: check the date',
    )
    expect(() => assessLiveness({ now: NOW, serviceStartedOn: '2026-02-30' })).toThrow(RangeError)
    expect(() => assessLiveness({ now: NOW, serviceStartedOn: '01/12/2026' })).toThrow(RangeError)
    expect(() => assessLiveness({ now: NOW, warnDays: 1.5 })).toThrow(RangeError)
  })

  it('levels never improve as time passes with the same record', () => {
    const input = fc.record({
      serviceStartedOn: fc.option(
        fc.integer({ min: -800, max: 30 }).map((d) => addKstDays(TODAY, d)),
        { nil: undefined },
      ),
      lastUsedAt: fc.option(
        fc.integer({ min: -400 * 86_400_000, max: 0 }).map((ms) => NOW + ms),
        { nil: undefined },
      ),
      servicePeriodDays: fc.integer({ min: 1, max: 800 }),
      inactivityDays: fc.integer({ min: 1, max: 400 }),
      criticalDays: fc.integer({ min: 0, max: 30 }),
      warnExtra: fc.integer({ min: 0, max: 60 }),
    })
    const step = fc.integer({ min: 0, max: 500 * 86_400_000 })
    fc.assert(
      fc.property(input, step, step, ({ warnExtra, ...i }, s1, s2) => {
        const [early, late] = s1 <= s2 ? [s1, s2] : [s2, s1]
        const at = (now: number) => assessLiveness({ ...i, warnDays: i.criticalDays + warnExtra, now })
        const a = at(NOW + early)
        const b = at(NOW + late)
        expect(livenessRank(b.level)).toBeGreaterThanOrEqual(livenessRank(a.level))
        if (a.daysToServiceEnd !== null && b.daysToServiceEnd !== null)
          expect(a.daysToServiceEnd - b.daysToServiceEnd).toBeGreaterThanOrEqual(0)
      }),
    )
  })
})

describe('isCalendarDate and ServiceStartedOnSchema', () => {
  it('accepts real days only', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true)
    expect(isCalendarDate('2027-02-29')).toBe(false)
    expect(isCalendarDate('2026-1-05')).toBe(false)
    expect(ServiceStartedOnSchema.safeParse('2026-13-01').success).toBe(false)
    expect(ServiceStartedOnSchema.parse('2026-01-05')).toBe('2026-01-05')
  })
})

describe('livenessCheck', () => {
  it('never fails readiness, and leads with the level', () => {
    const warn = assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(20) })
    expect(livenessCheck(warn)).toEqual({ ok: true, detail: `WARN: ${warn.messages.join('; ')}` })
    const critical = assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(-1) })
    expect(livenessCheck(critical).ok).toBe(true)
    expect(livenessCheck(critical).detail).toMatch(/^CRITICAL: appkey service period ended/)
    expect(livenessCheck(unknownLiveness('db down'))).toEqual({ ok: true, detail: 'UNKNOWN: db down' })
    expect(livenessCheck(assessLiveness({ now: NOW, serviceStartedOn: startEndingIn(100) })).detail).toMatch(
      /^ok: /,
    )
  })
})
