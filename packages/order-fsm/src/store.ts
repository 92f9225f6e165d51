import {
  type BrokerAck,
  type BrokerOrderEvent,
  type CancelAck,
  type Clock,
  type OrderIntent,
  type OrderIntentInput,
  OrderIntentSchema,
  parseOrThrow,
  type ReplaceAck,
  type ReplacePatch,
  systemClock,
} from '@vellab/broker-gateway'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { fromBrokerEvent, routingIdsOf } from './broker-events'
import type { OrderEffect } from './effects'
import {
  BrokerIdConflictError,
  ConcurrencyExhaustedError,
  IntentConflictError,
  isConnectionError,
  OrderNotFoundError,
  StoreUnavailableError,
  TransitionError,
} from './errors'
import type { OrderEvent } from './events'
import { fingerprintKey, fingerprintOfIntent, type OrderFingerprint } from './fingerprint'
import { intentDifferences, intentHash } from './intent-identity'
import { kstDate } from './kst'
import { type BrokerLeg, newOrder, type Order } from './order'
import type { OrderFsmTables } from './schema'
import { OPEN_STATES, type OrderState } from './states'
import { transition } from './transition'

/** Who caused a change: a caller's command, a broker fact, reconciliation, or startup recovery. */
export type EventSource = 'command' | 'broker' | 'reconciliation' | 'recovery'

/** Who is asking and why; both end up in the event log and the audit trail. */
export interface RecordContext {
  /** Who or what made the decision, e.g. `runner:worker-2`, `reconcile`, `operator:kim`. @default the store's `actor` */
  actor?: string
  /** Why, in words, e.g. `HTTP timeout after 5 s`. @default the table cell's note */
  reason?: string
}

/** Result of applying one event to a stored order. */
export type ApplyOutcome =
  | { status: 'applied'; order: Order; previous: OrderState; effects: OrderEffect[]; seq: number }
  | { status: 'ignored'; order: Order; note: string }
  | { status: 'duplicate'; order: Order }
  | { status: 'rejected'; order: Order; error: TransitionError }

/** Result of applying a broker event: as {@link ApplyOutcome}, or `parked` when no order owns its number yet. */
export type BrokerEventOutcome = ApplyOutcome | { status: 'parked'; brokerOrderId: string }

/**
 * Answer to a write-ahead request (`beginSubmit`, `requestCancel`, `requestReplace`). Send the
 * request only when `proceed` is true: the store has made it durable and no other caller got it.
 */
export type RequestClaim = { proceed: true; order: Order } | { proceed: false; order: Order; reason: string }

/** What the store reports after each decision, for metrics and logs (the store itself logs nothing). */
export type OrderStoreNotice =
  | {
      type: 'transition'
      order: Order
      previous: OrderState
      event: OrderEvent
      effects: OrderEffect[]
      source: EventSource
      actor: string
    }
  | { type: 'ignored'; order: Order; event: OrderEvent; note: string }
  | { type: 'duplicate'; intentId: string; eventKey: string }
  | { type: 'rejected'; order: Order; event: OrderEvent; error: TransitionError }
  | {
      type: 'alarm'
      intentId: string | null
      code: string
      severity: 'warning' | 'critical'
      message: string
    }
  | { type: 'parked'; account: string; brokerOrderId: string; eventKey: string }

/** Options of {@link createOrderStore}. */
export interface OrderStoreOptions<DB extends OrderFsmTables> {
  /** A Kysely instance on a database where {@link orderFsmMigrations} have run. */
  db: Kysely<DB>
  /** Source of `now` for event and audit timestamps. @default systemClock */
  clock?: Clock
  /** The actor recorded when a call names none. @default 'order-fsm' */
  actor?: string
  /**
   * How many optimistic-concurrency conflicts one call absorbs before giving up with
   * `ConcurrencyExhaustedError`. Each conflict means another writer committed, so retries make progress.
   * @default 64
   */
  maxConflictRetries?: number
  /**
   * How many orders to keep in memory, so a transition is one statement instead of a read and a
   * write. The cache is only a guess: the version check refuses a stale write, and any decision
   * other than "applied" is re-made on a fresh read before it is recorded. 0 disables it.
   * @default 10_000
   */
  cacheSize?: number
  /**
   * Called after every decision is durable. It runs inside the store's call; if it throws, the error
   * reaches that caller although the change is already committed (applying it again is a no-op).
   */
  onNotice?: (notice: OrderStoreNotice) => void
}

/** One entry of an order's event log. */
export interface StoredOrderEvent {
  seq: number
  /** The applied event; the first entry is the intent's creation, carrying the intent. */
  event: OrderEvent | { type: 'intent_created'; at: number; intent: OrderIntent }
  eventKey: string | null
  source: EventSource
  actor: string
  reason: string | null
  recordedAt: number
}

/** One entry of the audit trail. */
export interface AuditEntry {
  id: number
  intentId: string | null
  decision: 'intent_created' | 'intent_replayed' | 'intent_conflict' | 'applied' | 'ignored' | 'rejected'
  eventType: string | null
  eventSeq: number | null
  source: EventSource
  actor: string
  reason: string | null
  code: string | null
  detail: Record<string, unknown> | null
  at: number
}

/** One applied fill, under its deterministic key (broker number, cumulative quantity after it). */
export interface FillRecord {
  account: string
  brokerDate: string
  brokerOrderId: string
  cumulativeQuantity: number
  quantity: number
  price: number
  inferred: boolean
  eventSeq: number
  at: number
}

/** A broker event waiting for its broker number to be linked to an order. */
export interface UnmatchedBrokerEvent {
  eventKey: string
  account: string
  brokerDate: string
  brokerOrderId: string
  event: BrokerOrderEvent
  receivedAt: number
}

