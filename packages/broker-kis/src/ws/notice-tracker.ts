import type { BrokerOrderEvent, Side } from '@vellab/broker-gateway'
import { kstCompactToEpoch } from '../kst'
import type { ExecutionNotice } from './decoders'

/**
 * One order as a REST snapshot (inquire-daily-ccld, reference §4.4) reports it: the broker's
 * cumulative truth at the moment the query was answered.
 */
export interface OrderFillSnapshot {
  /** ODNO, 10 digits. */
  orderNo: string
  symbol: string
  side: Side
  /** `ord_qty`. */
  orderQuantity: number
  /** `tot_ccld_qty`. */
  filledQuantity: number
  /** `avg_prvs`, 0 when unknown. */
  averagePrice: number
  /** `tot_ccld_amt`, 0 when absent (then `averagePrice × filledQuantity` stands in). */
  filledAmount: number
  /** `ord_unpr`: last-resort price of a catch-up fill when the row carries no average. */
  limitPrice: number
  /** `rmn_qty`. */
  remainingQuantity: number
  /** `cnc_cfrm_qty`. */
  canceledQuantity: number
  /** `orgn_odno` of a modify (the order it replaced), or `''`. */
  predecessor: string
  /** Terminal state the row shows, if any (`filled` is carried by the quantities). */
  terminal?: { type: 'canceled' | 'rejected' | 'expired' } | { type: 'replaced'; newOrderNo: string }
}

/** How a snapshot relates to the notice stream (see {@link OrderNoticeTracker.reconcile}). */
export type SnapshotMode = 'baseline' | 'live'

/** Options of {@link OrderNoticeTracker.reconcile}. */
export interface ReconcileOptions {
  account: string
  /** When the snapshot's response arrived (epoch ms). */
  now: number
  /**
   * `baseline`: taken while no notice subscription is registered (before (re)subscribing), so no
   * notice can be in flight for a fill it contains. `live`: taken while notices flow, so a notice
   * for a fill the snapshot already counts may still arrive.
   */
  mode: SnapshotMode
  /** How long a live snapshot's unexplained surplus may absorb late notices. @default 3_000 */
  settleMs?: number
  /** Tolerated difference between our clock and the broker's notice times. @default 1_000 */
  clockSkewMs?: number
}

/** What {@link OrderNoticeTracker.reconcile} did. */
export interface ReconcileResult {
  events: BrokerOrderEvent[]
  /** Orders whose cumulative level the snapshot raised. */
  raised: number
  /** Terminal events the snapshot produced. */
  terminal: number
  /** Shares a live snapshot counted that no notice has explained yet (see `credit`). */
  unexplained: number
}

interface OrderState {
  /** Highest cumulative quantity reported. */
  level: number
  /** Σ quantity × price behind `level`, for deriving a catch-up fill's price. */
  notional: number
  /** Shares a live snapshot added that an in-flight notice may still report. */
  credit: number
  /** The credit lapses at this time (settle window). */
  creditUntil: number
  /** Only notices with a fill time at or before this can be absorbed by the credit. */
  creditCutoff: number
  /** A terminal event (canceled/rejected/expired/replaced) was emitted. */
  terminal: boolean
  /** An `accepted` event was emitted. */
  accepted: boolean
}

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
 *
 * Running totals live in memory, so they are seeded from REST with {@link reconcile}: a snapshot
 * raises a total (never lowers it) and emits the catch-up `filled` event at the broker's level,
 * with the same id form as notice-derived fills, so a level reported both ways collapses
 * downstream. A `live` snapshot (taken while notices flow) may already count a fill whose notice
 * is still in flight; the surplus it adds becomes a per-order *credit* that absorbs such late
 * notices (fill time not after the snapshot, within the settle window) instead of counting them
 * twice. An absorbed notice may also have been a new fill: `onUncertain` asks the owner for a
 * verifying snapshot, so the error is an under-count that heals, never an over-count.
 */
export class OrderNoticeTracker {
  readonly #orders = new Map<string, OrderState>()
  readonly #seen = new Map<string, true>()
  readonly #maxSeen: number
  #onUncertain: ((orderNo: string, absorbed: number) => void) | undefined

