import { createCipheriv, createDecipheriv } from 'node:crypto'
import type { ExchangeNotice } from './exchange'
import { dec, int, sign } from './format'
import { kstDate, kstTime } from './kst'
import { ensureBook, type SymbolState, type Trade } from './market'
import { ordExgGb } from './venues'

/** Field counts (reference §7.7, §7.8, §7.9). */
export const FIELD_COUNTS = { H0STCNT0: 46, H0STASP0: 59, notice: 26 } as const

const vsSign = (a: number, b: number): string => (a > b ? '2' : a < b ? '5' : '3')

/** One H0STCNT0 record (46 `^`-separated fields, reference §7.7), built at print time. */
export function tradeRecord(t: Trade, s: SymbolState, extraFields = 0): string {
  ensureBook(s)
  const wavg = s.volume > 0 ? s.turnover / s.volume : t.price
  const total = s.buyVolume + s.sellVolume
  let totalAsk = 0
  let totalBid = 0
  for (let i = 0; i < 10; i++) {
    totalAsk += s.askQty[i] ?? 0
    totalBid += s.bidQty[i] ?? 0
  }
  const f: string[] = [
    s.code,
    kstTime(t.at),
    int(t.price),
    sign(t.price, s.base, s.upper, s.lower),
    int(t.price - s.base),
    dec(s.base ? ((t.price - s.base) / s.base) * 100 : 0, 2),
    dec(wavg, 2),
    int(s.open),
    int(s.high),
    int(s.low),
    int(s.askPrices[0] ?? 0),
    int(s.bidPrices[0] ?? 0),
    int(t.qty),
    int(s.volume),
    int(s.turnover),
    int(s.sellCount),
    int(s.buyCount),
    int(s.buyCount - s.sellCount),
    dec(s.sellVolume > 0 ? (s.buyVolume / s.sellVolume) * 100 : 0, 2),
    int(s.sellVolume),
    int(s.buyVolume),
    t.aggressor,
    dec(total > 0 ? (s.buyVolume / total) * 100 : 0, 2),
    dec(s.prevVolume > 0 ? (s.volume / s.prevVolume) * 100 : 0, 2),
    kstTime(s.openAt || t.at),
    vsSign(t.price, s.open),
    int(t.price - s.open),
    kstTime(s.highAt || t.at),
    vsSign(t.price, s.high),
    int(t.price - s.high),
    kstTime(s.lowAt || t.at),
    vsSign(t.price, s.low),
    int(t.price - s.low),
    kstDate(t.at),
    // reference §7.7 #34: "20" = 장중, 보통
    '20',
    s.flags.halted ? 'Y' : 'N',
    int(s.askQty[0] ?? 0),
    int(s.bidQty[0] ?? 0),
    int(totalAsk),
    int(totalBid),
    '0.00',
    '0',
    '0.00',
    // reference §7.7 #43: 0 장중
    '0',
    '0',
    int(s.base),
  ]
  for (let i = 0; i < extraFields; i++) f.push('')
  return f.join('^')
}

/** One H0STASP0 record (59 fields, reference §7.8). */
export function bookRecord(s: SymbolState, at: number, extraFields = 0): string {
  ensureBook(s)
  const f: string[] = [s.code, kstTime(at), '0']
  let totalAsk = 0
  let totalBid = 0
  for (let i = 0; i < 10; i++) f.push(int(s.askPrices[i] ?? 0))
  for (let i = 0; i < 10; i++) f.push(int(s.bidPrices[i] ?? 0))
  for (let i = 0; i < 10; i++) {
    const q = s.askQty[i] ?? 0
    totalAsk += q
    f.push(int(q))
  }
  for (let i = 0; i < 10; i++) {
    const q = s.bidQty[i] ?? 0
    totalBid += q
    f.push(int(q))
  }
  f.push(
    int(totalAsk),
    int(totalBid),
    '0',
    '0',
    '0',
    '0',
    '0',
    '0',
    '3',
    '0.00',
    int(s.volume),
    '0',
    '0',
    '0',
    '0',
    '',
  )
  for (let i = 0; i < extraFields; i++) f.push('')
  return f.join('^')
}

/** How field 9/10 of a 접수 notice are filled (reference §10 item 10, UNVERIFIED). */
export type ReceiptQtyMode = 'order-qty' | 'zero'

