import type { OrderIntent } from '@vellab/broker-gateway'
import { sql } from 'kysely'
import type { Order } from '../order'
import type { OrderProjectionDoc } from '../schema'
import type { OrderState } from '../states'

/** The `doc` to store for `order`. Every field not kept elsewhere stays, including ones added later. */
export function projectionDoc(order: Order): OrderProjectionDoc {
  const {
    intentId: _intentId,
    intent: _intent,
    state: _state,
    version: _version,
    brokerOrderId: _brokerOrderId,
    submittedAt: _submittedAt,
    createdAt: _createdAt,
    updatedAt: _updatedAt,
    ...doc
  } = order
  return doc
}

/** A projection row as {@link PROJECTION_COLUMNS} selects it (pg returns BIGINT as a string). */
export interface ProjectionRow {
  intent_id: string
  state: OrderState
  version: number
  broker_order_id: string | null
  submitted_at: string | null
  created_at: string
  updated_at: string
  doc: OrderProjectionDoc | Order
  /** The first event's intent; null only for a row without a log (never written by this package). */
  intent: OrderIntent | null
}

/** The columns an {@link Order} is read from; use with {@link PROJECTION_FROM}. */
export const PROJECTION_COLUMNS = sql`o.intent_id, o.state, o.version, o.broker_order_id, o.submitted_at,
  o.created_at, o.updated_at, o.doc, i.payload -> 'intent' AS intent`

/**
 * `order_orders o` with its first event `i` (by the event log's primary key). A LEFT JOIN, so that
 * a row whose `doc` is a whole `Order` reads even without its log.
 */
export const PROJECTION_FROM = sql`order_orders o
  LEFT JOIN order_events i ON i.intent_id = o.intent_id AND i.seq = 1`

/** The order a projection row stores (either `doc` format). */
export function orderOfRow(row: ProjectionRow): Order {
  const doc = row.doc
  const intent = row.intent ?? (doc as Partial<Order>).intent
  if (!intent) throw new Error(`order_orders row ${row.intent_id} has no intent (no intent_created event)`)
  return {
    // A doc written before 0003 is a whole Order: its fields below equal the columns (written
    // together), so the columns win either way.
    ...doc,
    intentId: row.intent_id,
    intent,
    state: row.state,
    version: row.version,
    brokerOrderId: row.broker_order_id,
    submittedAt: row.submitted_at === null ? null : Number(row.submitted_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}
