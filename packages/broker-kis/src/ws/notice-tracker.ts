import type { BrokerOrderEvent, Side } from '@vellab/broker-gateway'
import { kstCompactDate, kstCompactToEpoch } from '../kst'
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
  /** `cnc_cfrm_qty` of the order's own row (0 when the broker does not fill it in there). */
  canceledQuantity: number
  /**
   * Shares modifies (정정) took from this order to new numbers: the sum of `ord_qty` of the rows
   * whose `orgn_odno` is this order and that are not cancels. @default 0
   */
  movedQuantity?: number
  /**
   * The cancel requests (취소, rows with `cncl_yn` Y and this order as `orgn_odno`) that were not
   * refused, with the shares each took (the cancel row's `cnc_cfrm_qty`; 0 while unconfirmed or
   * when the broker leaves it blank). Each becomes one `canceled` event with the id the notice
   * path gives it (`<odno>:canceled:<cancel ODNO>`). @default []
   */
  cancels?: readonly { requestNo: string; quantity: number }[]
  /** `orgn_odno` of a modify (the order it replaced), or `''`. */
  predecessor: string
  /** Terminal state the row shows, if any (`filled` is carried by the quantities). */
  terminal?: { type: 'canceled' | 'rejected' | 'expired' } | { type: 'replaced'; newOrderNo: string }
}

/**
 * A modify (정정) or cancel (취소) request the broker received (접수, ACPT_YN 1, reference §7.9) but
 * has not confirmed (확인, ACPT_YN 2) yet. A receipt is not an outcome: the request may still be
 * refused (RFUS_YN 1) when a fill gets there first, so nothing is emitted for it until it is
 * confirmed by a 확인 notice or by a REST snapshot (see {@link OrderNoticeTracker.reconcile}).
 */
export interface PendingAmend {
  kind: 'cancel' | 'modify'
  /** The request's own number (ODER_NO). */
  requestNo: string
  /** The order it modifies or cancels (OODER_NO). */
  target: string
  /** When the receipt was applied (epoch ms). */
  receivedAt: number
  /** Confirmation checks (REST snapshots, or ticks without REST) that did not confirm it. */
  checks: number
  /** No further checks are scheduled; the owner was told to reconcile. A late 확인 still counts. */
  abandoned: boolean
}

