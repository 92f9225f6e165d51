import type { OrderEffect } from './effects'
import { TransitionError, type TransitionErrorCode } from './errors'
import type { OrderEvent } from './events'
import { kstDate } from './kst'
import type { BrokerLeg, Order } from './order'
import { isTerminal, type OrderState } from './states'
import { ruleFor, type TransitionRule } from './transition-table'

/** A transition `transition` accepted (`applied`), or absorbed without changing anything (`ignored`). */
export interface Transitioned {
  /** The new order; for `ignored`, the same object that was passed in. */
  order: Order
  effects: OrderEffect[]
  change: 'applied' | 'ignored'
  /** Why the table chose this cell (from its note), or why it was ignored. */
  note: string | null
}

/** What `transition` returns: the next order and its effects, or the reason the event was refused. */
export type TransitionResult = Transitioned | TransitionError

/**
 * Decide one event against one order: pure, synchronous, no I/O. Looks the (state, event) cell up
 * in {@link TRANSITION_TABLE}, runs the event's guards, and returns the next order with the effects
 * someone must carry out, or a `TransitionError` (the order is then unchanged).
 *
 * @example
 * ```ts
 * const r = transition(order, { type: 'fill', brokerOrderId: '0000006555', cumulativeQuantity: 4,
 *   fillQuantity: 4, fillPrice: 71_000, at: Date.now() })
 * if (TransitionError.isTransitionError(r)) alarm(r) else save(r.order)
 * ```
 */
