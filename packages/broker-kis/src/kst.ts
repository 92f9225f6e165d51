import { kstDate } from '@vellab/broker-gateway'

// Korea Standard Time helpers. KST is UTC+9 with no daylight saving, so plain offset arithmetic is
// exact; no time-zone database is needed.
// reference/kis-openapi.md §9: dates YYYYMMDD, times HHMMSS (KST), token expiry `YYYY-MM-DD HH:MM:SS` (KST).

const KST_OFFSET_MS = 9 * 3_600_000

/** `YYYYMMDD` (KIS's wire form) of the KST calendar day containing `epochMs`. */
export function kstCompactDate(epochMs: number): string {
  return kstIsoDate(epochMs).replaceAll('-', '')
}

/** `YYYY-MM-DD` of the KST calendar day containing `epochMs` (the contract's `kstDate`). */
export function kstIsoDate(epochMs: number): string {
  return kstDate(epochMs)
}

/** Minutes since KST midnight of `epochMs`. */
export function kstMinuteOfDay(epochMs: number): number {
  const d = new Date(epochMs + KST_OFFSET_MS)
  return d.getUTCHours() * 60 + d.getUTCMinutes()
}

/** Epoch ms of a KST wall-clock time, or `undefined` when any part is out of range. */
function kstToEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - KST_OFFSET_MS
  // Reject days that roll over (e.g. 20260231).
  const back = new Date(ms + KST_OFFSET_MS)
  if (back.getUTCDate() !== d) return undefined
  return ms
}

/** Parse a token expiry `YYYY-MM-DD HH:MM:SS` (KST) into epoch ms; `undefined` when malformed. */
export function parseKstDateTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text.trim())
  if (!m) return undefined
  return kstToEpoch(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
}

/** Epoch ms of `YYYYMMDD` + `HHMMSS` in KST; `undefined` when malformed. */
export function kstCompactToEpoch(date: string, time: string): number | undefined {
  const dm = /^(\d{4})(\d{2})(\d{2})$/.exec(date)
  const tm = /^(\d{2})(\d{2})(\d{2})$/.exec(time)
  if (!dm || !tm) return undefined
  return kstToEpoch(+dm[1]!, +dm[2]!, +dm[3]!, +tm[1]!, +tm[2]!, +tm[3]!)
}

/** `YYYY-MM-DD` → `YYYYMMDD`. */
export function isoToCompactDate(iso: string): string {
  return iso.replaceAll('-', '')
}