interface PendingDetail extends PendingAmend {
  symbol: string
  side: Side
  /** ODER_QTY of the receipt (0 when it named none). */
  quantity: number
  /** ODER_PRC of the receipt (0 when it named none). */
  price: number
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
  /** The order quantity (ODER_QTY / `ord_qty`), 0 while unknown. */
  orderQuantity: number
  /** Highest cumulative quantity reported. */
  level: number
  /** Shares reported canceled, summed over the cancel requests reported. */
  canceled: number
  /** Shares modifies moved to new numbers (the larger of the notice sum and REST's). */
  moved: number
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
 * Event ids are deterministic, one per broker fact, so a consumer that deduplicates by id applies
 * each fact once: `<odno>:accepted`, `<odno>:fill:<cumulative>`, `<odno>:replaced:<new odno>`,
 * `<odno>:canceled:<cancel ODNO>` (one order may be canceled by several requests, each with its own
 * number), `<odno>:expired` and `<refused odno>:rejected` (a number expires or is refused once).
 *
 * A modify/cancel receipt (접수, ACPT_YN 1) is not an outcome (reference §7.9): it is remembered as
 * a {@link PendingAmend} (`onPending`), and `canceled` / `replaced` + `accepted` are emitted only on
 * its confirmation (확인 ACPT_YN 2, a fill under a modify's number, or a snapshot), while a refusal
 * (RFUS_YN 1) yields only the request's `rejected`.
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
  // Notice fingerprints in two generations: at least the last `maxRemembered`, at most twice that.
  // (Trimming one insertion-ordered Map by its first key is not O(1) in V8: the deleted entries at
  // its front are walked by every `keys().next()` until the table is rebuilt.)
  #seen = new Set<string>()
  #seenBefore = new Set<string>()
  readonly #maxSeen: number
  /** Ids of the `canceled` events emitted (one per cancel request), with the shares each took. */
  readonly #cancels = new Map<string, { target: string; quantity: number }>()
  /** Modify numbers whose moved shares were counted on their original. */
  readonly #modifies = new Set<string>()
  /** Cancel notices that named no quantity for an order of unknown size: cancel id → target. */
  readonly #unresolved = new Map<string, string>()
  /** Modify/cancel requests received but not yet confirmed, by request number. */
  readonly #pending = new Map<string, PendingDetail>()
  /** Request numbers refused (a receipt that arrives after its refusal stays without effect). */
  readonly #refused = new Set<string>()
  /** `replaced` event ids emitted (a modify is reported once, whichever path confirms it first). */
  readonly #replaced = new Set<string>()
  /** The KST day (`YYYYMMDD`) the state above belongs to. */
  #day: string | undefined
  #onPending: ((p: PendingAmend) => void) | undefined
  #onUncertain: ((orderNo: string, absorbed: number) => void) | undefined
  #onUnresolved: ((orderNo: string) => void) | undefined

  /**
   * @param maxRemembered notice fingerprints kept for deduplication within a day: at least the last
   * this many, at most twice as many. @default 50_000
   */
  constructor(maxRemembered = 50_000) {
    this.#maxSeen = maxRemembered
  }

  /**
   * Start a new KST day (`YYYYMMDD`): KIS numbers orders afresh every day and day orders end with
   * the session, so everything remembered about an earlier day is dropped — totals, cancels,
   * pending modify/cancel receipts, refusals, duplicate fingerprints. Called by `apply` and
   * `reconcile` with the day they see; a no-op within the same day. An earlier day than the current
   * one (a late notice around midnight) does not roll back.
   */
  rollover(kstDate: string): void {
    if (this.#day === kstDate) return
    if (this.#day !== undefined && kstDate < this.#day) return
    if (this.#day !== undefined) {
      this.#orders.clear()
      this.#seen.clear()
      this.#seenBefore.clear()
      this.#cancels.clear()
      this.#modifies.clear()
      this.#unresolved.clear()
      this.#pending.clear()
      this.#refused.clear()
      this.#replaced.clear()
    }
    this.#day = kstDate
  }

  /** The KST day the remembered state belongs to, if any. */
  get day(): string | undefined {
    return this.#day
  }

  /** Called when a notice was absorbed by a snapshot's credit (a verifying snapshot settles it). */
  onUncertain(listener: ((orderNo: string, absorbed: number) => void) | undefined): void {
    this.#onUncertain = listener
  }

  /**
   * Called when a cancel notice named no quantity and the tracker cannot derive one (an order it
   * never saw): nothing is emitted for it (a `canceled` of 0 shares would be false), and a REST
   * snapshot, which reports it under the same id, settles it.
   */
  onUnresolved(listener: ((orderNo: string) => void) | undefined): void {
    this.#onUnresolved = listener
  }

  /** Called when a modify/cancel receipt leaves a request waiting for its confirmation. */
  onPending(listener: ((p: PendingAmend) => void) | undefined): void {
    this.#onPending = listener
  }

  /** Modify/cancel requests received and not yet confirmed or refused (copies, oldest first). */
  pendingAmends(): PendingAmend[] {
    return [...this.#pending.values()].map(publicPending)
  }

  /**
   * Count one confirmation check against every open (not abandoned) request received at or before
   * `receivedBy`; returns those that reached `maxChecks` and are now abandoned (the owner hands them
   * to reconciliation). An abandoned request is still confirmed by a late 확인 or snapshot.
   */
  countConfirmationCheck(receivedBy: number, maxChecks: number): PendingAmend[] {
    const out: PendingAmend[] = []
    for (const p of this.#pending.values()) {
      if (p.abandoned || p.receivedAt > receivedBy) continue
      p.checks++
      if (p.checks >= maxChecks) {
        p.abandoned = true
        out.push(publicPending(p))
      }
    }
    return out
  }

  /** Cancel notices waiting for a REST snapshot to say how many shares they took. */
  get unresolvedCancels(): number {
    return this.#unresolved.size
  }

  /** Shares still working under an order as far as the tracker knows, or undefined if unknown. */
  #working(st: OrderState): number | undefined {
    if (st.orderQuantity <= 0) return undefined
    return Math.max(0, st.orderQuantity - st.level - st.canceled - st.moved)
  }

  #recordCancel(eventId: string, target: string, quantity: number): void {
    this.#cancels.set(eventId, { target, quantity })
    this.#state(target).canceled += quantity
  }

  #state(orderNo: string): OrderState {
    let st = this.#orders.get(orderNo)
    if (!st) {
      st = {
        orderQuantity: 0,
        level: 0,
        canceled: 0,
        moved: 0,
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
    this.rollover(kstCompactDate(o.now))
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
    const byNo = new Map(snapshot.map((s) => [s.orderNo, s]))
    // Modifies received by notice and confirmed by this snapshot, before anything about the rows:
    // `replaced` + `accepted` come first, as the 확인 notice would have put them.
    for (const p of [...this.#pending.values()]) {
      if (p.kind !== 'modify') continue
      const row = byNo.get(p.requestNo)
      if (row?.terminal?.type === 'rejected' && row.filledQuantity === 0) {
        // Refused (rjct_qty, §4.4): the row loop below reports `<odno>:rejected`.
        this.#pending.delete(p.requestNo)
        this.#refused.add(p.requestNo)
        continue
      }
      if (modifyTookEffect(p.requestNo, row, byNo.get(p.target))) {
        const out = this.#confirmModify(p, row?.orderQuantity ?? 0, row?.limitPrice ?? 0, {
          account: o.account,
          at: o.now,
        })
        terminal += out.filter((e) => e.type === 'replaced').length
        events.push(...out)
      }
    }
    for (const s of snapshot) {
      const st = this.#state(s.orderNo)
      if (s.orderQuantity > 0) st.orderQuantity = s.orderQuantity
      if ((s.movedQuantity ?? 0) > st.moved) st.moved = s.movedQuantity ?? 0
      // A modify still waiting for its confirmation is not announced as accepted (order-fsm would
      // read it as the replace's ack), nor is a refused one.
      const unconfirmed = this.#pending.has(s.orderNo) || this.#refused.has(s.orderNo)
      if (!st.accepted && !unconfirmed && s.remainingQuantity > 0 && s.orderQuantity > 0) {
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
      // Each confirmed cancel request is its own fact, under the id the notice path gives it, so
      // a partial cancel and a later cancel of the rest both reach the consumer, and a cancel
      // reported by notice and by REST collapses downstream.
      for (const c of s.cancels ?? []) {
        if (c.quantity <= 0) continue
        const eventId = `${s.orderNo}:canceled:${c.requestNo}`
        this.#unresolved.delete(eventId)
        this.#pending.delete(c.requestNo)
        if (this.#cancels.has(eventId)) continue
        this.#recordCancel(eventId, s.orderNo, c.quantity)
        terminal++
        events.push({
          type: 'canceled',
          eventId,
          account: o.account,
          brokerOrderId: s.orderNo,
          at: o.now,
          canceledQuantity: c.quantity,
        })
      }
      // The order row's own cnc_cfrm_qty rose past what the cancels reported (§4.4; the broker may
      // fill it in there rather than on the cancel row): a cancel received by notice took effect.
      const waiting = [...this.#pending.values()]
        .filter((p) => p.kind === 'cancel' && p.target === s.orderNo)
        .map((p) => p.requestNo)
        .sort()
      const newest = waiting[waiting.length - 1]
      if (newest && s.canceledQuantity > st.canceled) {
        const eventId = `${s.orderNo}:canceled:${newest}`
        const quantity = s.canceledQuantity - st.canceled
        this.#pending.delete(newest)
        this.#unresolved.delete(eventId)
        this.#recordCancel(eventId, s.orderNo, quantity)
        terminal++
        events.push({
          type: 'canceled',
          eventId,
          account: o.account,
          brokerOrderId: s.orderNo,
          at: o.now,
          canceledQuantity: quantity,
        })
      }
      if (s.terminal && !st.terminal && s.remainingQuantity === 0) {
        const t = this.#terminalEvent(s, st, o.account, o.now, Math.max(st.level, filled))
        st.terminal = true
        if (t) {
          terminal++
          events.push(t)
        }
      }
      if (s.remainingQuantity === 0) {
        // Nothing rests under the order any more: whatever its cancels took is now reported, and a
        // cancel still unconfirmed has nothing left to take (the fill got there first; its refusal
        // notice, if it comes, reports the request).
        for (const [id, target] of this.#unresolved) if (target === s.orderNo) this.#unresolved.delete(id)
        for (const p of [...this.#pending.values()])
          if (p.kind === 'cancel' && p.target === s.orderNo) this.#pending.delete(p.requestNo)
      }
    }
    return { events, raised, terminal, unexplained }
  }

  /** The terminal event of an order REST shows ended; undefined when earlier events cover it. */
  #terminalEvent(
    s: OrderFillSnapshot,
    st: OrderState,
    account: string,
    at: number,
    filled: number,
  ): BrokerOrderEvent | undefined {
    const base = { account, at, brokerOrderId: s.orderNo }
    // What ended with the order: neither filled nor moved to a modify nor reported canceled.
    const rest = Math.max(0, s.orderQuantity - filled - st.moved - st.canceled)
    const t = s.terminal
    switch (t?.type) {
      case 'replaced': {
        const eventId = `${s.orderNo}:replaced:${t.newOrderNo}`
        if (this.#replaced.has(eventId)) return undefined
        this.#replaced.add(eventId)
        return {
          ...base,
          type: 'replaced',
          eventId,
          newBrokerOrderId: t.newOrderNo,
        }
      }
      case 'rejected':
        return {
          ...base,
          type: 'rejected',
          eventId: `${s.orderNo}:rejected`,
          reason: 'refused by the broker (seen in REST)',
        }
      case 'expired':
        // One expiry per number (an IOC/FOK remainder ends once), so the number is the fact's id.
        return { ...base, type: 'expired', eventId: `${s.orderNo}:expired`, expiredQuantity: rest }
      default: {
        // Shares canceled that no cancel event has reported yet: the order row's own cnc_cfrm_qty
        // when the broker fills it in, else what is unaccounted for.
        const residual = s.canceledQuantity > 0 ? Math.max(0, s.canceledQuantity - st.canceled) : rest
        if (residual <= 0) return undefined
        // Attributed to the newest cancel request REST could not quantify (the notice path would
        // have named it), else to the order itself (a broker-side cancel with no request of ours).
        const open = (s.cancels ?? [])
          .filter((c) => !this.#cancels.has(`${s.orderNo}:canceled:${c.requestNo}`))
          .map((c) => c.requestNo)
          .sort()
        const requestNo = open[open.length - 1]
        const eventId = requestNo ? `${s.orderNo}:canceled:${requestNo}` : `${s.orderNo}:canceled`
        if (requestNo) this.#pending.delete(requestNo)
        this.#recordCancel(eventId, s.orderNo, residual)
        return { ...base, type: 'canceled', eventId, canceledQuantity: residual }
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
    this.rollover(kstDate)
    if (this.#seen.has(n.raw) || this.#seenBefore.has(n.raw)) return []
    this.#seen.add(n.raw)
    if (this.#seen.size >= this.#maxSeen) {
      this.#seenBefore = this.#seen
      this.#seen = new Set()
    }
    const at = kstCompactToEpoch(kstDate, n.time) ?? fallbackAt
    const base = { account, at }
    if (n.refused) {
      // The refused request is the one numbered ODER_NO (for a refused cancel, the cancel itself),
      // and a number is refused at most once, so `<ODER_NO>:rejected` names the fact on both paths.
      this.#state(n.orderNo).terminal = true
      // A refused modify/cancel never takes effect: its receipt produced nothing, and nothing will.
      this.#pending.delete(n.orderNo)
      this.#refused.add(n.orderNo)
      if (n.correction === 'cancel' && n.originalOrderNo) {
        // A cancel refused after its receipt was reported (the original filled first): its shares
        // were not canceled after all, so they count as working again for later cancels.
        const id = `${n.originalOrderNo}:canceled:${n.orderNo}`
        this.#unresolved.delete(id)
        const done = this.#cancels.get(id)
        if (done) {
          const st = this.#state(done.target)
          st.canceled = Math.max(0, st.canceled - done.quantity)
          done.quantity = 0
        }
      }
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
      // A fill under a modify's number proves the modify took effect (its shares trade there), so
      // the consumer learns of the replacement before its first fill even if no 확인 ever comes.
      const pendingModify = this.#pending.get(n.orderNo)
      const confirmed = pendingModify?.kind === 'modify' ? this.#confirmModify(pendingModify, 0, 0, base) : []
      return [...confirmed, ...this.#fill(n, base, kstDate, now)]
    }
    const orderQty = n.orderQuantity > 0 ? n.orderQuantity : n.quantity
    if (n.acceptance === 'ioc_fok_canceled') {
      // An IOC/FOK remainder ends once per number: `<ODER_NO>:expired` on both paths.
      const st = this.#state(n.orderNo)
      st.terminal = true
      if (n.orderQuantity > 0) st.orderQuantity = n.orderQuantity
      const working = this.#working(st)
      const expiredQuantity = working ?? n.quantity
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
    if (n.correction === 'cancel') return this.#cancelNotice(n, base, orderQty, now)
    if (n.correction === 'modify' && n.originalOrderNo)
      return this.#modifyNotice(n, base, orderQty, price, now)
    const st = this.#state(n.orderNo)
    if (orderQty > 0 && st.orderQuantity <= 0) st.orderQuantity = orderQty
    if (orderQty <= 0 || st.accepted) return []
    st.accepted = true
    return [
      {
        ...base,
        type: 'accepted',
        eventId: `${n.orderNo}:accepted`,
        brokerOrderId: n.orderNo,
        symbol: n.symbol,
        side: n.side,
        quantity: orderQty,
        ...(price > 0 ? { limitPrice: price } : {}),
      },
    ]
  }

  /** A fill notice (CNTG_YN 2): the cumulative level rises by its quantity (unless a credit absorbs it). */
  #fill(
    n: ExecutionNotice,
    base: { account: string; at: number },
    kstDate: string,
    now: number,
  ): BrokerOrderEvent[] {
    const st = this.#state(n.orderNo)
    if (st.orderQuantity <= 0 && n.orderQuantity > 0) st.orderQuantity = n.orderQuantity
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

  /**
   * Remember a modify/cancel receipt (접수) until it is confirmed or refused. A receipt of a request
   * already refused, confirmed or remembered (a reordered or repeated receipt) adds nothing.
   */
  #receive(
    kind: 'cancel' | 'modify',
    n: ExecutionNotice,
    target: string,
    quantity: number,
    price: number,
    now: number,
  ): void {
    if (this.#refused.has(n.orderNo) || this.#pending.has(n.orderNo)) return
    const p: PendingDetail = {
      kind,
      requestNo: n.orderNo,
      target,
      receivedAt: now,
      checks: 0,
      abandoned: false,
      symbol: n.symbol,
      side: n.side,
      quantity,
      price,
    }
    this.#pending.set(n.orderNo, p)
    this.#onPending?.(publicPending(p))
  }

  /**
   * A modify (RCTF_CLS 1) notice. ODER_NO is the replacement's new number, OODER_NO the original
   * (reference §7.9, §9). Its receipt (ACPT_YN 1) only says the broker took the request: the
   * original may still fill first and the modify be refused (RFUS_YN 1), so `replaced` and the
   * replacement's `accepted` (what order-fsm reads as `replace_acked`) wait for the confirmation:
   * the 확인 notice (ACPT_YN 2), a fill under the new number, or a REST snapshot.
   */
  #modifyNotice(
    n: ExecutionNotice,
    base: { account: string; at: number },
    quantity: number,
    price: number,
    now: number,
  ): BrokerOrderEvent[] {
    const target = n.originalOrderNo
    if (this.#refused.has(n.orderNo)) return []
    if (n.acceptance === 'received') {
      if (!this.#replaced.has(`${target}:replaced:${n.orderNo}`))
        this.#receive('modify', n, target, quantity, price, now)
      return []
    }
    const p = this.#pending.get(n.orderNo) ?? {
      kind: 'modify' as const,
      requestNo: n.orderNo,
      target,
      receivedAt: now,
      checks: 0,
      abandoned: false,
      symbol: n.symbol,
      side: n.side,
      quantity: 0,
      price: 0,
    }
    return this.#confirmModify(p, quantity, price, base)
  }

  /**
   * Emit the confirmed modify: `replaced` on the original and `accepted` (with `predecessorId`) on
   * the new number, with the ids REST uses too. `quantity`/`price` are the confirmation's, 0 when it
   * named none (then the receipt's).
   */
  #confirmModify(
    p: PendingDetail,
    quantity: number,
    price: number,
    base: { account: string; at: number },
  ): BrokerOrderEvent[] {
    this.#pending.delete(p.requestNo)
    const qty = quantity > 0 ? quantity : p.quantity
    const px = price > 0 ? price : p.price
    const out: BrokerOrderEvent[] = []
    const orig = this.#state(p.target)
    if (!this.#modifies.has(p.requestNo)) {
      // The shares the modify took from its original (all that worked there when it names none).
      this.#modifies.add(p.requestNo)
      orig.moved += qty > 0 ? qty : (this.#working(orig) ?? 0)
    }
    const replacedId = `${p.target}:replaced:${p.requestNo}`
    if (!this.#replaced.has(replacedId)) {
      this.#replaced.add(replacedId)
      out.push({
        ...base,
        type: 'replaced',
        eventId: replacedId,
        brokerOrderId: p.target,
        newBrokerOrderId: p.requestNo,
        ...(qty > 0 ? { quantity: qty } : {}),
        ...(px > 0 ? { limitPrice: px } : {}),
      })
    }
    const st = this.#state(p.requestNo)
    if (qty > 0 && st.orderQuantity <= 0) st.orderQuantity = qty
    if (qty > 0 && !st.accepted) {
      st.accepted = true
      out.push({
        ...base,
        type: 'accepted',
        eventId: `${p.requestNo}:accepted`,
        brokerOrderId: p.requestNo,
        symbol: p.symbol,
        side: p.side,
        quantity: qty,
        ...(px > 0 ? { limitPrice: px } : {}),
        predecessorId: p.target,
      })
    }
    return out
  }

  /**
   * A cancel (RCTF_CLS 2) notice. ODER_NO is the cancel request's own number and OODER_NO the order
   * it cancels (reference §7.9). Its receipt (ACPT_YN 1) is not an outcome: a fill may get there
   * first and the cancel be refused (RFUS_YN 1), so the receipt is only remembered, and `canceled`
   * waits for the 확인 (ACPT_YN 2) or a REST snapshot that shows the cancel confirmed
   * (`cnc_cfrm_qty`, §4.4). A cancel notice without OODER_NO names no request of ours (a
   * broker-side cancel of the order) and is reported as it comes.
   */
  #cancelNotice(
    n: ExecutionNotice,
    base: { account: string; at: number },
    reported: number,
    now: number,
  ): BrokerOrderEvent[] {
    if (this.#refused.has(n.orderNo)) return []
    if (n.originalOrderNo && n.acceptance === 'received') {
      const id = `${n.originalOrderNo}:canceled:${n.orderNo}`
      // Confirmed already (reordered): emitted, or waiting for REST to say how many shares.
      if (!this.#cancels.has(id) && !this.#unresolved.has(id))
        this.#receive('cancel', n, n.originalOrderNo, reported, 0, now)
      return []
    }
    const p = this.#pending.get(n.orderNo)
    this.#pending.delete(n.orderNo)
    return this.#cancel(n, base, reported > 0 ? reported : (p?.quantity ?? 0))
  }

  /**
   * A confirmed cancel (RCTF_CLS 2). ODER_NO is the cancel request's own number and OODER_NO the
   * order it cancels (reference §7.9); one order may be canceled by several requests (a partial cancel,
   * then the rest), so the event id names the request: `<target>:canceled:<cancel ODNO>`. REST
   * snapshots give the same request the same id (see {@link reconcile}), and a second notice about
   * the same request (receipt, then confirmation) is the same fact, emitted once.
   *
   * The quantity: ODER_QTY (else CNTG_QTY) when the notice states one, capped at what the tracker
   * knows is working; when it says 0 (a receipt may, reference §7.9 and §10 item 10, and a
   * "cancel all" is sent with ORD_QTY "0", §4.2), what was working: ordered − filled − moved by
   * modifies − canceled before. If even that is unknown (the order was never seen), nothing is
   * emitted: a REST snapshot reports the cancel under the same id (`onUnresolved`).
   */
  #cancel(n: ExecutionNotice, base: { account: string; at: number }, reported: number): BrokerOrderEvent[] {
    const target = n.originalOrderNo || n.orderNo
    // Without OODER_NO the notice names no separate request: a broker-side cancel of the order.
    const eventId = n.originalOrderNo ? `${target}:canceled:${n.orderNo}` : `${target}:canceled`
    if (this.#cancels.has(eventId)) return []
    const st = this.#state(target)
    const working = this.#working(st)
    const quantity =
      reported > 0
        ? working !== undefined && working > 0
          ? Math.min(reported, working)
          : reported
        : (working ?? 0)
    if (quantity <= 0) {
      this.#unresolved.set(eventId, target)
      this.#onUnresolved?.(target)
      return []
    }
    this.#unresolved.delete(eventId)
    this.#recordCancel(eventId, target, quantity)
    if (st.orderQuantity > 0 && (this.#working(st) ?? 0) === 0) st.terminal = true
    return [{ ...base, type: 'canceled', eventId, brokerOrderId: target, canceledQuantity: quantity }]
  }
}

function publicPending(p: PendingAmend): PendingAmend {
  const { kind, requestNo, target, receivedAt, checks, abandoned } = p
  return { kind, requestNo, target, receivedAt, checks, abandoned }
}

/**
 * Whether a snapshot shows a modify in effect: its own row has fills, the original ended replaced
 * by it, or the original's quantities no longer hold the moved shares (filled + canceled + still
 * working + moved to modifies ≤ ordered; while the modify waits, `rmn_qty` still counts them).
 */
function modifyTookEffect(
  requestNo: string,
  row: OrderFillSnapshot | undefined,
  orig: OrderFillSnapshot | undefined,
): boolean {
  if (row && row.filledQuantity > 0) return true
  if (!row || !orig || orig.orderQuantity <= 0) return false
  if (orig.terminal?.type === 'replaced' && orig.terminal.newOrderNo === requestNo) return true
  const canceled = Math.max(
    orig.canceledQuantity,
    (orig.cancels ?? []).reduce((sum, c) => sum + c.quantity, 0),
  )
  const moved = orig.movedQuantity ?? 0
  return moved > 0 && orig.filledQuantity + canceled + orig.remainingQuantity + moved <= orig.orderQuantity
}
