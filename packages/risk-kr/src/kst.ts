// Korea Standard Time is UTC+9 all year (no daylight saving since 1988), so KST wall time is the
// UTC wall time of `epochMs + 9 h`. Everything here is integer arithmetic: no Date objects, no
// time-zone database, no allocation on the hot path (reference/krx-market-rules.md: "All times are
// KST (UTC+9)").

/** Milliseconds KST is ahead of UTC. */
export const KST_OFFSET_MS = 9 * 3_600_000
const DAY_MS = 86_400_000

/**
 * A KST calendar day as the integer `yyyymmdd` (e.g. `20261124`). Integers compare and hash
 * cheaply, which is why rule data is keyed by them internally.
 */
export type KstDay = number

/** Days since 1970-01-01 of the KST calendar day containing `epochMs`. */
export function kstDayNumber(epochMs: number): number {
  return Math.floor((epochMs + KST_OFFSET_MS) / DAY_MS)
}

/** Milliseconds since KST midnight of the day containing `epochMs` (0 … 86_399_999). */
export function kstMsOfDay(epochMs: number): number {
  const shifted = epochMs + KST_OFFSET_MS
  return shifted - Math.floor(shifted / DAY_MS) * DAY_MS
}

// Howard Hinnant's days-from-civil / civil-from-days, exact for the proleptic Gregorian calendar.
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d }
}

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

/** The KST day of `epochMs` as `yyyymmdd`. */
export function kstDay(epochMs: number): KstDay {
  const { y, m, d } = civilFromDays(kstDayNumber(epochMs))
  return y * 10_000 + m * 100 + d
}

/** Day of week of a KST day: 0 Sunday … 6 Saturday. */
export function kstWeekday(day: KstDay): number {
  const n = daysFromCivil(Math.floor(day / 10_000), Math.floor(day / 100) % 100, day % 100)
  // 1970-01-01 was a Thursday (4).
  return (((n + 4) % 7) + 7) % 7
}

/** Parse `YYYY-MM-DD` into a `KstDay`; throws a `RangeError` on anything else or an impossible date. */
export function parseKstDate(date: string): KstDay {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) throw new RangeError(`"${date}" is not a YYYY-MM-DD date`)
  const y = Number(m[1])
  const mo = Number(m[2])
  const d = Number(m[3])
  const back = civilFromDays(daysFromCivil(y, mo, d))
  if (back.y !== y || back.m !== mo || back.d !== d) throw new RangeError(`"${date}" is not a calendar date`)
  return y * 10_000 + mo * 100 + d
}

/** Format a `KstDay` as `YYYY-MM-DD`. */
export function formatKstDay(day: KstDay): string {
  const y = Math.floor(day / 10_000)
  const m = Math.floor(day / 100) % 100
  const d = day % 100
  return `${y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`
}

/** The KST day `n` days after `day` (negative `n` goes back). */
export function addKstDays(day: KstDay, n: number): KstDay {
  const { y, m, d } = civilFromDays(
    daysFromCivil(Math.floor(day / 10_000), Math.floor(day / 100) % 100, day % 100) + n,
  )
  return y * 10_000 + m * 100 + d
}

/**
 * Epoch milliseconds of a KST wall time. `time` is `HH:MM` or `HH:MM:SS`.
 *
 * @example kstToEpochMs('2026-09-14', '16:00') === Date.parse('2026-09-14T07:00:00Z')
 */
export function kstToEpochMs(date: string, time = '00:00'): number {
  const day = parseKstDate(date)
  const days = daysFromCivil(Math.floor(day / 10_000), Math.floor(day / 100) % 100, day % 100)
  return days * DAY_MS + parseClock(time) - KST_OFFSET_MS
}

/** `HH:MM` or `HH:MM:SS` (24:00 allowed as the end of a day) to milliseconds after midnight. */
export function parseClock(time: string): number {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(time)
  if (!m) throw new RangeError(`"${time}" is not HH:MM or HH:MM:SS`)
  const h = Number(m[1])
  const min = Number(m[2])
  const s = Number(m[3] ?? 0)
  if (h > 24 || min > 59 || s > 59 || (h === 24 && (min > 0 || s > 0))) {
    throw new RangeError(`"${time}" is not a time of day`)
  }
  return ((h * 60 + min) * 60 + s) * 1000
}

/** Milliseconds after midnight as `HH:MM` (or `HH:MM:SS` when seconds are set). */
export function formatClock(msOfDay: number): string {
  const totalS = Math.floor(msOfDay / 1000)
  const h = Math.floor(totalS / 3600)
  const m = Math.floor(totalS / 60) % 60
  const s = totalS % 60
  const two = (n: number) => (n < 10 ? `0${n}` : `${n}`)
  return s === 0 ? `${two(h)}:${two(m)}` : `${two(h)}:${two(m)}:${two(s)}`
}
