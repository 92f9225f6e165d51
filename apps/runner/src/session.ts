import {
  BrokerError,
  type BrokerGateway,
  type BrokerOrderEvent,
  type Clock,
  type OrderIntent,
  OrderIntentSchema,
  type Quote,
} from '@vellab/broker-gateway'
import type { Order, OrderStore } from '@vellab/order-fsm'
import type { RiskGateway, RiskState } from '@vellab/risk-kr'
import type { PhaseGate } from './phase'

export interface TradingSessionOptions {
  gateway: BrokerGateway
  store: OrderStore
  risk: RiskGateway
  riskState: RiskState
  account: string
  strategyId: string
  symbols: readonly string[]
  quantity: number
  /** Exchange time: what sessions, quotes and order timestamps are measured in. */
  clock: Clock
  /** Distinguishes this run's intent ids from earlier runs on the same database. */
  runId: string
  log: (line: string) => void
  /** The rollout phase's caps, checked after risk and before anything is durable or sent. */
  gate?: PhaseGate
  /**
   * Awaited before every new order: the account's reconcile barrier (closed at startup and after
   * every stream gap until a pass is clean or ticketed), e.g. `() => reconciler.barrier(account)`.
   */
  barrier?: () => Promise<unknown>
  /** Refuses an intent like one whose outcome is still unknown (reconcile's fingerprint guard). */
  guard?: (intent: OrderIntent) => Promise<{ allowed: boolean; reason?: string }>
  /**
   * Called right before every request to the broker (orders and cancels); throws to stop it. The
   * appkey lease's `assertFresh`: a process that may have lost the lease sends nothing.
   */
  beforeSend?: () => void
}

export interface SessionStats {
  decisions: number
  intents: number
  riskRejects: Record<string, number>
  /** Orders the rollout phase stopped before they were sent, by reason. */
  phaseStops: Record<string, number>
  sent: number
  acked: number
  brokerRejects: number
  rateLimited: number
  unknownOutcomes: number
  cancelsSent: number
  eventsApplied: number
  eventErrors: number
}

/**
 * A small quoting strategy, run the way every order in this stack must run: risk check →
 * durable intent (write-ahead) → one send → the answer recorded; broker events applied to the
 * order store exactly once. It bids at the last price when flat and offers there when it holds
 * shares; a resting order the market has walked more than a tick away from is canceled and re-quoted.
 */
export class TradingSession {
  readonly stats: SessionStats = {
    decisions: 0,
    intents: 0,
    riskRejects: {},
    phaseStops: {},
    sent: 0,
    acked: 0,
    brokerRejects: 0,
    rateLimited: 0,
    unknownOutcomes: 0,
    cancelsSent: 0,
    eventsApplied: 0,
    eventErrors: 0,
  }
  readonly #o: TradingSessionOptions
  #seq = 0
  #events: Promise<void> = Promise.resolve()
  #stopEvents: (() => void) | undefined

  constructor(options: TradingSessionOptions) {
    this.#o = options
  }

