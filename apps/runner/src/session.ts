import {
  BrokerError,
  type BrokerGateway,
  type BrokerOrderEvent,
  type Clock,
  type Quote,
  type Tick,
} from '@vellab/broker-gateway'
import {
  type ChildRiskRequest,
  type DuplicateGuard,
  ExecutionEngine,
  type ExecutionEvent,
  type ExecutionTables,
  ParentConflictError,
  type ParentView,
  type RiskVerdict,
} from '@vellab/execution'
import { isTerminal, type Order, type OrderStore } from '@vellab/order-fsm'
import type { RiskGateway, RiskState } from '@vellab/risk-kr'
import type { Kysely } from 'kysely'
import { ZodError } from 'zod'
import type { PhaseGate } from './phase'
import type { Strategy, StrategyContext, StrategyParent } from './strategy'

/** After one of our fills the balance is read again this soon (not sooner), so risk sees it. */
const FILL_REREAD_MS = 250

export interface TradingSessionOptions {
  gateway: BrokerGateway
  store: OrderStore
  /** The database of the execution engine's tables (parents and children). */
  db: Kysely<ExecutionTables>
  risk: RiskGateway
  riskState: RiskState
  account: string
  /** The strategy: user code (see `./strategy`), `demo-quoter` by default. */
  strategy: Strategy
  symbols: readonly string[]
  quantity: number
  /** The strategy's parameters from the configuration. */
  params?: Readonly<Record<string, unknown>>
  /** Exchange time: what sessions, quotes and order timestamps are measured in. */
  clock: Clock
  /** Distinguishes this run's parent ids from earlier runs on the same database. */
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
  guard?: DuplicateGuard['check']
  /**
   * Called right before every cancel this session sends itself (the drain); throws to stop it. The
   * appkey lease's `assertFresh`. Children go through the gateway, whose `beforeRequest` checks it.
   */
  beforeSend?: () => void
  /** The lease epoch the execution engine's writes carry (`lease.fence()`). */
  fence?: () => { key: string; epoch: number }
  /**
   * Whether an error stops the session rather than being logged as the strategy's or a parent's
   * own failure: the lease lost, the database gone. @default never
   */
  isFatal?: (err: unknown) => boolean
  /** Told of every execution event (metrics). */
  onExecutionEvent?: (event: ExecutionEvent) => void
  /**
   * A symbol's quote is read again once it is this old (exchange time); a round in between uses
   * the last one. Keeps a fast decision loop inside the appkey's request budget. @default 1000
   */
  quoteRefreshMs?: number
  /** The account's positions are read again once this old. @default 1000 */
  positionsRefreshMs?: number
  /**
   * Where the price of a quote comes from between REST reads. `stream` (the default): the
   * symbols' trade prints (KIS H0STCNT0, which cost no REST budget) carry the last price; REST is
   * read every `quoteStateRefreshMs` for what only the broker's quote says (limits, halt, VI), and
   * every `quoteRefreshMs` again for a symbol without a print for `printsLiveMs` (quiet, or the
   * stream is down or stale). `rest`: every `quoteRefreshMs`, prints or not. @default 'stream'
   */
  quoteSource?: 'stream' | 'rest'
  /**
   * With prints streaming, a symbol's REST quote is read again once this old. Keep it under risk's
   * quote age limit (5 s by default): risk sees REST quotes only. @default 3000
   */
  quoteStateRefreshMs?: number
  /** A symbol's prints count as streaming while the last one is younger than this. @default 3000 */
  printsLiveMs?: number
  /**
   * The tick size at a price for a symbol (its KRX band), for quotes priced from a print; without
   * it, or when it answers `undefined`, a print whose price differs from the REST quote's is not
   * used (the REST quote is read again instead).
   */
  tickSize?: (symbol: string, price: number) => number | undefined
}

export interface SessionStats {
  decisions: number
  /** Parent orders the strategy submitted (accepted by the engine). */
  parents: number
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
  /** Calls into the strategy that threw (logged; the session went on). */
  strategyErrors: number
}

/**
 * One trading session of a strategy, run the way every order in this stack must run: the
 * strategy decides on quotes and balances and submits parent orders; `@vellab/execution` slices
 * them into children, each through risk → the rollout phase → the duplicate guard → the reconcile
 * barrier → durable intent (write-ahead) → one send → the answer recorded; broker events are
 * applied to the order store exactly once.
 */