/** Field count of an execution-notice record (reference §7.9: 26; §7.10, paper as reported: 23). */
export type NoticeLayout = 23 | 26

/** Plaintext H0STCNI0/H0STCNI9 record (26 fields, reference §7.9). */
export function noticeRecord(
  n: ExchangeNotice,
  ctx: {
    accountName: string
    symbolName: string
    receiptQty: ReceiptQtyMode
    /**
     * 26 fields as reference §7.9 lists them, or the 23 a paper account reported (§7.10: 0–17 as
     * §7.9, then `1Y`, `10`, blank, the stock name at 21 and the order price at 22). @default 26
     */
    layout?: NoticeLayout
    /** Price field (10) of a cancel's 확인: 0 as reported on paper (§7.10). @default the order price */
    cancelConfirmPriceZero?: boolean
  },
  extraFields = 0,
): string {
  const o = n.order
  const fill = n.kind === 'fill'
  const rctf = o.kind === 'modify' ? '1' : o.kind === 'cancel' ? '2' : '0'
  const receiptZero = !fill && ctx.receiptQty === 'zero' && n.kind === 'receipt'
  const f: string[] = [
    o.htsId,
    `${o.cano}${o.productCode}`,
    o.odno,
    o.origOdno || '0000000000',
    o.side === 'sell' ? '01' : '02',
    rctf,
    o.ordDvsn,
    o.spec.cond,
    o.symbol,
    receiptZero ? '0' : int(n.qty),
    receiptZero || (ctx.cancelConfirmPriceZero && o.kind === 'cancel' && n.kind === 'confirm')
      ? '0'
      : int(n.price),
    kstTime(n.at),
    n.kind === 'reject' ? '1' : '0',
    // reference §7.9 #13: 1 접수/정정/취소/거부 notice, 2 체결 notice
    fill ? '2' : '1',
    // reference §7.9 #14: 1 주문접수, 2 확인, 3 취소(FOK/IOC). The sim's 확인 is sent when a
    // modify/cancel takes effect (the timing is UNVERIFIED, see WsOptions.confirmNotices); a fill
    // notice carries 2 as well (CNTG_YN=2 tells them apart).
    n.kind === 'ioc-cancel' ? '3' : fill || n.kind === 'confirm' ? '2' : '1',
    o.branch,
    int(o.qty),
    ctx.accountName,
    ...(ctx.layout === 23
      ? ['1Y', '10', '', ctx.symbolName, int(o.price)]
      : [
          // reference §7.9 #18 ORD_COND_PRC: the stop-limit's condition price (0 for other orders)
          int(o.condPrice),
          // reference §7.9 #19 ORD_EXG_GB: 1 KRX, 2 NXT, 3 SOR-KRX, 4 SOR-NXT
          ordExgGb(o.route, o.venue),
          'N',
          '',
          '',
          '',
          ctx.symbolName,
          int(o.price),
        ]),
  ]
  for (let i = 0; i < extraFields; i++) f.push('')
  return f.join('^')
}

/**
 * reference §7.5: AES-256-CBC, key/iv = the ack's `output.key`/`output.iv` as UTF-8 bytes,
 * PKCS#7 padding, base64.
 */
export function encryptNotice(plain: string, key: string, iv: string): string {
  const c = createCipheriv('aes-256-cbc', Buffer.from(key, 'utf8'), Buffer.from(iv, 'utf8'))
  return Buffer.concat([c.update(plain, 'utf8'), c.final()]).toString('base64')
}

/** The inverse of {@link encryptNotice} (for tests and tools). */
export function decryptNotice(b64: string, key: string, iv: string): string {
  const d = createDecipheriv('aes-256-cbc', Buffer.from(key, 'utf8'), Buffer.from(iv, 'utf8'))
  return Buffer.concat([d.update(Buffer.from(b64, 'base64')), d.final()]).toString('utf8')
}

/** `<enc>|<tr_id>|<count>|<payload>` (reference §7.5). */
export function dataFrame(encrypted: boolean, trId: string, count: number, payload: string): string {
  return `${encrypted ? '1' : '0'}|${trId}|${String(count).padStart(3, '0')}|${payload}`
}
