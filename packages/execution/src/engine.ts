import {
  BrokerError,
  type BrokerGateway,
  type Clock,
  type OrderIntent,
  OrderIntentSchema,
  type Quote,
  sleep,
  systemClock,
  type Tick,
} from '@vellab/broker-gateway'
import type { Order, OrderState, OrderStore } from '@vellab/order-fsm'
import { checkFence, fencedWrite } from '@vellab/order-fsm'
import type { Kysely } from 'kysely'
import pLimit from 'p-limit'
import { ExecutionFencedError, ParentConflictError, ParentNotFoundError } from './errors'
import type { ExecutionTables } from './migrations'
import {
  type ParentAmend,
  ParentAmendSchema,
  type ParentOrder,
  type ParentOrderInput,
  ParentOrderSchema,
  type ParentState,
  TERMINAL_PARENT_STATES,
} from './parent'
import { childLimitPrice, nextChildQuantity } from './planner'

/** A request the pre-trade check sees (risk-kr's `RiskRequest` for new orders and cancels). */
export type ChildRiskRequest =
  | { kind: 'new'; intent: OrderIntent }
  | { kind: 'cancel'; brokerOrderId: string }

/** The pre-trade check's answer (risk-kr's `RiskDecision` satisfies it). */
export interface RiskVerdict {
  readonly outcome: 'allow' | 'reject' | 'review'
  readonly reasons: readonly { readonly code: string }[]
}

/**
 * The pre-trade check in front of every child and every cancel. With risk-kr:
 * `(request) => risk.check(request, riskState.advanceTo(clock.now()))`.
 */
export type PreTradeCheck = (request: ChildRiskRequest) => RiskVerdict

/** Told what was sent and acknowledged, so rate and exposure state stays current (risk-kr's `RiskState` fits). */
export interface SentRecorder {
  recordSent(request: ChildRiskRequest, at: number): void
  recordAck(intentId: string, brokerOrderId: string): void
}

/**
 * The duplicate-fingerprint guard: refuses a new intent while one with the same fingerprint has an
 * unknown outcome. `@vellab/reconcile`'s `reconciler.guard` satisfies it.
 */
export interface DuplicateGuard {
  check(
    intent: OrderIntent,
  ): Promise<{ readonly allowed: true } | { readonly allowed: false; readonly reason: string }>
}

/** What the engine reports; it logs nothing itself. */
export type ExecutionEvent =
  | { type: 'parent.submitted'; parentId: string }
  | { type: 'parent.amended'; parentId: string; patch: ParentAmend }
  | {
      type: 'parent.state'
      parentId: string
      state: ParentState
      previous: ParentState
      reason: string | null
    }
  | { type: 'child.sent'; parentId: string; intentId: string; quantity: number; limitPrice: number }
  | { type: 'child.acked'; parentId: string; intentId: string; brokerOrderId: string }
  | { type: 'child.rejected'; parentId: string; intentId: string; code: string | undefined; reason: string }
  | { type: 'child.unknown_outcome'; parentId: string; intentId: string; reason: string }
  | {
      type: 'child.retry'
      parentId: string
      intentId: string
      attempt: number
      delayMs: number
      kind: string
    }
  | {
      type: 'child.blocked'
      parentId: string
      by: 'risk' | 'guard' | 'price' | 'quote' | 'session'
      detail: string
    }
  | { type: 'child.cancel_requested'; parentId: string; intentId: string; why: string }
  | {
      /**
       * A child's cancel was refused (by the pre-trade check or the broker) while the child still
       * works: it is asked again after `retryInMs`, never in a tight loop.
       */
      type: 'child.cancel_refused'
      parentId: string
      intentId: string
      reason: string
      retryInMs: number
    }
  | {
      type: 'step.error'
      parentId: string
      message: string
      /** The error itself, e.g. an `ExecutionFencedError` or the order store's `FencedError`. */
      error: unknown
    }

/** Retry of requests that provably did not reach the broker (`rate_limited`, `unavailable`). */
export interface RetryPolicy {
  /** @default 5 */
  maxAttempts: number
  /** First backoff; doubles per attempt, with full jitter. @default 200 */
  baseDelayMs: number
  /** @default 5000 */
  maxDelayMs: number
}

