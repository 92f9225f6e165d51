import {
  type BrokerOrder,
  type BrokerOrderEvent,
  type Fill,
  kstDate,
  TERMINAL_BROKER_STATUSES,
} from '@vellab/broker-gateway'
import {
  type ApplyOutcome,
  type BrokerEventOutcome,
  type BrokerLeg,
  fingerprintKey,
  fingerprintOfBrokerOrder,
  fingerprintOfIntent,
  isSuperseded,
  isTerminal,
  type Order,
  type OrderEvent,
  type OrderStore,
} from '@vellab/order-fsm'
import pLimit from 'p-limit'
import type { BreakKind, Finding } from './breaks'
import type { BrokerSnapshot } from './snapshot'

/** What the order comparison needs besides the two books. */
export interface OrderPassContext {
  store: OrderStore
  account: string
  /** The actor recorded on every event the pass applies. */
  actor: string
  /** `now` when resolutions are recorded (also the `at` of synthesized broker events). */
  now: () => number
  reportingDelayMs: number
  matchWindowMs: number
  clockSkewMs: number
  priceTolerance: number
  /** Orders resolved at once. */
  writeConcurrency: number
}

/** What the order comparison leaves for the positions and cash comparison. */
export interface OrderPassResult {
  findings: Finding[]
  /** Local orders after the pass's resolutions. */
  orders: Order[]
  /** Broker orders no local order owns (recorded as foreign, or still pending). */
  unowned: BrokerOrder[]
}

const isWorking = (b: BrokerOrder) => !TERMINAL_BROKER_STATUSES.has(b.status) && b.remainingQuantity > 0

/**
 * Compare the day's local orders with the broker's, and resolve what is provably safe through the
 * order store (see the README's resolution policy). Everything else becomes a finding to ticket.
 */
export async function reconcileOrders(
  ctx: OrderPassContext,
  local: readonly Order[],
  snap: BrokerSnapshot,
): Promise<OrderPassResult> {
  const pass = new OrderPass(ctx, local, snap)
  await pass.run()
  return { findings: pass.findings, orders: [...pass.orders.values()], unowned: pass.unowned }
}

class OrderPass {
  readonly findings: Finding[] = []
  readonly orders = new Map<string, Order>()
  readonly unowned: BrokerOrder[] = []
  /** Broker number (today) → owning intent. */
  readonly #owner = new Map<string, string>()
  readonly #broker = new Map<string, BrokerOrder>()
  readonly #fills = new Map<string, Fill[]>()

  constructor(
    readonly ctx: OrderPassContext,
    local: readonly Order[],
    readonly snap: BrokerSnapshot,
  ) {
    for (const o of local) this.#remember(o)
    for (const b of snap.orders ?? []) this.#broker.set(b.brokerOrderId, b)
    for (const f of snap.fills ?? []) {
      const list = this.#fills.get(f.brokerOrderId) ?? []
      list.push(f)
      this.#fills.set(f.brokerOrderId, list)
    }
    for (const list of this.#fills.values()) list.sort((a, b) => a.cumulativeQuantity - b.cumulativeQuantity)
  }

  #remember(o: Order): void {
    this.orders.set(o.intentId, o)
    for (const l of o.legs) if (l.brokerDate === this.snap.date) this.#owner.set(l.brokerOrderId, o.intentId)
  }

