import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addKstDays,
  formatClock,
  formatKstDay,
  kstDay,
  kstMsOfDay,
  kstToEpochMs,
  kstWeekday,
  parseClock,
  parseKstDate,
} from './kst'

describe('KST wall time', () => {
  it.each([
    // [UTC instant, KST day, KST time]
    ['2026-09-13T14:59:59.999Z', 20260913, '23:59:59'],
    ['2026-09-13T15:00:00.000Z', 20260914, '00:00'],
    ['2026-12-31T15:00:00.000Z', 20270101, '00:00'],
    ['2024-02-28T15:00:00.000Z', 20240229, '00:00'],
    ['2026-11-23T23:30:00.000Z', 20261124, '08:30'],
  ])('%s is %i %s KST', (iso, day, clock) => {
    const ms = Date.parse(iso)
    expect(kstDay(ms)).toBe(day)
    expect(formatClock(kstMsOfDay(ms))).toBe(clock)
  })

  it('has no DST: the same wall time is always UTC+9, in January and in July', () => {
    expect(kstToEpochMs('2026-01-15', '09:00')).toBe(Date.parse('2026-01-15T00:00:00Z'))
    expect(kstToEpochMs('2026-07-15', '09:00')).toBe(Date.parse('2026-07-15T00:00:00Z'))
  })

  it('agrees with the platform for any instant (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        const shifted = new Date(ms + 9 * 3_600_000)
        const expected =
          shifted.getUTCFullYear() * 10_000 + (shifted.getUTCMonth() + 1) * 100 + shifted.getUTCDate()
        expect(kstDay(ms)).toBe(expected)
        expect(kstWeekday(kstDay(ms))).toBe(shifted.getUTCDay())
        expect(kstMsOfDay(ms)).toBe(
          ((shifted.getUTCHours() * 60 + shifted.getUTCMinutes()) * 60 + shifted.getUTCSeconds()) * 1000 +
            shifted.getUTCMilliseconds(),
        )
      }),
    )
  })

  it('parses and formats dates and clocks, rejecting impossible ones', () => {
    expect(parseKstDate('2027-01-04')).toBe(20270104)
    expect(formatKstDay(20270104)).toBe('2027-01-04')
    expect(addKstDays(20261231, 1)).toBe(20270101)
    expect(addKstDays(20270301, -1)).toBe(20270228)
    expect(() => parseKstDate('2026-02-29')).toThrow(RangeError)
    expect(() => parseKstDate('2026/01/01')).toThrow(RangeError)
    expect(parseClock('09:00:30')).toBe(32_430_000)
    expect(() => parseClock('25:00')).toThrow(RangeError)
  })
})
