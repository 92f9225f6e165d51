import type { BrokerOrderStatus, Side } from '@vellab/broker-gateway'
import type { DailyCcldRow } from './envelope'
import { describeOrdDvsn } from './order-mapping'
import { normaliseOrderNo } from './ws/decoders'

/**
 * One order as inquire-daily-ccld reports it (reference §4.4), with the status derived from its
 * quantities. Cancel requests are not orders: they only mark their original.
 */
export interface DailyOrder {
  /** ODNO, 10 digits. */
  orderNo: string
  /** ORGN_ODNO of a modify (the order it replaced), or `''`. */
  predecessor: string
  /** The modify that took this order's remainder, when one did. */
  replacedBy: string | undefined
  /** A cancel request targeted this order. */
  cancelRequested: boolean
  /**
   * The cancel requests that targeted this order and were not refused, oldest first: each one's
   * ODNO and the shares it canceled (its row's `cnc_cfrm_qty`, 0 while unconfirmed).
   */
  cancelRequests: { orderNo: string; canceled: number }[]
  /** Shares modifies took from this order to new numbers (Σ `ord_qty` of its modify rows). */
  moved: number
  symbol: string
  side: Side
  ordDvsn: string
  venue: string
  /** `ord_qty`. */
  quantity: number
  /** `ord_unpr` (0 for priceless divisions). */
  price: number
  /** `tot_ccld_qty`, capped at the order quantity. */
  filled: number
  /** `avg_prvs` (may be fractional; 0 while nothing is filled). */
  averagePrice: number
  /** `tot_ccld_amt` (0 when absent). */
  filledAmount: number
  /** Open remainder. */
  remaining: number
  /** `cnc_cfrm_qty` (0 when absent). */
  cancelConfirmed: number
  status: BrokerOrderStatus
  /** `ord_dt` + `ord_tmd` in epoch ms, when parseable. */
  orderDate: string
  orderTime: string
}

const isOrderNo = (v: string) => v !== '' && Number(v) > 0

/**
 * Summarise daily-ccld rows into orders. Rows of cancel requests (`cncl_yn` Y with an original)
 * mark their original as cancel-requested; a modify row marks its original as replaced.
 */
export function summariseDailyRows(rows: readonly DailyCcldRow[]): DailyOrder[] {
  const byNo = new Map<string, DailyCcldRow>()
  for (const r of rows) byNo.set(normaliseOrderNo(r.odno), r)
  const replacedBy = new Map<string, string>()
  const canceledOrigins = new Set<string>()
  const cancelRequests = new Map<string, { orderNo: string; canceled: number }[]>()
  const moved = new Map<string, number>()
  for (const [odno, r] of byNo) {
    if (!isOrderNo(r.orgn_odno)) continue
    const orig = normaliseOrderNo(r.orgn_odno)
    if (r.cncl_yn === 'Y') {
      canceledOrigins.add(orig)
      const canceled = Math.max(0, r.cnc_cfrm_qty ?? 0)
      // A refused cancel (rjct_qty, nothing confirmed) canceled nothing.
      if (canceled === 0 && (r.rjct_qty ?? 0) > 0) continue
      const list = cancelRequests.get(orig) ?? []
      list.push({ orderNo: odno, canceled })
      cancelRequests.set(orig, list)
    } else {
      replacedBy.set(orig, odno)
      // A refused modify moved nothing; otherwise its ord_qty is what it took from the original.
      if ((r.rjct_qty ?? 0) === 0 || r.tot_ccld_qty > 0)
        moved.set(orig, (moved.get(orig) ?? 0) + Math.max(0, r.ord_qty))
    }
  }
  const out: DailyOrder[] = []
  for (const [orderNo, r] of byNo) {
    if (r.cncl_yn === 'Y' && isOrderNo(r.orgn_odno)) continue
    if (r.ord_qty <= 0) continue
    const filled = Math.max(0, Math.min(r.tot_ccld_qty, r.ord_qty))
    const remaining = Math.max(0, Math.min(r.rmn_qty, r.ord_qty - filled))
    let status: BrokerOrderStatus
    if (remaining > 0) status = filled > 0 ? 'partially_filled' : 'open'
    else if (filled >= r.ord_qty) status = 'filled'
    else if ((r.rjct_qty ?? 0) > 0 && filled === 0) status = 'rejected'
    else if (replacedBy.has(orderNo) && !canceledOrigins.has(orderNo)) status = 'replaced'
    else if (!canceledOrigins.has(orderNo) && describeOrdDvsn(r.ord_dvsn_cd).timeInForce !== 'day') {
      // An IOC/FOK remainder the exchange cancelled (the notice says ACPT_YN 3, reference §7.9).
      status = 'expired'
    } else status = 'canceled'
    out.push({
      orderNo,
      predecessor: isOrderNo(r.orgn_odno) ? normaliseOrderNo(r.orgn_odno) : '',
      replacedBy: replacedBy.get(orderNo),
      cancelRequested: canceledOrigins.has(orderNo),
      cancelRequests: (cancelRequests.get(orderNo) ?? []).sort((a, b) => a.orderNo.localeCompare(b.orderNo)),
      moved: moved.get(orderNo) ?? 0,
      symbol: r.pdno.trim(),
      side: r.sll_buy_dvsn_cd === '01' ? 'sell' : 'buy',
      ordDvsn: r.ord_dvsn_cd,
      venue: r.excg_id_dvsn_cd || r.excg_id_dvsn_Cd,
      quantity: r.ord_qty,
      price: r.ord_unpr,
      filled,
      averagePrice: Math.max(r.avg_prvs, 0),
      filledAmount: r.tot_ccld_amt ?? 0,
      remaining,
      cancelConfirmed: r.cnc_cfrm_qty ?? 0,
      status,
      orderDate: r.ord_dt,
      orderTime: r.ord_tmd,
    })
  }
  return out
}