export class TradingSession {
  readonly stats: SessionStats = {
    decisions: 0,
    parents: 0,
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
    strategyErrors: 0,
  }
  readonly #o: TradingSessionOptions
  readonly #engine: ExecutionEngine<ExecutionTables>
  readonly #ctx: StrategyContext
  #seq = 0
  #events: Promise<void> = Promise.resolve()
  #stopEvents: (() => void) | undefined
  #stopTicks: (() => void) | undefined
  /** The quote each symbol trades on: the last REST quote, priced from a newer print if any. */
  #quotes = new Map<string, Quote>()
  /** The last REST quote of each symbol (what risk sees). */
  #restQuotes = new Map<string, Quote>()
  /** Exchange time of the last print of each symbol. */
  #printAt = new Map<string, number>()
  #sellable = new Map<string, number>()
  /** A failure inside the engine's step that must stop the session (lease, database). */
  #fatal: unknown
  #stopping = false
  /** Children sent and not yet answered: for the "order" log line of their ack. */
  #sending = new Map<string, { side: string; symbol: string; quantity: number; limitPrice: number }>()
  /** Side and symbol of the parents this process knows (submitted or resumed). */
  #parents = new Map<string, { side: string; symbol: string }>()

  constructor(options: TradingSessionOptions) {
    this.#o = options
    const o = options
    // The engine prices children on a fresh quote: one read within `quoteRefreshMs` is reused, and
    // every quote read goes to risk (bands, halts, freshness) and the phase's marks.
    const gateway = new Proxy(o.gateway, {
      get: (target, prop, receiver) => {
        if (prop !== 'getQuote') {
          const v = Reflect.get(target, prop, receiver)
          return typeof v === 'function' ? v.bind(target) : v
        }
        return async (symbol: string) => {
          const known = this.#quotes.get(symbol)
          if (known && !this.#quoteDue(symbol, o.clock.now())) return known
          return this.#readQuote(symbol)
        }
      },
    })
    this.#engine = new ExecutionEngine<ExecutionTables>({
      db: o.db,
      store: o.store,
      gateway,
      check: (request) => this.#check(request),
      sent: o.riskState,
      ...(o.guard ? { guard: { check: o.guard } } : {}),
      ...(o.barrier ? { barrier: () => o.barrier!() } : {}),
      clock: o.clock,
      actor: 'runner:execution',
      ...(o.fence ? { fence: o.fence } : {}),
      onEvent: (e) => this.#onExecutionEvent(e),
    })
    const strategyId = o.strategy.id
    const log = (line: string) => o.log(`${strategyId.padEnd(7)} ${line}`)
    this.#ctx = {
      strategyId,
      account: o.account,
      symbols: o.symbols,
      quantity: o.quantity,
      params: o.params ?? {},
      clock: o.clock,
      quote: (symbol) => this.#quotes.get(symbol),
      sellable: (symbol) => this.#sellable.get(symbol) ?? 0,
      submit: (parent) => this.#submit(parent),
      cancel: (parentId) => this.#engine.cancel(parentId),
      active: () => this.#engine.list({ active: true, strategyId }),
      log,
    }
  }

  /**
   * Bring risk's open orders in line with the order store, after a reconciliation pass: an order
   * risk holds open that the store has ended (found absent, or its end came while the stream was
   * down) is closed there, and one the store has since linked to a broker number (an unknown
   * outcome resolved) gets it, so its notices reach risk. Returns how many changed.
   */
  async syncRiskWithStore(): Promise<number> {
    let changed = 0
    for (const o of this.#o.riskState.openOrders()) {
      if (o.account !== this.#o.account) continue
      const stored = await this.#o.store.get(o.intentId)
      if (!stored || isTerminal(stored.state)) {
        if (this.#o.riskState.closeOrder(o.intentId)) changed += 1
      } else if (o.brokerOrderId === undefined && stored.brokerOrderId) {
        this.#o.riskState.recordAck(o.intentId, stored.brokerOrderId)
        changed += 1
      }
    }
    return changed
  }

  /** The execution engine hosting the strategy's parents (for status pages). */
  get engine(): ExecutionEngine<ExecutionTables> {
    return this.#engine
  }

  /**
   * Subscribe to order events (each applied to the store and the risk state, in arrival order) and,
   * if the strategy takes them, to trade prints; load the parents a previous process left working.
   */
  async start(): Promise<void> {
    const { gateway, store, riskState, account, strategy } = this.#o
    this.#stopEvents = gateway.streamOrderEvents(account, (e) => {
      // Serialise: the store is safe under concurrency, but arrival order keeps the audit readable.
      this.#events = this.#events.then(() => this.#applyEvent(e, store, riskState))
    })
    if (strategy.onTick || this.#o.quoteSource !== 'rest') {
      try {
        this.#stopTicks = gateway.streamTicks([...this.#o.symbols], (t) => {
          riskState.applyTick(t)
          this.#engine.onTrade(t)
          this.#applyPrint(t)
          if (strategy.onTick) this.#call('onTick', () => strategy.onTick?.(t, this.#ctx))
        })
      } catch (err) {
        // No prints (e.g. the broker's registration limit): quotes come from REST alone.
        this.#o.log(`prints  not subscribed: ${(err as Error).message}; quotes from REST only`)
      }
    }
    const resumed = await this.#engine.resume()
    for (const v of await this.#engine.list()) this.#parents.set(v.parent.parentId, v.parent)
    if (resumed) this.#o.log(`execution: ${resumed} parent(s) of a previous process resumed`)
  }

  async #applyEvent(e: BrokerOrderEvent, store: OrderStore, riskState: RiskState): Promise<void> {
    try {
      riskState.applyOrderEvent(e)
      await store.applyBrokerEvent(e, { actor: 'runner:events' })
      this.stats.eventsApplied += 1
      if (e.type === 'filled') {
        this.#o.gate?.onFill(e.symbol, e.side, e.fillQuantity, e.fillPrice)
        // The strategy's sellable view moves with our fills (a share bought today can be sold
        // today on KRX), and the broker's own figure, which risk checks sells against, is read
        // again soon (`#fillSinceRead`): until then risk may hold a sell the view already allows.
        const held = this.#sellable.get(e.symbol) ?? 0
        this.#sellable.set(
          e.symbol,
          Math.max(0, held + (e.side === 'buy' ? e.fillQuantity : -e.fillQuantity)),
        )
        this.#fillSinceRead = true
      }
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

  #positionsError = { key: '', at: 0 }
  #positionsAt = Number.NEGATIVE_INFINITY
  #fillSinceRead = false
  /** (intent, code) pairs already counted: a child risk holds is counted once, not at every step. */
  #held = new Set<string>()

  /**
   * One decision round: balances and quotes read, the strategy asked, then one step of the
   * execution engine (children planned, sent, re-priced, canceled at deadlines).
   */
  async decide(): Promise<void> {
    this.stats.decisions += 1
    const now = this.#o.clock.now()
    // Sellable quantities are the broker's to say (settlement, reservations): refreshed for risk
    // and for the strategy's own inventory once they are `positionsRefreshMs` old.
    const age = now - this.#positionsAt
    if (age >= (this.#o.positionsRefreshMs ?? 1_000) || (this.#fillSinceRead && age >= FILL_REREAD_MS)) {
      try {
        this.#fillSinceRead = false
        const positions = await this.#o.gateway.getPositions(this.#o.account)
        this.#positionsAt = now
        this.#positionsError.key = ''
        this.#o.riskState.setPositions(this.#o.account, positions)
        this.#sellable = new Map(positions.map((p) => [p.symbol, p.sellableQuantity]))
      } catch (err) {
        if (this.#o.isFatal?.(err)) throw err
        this.#positionsAt = Number.NEGATIVE_INFINITY
        // Once per cause and at most every 10 s: a throttled token fails every round for a minute.
        const key = BrokerError.isInstance(err)
          ? `${err.kind}:${err.brokerCode ?? err.operation ?? ''}`
          : 'other'
        if (key !== this.#positionsError.key || Date.now() - this.#positionsError.at >= 10_000) {
          this.#positionsError = { key, at: Date.now() }
          this.#o.log(`positions: ${(err as Error).message}`)
        }
        return // no inventory view this round: decide nothing rather than guess
      }
    }
    for (const symbol of this.#o.symbols) {
      if (!this.#quoteDue(symbol, now)) continue
      try {
        await this.#readQuote(symbol)
      } catch (err) {
        if (this.#o.isFatal?.(err)) throw err
        this.#quotes.delete(symbol)
        this.#o.log(`quote   ${symbol}: ${(err as Error).message}`)
      }
    }
    // A step first (parents that completed or ended since the last round show so to the
    // strategy), the strategy, then a step again (its new parents' first children go now).
    await this.#engine.step()
    this.#throwIfFatal()
    if (!this.#stopping) await this.#callAsync('onDecision', () => this.#o.strategy.onDecision(this.#ctx))
    await this.#engine.step()
    this.#throwIfFatal()
  }

  /**
   * Whether a symbol's REST quote must be read again: once `quoteRefreshMs` old, or, while its
   * prints stream (`quoteSource: 'stream'`), once `quoteStateRefreshMs` old.
   */
  #quoteDue(symbol: string, now: number): boolean {
    const rest = this.#restQuotes.get(symbol)
    if (!rest || !this.#quotes.has(symbol)) return true
    const age = now - rest.at
    if (age < (this.#o.quoteRefreshMs ?? 1_000)) return false
    if (this.#o.quoteSource === 'rest') return true
    const printAt = this.#printAt.get(symbol)
    const streaming = printAt !== undefined && now - printAt < (this.#o.printsLiveMs ?? 3_000)
    return !streaming || age >= (this.#o.quoteStateRefreshMs ?? 3_000)
  }

  async #readQuote(symbol: string): Promise<Quote> {
    const quote = await this.#o.gateway.getQuote(symbol)
    this.#o.riskState.applyQuote(quote)
    this.#o.gate?.mark(symbol, quote.lastPrice)
    this.#restQuotes.set(symbol, quote)
    this.#quotes.set(symbol, quote)
    return quote
  }

  /**
   * A trade print: the quote's price from now on, until the next REST read (which still decides
   * limits and state). A print older than the REST quote, or at a price whose tick is not known,
   * changes nothing.
   */
  #applyPrint(t: Tick): void {
    if (this.#o.quoteSource === 'rest') return
    const rest = this.#restQuotes.get(t.symbol)
    if (!rest || t.at < rest.at) return
    const tickSize = t.price === rest.lastPrice ? rest.tickSize : this.#o.tickSize?.(t.symbol, t.price)
    if (tickSize === undefined) return
    this.#printAt.set(t.symbol, t.at)
    this.#o.gate?.mark(t.symbol, t.price)
    const current = this.#quotes.get(t.symbol) ?? rest
    this.#quotes.set(t.symbol, {
      ...current,
      lastPrice: t.price,
      tickSize,
      high: Math.max(current.high ?? t.price, t.price),
      low: Math.min(current.low ?? t.price, t.price),
      volume: Math.max(current.volume ?? 0, t.cumulativeVolume),
      at: t.at,
    })
  }

  async #submit(input: StrategyParent): Promise<ParentView> {
    if (this.#stopping) throw new Error('the session is stopping: no new parent orders')
    const now = this.#o.clock.now()
    const view = await this.#engine.submit({
      ...input,
      parentId: input.parentId ?? `${this.#o.strategy.id.slice(0, 12)}-${this.#o.runId}-${++this.#seq}`,
      account: this.#o.account,
      strategyId: this.#o.strategy.id,
      startAt: input.startAt ?? now,
    })
    this.stats.parents += 1
    this.#parents.set(view.parent.parentId, view.parent)
    return view
  }

  /** Risk first, then the rollout phase (new orders only): the engine's pre-trade check. */
  #check(request: ChildRiskRequest): RiskVerdict {
    const now = this.#o.clock.now()
    const verdict = this.#o.risk.check(request, this.#o.riskState.advanceTo(now))
    if (verdict.outcome !== 'allow') {
      if (request.kind === 'new')
        for (const r of verdict.reasons) {
          const key = `${request.intent.intentId}|${r.code}`
          if (this.#held.has(key)) continue
          this.#held.add(key)
          this.stats.riskRejects[r.code] = (this.stats.riskRejects[r.code] ?? 0) + 1
        }
      return verdict
    }
    if (request.kind !== 'new') return verdict
    const { intent } = request
    const stop = this.#o.gate?.admit(intent)
    if (!stop) return verdict
    const key = `${intent.intentId}|${stop}`
    if (this.#held.has(key)) return { outcome: 'reject', reasons: [{ code: stop }] }
    this.#held.add(key)
    this.stats.phaseStops[stop] = (this.stats.phaseStops[stop] ?? 0) + 1
    this.#o.log(
      stop === 'SHADOW_NOT_SENT'
        ? `shadow  would ${intent.side} ${intent.symbol} ${intent.quantity} @ ${intent.limitPrice} (risk: allow; not sent)`
        : `phase   ${intent.side} ${intent.symbol} ${intent.quantity} @ ${intent.limitPrice} stopped before sending: ${stop}`,
    )
    return { outcome: 'reject', reasons: [{ code: stop }] }
  }

  #onExecutionEvent(e: ExecutionEvent): void {
    switch (e.type) {
      case 'child.sent':
        this.stats.intents += 1
        this.stats.sent += 1
        this.#sending.set(e.intentId, {
          side: this.#parents.get(e.parentId)?.side ?? '?',
          symbol: this.#parents.get(e.parentId)?.symbol ?? '?',
          quantity: e.quantity,
          limitPrice: e.limitPrice,
        })
        break
      case 'child.acked': {
        this.stats.acked += 1
        const sent = this.#sending.get(e.intentId)
        this.#sending.delete(e.intentId)
        this.#o.log(
          `order   ${sent?.side ?? '?'} ${sent?.symbol ?? '?'} ${sent?.quantity ?? '?'} @ ${sent?.limitPrice ?? '?'} → ${e.brokerOrderId}`,
        )
        break
      }
      case 'child.rejected':
        this.#sending.delete(e.intentId)
        // No order exists at the broker: risk must not keep it open (reservation, self-trade guard).
        this.#o.riskState.closeOrder(e.intentId)
        if (/^(rate_limited|unavailable) after/.test(e.reason)) this.stats.rateLimited += 1
        else {
          this.stats.brokerRejects += 1
          this.#o.log(`reject  ${e.intentId}: ${e.reason}`)
        }
        break
      case 'child.unknown_outcome':
        this.#sending.delete(e.intentId)
        this.stats.unknownOutcomes += 1
        this.#o.log(`unknown ${e.intentId}: ${e.reason} (reconciliation decides; never re-sent)`)
        break
      case 'child.cancel_requested':
        this.stats.cancelsSent += 1
        break
      case 'child.cancel_refused':
        this.#o.log(
          `cancel  ${e.intentId} refused: ${e.reason} (asked again in ${Math.round(e.retryInMs / 1000)} s)`,
        )
        break
      case 'child.blocked':
        if (e.by === 'guard') {
          // A pre-trade refusal like risk's, with its own code.
          this.stats.riskRejects.DUPLICATE_FINGERPRINT =
            (this.stats.riskRejects.DUPLICATE_FINGERPRINT ?? 0) + 1
          this.#o.log(`guard   ${e.parentId}: ${e.detail}`)
        }
        break
      case 'parent.state':
        if (e.state === 'paused') this.#o.log(`parent  ${e.parentId} paused: ${e.reason ?? ''}`)
        break
      case 'step.error':
        if (this.#o.isFatal?.(e.error)) this.#fatal ??= e.error
        else this.#o.log(`parent  ${e.parentId}: ${e.message}`)
        break
    }
    this.#o.onExecutionEvent?.(e)
    if (this.#o.strategy.onExecutionEvent)
      this.#call('onExecutionEvent', () => this.#o.strategy.onExecutionEvent?.(e, this.#ctx))
  }

  #throwIfFatal(): void {
    if (this.#fatal !== undefined) throw this.#fatal
  }

  /** A call into the strategy: its own failure is logged and counted; the lease or database going away is not its. */
  async #callAsync(what: string, f: () => unknown): Promise<void> {
    try {
      await f()
    } catch (err) {
      this.#strategyFailed(what, err)
    }
  }

  #call(what: string, f: () => unknown): void {
    try {
      const r = f() as Promise<unknown> | undefined
      if (r && typeof r.then === 'function')
        r.then(undefined, (err: unknown) => this.#strategyFailed(what, err))
    } catch (err) {
      this.#strategyFailed(what, err)
    }
  }

  #strategyFailed(what: string, err: unknown): void {
    if (this.#o.isFatal?.(err)) {
      this.#fatal ??= err
      return
    }
    this.stats.strategyErrors += 1
    const kind =
      err instanceof ZodError
        ? 'invalid parent order'
        : err instanceof ParentConflictError
          ? 'parent conflict'
          : 'error'
    this.#o.log(
      `strategy ${this.#o.strategy.id}.${what} failed (${kind}): ${(err as Error).message ?? String(err)}`,
    )
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
      strategyId: this.#o.strategy.id,
    })) {
      await this.#o.store.requestCancel(o.intentId, { actor: 'runner:strategy', reason })
      n += 1
    }
    return n
  }

  /**
   * Graceful shutdown: the strategy is told (no new parent after this), every parent of it still
   * working is canceled (its working children with it), intents never claimed are canceled
   * locally, and any order still open at the broker is canceled.
   */
  async drain(): Promise<void> {
    this.#stopping = true
    const strategyId = this.#o.strategy.id
    await this.#callAsync('onStop', () => this.#o.strategy.onStop?.(this.#ctx))
    for (const v of await this.#engine.list({ active: true, strategyId }))
      await this.#engine.cancel(v.parent.parentId)
    this.#throwIfFatal()
    await this.abandonUnsent('never sent: the session stopped before claiming it')
    for (const o of await this.#o.store.listOpen({ account: this.#o.account, strategyId })) {
      await this.#cancel(o)
    }
  }

  async stop(): Promise<void> {
    this.#stopTicks?.()
    this.#stopEvents?.()
    await this.#engine.stop()
    await this.#events
  }
}
