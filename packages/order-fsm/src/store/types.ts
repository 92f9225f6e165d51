import type {
  BrokerAck,
  BrokerOrderEvent,
  CancelAck,
  Clock,
  OrderIntent,
  OrderIntentInput,
  ReplaceAck,
  ReplacePatch,
} from '@vellab/broker-gateway'
import type { Kysely } from 'kysely'
import type { OrderEffect } from '../effects'
import type { TransitionError } from '../errors'
import type { OrderEvent } from '../events'
import type { OrderFingerprint } from '../fingerprint'
import type { Order } from '../order'
import type { OrderFsmTables } from '../schema'
import type { OrderState } from '../states'

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
   * other than "applied" is re-made on a fresh read before it is recorded. It keeps at least the
   * `cacheSize` most recently used orders and at most twice that (and four times as many broker
   * numbers). 0 disables it.
   * @default 10_000
   */
  cacheSize?: number
  /**
   * Called after every decision is durable. It runs inside the store's call; if it throws, the error
   * reaches that caller although the change is already committed (applying it again is a no-op).
   */
  onNotice?: (notice: OrderStoreNotice) => void
  /**
   * The lease epoch every write is fenced by (`@vellab/lease`: `lease.fence()`), read at each
   * write. A write whose epoch is no longer the lease's is refused in its own statement with
   * `FencedError`, so a process that lost the lease (frozen, partitioned) can neither claim a
   * submit nor record anything. The `vellab_leases` table must exist. Unset: no fencing.
   */
  fence?: () => { key: string; epoch: number }
  /**
   * The pg pool (or client) `db` runs on, to send the two hot writes (`order_fsm_write_v2` for every
   * transition, `order_fsm_create_v2` for every intent) as named prepared statements: each connection
   * parses and plans them once instead of on every call (Kysely sends unnamed statements). Anything
   * with pg's `query({ name, text, values })` works, e.g. the `pg.Pool` given to Kysely's
   * `PostgresDialect`. Every other statement still goes through `db`, and the guarantees are the
   * same either way (one statement per transition, version check, fence).
   *
   * Leave it unset when `db` is a transaction or runs on another pool (these writes would bypass
   * it), and behind a pooler that does not keep a server session per client connection (PgBouncer
   * in transaction mode before 1.21): a named statement lives in the server session.
   * @default undefined (every statement goes through `db`)
   */
  pool?: PgQueryable
}

/**
 * The slice of a pg `Pool` or `Client` the store uses for named prepared statements
 * ({@link OrderStoreOptions.pool}).
 */
export interface PgQueryable {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>
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
  /**
   * `createIntent` then `beginSubmit` in one statement (one commit before the send) for a caller
   * that does both: the events `intent_created` and `submit_started` are appended together. When the
   * intent exists already it falls back to the two calls (a replay gets `proceed: false` unless the
   * existing order was never claimed; a different payload throws `IntentConflictError`).
   */
  createIntentAndSubmit(input: OrderIntentInput, ctx?: RecordContext): Promise<RequestClaim>
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