export interface ExecutionEngineOptions<DB extends ExecutionTables = ExecutionTables> {
  /** Kysely over a database holding this package's tables (see `executionMigrations`). */
  db: Kysely<DB>
  /** The order store every child goes through (write-ahead before the send). */
  store: OrderStore
  gateway: BrokerGateway
  check: PreTradeCheck
  sent?: SentRecorder
  guard?: DuplicateGuard
  /** Awaited before each send: the account's reconcile barrier, e.g. `(a) => reconciler.barrier(a)`. */
  barrier?: (account: string) => Promise<unknown>
  /** @default systemClock */
  clock?: Clock
  /** Uniform [0, 1) source for backoff jitter. @default Math.random */
  random?: () => number
  /**
   * Whether the market takes this parent's children at `at` (the session calendar with its
   * cut-offs). While it is closed no child is planned; a parent then waits for the next session
   * (`onSessionClose: 'wait'`) or ends (`'end'`). With `@vellab/risk-kr`:
   * `(at) => rules.resolvePhase('KRX', 'regular', kstDay(at), kstMsOfDay(at), 0).status === 'open'`.
   * @default always open (the pre-trade check still refuses orders outside the session)
   */
  isOpen?: (at: number, parent: ParentOrder) => boolean
  /** Interval of the scheduling loop started by `start()`. @default 1000 */
  stepMs?: number
  /** Ticks a `high`-urgency child crosses. @default 2 */
  crossTicks?: number
  /** A working child older than this is canceled so the rest is re-priced. @default 60000 */
  childTtlMs?: number
  retry?: Partial<RetryPolicy>
  /** Consecutive rejected children after which the parent pauses for a human. @default 3 */
  maxConsecutiveRejects?: number
  /** Cancel a parent's working children when a kill switch blocks it. @default true */
  cancelOnKillSwitch?: boolean
  /** Which risk reason codes mean "a kill switch is engaged". @default codes starting with KILL_SWITCH */
  isKillSwitchReason?: (code: string) => boolean
  /** Parents stepped at once. @default 4 */
  concurrency?: number
  /** Actor recorded on the order store's audit trail. @default 'execution' */
  actor?: string
  onEvent?: (event: ExecutionEvent) => void
  /**
   * The lease epoch the engine's own writes are fenced by (`@vellab/lease`: `lease.fence()`), read
   * at each write: a parent's acceptance (`submit`), every change of a parent (amend, cancel,
   * resume, state, arrival price, reject count) and each child's creation (the parent's sequence
   * bump and the child row). Each runs in a transaction that first holds the `vellab_leases` row at
   * that epoch, so once another process has taken the lease over the write is refused with
   * {@link ExecutionFencedError} and nothing changes (in the database or in the engine's view).
   * The child's order intent and its sends go through `store`: give it the same fence (order-fsm's
   * `fence` option). The `vellab_leases` table must exist. Unset: no fencing.
   */
  fence?: () => { key: string; epoch: number }
}

/** A parent's progress, computed from its children's orders in the order store. */
export interface ParentProgress {
  filled: number
  working: number
  remaining: number
  /** Volume-weighted average fill price, or null while nothing is filled. */
  averagePrice: number | null
  /** The last price when the first child was planned. */
  arrivalPrice: number | null
  /** Cost vs arrival in basis points (positive = paid more than arrival on a buy, received less on a sell). */
  slippageVsArrivalBps: number | null
  /** VWAP of the prints observed since `startAt` (in this process). */
  intervalVwap: number | null
  slippageVsVwapBps: number | null
  /** Children by their order's state. */
  children: Partial<Record<OrderState | 'NOT_CREATED', number>>
}

/** A parent as the API returns it. */
export interface ParentView {
  parent: ParentOrder
  state: ParentState
  reason: string | null
  progress: ParentProgress
}

interface ChildRow {
  intentId: string
  seq: number
  quantity: number
  limitPrice: number | null
  createdAt: number
}

interface Live {
  parent: ParentOrder
  state: ParentState
  reason: string | null
  arrivalPrice: number | null
  nextSeq: number
  consecutiveRejects: number
  children: ChildRow[]
  running: boolean
  /** Volume and notional of prints observed since startAt (not persisted; restarts from zero). */
  volume: number
  notional: number
  /** The session was seen closed at the last step (reported once per closure). */
  sessionClosed: boolean
  /** Children whose cancel was refused: when to ask again (not persisted; a restart asks at once). */
  cancelRetry: Map<string, { attempts: number; at: number }>
}

/** The parts of a parent the engine writes to `exec_parents`. */
type Persisted = Pick<Live, 'parent' | 'state' | 'reason' | 'arrivalPrice' | 'consecutiveRejects'>

const CANCEL_RETRY_BASE_MS = 1_000
const CANCEL_RETRY_MAX_MS = 60_000

