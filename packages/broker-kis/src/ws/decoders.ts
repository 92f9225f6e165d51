import type { BookLevel, OrderBookSnapshot, Tick } from '@vellab/broker-gateway'
import { KisError } from '../errors'
import { kstCompactToEpoch } from '../kst'
import { splitRecords } from './frame'

/** Field counts of the layouts this version knows (reference §7.7, §7.8, §7.9). */
export const KIS_FIELD_COUNTS = { H0STCNT0: 46, H0STASP0: 59, H0STCNI0: 26 } as const

/** A decoded batch plus the width actually received (for drift reports). */
export interface Decoded<T> {
  items: T[]
  fieldsPerRecord: number
  expectedFields: number
}

const INT = /^-?\d+$/

function int(v: string | undefined, name: string, trId: string): number {
  if (v === undefined || !INT.test(v)) {
    throw new KisError('KIS_FRAME_VALUE', `${name} is not an integer`, { trId })
  }
  return Number(v)
}

function symbolOf(v: string | undefined, trId: string): string {
  // Codes may arrive padded or with the `A` market prefix (reference §9: search-stock-info pads pdno).
  const s = (v ?? '').trim()
  const code = s.length === 7 && s[0] === 'A' ? s.slice(1) : s
  if (!/^[0-9A-Z]{6}$/.test(code)) throw new KisError('KIS_FRAME_VALUE', 'bad stock code', { trId })
  return code
}

/** Separator positions of the payload being decoded (reused between calls; grows as needed). */
let seps = new Int32Array(1_024)

/**
 * The integer in `s[from, to)` (optional `-`, then digits only), or `NaN`. Same answers as
 * `/^-?\d+$/` + `Number()`, without the substring: long numbers take `Number` for exact rounding.
 */
function intAt(s: string, from: number, to: number): number {
  let i = from
  const neg = s.charCodeAt(i) === 45
  if (neg) i++
  if (i >= to) return Number.NaN
  if (to - i > 15) {
    for (let k = i; k < to; k++) {
      const c = s.charCodeAt(k)
      if (c < 48 || c > 57) return Number.NaN
    }
    return Number(s.slice(from, to))
  }
  let n = 0
  for (; i < to; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return Number.NaN
    n = n * 10 + c
  }
  return neg ? -n : n
}

/** Two digits at `s[i]`, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

let lastDate = ''
let lastDayStart: number | undefined

/**
 * Epoch ms of KST midnight of the `YYYYMMDD` in `s[from, to)`, or undefined when it is not a real
 * date: `kstCompactToEpoch`'s answer, remembered for the last date seen (a frame's records, and
 * the frames of a day, share one).
 */
function kstDayStart(s: string, from: number, to: number): number | undefined {
  const date = s.slice(from, to)
  if (date !== lastDate) {
    lastDate = date
    lastDayStart = kstCompactToEpoch(date, '000000')
  }
  return lastDayStart
}

/**
 * Decode H0STCNT0 (실시간체결가) records into ticks (reference §7.7). Aggressor from CCLD_DVSN
 * (#21: 1 buy, 5 sell); time from BSOP_DATE (#33) + STCK_CNTG_HOUR (#1) in KST.
 *
 * One pass finds the separators; only the fields a tick carries are read, as numbers straight from
 * the payload (no per-field strings, no regex). The checks are those of `splitRecords` and the
 * field rules: width, integers, positive price, non-negative volumes, a valid KST date and time.
 */
