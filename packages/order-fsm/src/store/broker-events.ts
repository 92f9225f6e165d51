import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import { kstDate } from '@vellab/broker-gateway'
import { sql } from 'kysely'
import { fromBrokerEvent, routingIdsOf } from '../broker-events'
import type { BrokerLeg, Order } from '../order'
import type { Meta, StoreCore } from './core'
import { orderOfRow, PROJECTION_COLUMNS, PROJECTION_FROM, type ProjectionRow } from './projection'
import type { BrokerEventOutcome, RecordContext } from './types'

/** The dedupe key of a broker fact: broker event ids are unique per account. */
export function brokerEventKey(event: Pick<BrokerOrderEvent, 'account' | 'eventId'>): string {
  return `broker:${event.account}:${event.eventId}`
}

/** Broker facts: routing by broker number, parking what nobody owns yet, draining on a link. */
export class StoreBrokerEvents {
  private readonly core: StoreCore

  constructor(core: StoreCore) {
    this.core = core
    core.drainParked = (account, brokerDate, brokerOrderId, ctx) =>
      this.drainParked(account, brokerDate, brokerOrderId, ctx)
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
    const meta: Meta = { ...this.core.meta('broker', ctx, eventKey), unparkKey: draining ? eventKey : null }
    const cached = this.#cachedRoute(event.account, brokerDate, ids)
    if (cached) {
      const outcome = await this.core.applyAndDrain(
        cached.intentId,
        (order) => fromBrokerEvent(event, { role: cached.role, state: order.state }),
        meta,
      )
      if (draining && outcome.status !== 'applied') await this.#unpark(eventKey)
      return outcome
    }
    const route = await this.#route(event.account, brokerDate, ids, eventKey)
    if (route) {
      const outcome = await this.core.applyAndDrain(
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
    const { rows } = await sql<{
      parked: boolean
    }>`SELECT order_fsm_park(${eventKey}, ${event.account}, ${brokerDate},
      ${ids}::text[], ${JSON.stringify(event)}, ${this.core.clock.now()}) AS parked`.execute(this.core.db)
    // Not parked: one of its numbers was linked between the lookup and the park (decided under the
    // number's lock, see order_fsm_park), so the route exists now.
    if (rows[0]?.parked !== true) return this.#applyBrokerEvent(event, ctx, false)
    this.core.notify({ type: 'parked', account: event.account, brokerOrderId: parkUnder, eventKey })
    return { status: 'parked', brokerOrderId: parkUnder }
  }

  #cachedRoute(account: string, brokerDate: string, ids: readonly string[]) {
    for (const id of ids) {
      const r = this.core.routes.get(`${account}|${brokerDate}|${id}`)
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
      const { rows } = await sql<ProjectionRow & { role: BrokerLeg['role']; dup: boolean }>`
        SELECT ${PROJECTION_COLUMNS}, l.role, EXISTS (SELECT 1 FROM order_events e WHERE e.event_key = ${eventKey}) AS dup
        FROM order_broker_ids l JOIN ${PROJECTION_FROM} ON o.intent_id = l.intent_id
        WHERE l.account = ${account} AND l.broker_date = ${brokerDate} AND l.broker_order_id = ${id}`.execute(
        this.core.db,
      )
      const row = rows[0]
      if (row) {
        const order = orderOfRow(row)
        this.core.rememberRoute(account, { brokerDate, brokerOrderId: id, role: row.role }, order.intentId)
        return { order, role: row.role, duplicate: row.dup }
      }
    }
    return undefined
  }

  async drainParked(
    account: string,
    brokerDate: string,
    brokerOrderId: string,
    ctx: RecordContext,
  ): Promise<number> {
    const { rows } = await sql<{ payload: BrokerOrderEvent }>`
      SELECT payload FROM order_unmatched
      WHERE account = ${account} AND broker_date = ${brokerDate} AND broker_order_id = ${brokerOrderId}
      ORDER BY (payload->>'at')::bigint, received_at, event_key`.execute(this.core.db)
    let applied = 0
    for (const { payload } of rows) {
      const outcome = await this.#applyBrokerEvent(payload, ctx, true)
      if (outcome.status === 'applied') applied++
    }
    return applied
  }

  async #unpark(eventKey: string): Promise<void> {
    await sql`DELETE FROM order_unmatched WHERE event_key = ${eventKey}`.execute(this.core.db)
  }
}