const ACTIVE_ORDER_STATES: ReadonlySet<OrderState> = new Set([
  'INTENT_CREATED',
  'SUBMITTED',
  'ACKED',
  'PARTIAL_FILLED',
  'CANCEL_PENDING',
  'RECONCILE_REQUIRED',
])

/**
 * The execution orchestrator: turns parent orders into child `OrderIntent`s on a schedule and
 * drives each through the order path — pre-trade check → duplicate guard → barrier → durable
 * child row → durable intent → write-ahead claim → one send → answer recorded. It never sends a
 * child twice: a child whose outcome is unknown pauses its parent until reconciliation settles it,
 * and no sibling is sent for its quantity meanwhile. State lives in Postgres (`exec_*`) and in the
 * order store; `resume()` after a restart picks every parent up where it was.
 */
export class ExecutionEngine<DB extends ExecutionTables = ExecutionTables> {
  readonly #o: Required<
    Pick<
      ExecutionEngineOptions,
      'stepMs' | 'crossTicks' | 'childTtlMs' | 'maxConsecutiveRejects' | 'cancelOnKillSwitch' | 'actor'
    >
  > &
    ExecutionEngineOptions<DB>
  readonly #db: Kysely<ExecutionTables>
  readonly #clock: Clock
  readonly #random: () => number
  readonly #retry: RetryPolicy
  readonly #isKill: (code: string) => boolean
  readonly #live = new Map<string, Live>()
  readonly #listeners = new Set<(e: ExecutionEvent) => void>()
  readonly #limit: ReturnType<typeof pLimit>
  #timer: ReturnType<Clock['setTimeout']> | undefined
  #stopped = true
  #loop: Promise<void> = Promise.resolve()

