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

/**
 * Decode H0STCNT0 (실시간체결가) records into ticks (reference §7.7). Aggressor from CCLD_DVSN
 * (#21: 1 buy, 5 sell); time from BSOP_DATE (#33) + STCK_CNTG_HOUR (#1) in KST.
 */
export function decodeTradeFrame(payload: string, count: number): Decoded<Tick> {
  const trId = 'H0STCNT0'
  const expected = KIS_FIELD_COUNTS.H0STCNT0
  const { records, fieldsPerRecord } = splitRecords(payload, count, expected, trId)
  const items: Tick[] = []
  for (const f of records) {
    const price = int(f[2], 'STCK_PRPR', trId)
    if (price <= 0) throw new KisError('KIS_FRAME_VALUE', 'STCK_PRPR must be positive', { trId })
    const quantity = int(f[12], 'CNTG_VOL', trId)
    const cumulativeVolume = int(f[13], 'ACML_VOL', trId)
    if (quantity < 0 || cumulativeVolume < 0)
      throw new KisError('KIS_FRAME_VALUE', 'negative volume', { trId })
    const at = kstCompactToEpoch(f[33] ?? '', f[1] ?? '')
    if (at === undefined) throw new KisError('KIS_FRAME_VALUE', 'bad BSOP_DATE/STCK_CNTG_HOUR', { trId })
    const side = f[21]
    const tick: Tick = {
      symbol: symbolOf(f[0], trId),
      price,
      quantity,
      cumulativeVolume,
      aggressor: side === '1' ? 'buy' : side === '5' ? 'sell' : 'unknown',
      at,
    }
    const ask = f[10] && INT.test(f[10]) ? Number(f[10]) : 0
    const bid = f[11] && INT.test(f[11]) ? Number(f[11]) : 0
    if (ask > 0) tick.bestAsk = ask
    if (bid > 0) tick.bestBid = bid
    items.push(tick)
  }
  return { items, fieldsPerRecord, expectedFields: expected }
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
