import { formatInTimeZone, fromZonedTime } from 'date-fns-tz'

/**
 * The one home of KST day and time arithmetic for the packages that share this contract
 * (ARCHITECTURE.md "Time"). Exchange time is Asia/Seoul: UTC+9 all year, no daylight saving since
 * 1988. The IANA zone is used rather than a fixed offset so a historical instant before 1988 still
 * maps to the day Korea used then.
 */
export const KST_TIME_ZONE = 'Asia/Seoul'

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/

// Korea last observed daylight saving in 1988; from 1989 on KST is UTC+9 all year, so instants
// after this take a fixed offset (a hot path: every broker event is dated) and earlier ones the
// time-zone database.
const FIXED_OFFSET_SINCE = Date.UTC(1989, 0, 1)
const KST_OFFSET_MS = 9 * 3_600_000

/**
 * The KST calendar day (`YYYY-MM-DD`) of an epoch-millisecond instant. Broker order numbers and
 * the day's order and fill inquiries are scoped by it.
 *
 * @example
 * ```ts
 * kstDate(Date.UTC(2026, 10, 24, 15, 30)) // '2026-11-25' (00:30 KST)
 * ```
 */
export function kstDate(epochMs: number): string {
  if (epochMs >= lastDay.from && epochMs < lastDay.to) return lastDay.date
  if (epochMs >= FIXED_OFFSET_SINCE) {
    const shifted = epochMs + KST_OFFSET_MS
    const date = new Date(shifted).toISOString().slice(0, 10)
    const from = shifted - (shifted % DAY_MS) - KST_OFFSET_MS
    lastDay = { from, to: from + DAY_MS, date }
    return date
  }
  return formatInTimeZone(epochMs, KST_TIME_ZONE, 'yyyy-MM-dd')
}

const DAY_MS = 86_400_000
// The day kstDate last computed (fixed-offset era only): a process dates nearly everything within
// one day, and formatting costs more than the comparison.
let lastDay = { from: 0, to: 0, date: '' }

/** The KST wall-clock time of an instant as `HH:mm:ss`. */
export function kstTime(epochMs: number): string {
  return formatInTimeZone(epochMs, KST_TIME_ZONE, 'HH:mm:ss')
}

/**
 * The instant (epoch ms) of a KST wall-clock time on a KST day.
 *
 * @param date `YYYY-MM-DD` (KST)
 * @param time `HH:mm`, `HH:mm:ss` or `HH:mm:ss.SSS` (KST). @default '00:00'
 * @throws RangeError when `date` or `time` is not in that form
 */
export function kstInstant(date: string, time = '00:00'): number {
  if (!DATE_RE.test(date)) throw new RangeError(`kstInstant: date "${date}" is not YYYY-MM-DD`)
  if (!/^\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(time)) {
    throw new RangeError(`kstInstant: time "${time}" is not HH:mm[:ss[.SSS]]`)
  }
  const ms = fromZonedTime(`${date}T${time}`, KST_TIME_ZONE).getTime()
  if (Number.isNaN(ms)) throw new RangeError(`kstInstant: ${date} ${time} is not a real KST time`)
  return ms
}

/** The first instant of the KST day that contains `epochMs`. */
export function startOfKstDay(epochMs: number): number {
  return kstInstant(kstDate(epochMs))
}

/** The KST day `days` calendar days after `date` (negative: before). */
export function addKstDays(date: string, days: number): string {
  const m = DATE_RE.exec(date)
  if (!m) throw new RangeError(`addKstDays: date "${date}" is not YYYY-MM-DD`)
  // Calendar arithmetic on the date alone, at UTC noon, so no offset can move it across a day.
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days, 12))
  return d.toISOString().slice(0, 10)
}