export function decodeTradeFrame(payload: string, count: number): Decoded<Tick> {
  const trId = 'H0STCNT0'
  const expected = KIS_FIELD_COUNTS.H0STCNT0
  let n = 0
  for (let at = payload.indexOf('^'); at !== -1; at = payload.indexOf('^', at + 1)) {
    if (n === seps.length) {
      const grown = new Int32Array(seps.length * 2)
      grown.set(seps)
      seps = grown
    }
    seps[n++] = at
  }
  const fields = n + 1
  if (fields % count !== 0) {
    throw new KisError('KIS_FRAME_FIELD_COUNT', `${fields} fields do not divide into ${count} records`, {
      trId,
    })
  }
  const width = fields / count
  if (width < expected) {
    throw new KisError(
      'KIS_FRAME_FIELD_COUNT',
      `records have ${width} fields; at least ${expected} expected`,
      {
        trId,
      },
    )
  }
  const len = payload.length
  // Field k of the payload spans [startOf(k), endOf(k)).
  const startOf = (k: number): number => (k === 0 ? 0 : (seps[k - 1] as number) + 1)
  const endOf = (k: number): number => (k < n ? (seps[k] as number) : len)
  const items: Tick[] = new Array(count)
  for (let r = 0; r < count; r++) {
    const b = r * width
    const price = intAt(payload, startOf(b + 2), endOf(b + 2))
    if (Number.isNaN(price)) throw new KisError('KIS_FRAME_VALUE', 'STCK_PRPR is not an integer', { trId })
    if (price <= 0) throw new KisError('KIS_FRAME_VALUE', 'STCK_PRPR must be positive', { trId })
    const quantity = intAt(payload, startOf(b + 12), endOf(b + 12))
    if (Number.isNaN(quantity)) throw new KisError('KIS_FRAME_VALUE', 'CNTG_VOL is not an integer', { trId })
    const cumulativeVolume = intAt(payload, startOf(b + 13), endOf(b + 13))
    if (Number.isNaN(cumulativeVolume))
      throw new KisError('KIS_FRAME_VALUE', 'ACML_VOL is not an integer', { trId })
    if (quantity < 0 || cumulativeVolume < 0)
      throw new KisError('KIS_FRAME_VALUE', 'negative volume', { trId })
    const day = kstDayStart(payload, startOf(b + 33), endOf(b + 33))
    const t0 = startOf(b + 1)
    const h = endOf(b + 1) - t0 === 6 ? twoDigits(payload, t0) : -1
    const mi = h >= 0 ? twoDigits(payload, t0 + 2) : -1
    const sec = mi >= 0 ? twoDigits(payload, t0 + 4) : -1
    if (day === undefined || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
      throw new KisError('KIS_FRAME_VALUE', 'bad BSOP_DATE/STCK_CNTG_HOUR', { trId })
    }
    const s21 = startOf(b + 21)
    const side = endOf(b + 21) - s21 === 1 ? payload.charCodeAt(s21) : 0
    const tick: Tick = {
      symbol: symbolOf(payload.slice(startOf(b), endOf(b)), trId),
      price,
      quantity,
      cumulativeVolume,
      aggressor: side === 49 ? 'buy' : side === 53 ? 'sell' : 'unknown',
      at: day + (h * 3_600 + mi * 60 + sec) * 1_000,
    }
    const ask = intAt(payload, startOf(b + 10), endOf(b + 10))
    const bid = intAt(payload, startOf(b + 11), endOf(b + 11))
    if (ask > 0) tick.bestAsk = ask
    if (bid > 0) tick.bestBid = bid
    items[r] = tick
  }
  return { items, fieldsPerRecord: width, expectedFields: expected }
}

/**
 * Decode H0STASP0 (실시간호가) records into book snapshots (reference §7.8): asks #3–12 with sizes
 * #23–32, bids #13–22 with sizes #33–42, totals #43/#44. The frame carries only HHMMSS, so the KST
 * trading date is passed in. Empty levels (price 0) are left out.
 */