/** Filters for the list queries. */
export interface OrderFilter {
  account?: string
  symbol?: string
  strategyId?: string
  /** @default 1000 */
  limit?: number
}

/** What `recover()` did and what is left open, by state. */
export interface RecoveryReport {
  /** Orders whose request was sent but never answered, now RECONCILE_REQUIRED. */
  movedToReconcile: { intentId: string; from: OrderState; operation: 'submit' | 'cancel' | 'replace' }[]
  /** Parked broker events applied because their number is linked now. */
  parkedApplied: number
  /** Non-terminal orders after recovery, by state: each has a state its log explains. */
  openByState: Partial<Record<OrderState, number>>
}

/** The durable order book. See {@link createOrderStore}. */
export interface OrderStore {
  /**
   * Record an intent as INTENT_CREATED. Idempotent on `intentId`: the same payload returns the
   * existing order (whatever its state); a different payload throws `IntentConflictError`.
   */
  createIntent(input: OrderIntentInput, ctx?: RecordContext): Promise<Order>
  /**
   * Write-ahead mark before sending: INTENT_CREATED → SUBMITTED, durably, with the fingerprint and
   * submit time. Exactly one caller gets `proceed: true`; only that caller may send.
   */
  beginSubmit(intentId: string, ctx?: RecordContext): Promise<RequestClaim>
  /** The broker accepted the order: link its number. Parked broker events for it are applied next. */
  recordAck(ack: BrokerAck, ctx?: RecordContext): Promise<ApplyOutcome>
  /** The broker refused the order (a `rejected` BrokerError). */
  recordReject(
    intentId: string,
    reject: { reason: string; code?: string },
    ctx?: RecordContext,
  ): Promise<ApplyOutcome>
  /** The request may have reached the broker (`unknown_outcome`): RECONCILE_REQUIRED, never a resend. */
  recordOutcomeUnknown(
    intentId: string,
    unknown: { operation: 'submit' | 'cancel' | 'replace'; reason: string },
    ctx?: RecordContext,
  ): Promise<ApplyOutcome>
  /** Write-ahead mark before sending a cancel. */
  requestCancel(intentId: string, ctx?: RecordContext): Promise<RequestClaim>
  /** The broker took the cancel request. */
  recordCancelAck(intentId: string, ack: CancelAck, ctx?: RecordContext): Promise<ApplyOutcome>
  /** The broker refused the cancel request. */
  recordCancelReject(intentId: string, reject: { reason: string }, ctx?: RecordContext): Promise<ApplyOutcome>
  /** Write-ahead mark before sending a replace (정정). */
  requestReplace(intentId: string, patch: ReplacePatch, ctx?: RecordContext): Promise<RequestClaim>
  /** The replace took effect under a new broker number. */
  recordReplaceAck(intentId: string, ack: ReplaceAck, ctx?: RecordContext): Promise<ApplyOutcome>
  /** The broker refused the replace. */
  recordReplaceReject(
    intentId: string,
    reject: { reason: string },
    ctx?: RecordContext,
  ): Promise<ApplyOutcome>
  /**
   * Apply what an adapter's `streamOrderEvents` (or a REST inquiry) reports. Deduplicated by
   * `eventId` and, for fills, by (broker number, cumulative quantity). Never throws for a refused
   * event: the outcome says `rejected`, and the refusal is audited (and alarmed when it means drift).
   */
  applyBrokerEvent(event: BrokerOrderEvent, ctx?: RecordContext): Promise<BrokerEventOutcome>
  /** Apply any FSM event, e.g. a reconciliation verdict. Never throws for a refused event. */
  apply(
    intentId: string,
    event: OrderEvent,
    ctx?: RecordContext & { source?: EventSource; eventKey?: string },
  ): Promise<ApplyOutcome>
  /**
   * Run once at startup, before any worker: every request that was sent and never answered goes to
   * RECONCILE_REQUIRED, and parked broker events whose number is now linked are applied.
   * Nothing is ever re-sent.
   */
  recover(ctx?: RecordContext): Promise<RecoveryReport>

  get(intentId: string): Promise<Order | undefined>
  /** The order owning a broker number (on `brokerDate`, default the most recent day it was used). */
  findByBrokerOrderId(account: string, brokerOrderId: string, brokerDate?: string): Promise<Order | undefined>
  /** Orders that may exist at the broker: sent and not terminal (see `OPEN_STATES`). */
  listOpen(filter?: OrderFilter): Promise<Order[]>
  listByState(states: OrderState | readonly OrderState[], filter?: OrderFilter): Promise<Order[]>
  /**
   * RECONCILE_REQUIRED orders without a broker number whose fingerprint matches and whose submit
   * time lies in [`from`, `to`]: the candidates for a broker order nobody claimed.
   */
  findReconcileCandidates(
    fingerprint: OrderFingerprint,
    window: { from: number; to: number },
  ): Promise<Order[]>
  events(intentId: string): Promise<StoredOrderEvent[]>
  auditTrail(intentId: string): Promise<AuditEntry[]>
  fills(intentId: string): Promise<FillRecord[]>
  listUnmatched(filter?: { account?: string }): Promise<UnmatchedBrokerEvent[]>
}

interface Meta {
  source: EventSource
  actor: string
  reason: string | null
  eventKey: string | null
  /** Delete this parked event in the same statement (it is being drained). */
  unparkKey: string | null
}

interface PgError {
  code?: string
  constraint?: string
}

const UNIQUE_VIOLATION = '23505'
const DEFAULT_LIMIT = 1000

