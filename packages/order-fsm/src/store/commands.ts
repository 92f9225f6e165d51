import {
  type BrokerAck,
  type CancelAck,
  type OrderIntent,
  type OrderIntentInput,
  OrderIntentSchema,
  parseOrThrow,
  type ReplaceAck,
  type ReplacePatch,
} from '@vellab/broker-gateway'
import { IntentConflictError, OrderNotFoundError, TransitionError } from '../errors'
import type { OrderEvent } from '../events'
import { fingerprintKey, fingerprintOfIntent } from '../fingerprint'
import { intentDifferences, intentHash } from '../intent-identity'
import { newOrder, type Order } from '../order'
import { transition } from '../transition'
import type { StoreCore } from './core'
import { projectionDoc } from './projection'
import { CREATE_STATEMENT, runHot } from './statements'
import type { ApplyOutcome, EventSource, RecordContext, RequestClaim } from './types'

/** Our own caller's commands: intents, the write-ahead marks and the answers to our requests. */
export class StoreCommands {
  private readonly core: StoreCore

  constructor(core: StoreCore) {
    this.core = core
  }

  async createIntent(input: OrderIntentInput, ctx: RecordContext = {}): Promise<Order> {
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'createIntent' })
    const now = this.core.clock.now()
    const order = newOrder(intent, now)
    const hash = intentHash(intent)
    const actor = ctx.actor ?? this.core.actor
    const reason = ctx.reason ?? null
    const created = await this.#insert(intent, order, hash, now, actor, reason, null)
    if (created) {
      this.core.remember(order)
      return order
    }

    const existing = await this.core.read(intent.intentId)
    if (!existing) throw new OrderNotFoundError(`${intent.intentId} (created and gone?)`)
    if (intentHash(existing.intent) === hash) {
      await this.core.audit(
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
    await this.core.audit(
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
    return this.core.claim(intentId, { type: 'submit_started', at: this.core.clock.now() }, ctx)
  }

  async createIntentAndSubmit(input: OrderIntentInput, ctx: RecordContext = {}): Promise<RequestClaim> {
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'createIntentAndSubmit' })
    const now = this.core.clock.now()
    const created = newOrder(intent, now)
    const event: OrderEvent = { type: 'submit_started', at: now }
    const started = transition(created, event)
    if (TransitionError.isTransitionError(started)) throw started
    const order = started.order
    const actor = ctx.actor ?? this.core.actor
    const reason = ctx.reason ?? null
    // One statement: the projection row already SUBMITTED, and both events of the log.
    const inserted = await this.#insert(intent, order, intentHash(intent), now, actor, reason, {
      reason: reason ?? started.note,
      event,
    })
    if (!inserted) {
      // The intent exists: the two calls decide (replay, conflict, or a claim still open).
      await this.createIntent(input, ctx)
      return this.beginSubmit(intent.intentId, ctx)
    }
    this.core.remember(order)
    this.core.notify({
      type: 'transition',
      order,
      previous: created.state,
      event,
      effects: started.effects,
      source: 'command',
      actor,
    })
    return { proceed: true, order }
  }

  /** `order_fsm_create_v2` (migrations 0002–0006): false when the intent id exists (nothing written). */
  async #insert(
    intent: OrderIntent,
    order: Order,
    hash: string,
    now: number,
    actor: string,
    reason: string | null,
    submit: { reason: string | null; event: OrderEvent } | null,
  ): Promise<boolean> {
    const [fenceKey, fenceEpoch] = this.core.fenceParams()
    try {
      const rows = await runHot<{ created: boolean }>(this.core.db, this.core.pool, CREATE_STATEMENT, [
        intent.intentId,
        intent.account,
        intent.strategyId,
        intent.symbol,
        intent.side,
        order.state,
        order.version,
        fingerprintKey(fingerprintOfIntent(intent)),
        hash,
        order.submittedAt,
        now,
        order.updatedAt,
        JSON.stringify(projectionDoc(order)),
        actor,
        reason,
        JSON.stringify({ type: 'intent_created', at: now, intent }),
        submit?.reason ?? null,
        submit ? JSON.stringify(submit.event) : null,
        fenceKey,
        fenceEpoch,
      ])
      return rows[0]?.created === true
    } catch (error) {
      throw this.core.fencedError(submit ? 'createIntentAndSubmit' : 'createIntent', error, [
        fenceKey,
        fenceEpoch,
      ])
    }
  }

  async recordAck(ack: BrokerAck, ctx: RecordContext = {}): Promise<ApplyOutcome> {
    return this.core.command(
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
      at: this.core.clock.now(),
    }
    return this.core.command(intentId, event, ctx)
  }

  async recordOutcomeUnknown(
    intentId: string,
    unknown: { operation: 'submit' | 'cancel' | 'replace'; reason: string },
    ctx: RecordContext = {},
  ) {
    return this.core.command(
      intentId,
      {
        type: 'outcome_unknown',
        operation: unknown.operation,
        reason: unknown.reason,
        at: this.core.clock.now(),
      },
      { reason: unknown.reason, ...ctx },
    )
  }

  async requestCancel(intentId: string, ctx: RecordContext = {}): Promise<RequestClaim> {
    return this.core.claim(intentId, { type: 'cancel_requested', at: this.core.clock.now() }, ctx)
  }

  async recordCancelAck(intentId: string, ack: CancelAck, ctx: RecordContext = {}) {
    return this.core.command(
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
    return this.core.command(
      intentId,
      { type: 'cancel_rejected', reason: reject.reason, at: this.core.clock.now() },
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
    return this.core.claim(
      intentId,
      { type: 'replace_requested', patch: clean, at: this.core.clock.now() },
      ctx,
    )
  }

  async recordReplaceAck(intentId: string, ack: ReplaceAck, ctx: RecordContext = {}) {
    return this.core.command(
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
    return this.core.command(
      intentId,
      { type: 'replace_rejected', reason: reject.reason, at: this.core.clock.now() },
      ctx,
    )
  }

  async apply(
    intentId: string,
    event: OrderEvent,
    ctx: RecordContext & { source?: EventSource; eventKey?: string } = {},
  ): Promise<ApplyOutcome> {
    return this.core.applyAndDrain(
      intentId,
      () => event,
      this.core.meta(ctx.source ?? 'reconciliation', ctx, ctx.eventKey),
    )
  }
}
