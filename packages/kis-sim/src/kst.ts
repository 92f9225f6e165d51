/**
 * KST (UTC+9, no daylight saving) formatting helpers. Korea has not observed DST since 1988, so a
 * fixed offset is exact for every date the simulator serves.
 */
const KST_OFFSET_MS = 9 * 3_600_000

/** Milliseconds in one day. */
export const DAY_MS = 86_400_000

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** Calendar fields of an instant in KST. */
export interface KstParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  /** 0 = Sunday … 6 = Saturday */
  weekday: number
}

/** Splits an epoch-millisecond instant into KST calendar fields. */
export function kstParts(epochMs: number): KstParts {
  const d = new Date(epochMs + KST_OFFSET_MS)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  }
}

let dateCacheStart = Number.NaN
let dateCacheValue = ''

/** `YYYYMMDD` in KST (reference/kis-openapi.md §9: dates are YYYYMMDD). Memoised per day. */
export function kstDate(epochMs: number): string {
  if (epochMs >= dateCacheStart && epochMs < dateCacheStart + DAY_MS) return dateCacheValue
  const p = kstParts(epochMs)
  dateCacheValue = `${pad(p.year, 4)}${pad(p.month, 2)}${pad(p.day, 2)}`
  dateCacheStart = epochMs - kstMsOfDay(epochMs)
  return dateCacheValue
}

let timeCacheKey = Number.NaN
let timeCacheValue = ''

/** `HHMMSS` in KST (reference/kis-openapi.md §9). Memoised per second: market data calls it per record. */
export function kstTime(epochMs: number): string {
  const key = Math.floor(epochMs / 1000)
  if (key === timeCacheKey) return timeCacheValue
  const p = kstParts(epochMs)
  timeCacheKey = key
  timeCacheValue = `${pad(p.hour, 2)}${pad(p.minute, 2)}${pad(p.second, 2)}`
  return timeCacheValue
}

/** `YYYY-MM-DD HH:MM:SS` in KST, the tokenP `access_token_token_expired` format (reference §2.1). */
export function kstDateTimeDashed(epochMs: number): string {
  const p = kstParts(epochMs)
  return `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)} ${pad(p.hour, 2)}:${pad(p.minute, 2)}:${pad(p.second, 2)}`
}

/** `YYYYMMDDHHMMSS` in KST, the PINGPONG `datetime` format (reference §7.4, UNVERIFIED). */
export function kstCompact(epochMs: number): string {
  return kstDate(epochMs) + kstTime(epochMs)
}

/** Epoch ms of 00:00:00 KST on the given `YYYYMMDD` date. */
export function kstMidnight(yyyymmdd: string): number {
  const y = Number(yyyymmdd.slice(0, 4))
  const m = Number(yyyymmdd.slice(4, 6))
  const d = Number(yyyymmdd.slice(6, 8))
  return Date.UTC(y, m - 1, d) - KST_OFFSET_MS
}

/** Milliseconds since 00:00 KST of the instant's own KST day. */
export function kstMsOfDay(epochMs: number): number {
  return (((epochMs + KST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS
}

/** The `YYYYMMDD` date `n` calendar days after `yyyymmdd`. */
export function addDays(yyyymmdd: string, n: number): string {
  return kstDate(kstMidnight(yyyymmdd) + n * DAY_MS + 12 * 3_600_000)
}

/**
 * Parses a start time for the virtual clock. Accepts epoch ms, a Date, an ISO string with offset,
 * or a naive `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS]` string, which is read as KST.
 */
export function parseKstInstant(value: number | string | Date): number {
  if (typeof value === 'number') return value
  if (value instanceof Date) return value.getTime()
  const naive = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value)
  if (naive) {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = naive
    return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - KST_OFFSET_MS
  }
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new TypeError(`kis-sim: cannot parse time ${JSON.stringify(value)}`)
  return t
}
