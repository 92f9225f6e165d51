import type { ColumnType, Generated } from 'kysely'
import type { Order } from './order'

// Epoch milliseconds live in BIGINT columns; pg returns BIGINT as a string.
type EpochMs = ColumnType<string, number, number>
type NullableEpochMs = ColumnType<string | null, number | null, number | null>
type Json<T> = ColumnType<T, string, string>

/**
 * `order_orders`: the projection, one row per intent. Read an `Order` with the store (`get`,
 * `listByState`, …): `doc` is only part of it (see {@link OrderProjectionDoc}).
 */
export interface OrderOrdersTable {
  intent_id: string
  account: string
  strategy_id: string
  symbol: string
  side: string
  state: string
  version: number
  fingerprint: string
  intent_hash: string
  broker_order_id: string | null
  submitted_at: NullableEpochMs
  created_at: EpochMs
  updated_at: EpochMs
  /** The parts of the `Order` that are neither columns nor the intent; older rows: the whole `Order`. */
  doc: Json<OrderProjectionDoc>
}

/**
 * What `order_orders.doc` holds (since migration `order_fsm_0003_narrow_projection`): the parts of
 * an {@link Order} that are neither a column of the row nor the intent. The intent never changes and
 * is already the payload of the order's first event (`intent_created`, seq 1), and the other fields
 * are the row's own columns, so a transition rewrites about a third of the bytes it used to (the
 * write-ahead log volume is what a durable commit pays for). Rows last written before 0003 still
 * carry the whole `Order`; they read the same and narrow on their next transition.
 */
export type OrderProjectionDoc = Omit<
  Order,
  'intentId' | 'intent' | 'state' | 'version' | 'brokerOrderId' | 'submittedAt' | 'createdAt' | 'updatedAt'
>

/** `order_events`: the append-only log; `seq` counts from 1 per order and equals its version. */
export interface OrderEventsTable {
  intent_id: string
  seq: number
  type: string
  /** Dedupe key of a broker fact (`broker:<account>:<eventId>`); null for commands. */
  event_key: string | null
  source: string
  actor: string
  reason: string | null
  payload: Json<Record<string, unknown>>
  occurred_at: EpochMs
  recorded_at: EpochMs
  /** Position in the order of all decisions (shared with `order_audit.id`). */
  decision_id: Generated<string>
}

/** `order_broker_ids`: which order owns a broker number on a KST day. */
export interface OrderBrokerIdsTable {
  account: string
  broker_date: string
  broker_order_id: string
  intent_id: string
  role: string
  predecessor_id: string | null
  linked_at: EpochMs
}

/** `order_fills`: one row per applied fill, keyed by broker number and cumulative quantity. */
export interface OrderFillsTable {
  account: string
  broker_date: string
  broker_order_id: string
  cumulative_quantity: number
  intent_id: string
  quantity: number
  price: ColumnType<string, number, number>
  inferred: boolean
  event_seq: number
  occurred_at: EpochMs
}

/**
 * `order_audit`: the decisions that did not append an event (ignored, refused, intent replays and
 * conflicts), who asked, and why. Append-only. Applied decisions are their `order_events` row.
 */
export interface OrderAuditTable {
  id: Generated<string>
  intent_id: string | null
  decision: string
  event_type: string | null
  event_seq: number | null
  source: string
  actor: string
  reason: string | null
  code: string | null
  detail: Json<Record<string, unknown>> | null
  at: EpochMs
}

/** `order_unmatched`: broker events for numbers no order owns yet (e.g. a fill before its ack). */
export interface OrderUnmatchedTable {
  event_key: string
  account: string
  broker_date: string
  broker_order_id: string
  payload: Json<Record<string, unknown>>
  received_at: EpochMs
}

/** The tables this package owns, for `Kysely<OrderFsmTables & YourTables>`. */
export interface OrderFsmTables {
  order_orders: OrderOrdersTable
  order_events: OrderEventsTable
  order_broker_ids: OrderBrokerIdsTable
  order_fills: OrderFillsTable
  order_audit: OrderAuditTable
  order_unmatched: OrderUnmatchedTable
}