  /** @param maxRemembered notice fingerprints kept for deduplication. @default 50_000 */
  constructor(maxRemembered = 50_000) {
    this.#maxSeen = maxRemembered
  }

  /** Called when a notice was absorbed by a snapshot's credit (a verifying snapshot settles it). */
  onUncertain(listener: ((orderNo: string, absorbed: number) => void) | undefined): void {
    this.#onUncertain = listener
  }

  #state(orderNo: string): OrderState {
    let st = this.#orders.get(orderNo)
    if (!st) {
      st = {
        level: 0,
        notional: 0,
        credit: 0,
        creditUntil: 0,
        creditCutoff: 0,
        terminal: false,
        accepted: false,
      }
      this.#orders.set(orderNo, st)
    }
    return st
  }

  /** Cumulative filled quantity reported for an order. */
  cumulative(orderNo: string): number {
    return this.#orders.get(orderNo)?.level ?? 0
  }

  /**
   * Raise an order's cumulative quantity to a level known from elsewhere, without emitting an
   * event. Never lowers a known total. Prefer {@link reconcile}, which also emits the catch-up.
   */
  seed(orderNo: string, cumulative: number): void {
    const st = this.#state(orderNo)
    if (cumulative > st.level) st.level = cumulative
  }

  /**
   * Merge a REST snapshot: raise cumulative levels the snapshot shows higher (one catch-up
   * `filled` event per order at the broker's level) and report terminal states the notices
   * missed. Never lowers a level and never emits a level twice.
   *
   * The catch-up fill's price is the volume-weighted price of the missed shares, derived from the
   * change in filled amount (`tot_ccld_amt`, else `avg_prvs × tot_ccld_qty`) since the level
   * already reported. It is exact when the amounts are (notice prices and `tot_ccld_amt` are
   * integers); with a rounded `avg_prvs` it is an approximation, rounded to whole KRW, and it
   * falls back to `avg_prvs` (then `ord_unpr`) when the derivation gives no positive price.
   */
  reconcile(snapshot: readonly OrderFillSnapshot[], o: ReconcileOptions): ReconcileResult {
    const settleMs = o.settleMs ?? 3_000
    const skewMs = o.clockSkewMs ?? 1_000
    if (o.mode === 'baseline') {
      // No notice subscription is registered: nothing can still be in flight on a dead socket.
      for (const st of this.#orders.values()) st.credit = 0
    }
    const events: BrokerOrderEvent[] = []
    let raised = 0
    let terminal = 0
    let unexplained = 0
    for (const s of snapshot) {
      const st = this.#state(s.orderNo)
      if (!st.accepted && s.remainingQuantity > 0 && s.orderQuantity > 0) {
        // A working order whose receipt notice nobody heard (placed during a gap or between the
        // baseline and the subscription ack): say it is accepted before anything else about it.
        st.accepted = true
        events.push({
          type: 'accepted',
          eventId: `${s.orderNo}:accepted`,
          account: o.account,
          brokerOrderId: s.orderNo,
          at: o.now,
          symbol: s.symbol,
          side: s.side,
          quantity: s.orderQuantity,
          ...(s.limitPrice > 0 ? { limitPrice: s.limitPrice } : {}),
          ...(s.predecessor ? { predecessorId: s.predecessor } : {}),
        })
      }
      const filled = Math.max(
        0,
        s.orderQuantity > 0 ? Math.min(s.filledQuantity, s.orderQuantity) : s.filledQuantity,
      )
      if (filled > st.level) {
        const diff = filled - st.level
        const amount = s.filledAmount > 0 ? s.filledAmount : s.averagePrice > 0 ? s.averagePrice * filled : 0
        let price = amount > 0 && st.notional <= amount ? (amount - st.notional) / diff : Number.NaN
        if (!(Number.isFinite(price) && price >= 0.5))
          price = s.averagePrice > 0 ? s.averagePrice : s.limitPrice
        const fillPrice = Math.round(price)
        if (fillPrice > 0) {
          if (o.mode === 'live') {
            const active = st.credit > 0 && o.now < st.creditUntil
            st.credit = (active ? st.credit : 0) + diff
            st.creditUntil = o.now + settleMs
            st.creditCutoff = o.now + skewMs
            unexplained += diff
          }
          st.level = filled
          st.notional = amount > 0 ? amount : st.notional + diff * fillPrice
          raised++
          events.push({
            type: 'filled',
            eventId: `${s.orderNo}:fill:${filled}`,
            account: o.account,
            brokerOrderId: s.orderNo,
            at: o.now,
            symbol: s.symbol,
            side: s.side,
            fillQuantity: diff,
            fillPrice,
            cumulativeQuantity: filled,
            ...(s.orderQuantity > 0 ? { orderQuantity: s.orderQuantity } : {}),
          })
        }
      }
      if (s.terminal && !st.terminal && s.remainingQuantity === 0) {
        const t = this.#terminalEvent(s, o.account, o.now, Math.max(st.level, filled))
        st.terminal = true
        terminal++
        events.push(t)
      }
    }
    return { events, raised, terminal, unexplained }
  }

  #terminalEvent(s: OrderFillSnapshot, account: string, at: number, filled: number): BrokerOrderEvent {
    const base = { account, at, brokerOrderId: s.orderNo }
    const rest = Math.max(0, s.orderQuantity - filled)
    const t = s.terminal
    switch (t?.type) {
      case 'replaced':
        return {
          ...base,
          type: 'replaced',
          eventId: `${s.orderNo}:replaced:${t.newOrderNo}`,
          newBrokerOrderId: t.newOrderNo,
        }
      case 'rejected':
        return {
          ...base,
          type: 'rejected',
          eventId: `${s.orderNo}:rejected`,
          reason: 'refused by the broker (seen in REST)',
        }
      case 'expired':
        return { ...base, type: 'expired', eventId: `${s.orderNo}:expired`, expiredQuantity: rest }
      default:
        return {
          ...base,
          type: 'canceled',
          eventId: `${s.orderNo}:canceled`,
          canceledQuantity: s.canceledQuantity > 0 ? s.canceledQuantity : rest,
        }
    }
  }

  /**
   * Events for one notice (empty for a duplicate). `kstDate` is today's `YYYYMMDD`; `now` decides
   * whether a snapshot's credit is still open (@default fallbackAt).
   */
  apply(
    n: ExecutionNotice,
    account: string,
    kstDate: string,
    fallbackAt: number,
    now = fallbackAt,
  ): BrokerOrderEvent[] {
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
      this.#state(n.orderNo).terminal = true
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
      const st = this.#state(n.orderNo)
      let fresh = n.quantity
      const fillAt = kstCompactToEpoch(kstDate, n.time)
      if (st.credit > 0 && now < st.creditUntil && (fillAt === undefined || fillAt <= st.creditCutoff)) {
        // A live snapshot already reported shares no notice had explained; this notice (filled no
        // later than that snapshot) is most likely one of them, so it must not count twice.
        const absorbed = Math.min(st.credit, fresh)
        st.credit -= absorbed
        fresh -= absorbed
        this.#onUncertain?.(n.orderNo, absorbed)
      }
      if (fresh <= 0) return []
      const cum = st.level + fresh
      st.level = cum
      st.notional += fresh * n.price
      return [
        {
          ...base,
          type: 'filled',
          eventId: `${n.orderNo}:fill:${cum}`,
          brokerOrderId: n.orderNo,
          symbol: n.symbol,
          side: n.side,
          fillQuantity: fresh,
          fillPrice: n.price,
          cumulativeQuantity: cum,
          ...(n.orderQuantity > 0 ? { orderQuantity: n.orderQuantity } : {}),
        },
      ]
    }
    const orderQty = n.orderQuantity > 0 ? n.orderQuantity : n.quantity
    if (n.acceptance === 'ioc_fok_canceled') {
      const st = this.#state(n.orderNo)
      st.terminal = true
      const filled = st.level
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
      this.#state(target).terminal = true
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
    const st = this.#state(n.orderNo)
    if (orderQty > 0 && !st.accepted) {
      st.accepted = true
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