  constructor(options: ExecutionEngineOptions<DB>) {
    this.#o = {
      stepMs: 1000,
      crossTicks: 2,
      childTtlMs: 60_000,
      maxConsecutiveRejects: 3,
      cancelOnKillSwitch: true,
      actor: 'execution',
      ...options,
    }
    this.#db = options.db as unknown as Kysely<ExecutionTables>
    this.#clock = options.clock ?? systemClock
    this.#random = options.random ?? Math.random
    this.#retry = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5000, ...options.retry }
    this.#isKill = options.isKillSwitchReason ?? ((code) => code.startsWith('KILL_SWITCH'))
    this.#limit = pLimit(options.concurrency ?? 4)
  }

  // ---- strategy-facing API ----

  /**
   * Accept a parent order. Idempotent on `parentId`: the same order again returns the existing
   * parent; a different order under the same id throws {@link ParentConflictError}.
   */
  async submit(input: ParentOrderInput): Promise<ParentView> {
    const parent = ParentOrderSchema.parse(input)
    const now = this.#clock.now()
    const inserted = await this.#write('submit', (db) =>
      db
        .insertInto('exec_parents')
        .values({
          parent_id: parent.parentId,
          account: parent.account,
          strategy_id: parent.strategyId,
          symbol: parent.symbol,
          side: parent.side,
          spec: JSON.stringify(parent),
          state: 'active',
          reason: null,
          arrival_price: null,
          next_seq: 0,
          consecutive_rejects: 0,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('parent_id').doNothing())
        .returning('parent_id')
        .executeTakeFirst(),
    )
    if (!inserted) {
      const existing = await this.#load(parent.parentId)
      if (!existing || JSON.stringify(existing.parent) !== JSON.stringify(parent)) {
        throw new ParentConflictError(parent.parentId)
      }
      return this.get(parent.parentId)
    }
    this.#live.set(parent.parentId, {
      parent,
      state: 'active',
      reason: null,
      arrivalPrice: null,
      nextSeq: 0,
      consecutiveRejects: 0,
      children: [],
      running: false,
      volume: 0,
      notional: 0,
      sessionClosed: false,
      cancelRetry: new Map(),
    })
    this.#emit({ type: 'parent.submitted', parentId: parent.parentId })
    return this.get(parent.parentId)
  }

  /** Change quantity, limit, deadline or urgency of a live parent (takes effect at the next step). */
  async amend(parentId: string, patchInput: ParentAmend): Promise<ParentView> {
    const patch = ParentAmendSchema.parse(patchInput)
    const live = await this.#require(parentId)
    if (TERMINAL_PARENT_STATES.has(live.state) || live.state === 'canceling')
      throw new ParentConflictError(parentId, `parent is ${live.state}`)
    const next = ParentOrderSchema.parse({ ...live.parent, ...patch })
    const { filled, working } = await this.#allocation(live)
    if (next.quantity < filled + working) {
      throw new ParentConflictError(
        parentId,
        `quantity ${next.quantity} is below what is filled or working (${filled + working})`,
      )
    }
    await this.#persist(live, 'amend', { parent: next })
    this.#emit({ type: 'parent.amended', parentId, patch })
    return this.get(parentId)
  }

  /**
   * Cancel a parent: no new child from now on, and a cancel for every working child. The parent is
   * `canceling` while any child still works (a refused cancel is asked again at later steps, with
   * a backoff; a child whose outcome is unknown waits for reconciliation) and `canceled` once none
   * does, or `completed` if fills that beat the cancels filled it. Fills that land before the
   * cancels take effect are counted in its progress.
   */
  async cancel(parentId: string): Promise<ParentView> {
    const live = await this.#require(parentId)
    if (!TERMINAL_PARENT_STATES.has(live.state)) {
      if (live.state !== 'canceling') await this.#setState(live, 'canceling', 'canceled by the caller')
      await this.#settleCanceling(live)
    }
    return this.get(parentId)
  }

  /** Resume a parent paused for a human (risk review, repeated rejects, kill switch). */
  async resumeParent(parentId: string): Promise<ParentView> {
    const live = await this.#require(parentId)
    if (live.state === 'paused') await this.#setState(live, 'active', null, { consecutiveRejects: 0 })
    return this.get(parentId)
  }

  /** One parent with its progress. */
  async get(parentId: string): Promise<ParentView> {
    const live = await this.#require(parentId)
    return {
      parent: live.parent,
      state: live.state,
      reason: live.reason,
      progress: await this.#progress(live),
    }
  }

  /**
   * The parents this engine holds in memory, with their progress: every non-terminal one (after
   * `resume()`, those in the database too) and those that ended since the last `step()` (a step
   * lets ended parents go from memory; `get` still reads any parent from the database).
   * `filter` narrows the list before any progress is read.
   */
  async list(filter: { active?: boolean; strategyId?: string } = {}): Promise<ParentView[]> {
    const out: ParentView[] = []
    for (const [id, live] of this.#live) {
      if (filter.active && TERMINAL_PARENT_STATES.has(live.state)) continue
      if (filter.strategyId !== undefined && live.parent.strategyId !== filter.strategyId) continue
      out.push(await this.get(id))
    }
    return out
  }

  /** Progress and state events. Returns the unsubscribe function. */
  subscribe(listener: (e: ExecutionEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Feed market prints (e.g. from `gateway.streamTicks`): POV volume and the interval VWAP. */
  onTrade(tick: Pick<Tick, 'symbol' | 'price' | 'quantity' | 'at'>): void {
    if (tick.quantity <= 0) return
    for (const live of this.#live.values()) {
      if (live.parent.symbol !== tick.symbol || tick.at < live.parent.startAt) continue
      if (TERMINAL_PARENT_STATES.has(live.state)) continue
      live.volume += tick.quantity
      live.notional += tick.quantity * tick.price
    }
  }

  // ---- lifecycle ----

  /** Load every non-terminal parent and its children from the database (call after the order store's `recover()`). */
  async resume(): Promise<number> {
    const rows = await this.#db
      .selectFrom('exec_parents')
      .select('parent_id')
      .where('state', 'not in', [...TERMINAL_PARENT_STATES])
      .execute()
    for (const r of rows) await this.#load(r.parent_id)
    return rows.length
  }

  /** Resume, then step every `stepMs` on the injected clock until `stop()`. */
  async start(): Promise<void> {
    await this.resume()
    this.#stopped = false
    this.#schedule()
  }

  /** Stop the loop and wait for a step in progress. Children already sent are left to the broker and the store. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#loop
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#clock.setTimeout(() => {
      this.#loop = this.step().finally(() => this.#schedule())
    }, this.#o.stepMs)
  }

  /** One scheduling pass over every live parent (the loop calls it; tests call it directly). */
  async step(): Promise<void> {
    // Ended parents leave memory (their rows stay; `get` reloads one): a long session's step and
    // `list` cost what is working, not everything it ever did.
    for (const [id, l] of this.#live)
      if (TERMINAL_PARENT_STATES.has(l.state) && !l.running) this.#live.delete(id)
    const parents = [...this.#live.values()].filter((l) => !TERMINAL_PARENT_STATES.has(l.state) && !l.running)
    await Promise.all(
      parents.map((live) =>
        this.#limit(async () => {
          live.running = true
          try {
            await this.#stepParent(live)
          } catch (err) {
            this.#emit({
              type: 'step.error',
              parentId: live.parent.parentId,
              message: (err as Error).message,
              error: err,
            })
          } finally {
            live.running = false
          }
        }),
      ),
    )
  }

  // ---- one parent ----

  async #stepParent(live: Live): Promise<void> {
    const p = live.parent
    const now = this.#clock.now()
    const orders = await this.#childOrders(live)
    const { filled, working, unknown } = allocationOf(live, orders)

    if (filled >= p.quantity) {
      await this.#setState(live, 'completed', null)
      return
    }
    if (live.state === 'canceling') {
      await this.#settleCanceling(live, orders)
      return
    }
    if (unknown) {
      // A child may or may not be at the broker: nothing more until reconciliation settles it.
      if (live.state !== 'paused' || live.reason !== AWAITING_RECONCILE) {
        await this.#setState(live, 'paused', AWAITING_RECONCILE)
      }
      return
    }
    if (live.state === 'paused' && live.reason === AWAITING_RECONCILE)
      await this.#setState(live, 'active', null)
    if (now >= p.deadline && p.onDeadline === 'stop') {
      if (working > 0) await this.#cancelWorking(live, 'deadline passed', orders)
      else await this.#setState(live, 'expired', 'deadline passed')
      return
    }
    if (live.state !== 'active') return
    if (this.#o.isOpen && !this.#o.isOpen(now, p)) {
      if (p.onSessionClose === 'end' && now >= p.startAt) {
        if (working > 0) await this.#cancelWorking(live, 'session closed', orders)
        else await this.#setState(live, 'stopped', 'session closed')
        return
      }
      if (!live.sessionClosed) {
        live.sessionClosed = true
        this.#emit({
          type: 'child.blocked',
          parentId: p.parentId,
          by: 'session',
          detail: 'session closed: waiting for the next one',
        })
      }
      return
    }
    live.sessionClosed = false

    // Re-send children that are durable but were never sent (a crash before the write-ahead claim).
    for (const [child, order] of zip(live.children, orders)) {
      if (order?.state === 'INTENT_CREATED') {
        await this.#send(live, order.intent)
        return
      }
      if (order && (order.state === 'ACKED' || order.state === 'PARTIAL_FILLED')) {
        if (now - child.createdAt >= this.#o.childTtlMs && now < p.deadline) {
          await this.#cancelChild(live, order, 'stale: re-pricing')
        }
      }
    }

    const quantity = nextChildQuantity(p, now, { filled, working }, live.volume)
    if (quantity <= 0) return
    let quote: Quote
    try {
      quote = await this.#o.gateway.getQuote(p.symbol)
    } catch (err) {
      this.#emit({ type: 'child.blocked', parentId: p.parentId, by: 'quote', detail: (err as Error).message })
      return
    }
    if (live.arrivalPrice === null)
      await this.#persist(live, 'arrival price', { arrivalPrice: quote.lastPrice })
    const urgency = now >= p.deadline ? 'high' : p.urgency
    const limitPrice = childLimitPrice(p, quote, urgency, this.#o.crossTicks)
    if (limitPrice === undefined) {
      this.#emit({
        type: 'child.blocked',
        parentId: p.parentId,
        by: 'price',
        detail: `no price within the limit ${p.limitPrice} and the band [${quote.lowerLimit}, ${quote.upperLimit}]`,
      })
      return
    }
    const seq = live.nextSeq
    const intent = OrderIntentSchema.parse({
      intentId: `${p.parentId}.c${seq}`,
      account: p.account,
      strategyId: p.strategyId,
      symbol: p.symbol,
      side: p.side,
      quantity,
      orderType: 'limit',
      limitPrice,
      venue: p.venue,
    })
    const verdict = this.#o.check({ kind: 'new', intent })
    if (verdict.outcome === 'review') {
      // Held for a human; never retried around.
      await this.#setState(live, 'paused', `risk review: ${codes(verdict)}`)
      return
    }
    if (verdict.outcome === 'reject') {
      if (verdict.reasons.some((r) => this.#isKill(r.code))) {
        await this.#setState(live, 'paused', `kill switch: ${codes(verdict)}`)
        if (this.#o.cancelOnKillSwitch) await this.#cancelWorking(live, 'kill switch', orders)
        return
      }
      this.#emit({ type: 'child.blocked', parentId: p.parentId, by: 'risk', detail: codes(verdict) })
      return
    }
    if (this.#o.guard) {
      const g = await this.#o.guard.check(intent)
      if (!g.allowed) {
        this.#emit({ type: 'child.blocked', parentId: p.parentId, by: 'guard', detail: g.reason })
        return
      }
    }
    await this.#o.barrier?.(p.account)
    // The child row first (with the parent's sequence, version-checked, and fenced), then the
    // durable intent.
    await this.#db.transaction().execute(async (trx) => {
      const fence = this.#o.fence?.()
      if (fence) await checkFence<ExecutionTables>(trx, fence, (r) => new ExecutionFencedError('child', r))
      const bumped = await trx
        .updateTable('exec_parents')
        .set({ next_seq: seq + 1, updated_at: now })
        .where('parent_id', '=', p.parentId)
        .where('next_seq', '=', seq)
        .executeTakeFirst()
      if (Number(bumped.numUpdatedRows) !== 1)
        throw new ParentConflictError(p.parentId, 'another engine is slicing it')
      await trx
        .insertInto('exec_children')
        .values({
          intent_id: intent.intentId,
          parent_id: p.parentId,
          seq,
          quantity,
          limit_price: limitPrice,
          created_at: now,
        })
        .execute()
    })
    live.nextSeq = seq + 1
    live.children.push({ intentId: intent.intentId, seq, quantity, limitPrice, createdAt: now })
    await this.#o.store.createIntent(intent, { actor: this.#o.actor })
    await this.#send(live, intent)
  }

  /** Write-ahead claim, then one send; retries only what provably did not reach the broker. */
  async #send(live: Live, intent: OrderIntent): Promise<void> {
    const parentId = live.parent.parentId
    const ctx = { actor: this.#o.actor }
    const claim = await this.#o.store.beginSubmit(intent.intentId, ctx)
    if (!claim.proceed) return
    this.#o.sent?.recordSent({ kind: 'new', intent }, this.#clock.now())
    this.#emit({
      type: 'child.sent',
      parentId,
      intentId: intent.intentId,
      quantity: intent.quantity,
      limitPrice: intent.limitPrice ?? 0,
    })
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.#o.gateway.placeOrder(intent)
        this.#o.sent?.recordAck(intent.intentId, ack.brokerOrderId)
        await this.#o.store.recordAck(ack, ctx)
        await this.#persist(live, 'reject count', { consecutiveRejects: 0 })
        this.#emit({
          type: 'child.acked',
          parentId,
          intentId: intent.intentId,
          brokerOrderId: ack.brokerOrderId,
        })
        return
      } catch (err) {
        const kind = BrokerError.isInstance(err) ? err.kind : 'unknown_outcome'
        if ((kind === 'rate_limited' || kind === 'unavailable') && attempt < this.#retry.maxAttempts) {
          // Nothing reached the broker: the same durable intent goes again after a jittered backoff.
          const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1))
          const delayMs = Math.round(this.#random() * cap)
          this.#emit({ type: 'child.retry', parentId, intentId: intent.intentId, attempt, delayMs, kind })
          await sleep(this.#clock, delayMs)
          continue
        }
        if (
          kind === 'rejected' ||
          kind === 'invalid_request' ||
          kind === 'auth' ||
          kind === 'rate_limited' ||
          kind === 'unavailable'
        ) {
          const code = BrokerError.isInstance(err) ? err.brokerCode : undefined
          const reason =
            kind === 'rejected'
              ? (err as Error).message
              : `${kind} after ${attempt} attempt(s): ${(err as Error).message}`
          await this.#o.store.recordReject(intent.intentId, { reason, ...(code ? { code } : {}) }, ctx)
          this.#emit({ type: 'child.rejected', parentId, intentId: intent.intentId, code, reason })
          const rejects = live.consecutiveRejects + 1
          if (rejects >= this.#o.maxConsecutiveRejects) {
            await this.#setState(
              live,
              'paused',
              `${rejects} children rejected in a row (last: ${code ?? kind})`,
              {
                consecutiveRejects: rejects,
              },
            )
          } else {
            await this.#persist(live, 'reject count', { consecutiveRejects: rejects })
          }
          return
        }
        // unknown_outcome or anything unclassified: it may be at the broker. Never re-send.
        const reason = (err as Error).message ?? String(err)
        await this.#o.store.recordOutcomeUnknown(intent.intentId, { operation: 'submit', reason }, ctx)
        this.#emit({ type: 'child.unknown_outcome', parentId, intentId: intent.intentId, reason })
        await this.#setState(live, 'paused', AWAITING_RECONCILE)
        return
      }
    }
  }

  /** A `canceling` parent: cancel what still works; `canceled` once nothing does. */
  async #settleCanceling(live: Live, known?: (Order | undefined)[]): Promise<void> {
    const orders = known ?? (await this.#childOrders(live))
    const { filled, working, unknown } = allocationOf(live, orders)
    if (filled >= live.parent.quantity) await this.#setState(live, 'completed', null)
    else if (working > 0 || unknown) await this.#cancelWorking(live, 'parent canceled', orders)
    else await this.#setState(live, 'canceled', 'canceled by the caller')
  }

  async #cancelWorking(live: Live, why: string, known?: (Order | undefined)[]): Promise<void> {
    const orders = known ?? (await this.#childOrders(live))
    for (const order of orders) {
      if (order && (order.state === 'ACKED' || order.state === 'PARTIAL_FILLED'))
        await this.#cancelChild(live, order, why)
    }
  }

  async #cancelChild(live: Live, order: Order, why: string): Promise<void> {
    const brokerOrderId = order.brokerOrderId
    if (!brokerOrderId) return
    const retry = live.cancelRetry.get(order.intentId)
    if (retry && this.#clock.now() < retry.at) return
    const verdict = this.#o.check({ kind: 'cancel', brokerOrderId })
    if (verdict.outcome !== 'allow') {
      this.#emit({
        type: 'child.blocked',
        parentId: live.parent.parentId,
        by: 'risk',
        detail: `cancel: ${codes(verdict)}`,
      })
      this.#cancelRefused(live, order.intentId, `pre-trade check: ${codes(verdict)}`)
      return
    }
    const ctx = { actor: this.#o.actor }
    const claim = await this.#o.store.requestCancel(order.intentId, ctx)
    if (!claim.proceed) return
    this.#o.sent?.recordSent({ kind: 'cancel', brokerOrderId }, this.#clock.now())
    this.#emit({
      type: 'child.cancel_requested',
      parentId: live.parent.parentId,
      intentId: order.intentId,
      why,
    })
    try {
      const ack = await this.#o.gateway.cancelOrder(brokerOrderId, {
        account: live.parent.account,
        symbol: live.parent.symbol,
      })
      await this.#o.store.recordCancelAck(order.intentId, ack, ctx)
      live.cancelRetry.delete(order.intentId)
    } catch (err) {
      if (BrokerError.isKind(err, 'unknown_outcome')) {
        await this.#o.store.recordOutcomeUnknown(
          order.intentId,
          { operation: 'cancel', reason: (err as Error).message },
          ctx,
        )
      } else {
        // Typically nothing left to cancel: the fill that beat us arrives as a broker event. If
        // the child still works after all, it is asked again later, not at every step.
        await this.#o.store.recordCancelReject(order.intentId, { reason: (err as Error).message }, ctx)
        this.#cancelRefused(live, order.intentId, (err as Error).message)
      }
    }
  }

  /** Back off before asking to cancel this child again: 1 s, doubling, at most a minute. */
  #cancelRefused(live: Live, intentId: string, reason: string): void {
    const attempts = (live.cancelRetry.get(intentId)?.attempts ?? 0) + 1
    const retryInMs = Math.min(CANCEL_RETRY_MAX_MS, CANCEL_RETRY_BASE_MS * 2 ** (attempts - 1))
    live.cancelRetry.set(intentId, { attempts, at: this.#clock.now() + retryInMs })
    this.#emit({ type: 'child.cancel_refused', parentId: live.parent.parentId, intentId, reason, retryInMs })
  }

  // ---- state and persistence ----

  async #childOrders(live: Live): Promise<(Order | undefined)[]> {
    return Promise.all(live.children.map((c) => this.#o.store.get(c.intentId)))
  }

  async #allocation(live: Live): Promise<{ filled: number; working: number }> {
    return allocationOf(live, await this.#childOrders(live))
  }

  async #progress(live: Live): Promise<ParentProgress> {
    const orders = await this.#childOrders(live)
    const { filled, working } = allocationOf(live, orders)
    let notional = 0
    const children: ParentProgress['children'] = {}
    for (const o of orders) {
      const key = o?.state ?? 'NOT_CREATED'
      children[key] = (children[key] ?? 0) + 1
      notional += o?.filledNotional ?? 0
    }
    const averagePrice = filled > 0 ? notional / filled : null
    const vwap = live.volume > 0 ? live.notional / live.volume : null
    const bps = (ref: number | null) => {
      if (averagePrice === null || ref === null) return null
      const sign = live.parent.side === 'buy' ? 1 : -1
      return (sign * (averagePrice - ref) * 10_000) / ref
    }
    return {
      filled,
      working,
      remaining: live.parent.quantity - filled,
      averagePrice,
      arrivalPrice: live.arrivalPrice,
      slippageVsArrivalBps: bps(live.arrivalPrice),
      intervalVwap: vwap,
      slippageVsVwapBps: bps(vwap),
      children,
    }
  }

  async #setState(
    live: Live,
    state: ParentState,
    reason: string | null,
    also: Partial<Pick<Live, 'consecutiveRejects'>> = {},
  ): Promise<void> {
    const previous = live.state
    if (previous === state && live.reason === reason) {
      if (also.consecutiveRejects !== undefined) await this.#persist(live, 'reject count', also)
      return
    }
    await this.#persist(live, `state ${state}`, { ...also, state, reason })
    this.#emit({ type: 'parent.state', parentId: live.parent.parentId, state, previous, reason })
  }

  /**
   * Write the parent with `change` applied, then apply it to the engine's view: a refused write
   * (fenced, or the database failing) changes neither.
   */
  async #persist(live: Live, operation: string, change: Partial<Persisted>): Promise<void> {
    const next = { ...live, ...change }
    await this.#write(operation, (db) =>
      db
        .updateTable('exec_parents')
        .set({
          spec: JSON.stringify(next.parent),
          state: next.state,
          reason: next.reason,
          arrival_price: next.arrivalPrice,
          consecutive_rejects: next.consecutiveRejects,
          updated_at: this.#clock.now(),
        })
        .where('parent_id', '=', live.parent.parentId)
        .execute(),
    )
    Object.assign(live, change)
  }

  /** A write to this package's tables, fenced by `fence` when set. */
  #write<T>(operation: string, write: (db: Kysely<ExecutionTables>) => Promise<T>): Promise<T> {
    return fencedWrite(this.#db, this.#o.fence, (r) => new ExecutionFencedError(operation, r), write)
  }

  async #require(parentId: string): Promise<Live> {
    const live = this.#live.get(parentId) ?? (await this.#load(parentId))
    if (!live) throw new ParentNotFoundError(parentId)
    return live
  }

  async #load(parentId: string): Promise<Live | undefined> {
    const cached = this.#live.get(parentId)
    if (cached) return cached
    const row = await this.#db
      .selectFrom('exec_parents')
      .selectAll()
      .where('parent_id', '=', parentId)
      .executeTakeFirst()
    if (!row) return undefined
    const children = await this.#db
      .selectFrom('exec_children')
      .selectAll()
      .where('parent_id', '=', parentId)
      .orderBy('seq')
      .execute()
    const live: Live = {
      parent: ParentOrderSchema.parse(typeof row.spec === 'string' ? JSON.parse(row.spec) : row.spec),
      state: row.state as ParentState,
      reason: row.reason,
      arrivalPrice: row.arrival_price,
      nextSeq: row.next_seq,
      consecutiveRejects: row.consecutive_rejects,
      children: children.map((c) => ({
        intentId: c.intent_id,
        seq: c.seq,
        quantity: c.quantity,
        limitPrice: c.limit_price,
        createdAt: Number(c.created_at),
      })),
      running: false,
      volume: 0,
      notional: 0,
      sessionClosed: false,
      cancelRetry: new Map(),
    }
    this.#live.set(parentId, live)
    return live
  }

  #emit(e: ExecutionEvent): void {
    this.#o.onEvent?.(e)
    for (const l of this.#listeners) l(e)
  }
}

const AWAITING_RECONCILE = 'a child has an unknown outcome: awaiting reconciliation'

function codes(v: RiskVerdict): string {
  return v.reasons.map((r) => r.code).join(', ') || v.outcome
}

function* zip<A, B>(a: readonly A[], b: readonly B[]): Generator<[A, B]> {
  for (let i = 0; i < a.length; i++) yield [a[i] as A, b[i] as B]
}

/**
 * Filled and working shares over a parent's children, and whether any has an unknown outcome.
 * A child row without an order was planned but its intent never written (a crash in between): it
 * was never sent and never will be, so it counts for nothing.
 */
function allocationOf(
  _live: Live,
  orders: readonly (Order | undefined)[],
): { filled: number; working: number; unknown: boolean } {
  let filled = 0
  let working = 0
  let unknown = false
  for (const o of orders) {
    if (!o) continue
    filled += o.filledQuantity
    if (ACTIVE_ORDER_STATES.has(o.state)) working += Math.max(0, o.quantity - o.filledQuantity)
    if (o.state === 'RECONCILE_REQUIRED') unknown = true
  }
  return { filled, working, unknown }
}
