import { type Clock, systemClock } from '@vellab/broker-gateway'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { OrderEffect } from '../effects'
import {
  BrokerIdConflictError,
  ConcurrencyExhaustedError,
  OrderNotFoundError,
  TransitionError,
} from '../errors'
import type { OrderEvent } from '../events'
import type { BrokerLeg, Order } from '../order'
import type { OrderFsmTables } from '../schema'
import { transition } from '../transition'
import type {
  ApplyOutcome,
  AuditEntry,
  EventSource,
  OrderStoreNotice,
  OrderStoreOptions,
  RecordContext,
  RequestClaim,
} from './types'

/** How a write is recorded: who, why, under which dedupe key. */
export interface Meta {
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

/**
 * The store's core loop, shared by its capabilities (commands, broker events, recovery, queries):
 * read, decide with the pure `transition`, write in one statement with a version check, and the
 * caches that make the common case one round-trip.
 */
export class StoreCore {
  readonly db: Kysely<OrderFsmTables>
  readonly clock: Clock
  readonly actor: string
  readonly maxRetries: number
  readonly notify: (n: OrderStoreNotice) => void
  readonly cacheSize: number
  // Last known version of recently touched orders (LRU by insertion order), and broker-number
  // routes, which never change once linked.
  readonly orders = new Map<string, Order>()
  readonly routes = new Map<string, { intentId: string; role: BrokerLeg['role'] }>()
  /** Applies the events parked under a number just linked; set by the broker-event module. */
  drainParked: (
    account: string,
    brokerDate: string,
    brokerOrderId: string,
    ctx: RecordContext,
  ) => Promise<number> = async () => 0

  constructor(db: Kysely<OrderFsmTables>, options: Omit<OrderStoreOptions<OrderFsmTables>, 'db'>) {
    this.db = db
    this.clock = options.clock ?? systemClock
    this.actor = options.actor ?? 'order-fsm'
    this.maxRetries = options.maxConflictRetries ?? 64
    this.notify = options.onNotice ?? (() => {})
    this.cacheSize = options.cacheSize ?? 10_000
  }

  remember(order: Order): void {
    if (this.cacheSize <= 0) return
    this.orders.delete(order.intentId)
    this.orders.set(order.intentId, order)
    if (this.orders.size > this.cacheSize) this.orders.delete(this.orders.keys().next().value!)
  }

  rememberRoute(
    account: string,
    leg: Pick<BrokerLeg, 'brokerDate' | 'brokerOrderId' | 'role'>,
    intentId: string,
  ) {
    if (this.cacheSize <= 0) return
    const key = `${account}|${leg.brokerDate}|${leg.brokerOrderId}`
    this.routes.delete(key)
    this.routes.set(key, { intentId, role: leg.role })
    if (this.routes.size > this.cacheSize * 4) this.routes.delete(this.routes.keys().next().value!)
  }

  // ---- the core loop ------------------------------------------------------------------------------

  meta(source: EventSource, ctx: RecordContext, eventKey?: string): Meta {
    return {
      source,
      actor: ctx.actor ?? this.actor,
      reason: ctx.reason ?? null,
      eventKey: eventKey ?? null,
      unparkKey: null,
    }
  }

  async claim(intentId: string, event: OrderEvent, ctx: RecordContext): Promise<RequestClaim> {
    const outcome = await this.command(intentId, event, ctx)
    if (outcome.status === 'applied') return { proceed: true, order: outcome.order }
    const reason = outcome.status === 'ignored' ? outcome.note : 'already recorded'
    return { proceed: false, order: outcome.order, reason }
  }

  /** Commands come from our own caller: a refusal is a bug or a race the caller must see, so it throws. */
  async command(intentId: string, event: OrderEvent, ctx: RecordContext): Promise<ApplyOutcome> {
    const outcome = await this.applyAndDrain(intentId, () => event, this.meta('command', ctx))
    if (outcome.status === 'rejected') throw outcome.error
    return outcome
  }