  #key(kind: BreakKind, id: string): string {
    return `${kind}:${this.ctx.account}:${this.snap.date}:${id}`
  }

  async run(): Promise<void> {
    if (this.snap.orders === null) {
      await this.#withoutOrderList()
      return
    }
    await this.#linkReplacements()
    const matched = await this.#matchLostAcks()
    this.#recordForeign(matched)
    // Orders are independent of each other: their resolutions run side by side (the store's
    // optimistic concurrency keeps each order's events in order).
    const limit = pLimit(this.ctx.writeConcurrency)
    await Promise.all([...this.orders.values()].map((o) => limit(() => this.#syncOrder(o))))
    await this.#closeNeverReceived(matched)
  }

  // ---- lost acks -------------------------------------------------------------------------------

  /**
   * Unlinked broker orders against RECONCILE_REQUIRED intents without a number, by fingerprint and
   * time window. Only a one-to-one pair is linked; any other shape is ambiguous and ticketed.
   * Returns the intents and broker numbers that have at least one candidate.
   */
  async #matchLostAcks(): Promise<{ intents: Set<string>; brokerIds: Set<string> }> {
    const lost = [...this.orders.values()].filter(
      (o) =>
        o.state === 'RECONCILE_REQUIRED' &&
        o.brokerOrderId === null &&
        o.submittedAt !== null &&
        kstDate(o.submittedAt) === this.snap.date,
    )
    const unlinked = [...this.#broker.values()].filter(
      (b) => !this.#owner.has(b.brokerOrderId) && b.predecessorId === undefined,
    )
    const byIntent = new Map<string, BrokerOrder[]>()
    const byBroker = new Map<string, Order[]>()
    const keys = new Map(lost.map((o) => [o.intentId, fingerprintKey(fingerprintOfIntent(o.intent))]))
    for (const b of unlinked) {
      const key = fingerprintKey(fingerprintOfBrokerOrder(b))
      for (const o of lost) {
        const at = o.submittedAt ?? 0
        const inWindow =
          b.submittedAt >= at - this.ctx.clockSkewMs && b.submittedAt <= at + this.ctx.matchWindowMs
        if (keys.get(o.intentId) !== key || !inWindow) continue
        byIntent.set(o.intentId, [...(byIntent.get(o.intentId) ?? []), b])
        byBroker.set(b.brokerOrderId, [...(byBroker.get(b.brokerOrderId) ?? []), o])
      }
    }
    for (const [intentId, candidates] of byIntent) {
      const o = this.orders.get(intentId)!
      const only = candidates.length === 1 ? candidates[0]! : undefined
      const evidence = { local: summariseOrder(o), broker: candidates }
      if (only && byBroker.get(only.brokerOrderId)?.length === 1) {
        const finding = this.#finding('unlinked_at_broker', o, only.brokerOrderId, {
          severity: 'warning',
          summary: `lost ack: broker order ${only.brokerOrderId} is the only match of intent ${intentId}`,
          evidence,
        })
        const outcome = await this.#apply(o, {
          type: 'reconcile_matched',
          brokerOrderId: only.brokerOrderId,
          reason: `the only unlinked broker order with the intent's fingerprint in [${o.submittedAt}−${this.ctx.clockSkewMs} ms, +${this.ctx.matchWindowMs} ms]`,
          at: this.ctx.now(),
        })
        this.#settle(finding, outcome, `reconcile_matched ${only.brokerOrderId}`)
        continue
      }
      // Two or more candidates on either side: never a guess.
      const rivals = [...new Set(candidates.flatMap((b) => byBroker.get(b.brokerOrderId) ?? []))]
      const finding: Finding = {
        ...this.#finding('unlinked_at_broker', o, undefined, {
          severity: 'critical',
          summary: `lost ack of intent ${intentId} is ambiguous: ${candidates.length} broker order(s) ${candidates
            .map((b) => b.brokerOrderId)
            .join(', ')} match ${rivals.length} unresolved intent(s)`,
          evidence: { local: rivals.map(summariseOrder), broker: candidates },
        }),
        dedupKey: this.#key('unlinked_at_broker', `ambiguous:${intentId}`),
        resolution: 'ticketed',
        afterTicket: async (ticketId) => {
          await this.ctx.store.apply(
            intentId,
            {
              type: 'reconcile_ambiguous',
              candidates: candidates.map((b) => b.brokerOrderId),
              ticketId,
              reason: `ambiguous lost ack (ticket ${ticketId})`,
              at: this.ctx.now(),
            },
            { actor: this.ctx.actor, eventKey: `recon:ambiguous:${intentId}:${ticketId}` },
          )
        },
      }
      this.findings.push(finding)
    }
    return { intents: new Set(byIntent.keys()), brokerIds: new Set(byBroker.keys()) }
  }

  /** A missed replace: a broker order whose predecessor is ours and whose number we do not know. */
  async #linkReplacements(): Promise<void> {
    let progress = true
    while (progress) {
      progress = false
      for (const b of this.#broker.values()) {
        if (this.#owner.has(b.brokerOrderId) || b.predecessorId === undefined) continue
        const intentId = this.#owner.get(b.predecessorId)
        if (!intentId) continue
        const o = this.orders.get(intentId)!
        const finding = this.#finding('status_mismatch', o, b.brokerOrderId, {
          severity: 'warning',
          summary: `missed replace: ${b.predecessorId} was replaced by ${b.brokerOrderId} at the broker`,
          evidence: { local: summariseOrder(o), broker: b },
        })
        const outcome = await this.#applyBroker({
          type: 'replaced',
          eventId: `recon:${b.predecessorId}:replaced:${b.brokerOrderId}`,
          account: this.ctx.account,
          brokerOrderId: b.predecessorId,
          newBrokerOrderId: b.brokerOrderId,
          quantity: b.quantity,
          ...(b.limitPrice === undefined ? {} : { limitPrice: b.limitPrice }),
          at: this.ctx.now(),
        })
        this.#settle(finding, outcome, `replaced ${b.predecessorId} → ${b.brokerOrderId}`)
        // Whatever the store decided, this number is accounted for now (linked, or ticketed).
        this.#owner.set(b.brokerOrderId, intentId)
        progress = true
      }
    }
  }

  /** Broker orders nobody here placed: recorded and ticketed, never adopted silently. */
  #recordForeign(matched: { brokerIds: Set<string> }): void {
    const inFlight = new Set(
      [...this.orders.values()]
        .filter(
          (o) => o.state === 'SUBMITTED' || (o.state === 'RECONCILE_REQUIRED' && o.brokerOrderId === null),
        )
        .map((o) => fingerprintKey(fingerprintOfIntent(o.intent))),
    )
    for (const b of this.#broker.values()) {
      if (this.#owner.has(b.brokerOrderId) || matched.brokerIds.has(b.brokerOrderId)) continue
      this.unowned.push(b)
      const young = this.snap.readStartedAt - b.submittedAt < this.ctx.reportingDelayMs
      // An ack still on its way (or a lost one whose intent is outside the window) looks foreign
      // for a moment; only an order older than the reporting delay with no local twin is foreign.
      const pending = young || inFlight.has(fingerprintKey(fingerprintOfBrokerOrder(b)))
      this.findings.push({
        kind: 'missing_locally',
        dedupKey: this.#key('missing_locally', b.brokerOrderId),
        account: this.ctx.account,
        severity: 'warning',
        summary: pending
          ? `broker order ${b.brokerOrderId} is not linked yet (an ack may be in flight)`
          : `broker order ${b.brokerOrderId} (${b.side} ${b.quantity} ${b.symbol}) was not placed by this system`,
        brokerOrderId: b.brokerOrderId,
        symbol: b.symbol,
        evidence: { local: null, broker: b },
        occurredAt: b.submittedAt,
        resolution: pending ? 'pending' : 'ticketed',
      })
    }
  }

  /** RECONCILE_REQUIRED intents no broker order matches: absent once the reporting delay is over. */
  async #closeNeverReceived(matched: { intents: Set<string> }): Promise<void> {
    for (const o of [...this.orders.values()]) {
      if (o.state !== 'RECONCILE_REQUIRED' || o.brokerOrderId !== null || matched.intents.has(o.intentId))
        continue
      // Only today's order list is read: an intent of another day can be neither matched nor
      // proven absent from it.
      const otherDay = o.submittedAt !== null && kstDate(o.submittedAt) !== this.snap.date
      if (o.unresolved?.operation !== 'submit' || o.submittedAt === null || otherDay) {
        this.findings.push({
          ...this.#finding('orphan_reconcile_required', o, undefined, {
            severity: 'warning',
            summary: otherDay
              ? `intent ${o.intentId} of ${kstDate(o.submittedAt!)} is RECONCILE_REQUIRED without a broker number; today's orders cannot prove it either way`
              : `intent ${o.intentId} is RECONCILE_REQUIRED (${o.unresolved?.operation ?? 'unknown'}) without a broker number`,
            evidence: { local: summariseOrder(o), broker: null },
          }),
          resolution: 'ticketed',
        })
        continue
      }
      const due = o.submittedAt + this.ctx.reportingDelayMs
      const finding = this.#finding('orphan_reconcile_required', o, undefined, {
        severity: 'warning',
        summary:
          this.snap.readStartedAt < due
            ? `intent ${o.intentId}: no broker order yet; absence is proven only after the reporting delay`
            : `intent ${o.intentId} never reached the broker: every order of ${this.snap.date} was read after the reporting delay, none matches`,
        evidence: { local: summariseOrder(o), broker: { ordersRead: this.snap.orders?.length ?? 0 } },
      })
      if (this.snap.readStartedAt < due) {
        this.findings.push({ ...finding, resolution: 'pending' })
        continue
      }
      const outcome = await this.#apply(o, {
        type: 'reconcile_not_found',
        reason: `no broker order of ${this.snap.date} matches the fingerprint; orders read from ${this.snap.readStartedAt}, ${this.ctx.reportingDelayMs} ms after the submit or later`,
        at: this.ctx.now(),
      })
      this.#settle(finding, outcome, 'reconcile_not_found (closed as not placed; never re-sent)')
    }
  }

  // ---- linked orders ---------------------------------------------------------------------------

  async #syncOrder(start: Order): Promise<void> {
    let o = start
    const legs = o.legs.filter((l) => l.role !== 'cancel' && l.brokerDate === this.snap.date)
    if (legs.length === 0) return
    const listed = legs.filter((l) => this.#broker.has(l.brokerOrderId))
    if (listed.length === 0) {
      const since = o.submittedAt ?? o.createdAt
      if (this.snap.readStartedAt - since < this.ctx.reportingDelayMs) return
      this.findings.push({
        ...this.#finding('missing_at_broker', o, o.brokerOrderId ?? undefined, {
          severity: 'critical',
          summary: `order ${o.intentId} (${legs.map((l) => l.brokerOrderId).join(', ')}) is not in the broker's orders of ${this.snap.date}`,
          evidence: { local: summariseOrder(o), broker: null },
        }),
        resolution: 'ticketed',
      })
      return
    }
    for (const leg of listed) o = await this.#syncFills(o, leg, this.#broker.get(leg.brokerOrderId)!)
    for (const leg of listed)
      o = await this.#syncEnd(o, leg.brokerOrderId, this.#broker.get(leg.brokerOrderId)!)
    o = await this.#settleUnknownRequest(o)
    this.#checkLiveAfterEnd(o)
    this.#checkPrice(o)
  }

  /** Missed fills under one number: the broker's executions first, then one inferred level. */
  async #syncFills(order: Order, leg: BrokerLeg, b: BrokerOrder): Promise<Order> {
    let o = order
    const have = currentLegOf(o, leg.brokerOrderId)?.filledQuantity ?? 0
    if (b.filledQuantity < have) {
      this.findings.push({
        ...this.#finding('fill_quantity_mismatch', o, b.brokerOrderId, {
          severity: 'critical',
          summary: `local fills of ${b.brokerOrderId} (${have}) exceed the broker's (${b.filledQuantity})`,
          evidence: { local: summariseOrder(o), broker: b },
        }),
        resolution: 'ticketed',
      })
      return o
    }
    if (b.filledQuantity === have) return o
    const finding = this.#finding('fill_quantity_mismatch', o, b.brokerOrderId, {
      severity: 'warning',
      summary: `missed fills under ${b.brokerOrderId}: local ${have}, broker ${b.filledQuantity}`,
      evidence: { local: summariseOrder(o), broker: b },
    })
    let level = have
    let lastOutcome: BrokerEventOutcome | undefined
    for (const f of this.#fills.get(b.brokerOrderId) ?? []) {
      if (f.cumulativeQuantity <= level || f.cumulativeQuantity > b.filledQuantity) continue
      lastOutcome = await this.#applyBroker({
        type: 'filled',
        eventId: f.fillId,
        account: this.ctx.account,
        brokerOrderId: b.brokerOrderId,
        symbol: b.symbol,
        side: b.side,
        fillQuantity: f.cumulativeQuantity - level,
        fillPrice: f.price,
        cumulativeQuantity: f.cumulativeQuantity,
        orderQuantity: b.quantity,
        at: this.ctx.now(),
      })
      if (lastOutcome.status === 'rejected' || lastOutcome.status === 'parked') break
      level = f.cumulativeQuantity
      o = lastOutcome.order
    }
    if (level < b.filledQuantity && lastOutcome?.status !== 'rejected') {
      const price = await this.#inferredPrice(o, b, level)
      lastOutcome = await this.#applyBroker({
        type: 'filled',
        // Deterministic: the same missing level always yields the same event.
        eventId: `recon:${b.brokerOrderId}:${b.filledQuantity}`,
        account: this.ctx.account,
        brokerOrderId: b.brokerOrderId,
        symbol: b.symbol,
        side: b.side,
        fillQuantity: b.filledQuantity - level,
        fillPrice: price,
        cumulativeQuantity: b.filledQuantity,
        orderQuantity: b.quantity,
        at: this.ctx.now(),
      })
    }
    if (lastOutcome) {
      this.#settle(finding, lastOutcome, `fills of ${b.brokerOrderId} advanced to ${b.filledQuantity}`)
      if ('order' in lastOutcome) o = lastOutcome.order
    }
    return o
  }

  /** The price of the executions between the local level and the broker's, from its average. */
  async #inferredPrice(o: Order, b: BrokerOrder, level: number): Promise<number> {
    const fallback = b.averageFillPrice ?? b.limitPrice ?? 1
    if (b.averageFillPrice === undefined) return Math.max(1, Math.round(fallback))
    const known = (await this.ctx.store.fills(o.intentId))
      .filter((f) => f.brokerOrderId === b.brokerOrderId && f.cumulativeQuantity <= level)
      .reduce((s, f) => s + f.quantity * f.price, 0)
    const price = (b.averageFillPrice * b.filledQuantity - known) / (b.filledQuantity - level)
    return Number.isFinite(price) && price >= 1 ? Math.round(price) : Math.max(1, Math.round(fallback))
  }

  /** A missed end: the broker canceled, expired or rejected the number; the local order still works it. */
  async #syncEnd(o: Order, brokerOrderId: string, b: BrokerOrder): Promise<Order> {
    const leg = currentLegOf(o, brokerOrderId)
    if (!leg || leg.closed || leg.refused !== undefined || isTerminal(o.state)) return o
    if (b.status !== 'canceled' && b.status !== 'expired' && b.status !== 'rejected') return o
    const unfilled = Math.max(0, b.quantity - b.filledQuantity - b.remainingQuantity)
    const event: BrokerOrderEvent =
      b.status === 'canceled'
        ? {
            type: 'canceled',
            eventId: `recon:${brokerOrderId}:canceled:${unfilled}`,
            account: this.ctx.account,
            brokerOrderId,
            canceledQuantity: unfilled,
            at: this.ctx.now(),
          }
        : b.status === 'expired'
          ? {
              type: 'expired',
              eventId: `recon:${brokerOrderId}:expired:${unfilled}`,
              account: this.ctx.account,
              brokerOrderId,
              expiredQuantity: unfilled,
              at: this.ctx.now(),
            }
          : {
              type: 'rejected',
              eventId: `recon:${brokerOrderId}:rejected`,
              account: this.ctx.account,
              brokerOrderId,
              reason: 'the broker lists the order as rejected',
              at: this.ctx.now(),
            }
    const finding = this.#finding('status_mismatch', o, brokerOrderId, {
      severity: 'warning',
      summary: `missed terminal state: ${brokerOrderId} is ${b.status} at the broker, ${o.state} locally`,
      evidence: { local: summariseOrder(o), broker: b },
    })
    const outcome = await this.#applyBroker(event)
    this.#settle(finding, outcome, `${event.type} ${brokerOrderId}`)
    return 'order' in outcome ? outcome.order : o
  }

  /**
   * A cancel or replace of unknown outcome: once the reporting delay has passed and the broker still
   * works the order under its known number, the request provably did not take effect.
   */
  async #settleUnknownRequest(o: Order): Promise<Order> {
    if (o.state !== 'RECONCILE_REQUIRED' || o.brokerOrderId === null) return o
    const b = this.#broker.get(o.brokerOrderId)
    const since = o.unresolved?.since ?? o.updatedAt
    const finding = this.#finding('orphan_reconcile_required', o, o.brokerOrderId, {
      severity: 'warning',
      summary: `${o.unresolved?.operation ?? 'request'} of unknown outcome on ${o.intentId}`,
      evidence: { local: summariseOrder(o), broker: b ?? null },
    })
    if (this.snap.readStartedAt - since < this.ctx.reportingDelayMs) {
      this.findings.push({ ...finding, resolution: 'pending' })
      return o
    }
    if (!b || !isWorking(b) || o.unresolved?.operation === 'flagged') {
      this.findings.push({ ...finding, resolution: 'ticketed' })
      return o
    }
    const outcome = await this.#apply(o, {
      type: 'reconcile_matched',
      brokerOrderId: b.brokerOrderId,
      reason: `the broker still works ${b.brokerOrderId} unchanged after the reporting delay: the ${o.unresolved?.operation} did not take effect`,
      at: this.ctx.now(),
    })
    this.#settle(finding, outcome, `reconcile_matched ${b.brokerOrderId} (request did not take effect)`)
    return 'order' in outcome ? outcome.order : o
  }

  /** Closed here, still working there: a live order nobody tracks. */
  #checkLiveAfterEnd(o: Order): void {
    if (!isTerminal(o.state)) return
    for (const leg of o.legs) {
      if (leg.role === 'cancel' || isSuperseded(o, leg.brokerOrderId)) continue
      const b = this.#broker.get(leg.brokerOrderId)
      if (!b || !isWorking(b)) continue
      this.findings.push({
        ...this.#finding('status_mismatch', o, b.brokerOrderId, {
          severity: 'critical',
          summary: `${o.intentId} is ${o.state} locally but ${b.brokerOrderId} still works ${b.remainingQuantity} at the broker`,
          evidence: { local: summariseOrder(o), broker: b },
        }),
        resolution: 'ticketed',
      })
    }
  }

  /** Same shares over the replace chain, different money: the broker's prices cannot be re-applied. */
  #checkPrice(o: Order): void {
    const chain = o.legs
      .filter((l) => l.role !== 'cancel')
      .flatMap((l) => this.#broker.get(l.brokerOrderId) ?? [])
    const qty = chain.reduce((s, b) => s + b.filledQuantity, 0)
    if (qty === 0 || qty !== o.filledQuantity) return
    const brokerAvg = chain.reduce((s, b) => s + b.filledQuantity * (b.averageFillPrice ?? 0), 0) / qty
    const localAvg = o.filledNotional / o.filledQuantity
    if (Math.abs(brokerAvg - localAvg) <= this.ctx.priceTolerance) return
    this.findings.push({
      ...this.#finding('fill_price_mismatch', o, o.brokerOrderId ?? undefined, {
        severity: 'warning',
        summary: `average fill price of ${o.intentId}: local ${localAvg.toFixed(2)}, broker ${brokerAvg.toFixed(2)}`,
        evidence: { local: summariseOrder(o), broker: chain },
      }),
      resolution: 'ticketed',
    })
  }

  // ---- without an order list (issue #17) ------------------------------------------------------------

  /**
   * The environment cannot list orders: absence is never provable, so an unmatched lost ack stays
   * RECONCILE_REQUIRED with a ticket; fills it can list are still applied to linked numbers.
   */
  async #withoutOrderList(): Promise<void> {
    for (const o of [...this.orders.values()]) {
      if (o.state === 'RECONCILE_REQUIRED' && o.brokerOrderId === null) {
        this.findings.push({
          ...this.#finding('orphan_reconcile_required', o, undefined, {
            severity: 'warning',
            summary: `intent ${o.intentId} cannot be resolved: the environment cannot list today's orders, so its absence cannot be proven`,
            evidence: { local: summariseOrder(o), broker: { listOrders: false } },
          }),
          resolution: 'ticketed',
        })
        continue
      }
      let cur = o
      for (const leg of o.legs) {
        if (leg.role === 'cancel' || leg.brokerDate !== this.snap.date) continue
        const fills = this.#fills.get(leg.brokerOrderId)
        const top = fills?.at(-1)
        if (!top) continue
        cur = await this.#syncFills(cur, leg, {
          brokerOrderId: leg.brokerOrderId,
          account: this.ctx.account,
          symbol: top.symbol,
          side: top.side,
          orderType: cur.intent.orderType,
          timeInForce: cur.intent.timeInForce,
          venue: cur.intent.venue,
          quantity: Math.max(cur.quantity, top.cumulativeQuantity),
          filledQuantity: top.cumulativeQuantity,
          remainingQuantity: 0,
          status: 'partially_filled',
          submittedAt: cur.submittedAt ?? cur.createdAt,
        })
      }
    }
  }

  // ---- plumbing --------------------------------------------------------------------------------

  #finding(
    kind: BreakKind,
    o: Order,
    brokerOrderId: string | undefined,
    detail: { severity: 'warning' | 'critical'; summary: string; evidence: Finding['evidence'] },
  ): Finding {
    return {
      kind,
      dedupKey: this.#key(kind, brokerOrderId ? `${o.intentId}:${brokerOrderId}` : o.intentId),
      account: this.ctx.account,
      intentId: o.intentId,
      ...(brokerOrderId ? { brokerOrderId } : {}),
      symbol: o.intent.symbol,
      occurredAt: o.unresolved?.since ?? o.submittedAt ?? o.createdAt,
      resolution: 'pending',
      ...detail,
    }
  }

  /** Record what the store made of a resolution: resolved, or a ticket when it refused. */
  #settle(finding: Finding, outcome: ApplyOutcome | BrokerEventOutcome, action: string): void {
    if ('order' in outcome) this.#remember(outcome.order)
    if (outcome.status === 'applied' || outcome.status === 'duplicate' || outcome.status === 'ignored') {
      this.findings.push({ ...finding, resolution: 'auto_resolved', action })
      return
    }
    const why =
      outcome.status === 'rejected' ? outcome.error.message : `parked under ${outcome.brokerOrderId}`
    this.findings.push({
      ...finding,
      severity: 'critical',
      summary: `${finding.summary}; the order store refused ${action}: ${why}`,
      resolution: 'ticketed',
    })
  }

  /** Apply a verdict decided on version `o.version` of the order: the same decision twice is one event. */
  async #apply(o: Order, event: OrderEvent): Promise<ApplyOutcome> {
    const id = 'brokerOrderId' in event ? event.brokerOrderId : '-'
    return this.ctx.store.apply(o.intentId, event, {
      actor: this.ctx.actor,
      source: 'reconciliation',
      reason: 'reason' in event ? event.reason : 'reconciliation',
      eventKey: `recon:${event.type}:${o.intentId}:${id}:v${o.version}`,
    })
  }

  async #applyBroker(event: BrokerOrderEvent): Promise<BrokerEventOutcome> {
    return this.ctx.store.applyBrokerEvent(event, { actor: this.ctx.actor, reason: 'reconciliation' })
  }
}

function currentLegOf(o: Order, brokerOrderId: string): BrokerLeg | undefined {
  return o.legs.find((l) => l.brokerOrderId === brokerOrderId && l.role !== 'cancel')
}

/** The local side of a break's evidence: what a person needs, not the whole projection. */
export function summariseOrder(o: Order): Record<string, unknown> {
  return {
    intentId: o.intentId,
    state: o.state,
    symbol: o.intent.symbol,
    side: o.intent.side,
    quantity: o.quantity,
    limitPrice: o.limitPrice,
    filledQuantity: o.filledQuantity,
    filledNotional: o.filledNotional,
    brokerOrderId: o.brokerOrderId,
    legs: o.legs.map((l) => ({
      id: l.brokerOrderId,
      role: l.role,
      filled: l.filledQuantity,
      closed: l.closed ?? null,
    })),
    submittedAt: o.submittedAt,
    unresolved: o.unresolved,
  }
}
