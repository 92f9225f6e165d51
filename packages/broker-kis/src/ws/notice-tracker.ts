import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { kstCompactToEpoch } from '../kst'
import type { ExecutionNotice } from './decoders'

/**
 * Turns execution notices into contract events with cumulative quantities.
 *
 * KIS notices carry the quantity of each fill but no fill id and no cumulative total (reference
 * §7.9), so the tracker sums fills per order number. An exact repeat of a notice record (same
 * order, time, quantity, price…) is treated as a duplicate and ignored; the cost is that two truly
 * identical fills in the same second count once, an under-count that REST reconciliation corrects.
 * An over-count (which would look like an overfill) is never produced by a replay.
 *
 * Event ids are deterministic (`<odno>:fill:<cumulative>`, `<odno>:accepted`, …) so a consumer that
 * deduplicates by id applies each fact once.
 */
export class OrderNoticeTracker {
  readonly #cum = new Map<string, number>()
  readonly #seen = new Map<string, true>()
  readonly #maxSeen: number

  /** @param maxRemembered notice fingerprints kept for deduplication. @default 50_000 */
  constructor(maxRemembered = 50_000) {
    this.#maxSeen = maxRemembered
  }

  /** Cumulative filled quantity seen for an order. */
  cumulative(orderNo: string): number {
    return this.#cum.get(orderNo) ?? 0
  }

  /**
   * Seed the cumulative quantity from a REST query (after a gap), so later notices continue from
   * the broker's number. Never lowers a known total.
   */
  seed(orderNo: string, cumulative: number): void {
    if (cumulative > (this.#cum.get(orderNo) ?? 0)) this.#cum.set(orderNo, cumulative)
  }

  /** Events for one notice (empty for a duplicate). `kstDate` is today's `YYYYMMDD`. */
  apply(n: ExecutionNotice, account: string, kstDate: string, fallbackAt: number): BrokerOrderEvent[] {
    if (this.#seen.has(n.raw)) return []
    this.#seen.set(n.raw, true)
    if (this.#seen.size > this.#maxSeen) {
      const first = this.#seen.keys().next().value
      if (first !== undefined) this.#seen.delete(first)
    }
    const at = kstCompactToEpoch(kstDate, n.time) ?? fallbackAt
    const base = { account, at }
    if (n.refused) {
      // The refused request is the one numbered ODER_NO (for a refused cancel, the cancel itself).
      return [
        {
          ...base,
          type: 'rejected',
          eventId: `${n.orderNo}:rejected`,
          brokerOrderId: n.orderNo,
          reason: `refused by the broker (${n.correction})`,
        },
      ]
    }
    if (n.isFill) {
      if (n.quantity <= 0 || n.price <= 0) return []
      const cum = (this.#cum.get(n.orderNo) ?? 0) + n.quantity
      this.#cum.set(n.orderNo, cum)
      return [
        {
          ...base,
          type: 'filled',
          eventId: `${n.orderNo}:fill:${cum}`,
          brokerOrderId: n.orderNo,
          symbol: n.symbol,
          side: n.side,
          fillQuantity: n.quantity,
          fillPrice: n.price,
          cumulativeQuantity: cum,
          ...(n.orderQuantity > 0 ? { orderQuantity: n.orderQuantity } : {}),
        },
      ]
    }
    const orderQty = n.orderQuantity > 0 ? n.orderQuantity : n.quantity
    if (n.acceptance === 'ioc_fok_canceled') {
      const filled = this.#cum.get(n.orderNo) ?? 0
      const expiredQuantity = n.orderQuantity > 0 ? Math.max(0, n.orderQuantity - filled) : n.quantity
      return [
        {
          ...base,
          type: 'expired',
          eventId: `${n.orderNo}:expired`,
          brokerOrderId: n.orderNo,
          expiredQuantity,
        },
      ]
    }
    const price = n.orderPrice > 0 ? n.orderPrice : n.price
    if (n.correction === 'cancel') {
      const target = n.originalOrderNo || n.orderNo
      return [
        {
          ...base,
          type: 'canceled',
          eventId: `${target}:canceled`,
          brokerOrderId: target,
          canceledQuantity: orderQty,
        },
      ]
    }
    const out: BrokerOrderEvent[] = []
    if (n.correction === 'modify' && n.originalOrderNo) {
      out.push({
        ...base,
        type: 'replaced',
        eventId: `${n.originalOrderNo}:replaced:${n.orderNo}`,
        brokerOrderId: n.originalOrderNo,
        newBrokerOrderId: n.orderNo,
        ...(orderQty > 0 ? { quantity: orderQty } : {}),
        ...(price > 0 ? { limitPrice: price } : {}),
      })
    }
    if (orderQty > 0) {
      out.push({
        ...base,
        type: 'accepted',
        eventId: `${n.orderNo}:accepted`,
        brokerOrderId: n.orderNo,
        symbol: n.symbol,
        side: n.side,
        quantity: orderQty,
        ...(price > 0 ? { limitPrice: price } : {}),
        ...(n.correction === 'modify' && n.originalOrderNo ? { predecessorId: n.originalOrderNo } : {}),
      })
    }
    return out
  }
}