  /** Subscribe to order events; each is applied to the store and the risk state, in arrival order. */
  start(): void {
    const { gateway, store, riskState, account } = this.#o
    this.#stopEvents = gateway.streamOrderEvents(account, (e) => {
      // Serialise: the store is safe under concurrency, but arrival order keeps the audit readable.
      this.#events = this.#events.then(() => this.#applyEvent(e, store, riskState))
    })
  }

  async #applyEvent(e: BrokerOrderEvent, store: OrderStore, riskState: RiskState): Promise<void> {
    try {
      riskState.applyOrderEvent(e)
      await store.applyBrokerEvent(e, { actor: 'runner:events' })
      this.stats.eventsApplied += 1
      if (e.type === 'filled') this.#o.gate?.onFill(e.symbol, e.side, e.fillQuantity, e.fillPrice)
      if (e.type === 'filled')
        this.#o.log(
          `fill    ${e.side} ${e.symbol} ${e.fillQuantity} @ ${e.fillPrice} (${e.brokerOrderId}, cum ${e.cumulativeQuantity})`,
        )
    } catch (err) {
      // Never lose an event silently: it stays in the broker's books and reconciliation finds it.
      this.stats.eventErrors += 1
      this.#o.log(`event   ${e.type} ${e.brokerOrderId} not applied: ${(err as Error).message}`)
    }
  }

  /** One decision round over every symbol. */
  #positionsError = { key: '', at: 0 }

  async decide(): Promise<void> {
    this.stats.decisions += 1
    // Sellable quantities are the broker's to say (settlement, reservations): refresh each round,
    // for risk and for the strategy's own inventory.
    const sellable = new Map<string, number>()
    try {
      const positions = await this.#o.gateway.getPositions(this.#o.account)
      this.#positionsError.key = ''
      this.#o.riskState.setPositions(this.#o.account, positions)
      for (const p of positions) sellable.set(p.symbol, p.sellableQuantity)
    } catch (err) {
      // Once per cause and at most every 10 s: a throttled token fails every round for a minute.
      const key = BrokerError.isInstance(err)
        ? `${err.kind}:${err.brokerCode ?? err.operation ?? ''}`
        : 'other'
      const now = Date.now()
      if (key !== this.#positionsError.key || now - this.#positionsError.at >= 10_000) {
        this.#positionsError = { key, at: now }
        this.#o.log(`positions: ${(err as Error).message}`)
      }
      return // no inventory view this round: decide nothing rather than guess
    }
    for (const symbol of this.#o.symbols) {
      let quote: Quote
      try {
        quote = await this.#o.gateway.getQuote(symbol)
      } catch (err) {
        this.#o.log(`quote   ${symbol}: ${(err as Error).message}`)
        continue
      }
      this.#o.riskState.applyQuote(quote)
      this.#o.gate?.mark(symbol, quote.lastPrice)
      const open = await this.#o.store.listOpen({
        account: this.#o.account,
        symbol,
        strategyId: this.#o.strategyId,
      })
      const stale = open.filter(
        (o) => o.limitPrice !== null && Math.abs(o.limitPrice - quote.lastPrice) > quote.tickSize,
      )
      for (const o of stale) await this.#cancel(o)
      if (open.length - stale.length > 0) continue
      await this.#quote(symbol, quote, sellable.get(symbol) ?? 0)
    }
  }

  async #quote(symbol: string, quote: Quote, sellable: number): Promise<void> {
    const side = sellable >= this.#o.quantity ? 'sell' : 'buy'
    const limitPrice = quote.lastPrice
    const intent = OrderIntentSchema.parse({
      intentId: `${this.#o.strategyId}-${this.#o.runId}-${++this.#seq}`,
      account: this.#o.account,
      strategyId: this.#o.strategyId,
      symbol,
      side,
      quantity: this.#o.quantity,
      orderType: 'limit',
      limitPrice: Math.max(quote.lowerLimit, Math.min(quote.upperLimit, limitPrice)),
    })
    const now = this.#o.clock.now()
    const decision = this.#o.risk.check({ kind: 'new', intent }, this.#o.riskState.advanceTo(now))
    if (decision.outcome !== 'allow') {
      for (const r of decision.reasons)
        this.stats.riskRejects[r.code] = (this.stats.riskRejects[r.code] ?? 0) + 1
      return
    }
    const stop = this.#o.gate?.admit(intent)
    if (stop) {
      this.stats.phaseStops[stop] = (this.stats.phaseStops[stop] ?? 0) + 1
      this.#o.log(
        stop === 'SHADOW_NOT_SENT'
          ? `shadow  would ${side} ${symbol} ${intent.quantity} @ ${intent.limitPrice} (risk: allow; not sent)`
          : `phase   ${side} ${symbol} ${intent.quantity} @ ${intent.limitPrice} stopped before sending: ${stop}`,
      )
      return
    }
    if (this.#o.guard) {
      const g = await this.#o.guard(intent)
      if (!g.allowed) {
        // A pre-trade refusal like risk's, with its own code.
        this.stats.riskRejects.DUPLICATE_FINGERPRINT = (this.stats.riskRejects.DUPLICATE_FINGERPRINT ?? 0) + 1
        this.#o.log(`guard   ${side} ${symbol}: ${g.reason ?? 'an intent like it awaits reconciliation'}`)
        return
      }
    }
    await this.#o.barrier?.()
    this.stats.intents += 1
    await this.#o.store.createIntent(intent, { actor: 'runner:strategy' })
    // Write-ahead: durable and marked as being submitted before the request leaves the process.
    const claim = await this.#o.store.beginSubmit(intent.intentId, { actor: 'runner:strategy' })
    if (!claim.proceed) return
    // The lease may have been lost between the claim and here (a freeze): the claim stays
    // SUBMITTED for the new leader's recovery, and nothing leaves this process.
    this.#o.beforeSend?.()
    this.#o.riskState.recordSent({ kind: 'new', intent }, now)
    this.stats.sent += 1
    let ack: Awaited<ReturnType<BrokerGateway['placeOrder']>>
    try {
      ack = await this.#o.gateway.placeOrder(intent)
    } catch (err) {
      await this.#recordSubmitFailure(intent.intentId, err)
      return
    }
    this.stats.acked += 1
    this.#o.riskState.recordAck(intent.intentId, ack.brokerOrderId)
    this.#o.log(`order   ${side} ${symbol} ${intent.quantity} @ ${intent.limitPrice} → ${ack.brokerOrderId}`)
    // A failure to record the answer (the database went away) is not a broker failure: it
    // propagates and stops the session; the order stays SUBMITTED and recovery explains it.
    await this.#o.store.recordAck(ack, { actor: 'runner:strategy' })
  }

  async #recordSubmitFailure(intentId: string, err: unknown): Promise<void> {
    const actor = { actor: 'runner:strategy' }
    if (BrokerError.isKind(err, 'unknown_outcome')) {
      // The order may exist at the broker: never re-send; reconciliation decides.
      this.stats.unknownOutcomes += 1
      await this.#o.store.recordOutcomeUnknown(intentId, { operation: 'submit', reason: err.message }, actor)
    } else if (
      BrokerError.isInstance(err) &&
      (err.kind === 'rejected' || err.kind === 'invalid_request' || err.kind === 'auth')
    ) {
      this.stats.brokerRejects += 1
      await this.#o.store.recordReject(
        intentId,
        { reason: err.message, ...(err.brokerCode ? { code: err.brokerCode } : {}) },
        actor,
      )
      this.#o.log(`reject  ${intentId}: ${err.message}`)
    } else if (BrokerError.isInstance(err) && (err.kind === 'rate_limited' || err.kind === 'unavailable')) {
      // Definitely not placed: the order is closed as rejected rather than retried under the same
      // intent; the strategy re-decides next round with fresh prices.
      this.stats.rateLimited += 1
      await this.#o.store.recordReject(intentId, { reason: `${err.kind}: ${err.message}` }, actor)
    } else {
      this.stats.unknownOutcomes += 1
      await this.#o.store.recordOutcomeUnknown(intentId, { operation: 'submit', reason: String(err) }, actor)
    }
  }

  async #cancel(order: Order): Promise<void> {
    if (!order.brokerOrderId) return
    const decision = this.#o.risk.check(
      { kind: 'cancel', brokerOrderId: order.brokerOrderId },
      this.#o.riskState.advanceTo(this.#o.clock.now()),
    )
    if (decision.outcome !== 'allow') return
    const claim = await this.#o.store.requestCancel(order.intentId, { actor: 'runner:strategy' })
    if (!claim.proceed) return
    this.#o.beforeSend?.()
    this.stats.cancelsSent += 1
    try {
      const ack = await this.#o.gateway.cancelOrder(order.brokerOrderId, {
        account: this.#o.account,
        symbol: order.intent.symbol,
      })
      await this.#o.store.recordCancelAck(order.intentId, ack, { actor: 'runner:strategy' })
    } catch (err) {
      if (BrokerError.isKind(err, 'unknown_outcome')) {
        await this.#o.store.recordOutcomeUnknown(
          order.intentId,
          { operation: 'cancel', reason: err.message },
          { actor: 'runner:strategy' },
        )
      } else {
        // Typically "nothing left to cancel": the fill that beat us arrives as an event.
        await this.#o.store.recordCancelReject(
          order.intentId,
          { reason: (err as Error).message },
          { actor: 'runner:strategy' },
        )
      }
    }
  }

  /**
   * Cancel locally the intents that were never claimed for sending (INTENT_CREATED): a process
   * stopped or killed between writing the intent and its write-ahead claim left them, and nothing
   * can have reached the broker without that claim. Called at start (a predecessor's) and in the
   * drain (our own). Returns how many. Found by the chaos soak: a `kill -9` in that window left one
   * behind for every later summary to count.
   */
  async abandonUnsent(reason: string): Promise<number> {
    let n = 0
    for (const o of await this.#o.store.listByState('INTENT_CREATED', {
      account: this.#o.account,
      strategyId: this.#o.strategyId,
    })) {
      await this.#o.store.requestCancel(o.intentId, { actor: 'runner:strategy', reason })
      n += 1
    }
    return n
  }

  /** Cancel everything still working (graceful shutdown) and wait for queued events. */
  async drain(): Promise<void> {
    await this.abandonUnsent('never sent: the session stopped before claiming it')
    for (const o of await this.#o.store.listOpen({
      account: this.#o.account,
      strategyId: this.#o.strategyId,
    })) {
      await this.#cancel(o)
    }
  }

  async stop(): Promise<void> {
    this.#stopEvents?.()
    await this.#events
  }
}