export function decodeBookFrame(payload: string, count: number, kstDate: string): Decoded<OrderBookSnapshot> {
  const trId = 'H0STASP0'
  const expected = KIS_FIELD_COUNTS.H0STASP0
  const { records, fieldsPerRecord } = splitRecords(payload, count, expected, trId)
  const items: OrderBookSnapshot[] = []
  for (const f of records) {
    const asks: BookLevel[] = []
    const bids: BookLevel[] = []
    for (let i = 0; i < 10; i++) {
      const ap = int(f[3 + i], `ASKP${i + 1}`, trId)
      const aq = int(f[23 + i], `ASKP_RSQN${i + 1}`, trId)
      const bp = int(f[13 + i], `BIDP${i + 1}`, trId)
      const bq = int(f[33 + i], `BIDP_RSQN${i + 1}`, trId)
      if (aq < 0 || bq < 0 || ap < 0 || bp < 0)
        throw new KisError('KIS_FRAME_VALUE', 'negative book value', { trId })
      if (ap > 0) asks.push({ price: ap, quantity: aq })
      if (bp > 0) bids.push({ price: bp, quantity: bq })
    }
    const at = kstCompactToEpoch(kstDate, f[1] ?? '')
    if (at === undefined) throw new KisError('KIS_FRAME_VALUE', 'bad BSOP_HOUR', { trId })
    const totalAsk = int(f[43], 'TOTAL_ASKP_RSQN', trId)
    const totalBid = int(f[44], 'TOTAL_BIDP_RSQN', trId)
    items.push({
      symbol: symbolOf(f[0], trId),
      asks,
      bids,
      ...(totalAsk >= 0 ? { totalAskQuantity: totalAsk } : {}),
      ...(totalBid >= 0 ? { totalBidQuantity: totalBid } : {}),
      at,
    })
  }
  return { items, fieldsPerRecord, expectedFields: expected }
}

/** One decrypted execution notice, with KIS codes turned into words (reference §7.9). */
export interface ExecutionNotice {
  htsId: string
  accountNo: string
  /** ODER_NO, normalised to 10 digits. */
  orderNo: string
  /** OODER_NO (for modify/cancel), normalised; empty when none. */
  originalOrderNo: string
  side: 'buy' | 'sell'
  /** RCTF_CLS: 0 normal, 1 modify, 2 cancel. */
  correction: 'normal' | 'modify' | 'cancel'
  /** ODER_KIND (= ORD_DVSN). */
  orderDivision: string
  symbol: string
  /** CNTG_QTY: the fill quantity on a fill; on a receipt, the order quantity (or 0). */
  quantity: number
  /** CNTG_UNPR: the fill price on a fill; on a receipt, the order price (or 0). */
  price: number
  /** STCK_CNTG_HOUR HHMMSS. */
  time: string
  refused: boolean
  /** CNTG_YN 2: a fill; 1: a receipt (order/modify/cancel/reject). */
  isFill: boolean
  /** ACPT_YN: 1 received, 2 confirmed, 3 canceled (IOC/FOK remainder). */
  acceptance: 'received' | 'confirmed' | 'ioc_fok_canceled'
  /** ODER_QTY (0 when absent). */
  orderQuantity: number
  /** ODER_PRC (0 when absent). */
  orderPrice: number
  /** The decrypted record, for deduplication. */
  raw: string
}

/** Normalise an order number to 10 digits (reference §9: inbound numbers may be un-padded). */
export function normaliseOrderNo(v: string): string {
  const s = v.trim()
  if (s === '') return ''
  if (!/^\d{1,10}$/.test(s)) throw new KisError('KIS_FRAME_VALUE', 'order number is not 1-10 digits')
  return s.padStart(10, '0')
}

function optInt(v: string | undefined): number {
  const s = (v ?? '').trim()
  return INT.test(s) ? Number(s) : 0
}

/**
 * Execution-notice layouts by field count. Fields 0–17 agree in both; they differ after that.
 * - 26 fields (reference §7.9, the official spec): stock name at 24, order price at 25.
 * - 23 fields (reference §7.10: measured on a paper account in 2026-08, and the layout python-kis
 *   decodes): stock name at 21, order price at 22. UNVERIFIED beyond that one source, so both are
 *   accepted by count, whichever environment sends them.
 */
const NOTICE_LAYOUTS: Readonly<Record<number, { orderPrice: number }>> = {
  26: { orderPrice: 25 },
  23: { orderPrice: 22 },
}
/** Fields through ODER_QTY (index 16): all the adapter acts on. Fewer cannot be read at all. */
const NOTICE_MIN_FIELDS = 17

