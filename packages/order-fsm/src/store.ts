// The store's facade. Its capabilities live in ./store/: commands (our own requests and their
// answers), broker-events (routing, parking, draining), recovery, queries, on one core loop.
import type {
  BrokerAck,
  BrokerOrderEvent,
  CancelAck,
  OrderIntentInput,
  ReplaceAck,
  ReplacePatch,
} from '@vellab/broker-gateway'
import type { Kysely } from 'kysely'
import { isConnectionError, StoreUnavailableError } from './errors'
import type { OrderEvent } from './events'
import type { OrderFingerprint } from './fingerprint'
import type { Order } from './order'
import type { OrderFsmTables } from './schema'
import type { OrderState } from './states'
import { StoreBrokerEvents } from './store/broker-events'
import { StoreCommands } from './store/commands'
import { StoreCore } from './store/core'
import { StoreQueries } from './store/queries'
import { StoreRecovery } from './store/recovery'
import type {
  ApplyOutcome,
  AuditEntry,
  BrokerEventOutcome,
  EventSource,
  FillRecord,
  OrderFilter,
  OrderStore,
  OrderStoreOptions,
  RecordContext,
  RecoveryReport,
  RequestClaim,
  StoredOrderEvent,
  UnmatchedBrokerEvent,
} from './store/types'

export { brokerEventKey } from './store/broker-events'
export type {
  ApplyOutcome,
  AuditEntry,
  BrokerEventOutcome,
  EventSource,
  FillRecord,
  OrderFilter,
  OrderStore,
  OrderStoreNotice,
  OrderStoreOptions,
  PgQueryable,
  RecordContext,
  RecoveryReport,
  RequestClaim,
  StoredOrderEvent,
  UnmatchedBrokerEvent,
} from './store/types'

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
  return guarded(
    new PostgresOrderStore(new StoreCore(options.db as unknown as Kysely<OrderFsmTables>, options)),
  )
}

// Every method of the store, so the compiler notices one that is not guarded.
const STORE_METHODS: Record<keyof OrderStore, true> = {
  createIntent: true,
  beginSubmit: true,
  createIntentAndSubmit: true,
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
  readonly #commands: StoreCommands
  readonly #broker: StoreBrokerEvents
  readonly #recovery: StoreRecovery
  readonly #queries: StoreQueries

  constructor(core: StoreCore) {
    this.#commands = new StoreCommands(core)
    this.#broker = new StoreBrokerEvents(core)
    this.#recovery = new StoreRecovery(core)
    this.#queries = new StoreQueries(core)
  }

  createIntent(input: OrderIntentInput, ctx?: RecordContext): Promise<Order> {
    return this.#commands.createIntent(input, ctx)
  }
  beginSubmit(intentId: string, ctx?: RecordContext): Promise<RequestClaim> {
    return this.#commands.beginSubmit(intentId, ctx)
  }
  createIntentAndSubmit(input: OrderIntentInput, ctx?: RecordContext): Promise<RequestClaim> {
    return this.#commands.createIntentAndSubmit(input, ctx)
  }
  recordAck(ack: BrokerAck, ctx?: RecordContext): Promise<ApplyOutcome> {
    return this.#commands.recordAck(ack, ctx)
  }
  recordReject(intentId: string, reject: { reason: string; code?: string }, ctx?: RecordContext) {
    return this.#commands.recordReject(intentId, reject, ctx)
  }
  recordOutcomeUnknown(
    intentId: string,
    unknown: { operation: 'submit' | 'cancel' | 'replace'; reason: string },
    ctx?: RecordContext,
  ) {
    return this.#commands.recordOutcomeUnknown(intentId, unknown, ctx)
  }
  requestCancel(intentId: string, ctx?: RecordContext): Promise<RequestClaim> {
    return this.#commands.requestCancel(intentId, ctx)
  }
  recordCancelAck(intentId: string, ack: CancelAck, ctx?: RecordContext) {
    return this.#commands.recordCancelAck(intentId, ack, ctx)
  }
  recordCancelReject(intentId: string, reject: { reason: string }, ctx?: RecordContext) {
    return this.#commands.recordCancelReject(intentId, reject, ctx)
  }
  requestReplace(intentId: string, patch: ReplacePatch, ctx?: RecordContext): Promise<RequestClaim> {
    return this.#commands.requestReplace(intentId, patch, ctx)
  }
  recordReplaceAck(intentId: string, ack: ReplaceAck, ctx?: RecordContext) {
    return this.#commands.recordReplaceAck(intentId, ack, ctx)
  }
  recordReplaceReject(intentId: string, reject: { reason: string }, ctx?: RecordContext) {
    return this.#commands.recordReplaceReject(intentId, reject, ctx)
  }
  apply(
    intentId: string,
    event: OrderEvent,
    ctx?: RecordContext & { source?: EventSource; eventKey?: string },
  ) {
    return this.#commands.apply(intentId, event, ctx)
  }
  applyBrokerEvent(event: BrokerOrderEvent, ctx?: RecordContext): Promise<BrokerEventOutcome> {
    return this.#broker.applyBrokerEvent(event, ctx)
  }
  recover(ctx?: RecordContext): Promise<RecoveryReport> {
    return this.#recovery.recover(ctx)
  }
  get(intentId: string): Promise<Order | undefined> {
    return this.#queries.get(intentId)
  }
  findByBrokerOrderId(account: string, brokerOrderId: string, brokerDate?: string) {
    return this.#queries.findByBrokerOrderId(account, brokerOrderId, brokerDate)
  }
  listOpen(filter?: OrderFilter): Promise<Order[]> {
    return this.#queries.listOpen(filter)
  }
  listByState(states: OrderState | readonly OrderState[], filter?: OrderFilter): Promise<Order[]> {
    return this.#queries.listByState(states, filter)
  }
  findReconcileCandidates(fingerprint: OrderFingerprint, window: { from: number; to: number }) {
    return this.#queries.findReconcileCandidates(fingerprint, window)
  }
  events(intentId: string): Promise<StoredOrderEvent[]> {
    return this.#queries.events(intentId)
  }
  auditTrail(intentId: string): Promise<AuditEntry[]> {
    return this.#queries.auditTrail(intentId)
  }
  fills(intentId: string): Promise<FillRecord[]> {
    return this.#queries.fills(intentId)
  }
  listUnmatched(filter?: { account?: string }): Promise<UnmatchedBrokerEvent[]> {
    return this.#queries.listUnmatched(filter)
  }
}
