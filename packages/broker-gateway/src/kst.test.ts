import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addKstDays, kstDate, kstInstant, kstTime, startOfKstDay } from './kst'

/** The time-zone database's KST day of an instant, as `YYYY-MM-DD`. */
const zone = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Seoul',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
})

describe('KST time', () => {
  it('maps an instant to the KST day across UTC midnight and KST midnight', () => {
    expect(kstDate(Date.UTC(2026, 10, 24, 14, 59, 59, 999))).toBe('2026-11-24')
    expect(kstDate(Date.UTC(2026, 10, 24, 15, 0, 0))).toBe('2026-11-25')
    expect(kstTime(Date.UTC(2026, 10, 24, 0, 30, 5))).toBe('09:30:05')
  })

  it('turns a KST wall-clock time into the instant and back', () => {
    const t = kstInstant('2026-11-24', '09:00')
    expect(t).toBe(Date.UTC(2026, 10, 24, 0, 0, 0))
    expect(kstDate(t)).toBe('2026-11-24')
    expect(kstTime(kstInstant('2026-11-24', '15:30:00.250'))).toBe('15:30:00')
    expect(startOfKstDay(Date.UTC(2026, 10, 24, 5))).toBe(Date.UTC(2026, 10, 23, 15))
  })

  it('agrees with the time-zone database on every hour from 1987 (the last daylight saving) to 2030', () => {
    for (let t = Date.UTC(1987, 0, 1); t < Date.UTC(2030, 0, 1); t += 3_600_000 * 7) {
      expect(kstDate(t), new Date(t).toISOString()).toBe(zone.format(t))
    }
  })

  it('gives the same day in any order of instants, midnights ± 1 ms included (it remembers the last day)', () => {
    const midnight = (day: number) => Date.UTC(2026, 0, day) - 9 * 3_600_000
    const instant = fc.oneof(
      fc.integer({ min: Date.UTC(1985, 0, 1), max: Date.UTC(2040, 0, 1) }),
      fc
        .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: -2, max: 2 }))
        .map(([d, e]) => midnight(d) + e),
    )
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (ts) => {
        for (const t of ts) expect(kstDate(t), new Date(t).toISOString()).toBe(zone.format(t))
      }),
    )
  })

  it('adds calendar days across month and year ends', () => {
    expect(addKstDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addKstDays('2028-03-01', -1)).toBe('2028-02-29')
  })

  it('refuses malformed dates and times with a RangeError', () => {
    expect(() => kstInstant('2026/11/24')).toThrow(RangeError)
    expect(() => kstInstant('2026-11-24', '9:00')).toThrow(RangeError)
    expect(() => addKstDays('24-11-2026', 1)).toThrow(RangeError)
  })
})