/**
 * Decode decrypted H0STCNI0/H0STCNI9 records, in the 26-field (§7.9) or the 23-field (§7.10)
 * layout, chosen by field count. Any other count of at least 17 fields is still decoded (never
 * drop a notice that can be read; the order price is then taken only past 26 fields) and reported
 * as drift through `expectedFields` ≠ `fieldsPerRecord`; fewer than 17 is an error.
 */
export function decodeNoticeRecords(
  plaintext: string,
  count: number,
  trId: string,
): Decoded<ExecutionNotice> {
  const { records, fieldsPerRecord } = splitRecords(plaintext, count, NOTICE_MIN_FIELDS, trId)
  const layout = NOTICE_LAYOUTS[fieldsPerRecord]
  const expected = layout ? fieldsPerRecord : KIS_FIELD_COUNTS.H0STCNI0
  const orderPriceAt = layout?.orderPrice ?? (fieldsPerRecord > KIS_FIELD_COUNTS.H0STCNI0 ? 25 : undefined)
  const items: ExecutionNotice[] = []
  for (const f of records) {
    const sideCode = f[4]
    if (sideCode !== '01' && sideCode !== '02')
      throw new KisError('KIS_FRAME_VALUE', 'SELN_BYOV_CLS must be 01/02', { trId })
    const rctf = f[5]
    if (rctf !== '0' && rctf !== '1' && rctf !== '2')
      throw new KisError('KIS_FRAME_VALUE', 'RCTF_CLS must be 0/1/2', { trId })
    const cntgYn = f[13]
    if (cntgYn !== '1' && cntgYn !== '2')
      throw new KisError('KIS_FRAME_VALUE', 'CNTG_YN must be 1/2', { trId })
    const acpt = f[14]
    if (acpt !== '1' && acpt !== '2' && acpt !== '3')
      throw new KisError('KIS_FRAME_VALUE', 'ACPT_YN must be 1/2/3', { trId })
    const time = (f[11] ?? '').trim()
    if (!/^\d{6}$/.test(time))
      throw new KisError('KIS_FRAME_VALUE', 'STCK_CNTG_HOUR must be HHMMSS', { trId })
    let orderNo: string
    let originalOrderNo: string
    try {
      orderNo = normaliseOrderNo(f[2] ?? '')
      originalOrderNo = normaliseOrderNo(f[3] ?? '')
    } catch (cause) {
      throw new KisError('KIS_FRAME_VALUE', 'bad ODER_NO/OODER_NO', { trId, cause })
    }
    if (!orderNo) throw new KisError('KIS_FRAME_VALUE', 'ODER_NO is empty', { trId })
    // On a receipt (CNTG_YN 1) fields 9/10 carry the order quantity/price or 0, and captures
    // disagree (reference §7.9, §10 item 10): a blank there must not drop the receipt. On a fill
    // they are the execution and must be numbers.
    const isFill = cntgYn === '2'
    const quantity = isFill ? int((f[9] ?? '').trim(), 'CNTG_QTY', trId) : optInt(f[9])
    const price = isFill ? int((f[10] ?? '').trim(), 'CNTG_UNPR', trId) : optInt(f[10])
    if (quantity < 0 || price < 0)
      throw new KisError('KIS_FRAME_VALUE', 'negative quantity or price', { trId })
    items.push({
      htsId: (f[0] ?? '').trim(),
      accountNo: (f[1] ?? '').trim(),
      orderNo,
      originalOrderNo: originalOrderNo === '0000000000' ? '' : originalOrderNo,
      side: sideCode === '01' ? 'sell' : 'buy',
      correction: rctf === '0' ? 'normal' : rctf === '1' ? 'modify' : 'cancel',
      orderDivision: (f[6] ?? '').trim(),
      symbol: symbolOf(f[8], trId),
      quantity,
      price,
      time,
      refused: f[12] === '1',
      isFill,
      acceptance: acpt === '1' ? 'received' : acpt === '2' ? 'confirmed' : 'ioc_fok_canceled',
      orderQuantity: optInt(f[16]),
      orderPrice: orderPriceAt === undefined ? 0 : optInt(f[orderPriceAt]),
      raw: f.join('^'),
    })
  }
  return { items, fieldsPerRecord, expectedFields: expected }
}