/**
 * The Postgres-backed order store. It never talks to a broker: callers do the I/O between the
 * write-ahead mark (`beginSubmit`, `requestCancel`, `requestReplace`) and the record of its answer.
 *
 * Every accepted transition is one SQL statement: the projection update with its version check,
 * the event append, the audit entry, broker links and fill rows commit together or not at all.
 *
 * @example
 * ```ts
 * const store = createOrderStore({ db })
 * const order = await store.createIntent({ intentId: 'mom-0001', account: '50123456-01',
 *   strategyId: 'momentum', symbol: '005930', side: 'buy', quantity: 10, orderType: 'limit', limitPrice: 71_000 })
 * const claim = await store.beginSubmit(order.intentId)
 * if (claim.proceed) {
 *   try { await store.recordAck(await gateway.placeOrder(order.intent)) }
 *   catch (e) { if (BrokerError.isKind(e, 'rejected')) await store.recordReject(order.intentId, { reason: e.message })
 *               else await store.recordOutcomeUnknown(order.intentId, { operation: 'submit', reason: String(e) }) }
 * }
 * ```
 */
export function createOrderStore<DB extends OrderFsmTables>(options: OrderStoreOptions<DB>): OrderStore {
  return guarded(new PostgresOrderStore(options.db as unknown as Kysely<OrderFsmTables>, options))
}

// Every method of the store, so the compiler notices one that is not guarded.
const STORE_METHODS: Record<keyof OrderStore, true> = {
  createIntent: true,
  beginSubmit: true,
  recordAck: true,
  recordReject: true,
  recordOutcomeUnknown: true,
  requestCancel: true,
  recordCancelAck: true,
  recordCancelReject: true,
  requestReplace: true,
  recordReplaceAck: true,
  recordReplaceReject: true,
  applyBrokerEvent: true,
  apply: true,
  recover: true,
  get: true,
  findByBrokerOrderId: true,
  listOpen: true,
  listByState: true,
  findReconcileCandidates: true,
  events: true,
  auditTrail: true,
  fills: true,
  listUnmatched: true,
}

/** The store's methods, with a lost database surfaced as a typed `StoreUnavailableError`. */
function guarded(store: OrderStore): OrderStore {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {}
  for (const name of Object.keys(STORE_METHODS) as (keyof OrderStore)[]) {
    const method = (store[name] as (...args: unknown[]) => Promise<unknown>).bind(store)
    out[name] = async (...args) => {
      try {
        return await method(...args)
      } catch (error) {
        throw isConnectionError(error) ? new StoreUnavailableError(name, error) : error
      }
    }
  }
  return out as unknown as OrderStore
}

class PostgresOrderStore implements OrderStore {
  readonly #db: Kysely<OrderFsmTables>
  readonly #clock: Clock
  readonly #actor: string
  readonly #maxRetries: number
  readonly #notify: (n: OrderStoreNotice) => void
  readonly #cacheSize: number
  // Last known version of recently touched orders (LRU by insertion order), and broker-number
  // routes, which never change once linked.
  readonly #orders = new Map<string, Order>()
  readonly #routes = new Map<string, { intentId: string; role: BrokerLeg['role'] }>()

  constructor(db: Kysely<OrderFsmTables>, options: Omit<OrderStoreOptions<OrderFsmTables>, 'db'>) {
    this.#db = db
    this.#clock = options.clock ?? systemClock
    this.#actor = options.actor ?? 'order-fsm'
    this.#maxRetries = options.maxConflictRetries ?? 64
    this.#notify = options.onNotice ?? (() => {})
    this.#cacheSize = options.cacheSize ?? 10_000
  }

