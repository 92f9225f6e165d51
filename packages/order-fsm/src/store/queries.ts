import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { type RawBuilder, sql } from 'kysely'
import { fingerprintKey, type OrderFingerprint } from '../fingerprint'
import type { Order } from '../order'
import { OPEN_STATES, type OrderState } from '../states'
import type { StoreCore } from './core'
import { orderOfRow, PROJECTION_COLUMNS, PROJECTION_FROM, type ProjectionRow } from './projection'
import type {
  AuditEntry,
  EventSource,
  FillRecord,
  OrderFilter,
  StoredOrderEvent,
  UnmatchedBrokerEvent,
} from './types'

const DEFAULT_LIMIT = 1000

/** Read-only views of the projection, the log, the fills and the parked events. */
export class StoreQueries {
  private readonly core: StoreCore

  constructor(core: StoreCore) {
    this.core = core
  }

  // ---- queries ----------------------------------------------------------------------------------

  async get(intentId: string): Promise<Order | undefined> {
    return this.core.read(intentId)
  }

  async findByBrokerOrderId(
    account: string,
    brokerOrderId: string,
    brokerDate?: string,
  ): Promise<Order | undefined> {
    const { rows } = await sql<ProjectionRow>`
      SELECT ${PROJECTION_COLUMNS} FROM order_broker_ids l JOIN ${PROJECTION_FROM} ON o.intent_id = l.intent_id
      WHERE l.account = ${account} AND l.broker_order_id = ${brokerOrderId}
        ${brokerDate === undefined ? sql`` : sql`AND l.broker_date = ${brokerDate}`}
      ORDER BY l.broker_date DESC LIMIT 1`.execute(this.core.db)
    return rows[0] && orderOfRow(rows[0])
  }

  async listOpen(filter: OrderFilter = {}): Promise<Order[]> {
    return this.listByState([...OPEN_STATES], filter)
  }

  async listByState(states: OrderState | readonly OrderState[], filter: OrderFilter = {}): Promise<Order[]> {
    const list = typeof states === 'string' ? [states] : [...states]
    if (list.length === 0) return []
    const { rows } = await sql<ProjectionRow>`
      SELECT ${PROJECTION_COLUMNS} FROM ${PROJECTION_FROM}
      WHERE o.state IN (${sql.join(list)}) ${filterSql(filter)}
      ORDER BY o.created_at, o.intent_id LIMIT ${filter.limit ?? DEFAULT_LIMIT}`.execute(this.core.db)
    return rows.map(orderOfRow)
  }

  async findReconcileCandidates(
    fingerprint: OrderFingerprint,
    window: { from: number; to: number },
  ): Promise<Order[]> {
    const { rows } = await sql<ProjectionRow>`
      SELECT ${PROJECTION_COLUMNS} FROM ${PROJECTION_FROM}
      WHERE o.fingerprint = ${fingerprintKey(fingerprint)} AND o.submitted_at BETWEEN ${window.from} AND ${window.to}
        AND o.state = 'RECONCILE_REQUIRED' AND o.broker_order_id IS NULL
      ORDER BY o.submitted_at, o.intent_id`.execute(this.core.db)
    return rows.map(orderOfRow)
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
      WHERE intent_id = ${intentId} ORDER BY seq`.execute(this.core.db)
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
      ORDER BY id`.execute(this.core.db)
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
    const rows = await this.core.db
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
    let q = this.core.db.selectFrom('order_unmatched').selectAll()
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
}

function filterSql(filter: OrderFilter): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = []
  if (filter.account !== undefined) parts.push(sql`AND o.account = ${filter.account}`)
  if (filter.symbol !== undefined) parts.push(sql`AND o.symbol = ${filter.symbol}`)
  if (filter.strategyId !== undefined) parts.push(sql`AND o.strategy_id = ${filter.strategyId}`)
  return parts.length === 0 ? sql`` : sql.join(parts, sql` `)
}