export function transition(order: Order, event: OrderEvent): TransitionResult {
  const rule = ruleFor(order.state, event.type)
  const fail = (code: TransitionErrorCode, message: string, alarm = false) =>
    new TransitionError(
      code,
      { intentId: order.intentId, state: order.state, eventType: event.type, alarm },
      message,
    )
  const ignored = (note: string): Transitioned => ({ order, effects: [], change: 'ignored', note })
  const applied = (patch: Partial<Order>, effects: OrderEffect[] = []): Transitioned => ({
    order: { ...order, ...patch, version: order.version + 1, updatedAt: Math.max(order.updatedAt, event.at) },
    effects,
    change: 'applied',
    note: 'note' in rule && rule.note !== undefined ? rule.note : null,
  })
  const illegal = () =>
    fail('illegal_transition', 'note' in rule && rule.note ? rule.note : 'no such edge in the table')
  const next = (): OrderState => targetOf(rule, order)

  switch (event.type) {
    case 'submit_started': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      return applied({ state: next(), submittedAt: event.at }, [
        { type: 'send_request', request: 'place_order' },
      ])
    }

    case 'acked':
    case 'reconcile_matched': {
      if (rule.kind === 'illegal') return illegal()
      const known = order.legs.some((l) => l.brokerOrderId === event.brokerOrderId && l.role !== 'cancel')
      const linked = order.legs.length > 0
      if (linked && !known) {
        return isTerminal(order.state)
          ? fail(
              'ack_after_terminal',
              `broker order ${event.brokerOrderId} is not one of this closed order's`,
              true,
            )
          : fail(
              'broker_id_conflict',
              `broker order ${event.brokerOrderId} differs from ${order.brokerOrderId}`,
              true,
            )
      }
      if (!linked && isTerminal(order.state)) {
        return fail(
          'ack_after_terminal',
          `the order closed without a broker number, now ${event.brokerOrderId}`,
          true,
        )
      }
      if (rule.kind === 'ignore') return ignored(rule.note)
      // RECONCILE_REQUIRED with a number already linked (a cancel or replace went unknown): a repeated
      // ack proves nothing new, but reconciliation's "still working" verdict does.
      if (linked && event.type === 'acked') return ignored('repeated ack: the order is already linked')
      if (linked) return applied({ state: next(), unresolved: null, pending: null })
      const brokerDate =
        event.type === 'reconcile_matched' && order.submittedAt !== null
          ? kstDate(order.submittedAt)
          : kstDate(event.at)
      const leg: BrokerLeg = {
        brokerOrderId: event.brokerOrderId,
        role: 'order',
        brokerDate,
        predecessorId: null,
        filledQuantity: 0,
      }
      return applied({ state: next(), brokerOrderId: event.brokerOrderId, legs: [leg], unresolved: null }, [
        { type: 'link_broker_order', leg },
      ])
    }

    case 'rejected': {
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (order.filledQuantity > 0) {
        return fail('reject_after_fill', `${order.filledQuantity} shares are already filled`, true)
      }
      if (rule.kind === 'illegal') return illegal()
      const reason = event.code ? `${event.reason} [${event.code}]` : event.reason
      return applied({ state: next(), rejectReason: reason, pending: null, unresolved: null })
    }

    case 'fill': {
      if (rule.kind === 'illegal') return illegal()
      if (!Number.isSafeInteger(event.cumulativeQuantity) || event.cumulativeQuantity <= 0) {
        return fail(
          'invalid_event',
          `cumulativeQuantity ${event.cumulativeQuantity} is not a positive integer`,
        )
      }
      const leg = order.legs.find((l) => l.brokerOrderId === event.brokerOrderId && l.role !== 'cancel')
      if (!leg) return fail('unknown_broker_order', `no fillable broker order ${event.brokerOrderId}`, true)
      if (event.cumulativeQuantity <= leg.filledQuantity) {
        return ignored(`fill level ${event.cumulativeQuantity} already applied (at ${leg.filledQuantity})`)
      }
      const delta = event.cumulativeQuantity - leg.filledQuantity
      const filled = order.filledQuantity + delta
      // A sized replacement was placed for what remained under the older numbers *at the broker*.
      // A fill under an older number that is reported only now executed before that replace (a
      // replaced number never fills again), so it was not in the replacement's size: the order
      // grows by it, up to the intent's size (a replace only ever shrinks). Such a fill is a late
      // report of the past, so it is applied even after the order closed (with a warning).
      const anchor = order.legs.findLastIndex((l) => l.quantity !== undefined)
      const beforeReplace = anchor > order.legs.indexOf(leg)
      const quantity = beforeReplace ? order.quantity + delta : order.quantity
      const closed = rule.kind !== 'fill'
      if (closed && !beforeReplace) {
        return order.state === 'FILLED'
          ? fail('overfill', `+${delta} on a FILLED order of ${order.quantity}`, true)
          : fail('fill_after_terminal', `+${delta} shares on a ${order.state} order`, true)
      }
      if (filled > quantity || quantity > order.intent.quantity) {
        return fail(
          'overfill',
          `+${delta} would fill ${filled} of ${Math.min(quantity, order.intent.quantity)}`,
          true,
        )
      }
      const complete = filled === quantity
      const state: OrderState = closed
        ? order.state
        : complete
          ? 'FILLED'
          : rule.partial === 'stay'
            ? order.state
            : 'PARTIAL_FILLED'
      const effects: OrderEffect[] = [
        {
          type: 'record_fill',
          brokerOrderId: leg.brokerOrderId,
          brokerDate: leg.brokerDate,
          cumulativeQuantity: event.cumulativeQuantity,
          quantity: delta,
          price: event.fillPrice,
          inferred: delta !== event.fillQuantity,
          at: event.at,
        },
      ]
      if (order.state === 'CANCELED') {
        effects.push({
          type: 'alarm',
          code: 'late_fill_after_cancel',
          severity: 'warning',
          message: `order ${order.intentId}: ${delta} shares filled after the cancel was confirmed`,
        })
      } else if (closed) {
        effects.push({
          type: 'alarm',
          code: 'late_fill_before_replace',
          severity: 'warning',
          message: `order ${order.intentId}: ${delta} shares under ${leg.brokerOrderId}, replaced before the order closed as ${order.state}, reported late`,
        })
      }
      return applied(
        {
          state,
          quantity,
          filledQuantity: filled,
          filledNotional: order.filledNotional + delta * event.fillPrice,
          legs: order.legs.map((l) => (l === leg ? { ...l, filledQuantity: event.cumulativeQuantity } : l)),
          ...(complete ? { pending: null, unresolved: null } : {}),
        },
        effects,
      )
    }

    case 'cancel_requested': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (order.state === 'INTENT_CREATED') return applied({ state: next() })
      return applied(
        {
          state: next(),
          pending: { kind: 'cancel', requestedAt: event.at, acked: false, requestId: null, patch: null },
        },
        [{ type: 'send_request', request: 'cancel_order' }],
      )
    }

    case 'cancel_acked': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      const id = event.cancelRequestId
      const isNew = id !== undefined && !order.legs.some((l) => l.brokerOrderId === id)
      const alreadyAcked = order.pending?.kind === 'cancel' && order.pending.acked
      if (!isNew && alreadyAcked) return ignored('repeated cancel ack')
      const leg: BrokerLeg | null = isNew
        ? {
            brokerOrderId: id,
            role: 'cancel',
            brokerDate: kstDate(event.at),
            predecessorId: order.brokerOrderId,
            filledQuantity: 0,
          }
        : null
      return applied(
        {
          ...(leg ? { legs: [...order.legs, leg] } : {}),
          ...(order.pending?.kind === 'cancel'
            ? { pending: { ...order.pending, acked: true, requestId: id ?? order.pending.requestId } }
            : {}),
        },
        leg ? [{ type: 'link_broker_order', leg }] : [],
      )
    }

    case 'cancel_rejected':
    case 'replace_rejected': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (rule.kind === 'stay') return applied({})
      if (event.type === 'cancel_rejected' && event.cancelRequestId !== undefined) {
        const current = order.pending?.kind === 'cancel' ? order.pending.requestId : null
        if (current !== event.cancelRequestId) {
          return ignored(
            `refusal of cancel request ${event.cancelRequestId}, not of the one in flight (${current ?? 'not acked yet'})`,
          )
        }
      }
      return applied({ state: next(), pending: null })
    }

    case 'canceled':
    case 'expired': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      return applied({ state: next(), pending: null, unresolved: null })
    }

    case 'replace_requested': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      const { limitPrice, quantity } = event.patch
      if (limitPrice === undefined && quantity === undefined) {
        return fail('invalid_event', 'a replace needs a new limitPrice or a new quantity')
      }
      if (limitPrice !== undefined && (!Number.isSafeInteger(limitPrice) || limitPrice <= 0)) {
        return fail('invalid_event', `limitPrice ${limitPrice} is not a positive integer`)
      }
      const remaining = order.quantity - order.filledQuantity
      if (
        quantity !== undefined &&
        (!Number.isSafeInteger(quantity) || quantity <= 0 || quantity > remaining)
      ) {
        return fail(
          'invalid_event',
          `a replace can only shrink the remaining ${remaining} shares, not set ${quantity}`,
        )
      }
      return applied(
        {
          state: next(),
          pending: {
            kind: 'replace',
            requestedAt: event.at,
            acked: false,
            requestId: null,
            patch: { ...event.patch },
          },
        },
        [{ type: 'send_request', request: 'replace_order' }],
      )
    }

    case 'replace_acked': {
      if (rule.kind === 'illegal') return illegal()
      if (order.legs.some((l) => l.brokerOrderId === event.newBrokerOrderId)) {
        return ignored(`replacement ${event.newBrokerOrderId} already linked`)
      }
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (!order.legs.some((l) => l.brokerOrderId === event.brokerOrderId && l.role !== 'cancel')) {
        return fail(
          'unknown_broker_order',
          `the replaced order ${event.brokerOrderId} is not this order's`,
          true,
        )
      }
      const patch = order.pending?.kind === 'replace' ? order.pending.patch : null
      const newLegQuantity = event.quantity ?? patch?.quantity
      // The replacement carries what remained; fills under older numbers keep counting.
      const quantity = newLegQuantity === undefined ? order.quantity : order.filledQuantity + newLegQuantity
      if (quantity > order.quantity) {
        return fail(
          'invalid_event',
          `a replace cannot grow the order from ${order.quantity} to ${quantity}`,
          true,
        )
      }
      const leg: BrokerLeg = {
        brokerOrderId: event.newBrokerOrderId,
        role: 'replacement',
        brokerDate: kstDate(event.at),
        predecessorId: event.brokerOrderId,
        filledQuantity: 0,
        ...(newLegQuantity === undefined ? {} : { quantity: newLegQuantity }),
      }
      const keepState = rule.kind === 'stay'
      const complete = order.filledQuantity === quantity
      return applied(
        {
          state: complete ? 'FILLED' : keepState ? order.state : next(),
          quantity,
          limitPrice: event.limitPrice ?? patch?.limitPrice ?? order.limitPrice,
          brokerOrderId: event.newBrokerOrderId,
          legs: [...order.legs, leg],
          ...(keepState && !complete ? {} : { pending: null }),
        },
        [{ type: 'link_broker_order', leg }],
      )
    }

    case 'outcome_unknown': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      const inFlight = IN_FLIGHT_OPERATION[order.state]
      if (inFlight !== event.operation) {
        return fail(
          'operation_mismatch',
          `no ${event.operation} is in flight (in flight: ${inFlight ?? 'nothing'})`,
        )
      }
      return applied(
        {
          state: next(),
          pending: null,
          unresolved: { operation: event.operation, reason: event.reason, since: event.at },
        },
        [{ type: 'request_reconciliation', reason: `${event.operation} outcome unknown: ${event.reason}` }],
      )
    }

    case 'reconcile_not_found': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (order.legs.length > 0 || order.filledQuantity > 0) {
        return fail(
          'invalid_event',
          `the order has broker number ${order.brokerOrderId}: apply the broker's final event instead`,
        )
      }
      return applied({
        state: next(),
        rejectReason: `not found at the broker: ${event.reason}`,
        unresolved: null,
      })
    }

    case 'reconcile_ambiguous': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      return applied({})
    }

    case 'reconcile_flagged': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      return applied(
        {
          state: next(),
          pending: null,
          unresolved: { operation: 'flagged', reason: event.reason, since: event.at },
        },
        [{ type: 'request_reconciliation', reason: event.reason }],
      )
    }
  }
}

/** Which request an outcome-unknown can be about, per state. */
const IN_FLIGHT_OPERATION: Partial<Record<OrderState, 'submit' | 'cancel' | 'replace'>> = {
  SUBMITTED: 'submit',
  CANCEL_PENDING: 'cancel',
  REPLACE_PENDING: 'replace',
}

function targetOf(rule: TransitionRule, order: Order): OrderState {
  switch (rule.kind) {
    case 'to':
      return rule.to
    case 'working':
      return order.filledQuantity > 0 ? 'PARTIAL_FILLED' : 'ACKED'
    default:
      return order.state
  }
}