  #remember(order: Order): void {
    if (this.#cacheSize <= 0) return
    this.#orders.delete(order.intentId)
    this.#orders.set(order.intentId, order)
    if (this.#orders.size > this.#cacheSize) this.#orders.delete(this.#orders.keys().next().value!)
  }

  #rememberRoute(
    account: string,
    leg: Pick<BrokerLeg, 'brokerDate' | 'brokerOrderId' | 'role'>,
    intentId: string,
  ) {
    if (this.#cacheSize <= 0) return
    const key = `${account}|${leg.brokerDate}|${leg.brokerOrderId}`
    this.#routes.delete(key)
    this.#routes.set(key, { intentId, role: leg.role })
    if (this.#routes.size > this.#cacheSize * 4) this.#routes.delete(this.#routes.keys().next().value!)
  }

  // ---- intents --------------------------------------------------------------------------------

  async createIntent(input: OrderIntentInput, ctx: RecordContext = {}): Promise<Order> {
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'createIntent' })
    const now = this.#clock.now()
    const order = newOrder(intent, now)
    const hash = intentHash(intent)
    const actor = ctx.actor ?? this.#actor
    const reason = ctx.reason ?? null
    const { rows } = await sql<{ n: number }>`
      WITH ins AS (
        INSERT INTO order_orders (intent_id, account, strategy_id, symbol, side, state, version, fingerprint,
          intent_hash, broker_order_id, submitted_at, created_at, updated_at, doc)
        VALUES (${intent.intentId}, ${intent.account}, ${intent.strategyId}, ${intent.symbol}, ${intent.side},
          ${order.state}, ${order.version}, ${fingerprintKey(fingerprintOfIntent(intent))}, ${hash}, NULL, NULL,
          ${now}, ${now}, ${JSON.stringify(order)}::jsonb)
        ON CONFLICT (intent_id) DO NOTHING
        RETURNING intent_id
      ), ev AS (
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        SELECT intent_id, 1, 'intent_created', NULL, 'command', ${actor}::text, ${reason}::text,
          ${JSON.stringify({ type: 'intent_created', at: now, intent })}::jsonb, ${now}::bigint, ${now}::bigint FROM ins
      )
      SELECT count(*)::int AS n FROM ins`.execute(this.#db)
    if (rows[0]?.n === 1) {
      this.#remember(order)
      return order
    }

    const existing = await this.#read(intent.intentId)
    if (!existing) throw new OrderNotFoundError(`${intent.intentId} (created and gone?)`)
    if (intentHash(existing.intent) === hash) {
      await this.#audit(
        existing.intentId,
        'intent_replayed',
        null,
        null,
        'command',
        actor,
        reason,
        null,
        null,
      )
      return existing
    }
    const differences = intentDifferences(existing.intent, intent)
    await this.#audit(
      existing.intentId,
      'intent_conflict',
      null,
      null,
      'command',
      actor,
      reason,
      'intent_conflict',
      {
        differences,
      },
    )
    throw new IntentConflictError(intent.intentId, differences)
  }

  // ---- commands ---------------------------------------------------------------------------------

  async beginSubmit(intentId: string, ctx: RecordContext = {}): Promise<RequestClaim> {
    return this.#claim(intentId, { type: 'submit_started', at: this.#clock.now() }, ctx)
  }

  async recordAck(ack: BrokerAck, ctx: RecordContext = {}): Promise<ApplyOutcome> {
    return this.#command(
      ack.intentId,
      { type: 'acked', brokerOrderId: ack.brokerOrderId, at: ack.acceptedAt },
      ctx,
    )
  }

  async recordReject(intentId: string, reject: { reason: string; code?: string }, ctx: RecordContext = {}) {
    const event: OrderEvent = {
      type: 'rejected',
      reason: reject.reason,
      ...(reject.code ? { code: reject.code } : {}),
      at: this.#clock.now(),
    }
    return this.#command(intentId, event, ctx)
  }

  async recordOutcomeUnknown(
    intentId: string,
    unknown: { operation: 'submit' | 'cancel' | 'replace'; reason: string },
    ctx: RecordContext = {},
  ) {
    return this.#command(
      intentId,
      {
        type: 'outcome_unknown',
        operation: unknown.operation,
        reason: unknown.reason,
        at: this.#clock.now(),
      },
      { reason: unknown.reason, ...ctx },
    )
  }

  async requestCancel(intentId: string, ctx: RecordContext = {}): Promise<RequestClaim> {
    return this.#claim(intentId, { type: 'cancel_requested', at: this.#clock.now() }, ctx)
  }

  async recordCancelAck(intentId: string, ack: CancelAck, ctx: RecordContext = {}) {
    return this.#command(
      intentId,
      {
        type: 'cancel_acked',
        ...(ack.cancelRequestId ? { cancelRequestId: ack.cancelRequestId } : {}),
        at: ack.acceptedAt,
      },
      ctx,
    )
  }

  async recordCancelReject(intentId: string, reject: { reason: string }, ctx: RecordContext = {}) {
    return this.#command(
      intentId,
      { type: 'cancel_rejected', reason: reject.reason, at: this.#clock.now() },
      ctx,
    )
  }

  async requestReplace(
    intentId: string,
    patch: ReplacePatch,
    ctx: RecordContext = {},
  ): Promise<RequestClaim> {
    const clean = {
      ...(patch.limitPrice === undefined ? {} : { limitPrice: patch.limitPrice }),
      ...(patch.quantity === undefined ? {} : { quantity: patch.quantity }),
    }
    return this.#claim(intentId, { type: 'replace_requested', patch: clean, at: this.#clock.now() }, ctx)
  }

  async recordReplaceAck(intentId: string, ack: ReplaceAck, ctx: RecordContext = {}) {
    return this.#command(
      intentId,
      {
        type: 'replace_acked',
        brokerOrderId: ack.brokerOrderId,
        newBrokerOrderId: ack.newBrokerOrderId,
        at: ack.acceptedAt,
      },
      ctx,
    )
  }

  async recordReplaceReject(intentId: string, reject: { reason: string }, ctx: RecordContext = {}) {
    return this.#command(
      intentId,
      { type: 'replace_rejected', reason: reject.reason, at: this.#clock.now() },
      ctx,
    )
  }

  async apply(
    intentId: string,
    event: OrderEvent,
    ctx: RecordContext & { source?: EventSource; eventKey?: string } = {},
  ): Promise<ApplyOutcome> {
    return this.#applyAndDrain(
      intentId,
      () => event,
      this.#meta(ctx.source ?? 'reconciliation', ctx, ctx.eventKey),
    )
  }

  // ---- broker events ----------------------------------------------------------------------------

  async applyBrokerEvent(event: BrokerOrderEvent, ctx: RecordContext = {}): Promise<BrokerEventOutcome> {
    return this.#applyBrokerEvent(event, ctx, false)
  }

  async #applyBrokerEvent(
    event: BrokerOrderEvent,
    ctx: RecordContext,
    draining: boolean,
  ): Promise<BrokerEventOutcome> {
    const eventKey = brokerEventKey(event)
    const brokerDate = kstDate(event.at)
    const ids = routingIdsOf(event)
    const meta: Meta = { ...this.#meta('broker', ctx, eventKey), unparkKey: draining ? eventKey : null }
    const cached = this.#cachedRoute(event.account, brokerDate, ids)
    if (cached) {
      const outcome = await this.#applyAndDrain(
        cached.intentId,
        (order) => fromBrokerEvent(event, { role: cached.role, state: order.state }),
        meta,
      )
      if (draining && outcome.status !== 'applied') await this.#unpark(eventKey)
      return outcome
    }
    const route = await this.#route(event.account, brokerDate, ids, eventKey)
    if (route) {
      const outcome = await this.#applyAndDrain(
        route.order.intentId,
        (order) => fromBrokerEvent(event, { role: route.role, state: order.state }),
        meta,
        route,
      )
      if (draining && outcome.status !== 'applied') await this.#unpark(eventKey)
      return outcome
    }
    if (draining) return { status: 'parked', brokerOrderId: ids[0]! }

    // Nobody owns this number yet: most often a fill notice that overtook the REST answer of the
    // order it belongs to. Keep it durably; linking the number applies it (no fill is dropped).
    const parkUnder = ids[0]!
    await sql`
      INSERT INTO order_unmatched (event_key, account, broker_date, broker_order_id, payload, received_at)
      VALUES (${eventKey}, ${event.account}, ${brokerDate}, ${parkUnder}, ${JSON.stringify(event)}::jsonb,
        ${this.#clock.now()})
      ON CONFLICT (event_key) DO NOTHING`.execute(this.#db)
    this.#notify({ type: 'parked', account: event.account, brokerOrderId: parkUnder, eventKey })
    // The link may have committed between the lookup and the park, and its drain may have read the
    // parked rows before this one committed. Looking again after our commit closes that gap: either
    // the linker's drain sees this row or this look sees the link (both is harmless: deduplicated).
    if (await this.#route(event.account, brokerDate, ids, eventKey))
      return this.#applyBrokerEvent(event, ctx, true)
    return { status: 'parked', brokerOrderId: parkUnder }
  }

  #cachedRoute(account: string, brokerDate: string, ids: readonly string[]) {
    for (const id of ids) {
      const r = this.#routes.get(`${account}|${brokerDate}|${id}`)
      if (r) return r
    }
    return undefined
  }

  async #route(
    account: string,
    brokerDate: string,
    ids: readonly string[],
    eventKey: string,
  ): Promise<{ order: Order; role: BrokerLeg['role']; duplicate: boolean } | undefined> {
    for (const id of ids) {
      const { rows } = await sql<{ doc: Order; role: BrokerLeg['role']; dup: boolean }>`
        SELECT o.doc, l.role, EXISTS (SELECT 1 FROM order_events e WHERE e.event_key = ${eventKey}) AS dup
        FROM order_broker_ids l JOIN order_orders o ON o.intent_id = l.intent_id
        WHERE l.account = ${account} AND l.broker_date = ${brokerDate} AND l.broker_order_id = ${id}`.execute(
        this.#db,
      )
      const row = rows[0]
      if (row) {
        this.#rememberRoute(account, { brokerDate, brokerOrderId: id, role: row.role }, row.doc.intentId)
        return { order: row.doc, role: row.role, duplicate: row.dup }
      }
    }
    return undefined
  }

  async #drainParked(
    account: string,
    brokerDate: string,
    brokerOrderId: string,
    ctx: RecordContext,
  ): Promise<number> {
    const { rows } = await sql<{ payload: BrokerOrderEvent }>`
      SELECT payload FROM order_unmatched
      WHERE account = ${account} AND broker_date = ${brokerDate} AND broker_order_id = ${brokerOrderId}
      ORDER BY (payload->>'at')::bigint, received_at, event_key`.execute(this.#db)
    let applied = 0
    for (const { payload } of rows) {
      const outcome = await this.#applyBrokerEvent(payload, ctx, true)
      if (outcome.status === 'applied') applied++
    }
    return applied
  }

  async #unpark(eventKey: string): Promise<void> {
    await sql`DELETE FROM order_unmatched WHERE event_key = ${eventKey}`.execute(this.#db)
  }

  // ---- recovery ---------------------------------------------------------------------------------

  async recover(ctx: RecordContext = {}): Promise<RecoveryReport> {
    const actor = ctx.actor ?? this.#actor
    const { rows } = await sql<{ doc: Order }>`
      SELECT doc FROM order_orders WHERE state IN ('SUBMITTED', 'CANCEL_PENDING', 'REPLACE_PENDING')
      ORDER BY created_at, intent_id`.execute(this.#db)
    const moved: RecoveryReport['movedToReconcile'] = []
    for (const { doc } of rows) {
      const meta = this.#meta('recovery', { actor, ...(ctx.reason ? { reason: ctx.reason } : {}) })
      let operation: 'submit' | 'cancel' | 'replace' | null = null
      // Decided per attempt: a late answer may land between the scan and the write.
      const outcome = await this.#apply(
        doc.intentId,
        (order) => {
          operation = unansweredOperation(order)
          if (!operation) return null
          return {
            type: 'outcome_unknown',
            operation,
            reason: `the process stopped after the ${operation} was marked and before its answer was recorded`,
            at: this.#clock.now(),
          }
        },
        meta,
      )
      if (outcome.status === 'applied' && operation) {
        moved.push({ intentId: doc.intentId, from: outcome.previous, operation })
      }
    }
    let parkedApplied = 0
    const { rows: linked } = await sql<{ account: string; broker_date: string; broker_order_id: string }>`
      SELECT DISTINCT u.account, u.broker_date, u.broker_order_id FROM order_unmatched u
      JOIN order_broker_ids l USING (account, broker_date, broker_order_id)`.execute(this.#db)
    for (const l of linked)
      parkedApplied += await this.#drainParked(l.account, l.broker_date, l.broker_order_id, ctx)
    const { rows: counts } = await sql<{ state: OrderState; n: number }>`
      SELECT state, count(*)::int AS n FROM order_orders
      WHERE state NOT IN ('FILLED', 'REJECTED', 'CANCELED', 'EXPIRED') GROUP BY state`.execute(this.#db)
    return {
      movedToReconcile: moved,
      parkedApplied,
      openByState: Object.fromEntries(counts.map((c) => [c.state, c.n])),
    }
  }

  // ---- queries ----------------------------------------------------------------------------------

  async get(intentId: string): Promise<Order | undefined> {
    return this.#read(intentId)
  }

  async findByBrokerOrderId(
    account: string,
    brokerOrderId: string,
    brokerDate?: string,
  ): Promise<Order | undefined> {
    const { rows } = await sql<{ doc: Order }>`
      SELECT o.doc FROM order_broker_ids l JOIN order_orders o ON o.intent_id = l.intent_id
      WHERE l.account = ${account} AND l.broker_order_id = ${brokerOrderId}
        ${brokerDate === undefined ? sql`` : sql`AND l.broker_date = ${brokerDate}`}
      ORDER BY l.broker_date DESC LIMIT 1`.execute(this.#db)
    return rows[0]?.doc
  }

  async listOpen(filter: OrderFilter = {}): Promise<Order[]> {
    return this.listByState([...OPEN_STATES], filter)
  }

  async listByState(states: OrderState | readonly OrderState[], filter: OrderFilter = {}): Promise<Order[]> {
    const list = typeof states === 'string' ? [states] : [...states]
    if (list.length === 0) return []
    const { rows } = await sql<{ doc: Order }>`
      SELECT doc FROM order_orders
      WHERE state IN (${sql.join(list)}) ${filterSql(filter)}
      ORDER BY created_at, intent_id LIMIT ${filter.limit ?? DEFAULT_LIMIT}`.execute(this.#db)
    return rows.map((r) => r.doc)
  }

  async findReconcileCandidates(
    fingerprint: OrderFingerprint,
    window: { from: number; to: number },
  ): Promise<Order[]> {
    const { rows } = await sql<{ doc: Order }>`
      SELECT doc FROM order_orders
      WHERE fingerprint = ${fingerprintKey(fingerprint)} AND submitted_at BETWEEN ${window.from} AND ${window.to}
        AND state = 'RECONCILE_REQUIRED' AND broker_order_id IS NULL
      ORDER BY submitted_at, intent_id`.execute(this.#db)
    return rows.map((r) => r.doc)
  }

  async events(intentId: string): Promise<StoredOrderEvent[]> {
    const { rows } = await sql<{
      seq: number
      payload: StoredOrderEvent['event']
      event_key: string | null
      source: EventSource
      actor: string
      reason: string | null
      recorded_at: string
    }>`
      SELECT seq, payload, event_key, source, actor, reason, recorded_at FROM order_events
      WHERE intent_id = ${intentId} ORDER BY seq`.execute(this.#db)
    return rows.map((r) => ({
      seq: r.seq,
      event: r.payload,
      eventKey: r.event_key,
      source: r.source,
      actor: r.actor,
      reason: r.reason,
      recordedAt: Number(r.recorded_at),
    }))
  }

  async auditTrail(intentId: string): Promise<AuditEntry[]> {
    const { rows } = await sql<{
      id: string
      decision: AuditEntry['decision']
      event_type: string | null
      event_seq: number | null
      source: EventSource
      actor: string
      reason: string | null
      code: string | null
      detail: Record<string, unknown> | null
      at: string
    }>`
      SELECT decision_id AS id, CASE WHEN seq = 1 THEN 'intent_created' ELSE 'applied' END AS decision,
        type AS event_type, seq AS event_seq, source, actor, reason, NULL AS code, NULL::jsonb AS detail, recorded_at AS at
      FROM order_events WHERE intent_id = ${intentId}
      UNION ALL
      SELECT id, decision, event_type, event_seq, source, actor, reason, code, detail, at
      FROM order_audit WHERE intent_id = ${intentId}
      ORDER BY id`.execute(this.#db)
    return rows.map((r) => ({
      id: Number(r.id),
      intentId,
      decision: r.decision,
      eventType: r.event_type,
      eventSeq: r.event_seq,
      source: r.source,
      actor: r.actor,
      reason: r.reason,
      code: r.code,
      detail: r.detail,
      at: Number(r.at),
    }))
  }

  async fills(intentId: string): Promise<FillRecord[]> {
    const rows = await this.#db
      .selectFrom('order_fills')
      .selectAll()
      .where('intent_id', '=', intentId)
      .orderBy('event_seq')
      .execute()
    return rows.map((r) => ({
      account: r.account,
      brokerDate: r.broker_date,
      brokerOrderId: r.broker_order_id,
      cumulativeQuantity: r.cumulative_quantity,
      quantity: r.quantity,
      price: Number(r.price),
      inferred: r.inferred,
      eventSeq: r.event_seq,
      at: Number(r.occurred_at),
    }))
  }

  async listUnmatched(filter: { account?: string } = {}): Promise<UnmatchedBrokerEvent[]> {
    let q = this.#db.selectFrom('order_unmatched').selectAll()
    if (filter.account !== undefined) q = q.where('account', '=', filter.account)
    const rows = await q.orderBy('received_at').orderBy('event_key').execute()
    return rows.map((r) => ({
      eventKey: r.event_key,
      account: r.account,
      brokerDate: r.broker_date,
      brokerOrderId: r.broker_order_id,
      event: r.payload as unknown as BrokerOrderEvent,
      receivedAt: Number(r.received_at),
    }))
  }

  // ---- the core loop ------------------------------------------------------------------------------

  #meta(source: EventSource, ctx: RecordContext, eventKey?: string): Meta {
    return {
      source,
      actor: ctx.actor ?? this.#actor,
      reason: ctx.reason ?? null,
      eventKey: eventKey ?? null,
      unparkKey: null,
    }
  }

  async #claim(intentId: string, event: OrderEvent, ctx: RecordContext): Promise<RequestClaim> {
    const outcome = await this.#command(intentId, event, ctx)
    if (outcome.status === 'applied') return { proceed: true, order: outcome.order }
    const reason = outcome.status === 'ignored' ? outcome.note : 'already recorded'
    return { proceed: false, order: outcome.order, reason }
  }

  /** Commands come from our own caller: a refusal is a bug or a race the caller must see, so it throws. */
  async #command(intentId: string, event: OrderEvent, ctx: RecordContext): Promise<ApplyOutcome> {
    const outcome = await this.#applyAndDrain(intentId, () => event, this.#meta('command', ctx))
    if (outcome.status === 'rejected') throw outcome.error
    return outcome
  }

  async #applyAndDrain(
    intentId: string,
    build: (order: Order) => OrderEvent | null,
    meta: Meta,
    first?: { order: Order; duplicate: boolean },
  ): Promise<ApplyOutcome> {
    const outcome = await this.#apply(intentId, build, meta, first)
    if (outcome.status === 'applied') {
      for (const effect of outcome.effects) {
        // Every linked number, cancel requests' included: a KIS cancel refusal notice names the
        // cancel's own number and can overtake the REST answer that tells us that number.
        if (effect.type !== 'link_broker_order') continue
        await this.#drainParked(
          outcome.order.intent.account,
          effect.leg.brokerDate,
          effect.leg.brokerOrderId,
          { actor: meta.actor },
        )
      }
    }
    return outcome
  }

  /**
   * Read, decide, write with a version check; on a lost race read again. `build` is asked again on
   * every attempt because what an event means can depend on the state (see `fromBrokerEvent`).
   */
  async #apply(
    intentId: string,
    build: (order: Order) => OrderEvent | null,
    meta: Meta,
    first?: { order: Order; duplicate: boolean },
  ): Promise<ApplyOutcome> {
    let current = first
    // Fast path: decide on the cached order; only an "applied" decision is trusted, and only if the
    // version check agrees. Anything else is decided again on a fresh read.
    const cachedOrder = first ? undefined : this.#orders.get(intentId)
    if (cachedOrder) {
      const event = build(cachedOrder)
      const result = event && transition(cachedOrder, event)
      if (event && result && !TransitionError.isTransitionError(result) && result.change === 'applied') {
        const written = await this.#write(cachedOrder, result.order, event, result.effects, meta, result.note)
        if (written === 'ok') return this.#applied(cachedOrder, result.order, event, result.effects, meta)
      }
      this.#orders.delete(intentId)
    }
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      if (!current) {
        const row = await this.#readWithDup(intentId, meta.eventKey)
        if (!row) throw new OrderNotFoundError(intentId)
        current = row
      }
      const { order, duplicate } = current
      current = undefined
      this.#remember(order)
      if (duplicate) {
        if (meta.eventKey) this.#notify({ type: 'duplicate', intentId, eventKey: meta.eventKey })
        return { status: 'duplicate', order }
      }
      const event = build(order)
      if (event === null) return { status: 'ignored', order, note: 'nothing to do in this state' }
      const result = transition(order, event)

      if (TransitionError.isTransitionError(result)) {
        await this.#audit(
          intentId,
          'rejected',
          event.type,
          null,
          meta.source,
          meta.actor,
          result.message,
          result.code,
          {
            event,
            state: order.state,
            alarm: result.alarm,
          },
        )
        this.#notify({ type: 'rejected', order, event, error: result })
        if (result.alarm) {
          this.#notify({
            type: 'alarm',
            intentId,
            code: result.code,
            severity: 'critical',
            message: result.message,
          })
        }
        return { status: 'rejected', order, error: result }
      }
      if (result.change === 'ignored') {
        const note = result.note ?? 'ignored'
        await this.#audit(
          intentId,
          'ignored',
          event.type,
          null,
          meta.source,
          meta.actor,
          meta.reason ?? note,
          null,
          {
            event,
            state: order.state,
          },
        )
        this.#notify({ type: 'ignored', order, event, note })
        return { status: 'ignored', order, note }
      }

      const written = await this.#write(order, result.order, event, result.effects, meta, result.note)
      if (written === 'conflict') continue
      if (written === 'duplicate') {
        current = undefined
        continue
      }
      return this.#applied(order, result.order, event, result.effects, meta)
    }
    throw new ConcurrencyExhaustedError(intentId, this.#maxRetries + 1)
  }

  #applied(prev: Order, next: Order, event: OrderEvent, effects: OrderEffect[], meta: Meta): ApplyOutcome {
    this.#remember(next)
    for (const e of effects) {
      if (e.type === 'link_broker_order') this.#rememberRoute(next.intent.account, e.leg, next.intentId)
    }
    this.#notify({
      type: 'transition',
      order: next,
      previous: prev.state,
      event,
      effects,
      source: meta.source,
      actor: meta.actor,
    })
    for (const e of effects) {
      if (e.type === 'alarm') {
        this.#notify({
          type: 'alarm',
          intentId: next.intentId,
          code: e.code,
          severity: e.severity,
          message: e.message,
        })
      }
    }
    return { status: 'applied', order: next, previous: prev.state, effects, seq: next.version }
  }

  async #write(
    prev: Order,
    next: Order,
    event: OrderEvent,
    effects: readonly OrderEffect[],
    meta: Meta,
    note: string | null,
  ): Promise<'ok' | 'conflict' | 'duplicate'> {
    const now = this.#clock.now()
    const account = next.intent.account
    const links: RawBuilder<unknown>[] = []
    const fills: RawBuilder<unknown>[] = []
    for (const e of effects) {
      if (e.type === 'link_broker_order') {
        links.push(
          sql`(${account}::text, ${e.leg.brokerDate}::text, ${e.leg.brokerOrderId}::text, ${e.leg.role}::text, ${e.leg.predecessorId}::text)`,
        )
      } else if (e.type === 'record_fill') {
        fills.push(
          sql`(${account}::text, ${e.brokerDate}::text, ${e.brokerOrderId}::text, ${e.cumulativeQuantity}::int, ${e.quantity}::int, ${e.price}::bigint, ${e.inferred}::boolean, ${e.at}::bigint)`,
        )
      }
    }
    const statement = sql<{ n: number }>`
      WITH upd AS (
        UPDATE order_orders SET state = ${next.state}, version = ${next.version}, doc = ${JSON.stringify(next)}::jsonb,
          broker_order_id = ${next.brokerOrderId}, submitted_at = ${next.submittedAt}, updated_at = ${next.updatedAt}
        WHERE intent_id = ${next.intentId} AND version = ${prev.version}
        RETURNING intent_id
      ), ev AS (
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        SELECT intent_id, ${next.version}::int, ${event.type}::text, ${meta.eventKey}::text, ${meta.source}::text,
          ${meta.actor}::text, ${meta.reason ?? note}::text, ${JSON.stringify(event)}::jsonb, ${event.at}::bigint, ${now}::bigint
        FROM upd
      )${
        links.length === 0
          ? sql``
          : sql`, li AS (
        INSERT INTO order_broker_ids (account, broker_date, broker_order_id, intent_id, role, predecessor_id, linked_at)
        SELECT x.account, x.broker_date, x.broker_order_id, upd.intent_id, x.role, x.predecessor_id, ${now}::bigint
        FROM upd CROSS JOIN (VALUES ${sql.join(links)}) AS x(account, broker_date, broker_order_id, role, predecessor_id)
      )`
      }${
        fills.length === 0
          ? sql``
          : sql`, fi AS (
        INSERT INTO order_fills (account, broker_date, broker_order_id, cumulative_quantity, intent_id, quantity, price,
          inferred, event_seq, occurred_at)
        SELECT x.account, x.broker_date, x.broker_order_id, x.cum, upd.intent_id, x.qty, x.price, x.inferred,
          ${next.version}::int, x.at
        FROM upd CROSS JOIN (VALUES ${sql.join(fills)}) AS x(account, broker_date, broker_order_id, cum, qty, price, inferred, at)
      )`
      }${
        meta.unparkKey === null
          ? sql``
          : sql`, un AS (DELETE FROM order_unmatched WHERE event_key = ${meta.unparkKey} AND EXISTS (SELECT 1 FROM upd))`
      }
      SELECT count(*)::int AS n FROM upd`
    try {
      const { rows } = await statement.execute(this.#db)
      return rows[0]?.n === 1 ? 'ok' : 'conflict'
    } catch (error) {
      const pg = error as PgError
      if (pg.code === UNIQUE_VIOLATION && pg.constraint === 'order_events_event_key_key') return 'duplicate'
      // A concurrent writer appended the same seq first: the version check lost the race.
      if (pg.code === UNIQUE_VIOLATION && pg.constraint === 'order_events_pkey') return 'conflict'
      if (pg.code === UNIQUE_VIOLATION && pg.constraint === 'order_broker_ids_pkey') {
        const leg = effects.find((e) => e.type === 'link_broker_order')
        throw new BrokerIdConflictError(
          next.intentId,
          leg?.type === 'link_broker_order' ? leg.leg.brokerOrderId : '?',
          error,
        )
      }
      throw error
    }
  }

  async #read(intentId: string): Promise<Order | undefined> {
    const { rows } = await sql<{
      doc: Order
    }>`SELECT doc FROM order_orders WHERE intent_id = ${intentId}`.execute(this.#db)
    return rows[0]?.doc
  }

  async #readWithDup(
    intentId: string,
    eventKey: string | null,
  ): Promise<{ order: Order; duplicate: boolean } | undefined> {
    if (eventKey === null) {
      const order = await this.#read(intentId)
      return order && { order, duplicate: false }
    }
    const { rows } = await sql<{ doc: Order; dup: boolean }>`
      SELECT doc, EXISTS (SELECT 1 FROM order_events WHERE event_key = ${eventKey}) AS dup
      FROM order_orders WHERE intent_id = ${intentId}`.execute(this.#db)
    const row = rows[0]
    return row && { order: row.doc, duplicate: row.dup }
  }

  async #audit(
    intentId: string | null,
    decision: AuditEntry['decision'],
    eventType: string | null,
    eventSeq: number | null,
    source: EventSource,
    actor: string,
    reason: string | null,
    code: string | null,
    detail: Record<string, unknown> | null,
  ): Promise<void> {
    await this.#db
      .insertInto('order_audit')
      .values({
        intent_id: intentId,
        decision,
        event_type: eventType,
        event_seq: eventSeq,
        source,
        actor,
        reason,
        code,
        detail: detail === null ? null : JSON.stringify(detail),
        at: this.#clock.now(),
      })
      .execute()
  }
}

/** The dedupe key of a broker fact: broker event ids are unique per account. */
export function brokerEventKey(event: Pick<BrokerOrderEvent, 'account' | 'eventId'>): string {
  return `broker:${event.account}:${event.eventId}`
}

/** The request a stopped process may have sent without recording its answer. */
function unansweredOperation(order: Order): 'submit' | 'cancel' | 'replace' | null {
  if (order.state === 'SUBMITTED') return 'submit'
  if (order.state === 'CANCEL_PENDING' && !order.pending?.acked) return 'cancel'
  if (order.state === 'REPLACE_PENDING') return 'replace'
  return null
}

function filterSql(filter: OrderFilter): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = []
  if (filter.account !== undefined) parts.push(sql`AND account = ${filter.account}`)
  if (filter.symbol !== undefined) parts.push(sql`AND symbol = ${filter.symbol}`)
  if (filter.strategyId !== undefined) parts.push(sql`AND strategy_id = ${filter.strategyId}`)
  return parts.length === 0 ? sql`` : sql.join(parts, sql` `)
}