  async applyAndDrain(
    intentId: string,
    build: (order: Order) => OrderEvent | null,
    meta: Meta,
    first?: { order: Order; duplicate: boolean },
  ): Promise<ApplyOutcome> {
    const outcome = await this.apply(intentId, build, meta, first)
    if (outcome.status === 'applied') {
      for (const effect of outcome.effects) {
        // Every linked number, cancel requests' included: a KIS cancel refusal notice names the
        // cancel's own number and can overtake the REST answer that tells us that number.
        if (effect.type !== 'link_broker_order') continue
        await this.drainParked(
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
  async apply(
    intentId: string,
    build: (order: Order) => OrderEvent | null,
    meta: Meta,
    first?: { order: Order; duplicate: boolean },
  ): Promise<ApplyOutcome> {
    let current = first
    // Fast path: decide on the cached order; only an "applied" decision is trusted, and only if the
    // version check agrees. Anything else is decided again on a fresh read.
    const cachedOrder = first ? undefined : this.orders.get(intentId)
    if (cachedOrder) {
      const event = build(cachedOrder)
      const result = event && transition(cachedOrder, event)
      if (event && result && !TransitionError.isTransitionError(result) && result.change === 'applied') {
        const written = await this.write(cachedOrder, result.order, event, result.effects, meta, result.note)
        if (written === 'ok') return this.applied(cachedOrder, result.order, event, result.effects, meta)
      }
      this.orders.delete(intentId)
    }
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      if (!current) {
        const row = await this.readWithDup(intentId, meta.eventKey)
        if (!row) throw new OrderNotFoundError(intentId)
        current = row
      }
      const { order, duplicate } = current
      current = undefined
      this.remember(order)
      if (duplicate) {
        if (meta.eventKey) this.notify({ type: 'duplicate', intentId, eventKey: meta.eventKey })
        return { status: 'duplicate', order }
      }
      const event = build(order)
      if (event === null) return { status: 'ignored', order, note: 'nothing to do in this state' }
      const result = transition(order, event)

      if (TransitionError.isTransitionError(result)) {
        await this.audit(
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
        this.notify({ type: 'rejected', order, event, error: result })
        if (result.alarm) {
          this.notify({
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
        await this.audit(
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
        this.notify({ type: 'ignored', order, event, note })
        return { status: 'ignored', order, note }
      }

      const written = await this.write(order, result.order, event, result.effects, meta, result.note)
      if (written === 'conflict') continue
      if (written === 'duplicate') {
        current = undefined
        continue
      }
      return this.applied(order, result.order, event, result.effects, meta)
    }
    throw new ConcurrencyExhaustedError(intentId, this.maxRetries + 1)
  }

  applied(prev: Order, next: Order, event: OrderEvent, effects: OrderEffect[], meta: Meta): ApplyOutcome {
    this.remember(next)
    for (const e of effects) {
      if (e.type === 'link_broker_order') this.rememberRoute(next.intent.account, e.leg, next.intentId)
    }
    this.notify({
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
        this.notify({
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

  async write(
    prev: Order,
    next: Order,
    event: OrderEvent,
    effects: readonly OrderEffect[],
    meta: Meta,
    note: string | null,
  ): Promise<'ok' | 'conflict' | 'duplicate'> {
    const now = this.clock.now()
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
        ON CONFLICT (account, broker_date, broker_order_id, cumulative_quantity) DO UPDATE SET
          quantity = EXCLUDED.quantity, price = EXCLUDED.price, inferred = EXCLUDED.inferred,
          event_seq = EXCLUDED.event_seq, occurred_at = EXCLUDED.occurred_at
      )`
      }${
        meta.unparkKey === null
          ? sql``
          : sql`, un AS (DELETE FROM order_unmatched WHERE event_key = ${meta.unparkKey} AND EXISTS (SELECT 1 FROM upd))`
      }
      SELECT count(*)::int AS n FROM upd`
    try {
      const { rows } = await statement.execute(this.db)
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

  async read(intentId: string): Promise<Order | undefined> {
    const { rows } = await sql<{
      doc: Order
    }>`SELECT doc FROM order_orders WHERE intent_id = ${intentId}`.execute(this.db)
    return rows[0]?.doc
  }

  async readWithDup(
    intentId: string,
    eventKey: string | null,
  ): Promise<{ order: Order; duplicate: boolean } | undefined> {
    if (eventKey === null) {
      const order = await this.read(intentId)
      return order && { order, duplicate: false }
    }
    const { rows } = await sql<{ doc: Order; dup: boolean }>`
      SELECT doc, EXISTS (SELECT 1 FROM order_events WHERE event_key = ${eventKey}) AS dup
      FROM order_orders WHERE intent_id = ${intentId}`.execute(this.db)
    const row = rows[0]
    return row && { order: row.doc, duplicate: row.dup }
  }

  async audit(
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
    await this.db
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
        at: this.clock.now(),
      })
      .execute()
  }
}
