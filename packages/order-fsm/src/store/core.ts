import { type Clock, systemClock } from '@vellab/broker-gateway'
import { type Kysely, sql } from 'kysely'
import type { OrderEffect } from '../effects'
import {
  BrokerIdConflictError,
  ConcurrencyExhaustedError,
  FENCED_SQLSTATE,
  FencedError,
  OrderNotFoundError,
  TransitionError,
} from '../errors'
import type { OrderEvent } from '../events'
import type { BrokerLeg, Order } from '../order'
import type { OrderFsmTables } from '../schema'
import { transition } from '../transition'
import {
  orderOfRow,
  PROJECTION_COLUMNS,
  PROJECTION_FROM,
  type ProjectionRow,
  projectionDoc,
} from './projection'
import { RecentCache } from './recent-cache'
import { runHot, WRITE_STATEMENT } from './statements'
import type {
  ApplyOutcome,
  AuditEntry,
  EventSource,
  OrderStoreNotice,
  OrderStoreOptions,
  PgQueryable,
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
const NO_LINKS = [null, null, null, null] as const
const NO_FILLS = [null, null, null, null, null, null, null] as const

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
  readonly fence: (() => { key: string; epoch: number }) | undefined
  readonly pool: PgQueryable | undefined
  // Last known version of recently touched orders, and broker-number routes (which never change
  // once linked): at least the `cacheSize` (routes: 4 × `cacheSize`) most recently used, at most twice.
  readonly orders: RecentCache<string, Order>
  readonly routes: RecentCache<string, { intentId: string; role: BrokerLeg['role'] }>
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
    this.orders = new RecentCache(this.cacheSize)
    this.routes = new RecentCache(this.cacheSize * 4)
    this.fence = options.fence
    this.pool = options.pool
  }

  /** The fence of the next write (`[key, epoch]`, or nulls when unfenced). */
  fenceParams(): [string | null, number | null] {
    const f = this.fence?.()
    return f ? [f.key, f.epoch] : [null, null]
  }

  /** A refused fenced write (under `fence`, the `[key, epoch]` it carried) as the typed error. */
  fencedError(operation: string, error: unknown, [key, epoch]: [string | null, number | null]): unknown {
    const code = (error as { code?: unknown } | null)?.code
    if (code !== FENCED_SQLSTATE || key === null || epoch === null) return error
    return new FencedError(operation, { key, epoch }, error)
  }

  remember(order: Order): void {
    this.orders.set(order.intentId, order)
  }

  rememberRoute(
    account: string,
    leg: Pick<BrokerLeg, 'brokerDate' | 'brokerOrderId' | 'role'>,
    intentId: string,
  ) {
    this.routes.set(`${account}|${leg.brokerDate}|${leg.brokerOrderId}`, { intentId, role: leg.role })
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
    const written = { parked: false }
    const outcome = await this.apply(intentId, build, meta, first, written)
    // The write says whether anything is parked under a number it linked (checked under the
    // number's lock; see order_fsm_park): the common ack pays no extra round-trip.
    if (outcome.status === 'applied' && written.parked) {
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
    written: { parked: boolean } = { parked: false },
  ): Promise<ApplyOutcome> {
    let current = first
    // Fast path: decide on the cached order; only an "applied" decision is trusted, and only if the
    // version check agrees. Anything else is decided again on a fresh read.
    const cachedOrder = first ? undefined : this.orders.get(intentId)
    if (cachedOrder) {
      const event = build(cachedOrder)
      const result = event && transition(cachedOrder, event)
      if (event && result && !TransitionError.isTransitionError(result) && result.change === 'applied') {
        const w = await this.write(cachedOrder, result.order, event, result.effects, meta, result.note)
        if (w === 'ok' || w === 'parked') {
          written.parked = w === 'parked'
          return this.applied(cachedOrder, result.order, event, result.effects, meta)
        }
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

      const w = await this.write(order, result.order, event, result.effects, meta, result.note)
      if (w === 'conflict') continue
      if (w === 'duplicate') {
        current = undefined
        continue
      }
      written.parked = w === 'parked'
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

  /**
   * Write one decided transition: one call of `order_fsm_write_v2` (migrations 0002–0006), one commit.
   * The row's `doc` is the narrow projection (see `projectionDoc`).
   * `parked` when events wait under a number this transition linked (the caller drains them).
   */
  async write(
    prev: Order,
    next: Order,
    event: OrderEvent,
    effects: readonly OrderEffect[],
    meta: Meta,
    note: string | null,
  ): Promise<'ok' | 'parked' | 'conflict' | 'duplicate'> {
    const now = this.clock.now()
    const links = effects
      .flatMap((e) => (e.type === 'link_broker_order' ? [e.leg] : []))
      .sort((x, y) =>
        x.brokerDate === y.brokerDate
          ? x.brokerOrderId.localeCompare(y.brokerOrderId)
          : x.brokerDate.localeCompare(y.brokerDate),
      )
    const fills = effects.flatMap((e) => (e.type === 'record_fill' ? [e] : []))
    const [fenceKey, fenceEpoch] = this.fenceParams()
    try {
      const rows = await runHot<{ r: number }>(this.db, this.pool, WRITE_STATEMENT, [
        next.intentId,
        prev.version,
        next.state,
        next.version,
        JSON.stringify(projectionDoc(next)),
        next.brokerOrderId,
        next.submittedAt,
        next.updatedAt,
        event.type,
        meta.eventKey,
        meta.source,
        meta.actor,
        meta.reason ?? note,
        JSON.stringify(event),
        event.at,
        now,
        next.intent.account,
        // No links or no fills: NULL arrays (the function loops over `coalesce(cardinality(…), 0)`),
        // which the server binds for less than an empty array's text.
        ...(links.length === 0
          ? NO_LINKS
          : [
              links.map((l) => l.brokerDate),
              links.map((l) => l.brokerOrderId),
              links.map((l) => l.role),
              links.map((l) => l.predecessorId),
            ]),
        ...(fills.length === 0
          ? NO_FILLS
          : [
              fills.map((f) => f.brokerDate),
              fills.map((f) => f.brokerOrderId),
              fills.map((f) => f.cumulativeQuantity),
              fills.map((f) => f.quantity),
              fills.map((f) => f.price),
              fills.map((f) => f.inferred),
              fills.map((f) => f.at),
            ]),
        meta.unparkKey,
        fenceKey,
        fenceEpoch,
      ])
      const r = rows[0]?.r
      return r === 1 ? 'ok' : r === 2 ? 'parked' : 'conflict'
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
      throw this.fencedError(event.type, error, [fenceKey, fenceEpoch])
    }
  }

  async read(intentId: string): Promise<Order | undefined> {
    const { rows } = await sql<ProjectionRow>`
      SELECT ${PROJECTION_COLUMNS} FROM ${PROJECTION_FROM} WHERE o.intent_id = ${intentId}`.execute(this.db)
    return rows[0] && orderOfRow(rows[0])
  }

  async readWithDup(
    intentId: string,
    eventKey: string | null,
  ): Promise<{ order: Order; duplicate: boolean } | undefined> {
    if (eventKey === null) {
      const order = await this.read(intentId)
      return order && { order, duplicate: false }
    }
    const { rows } = await sql<ProjectionRow & { dup: boolean }>`
      SELECT ${PROJECTION_COLUMNS}, EXISTS (SELECT 1 FROM order_events WHERE event_key = ${eventKey}) AS dup
      FROM ${PROJECTION_FROM} WHERE o.intent_id = ${intentId}`.execute(this.db)
    const row = rows[0]
    return row && { order: orderOfRow(row), duplicate: row.dup }
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
