import { kstDate } from '@vellab/broker-gateway'
import type { OrderEffect } from './effects'
import { TransitionError, type TransitionErrorCode } from './errors'
import type { Canceled, Expired, OrderEvent } from './events'
import {
  type BrokerLeg,
  currentLeg,
  type FillGap,
  isSuperseded,
  type LegReduction,
  type Order,
  type PendingRequest,
  replaceUnanswered,
} from './order'
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
      if (leg.refused !== undefined) {
        return fail(
          'invalid_event',
          `a fill under ${leg.brokerOrderId}, a replace the exchange refused (${leg.refused})`,
          true,
        )
      }
      if (event.cumulativeQuantity <= leg.filledQuantity) {
        // A lower level after a higher one: the share count is already applied, but when the level
        // lies in a gap the higher report could only infer, this is the gap's own report and it
        // brings the gap's real price.
        const gap = (leg.fillGaps ?? []).find(
          (g) => g.from < event.cumulativeQuantity && event.cumulativeQuantity <= g.to,
        )
        if (!gap) {
          return ignored(`fill level ${event.cumulativeQuantity} already applied (at ${leg.filledQuantity})`)
        }
        return repriceGap(order, leg, gap, event, applied)
      }
      const delta = event.cumulativeQuantity - leg.filledQuantity
      const filled = order.filledQuantity + delta
      // A sized replacement was placed for what remained under the older numbers *at the broker*.
      // A fill under an older number that is reported only now executed before that replace (a
      // replaced number never fills again), so it was not in the replacement's size: the order
      // grows by it, up to the intent's size (a replace only ever shrinks). Such a fill is a late
      // report of the past, so it is applied even after the order closed (with a warning).
      const anchor = order.legs.findLastIndex((l) => l.quantity !== undefined && l.refused === undefined)
      const beforeReplace = anchor > order.legs.indexOf(leg)
      const quantity = beforeReplace ? order.quantity + delta : order.quantity
      if (beforeReplace && quantity > order.intent.quantity) {
        // More filled under the old number than the sized replace could have left there: the
        // modify cannot have taken its shares, so the exchange refused it (or will); its refusal
        // notice may come later. Decide the fill on the terms the order really has.
        const restored = impliedRefusal(order, leg, event.cumulativeQuantity)
        if (restored) {
          const r = transition(restored, event)
          if (TransitionError.isTransitionError(r)) return r
          return {
            ...r,
            effects: [
              {
                type: 'alarm',
                code: 'replace_refused_by_fill',
                severity: 'warning',
                message: `order ${order.intentId}: ${event.cumulativeQuantity} shares filled under ${leg.brokerOrderId}, more than the replace by ${order.brokerOrderId} left there: that replace never took effect`,
              },
              ...r.effects,
            ],
          }
        }
      }
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
      // The report covers (level - its own shares, level]; anything below that and above what was
      // applied is a gap whose own report has not arrived yet: recorded at this price until it does.
      const gapTo = event.cumulativeQuantity - event.fillQuantity
      const gap: FillGap | null =
        event.fillQuantity > 0 && gapTo > leg.filledQuantity
          ? { from: leg.filledQuantity, to: gapTo, price: event.fillPrice }
          : null
      const fillRow = (cumulativeQuantity: number, quantity: number, price: number, inferred: boolean) =>
        ({
          type: 'record_fill',
          brokerOrderId: leg.brokerOrderId,
          brokerDate: leg.brokerDate,
          cumulativeQuantity,
          quantity,
          price,
          inferred,
          at: event.at,
        }) as const
      const effects: OrderEffect[] = gap
        ? [
            fillRow(gap.to, gap.to - gap.from, gap.price, true),
            fillRow(event.cumulativeQuantity, event.fillQuantity, event.fillPrice, false),
          ]
        : [fillRow(event.cumulativeQuantity, delta, event.fillPrice, delta !== event.fillQuantity)]
      if (order.state === 'CANCELED' || order.state === 'EXPIRED') {
        const what = order.state === 'CANCELED' ? 'cancel' : 'expiry'
        effects.push({
          type: 'alarm',
          code: `late_fill_after_${what}`,
          severity: 'warning',
          message: `order ${order.intentId}: ${delta} shares filled after the ${what} was confirmed`,
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
          legs: order.legs.map((l) =>
            l === leg
              ? {
                  ...l,
                  filledQuantity: event.cumulativeQuantity,
                  ...(gap ? { fillGaps: [...(l.fillGaps ?? []), gap] } : {}),
                }
              : l,
          ),
          ...(complete ? { pending: null, unresolved: null } : {}),
        },
        effects,
      )
    }

    case 'cancel_requested': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (order.state === 'INTENT_CREATED') return applied({ state: next() })
      // A cancel may overtake an unanswered replace: remember it, since until it is answered part
      // of the order may already work under the replacement's new number.
      const overtaken = order.pending?.kind === 'replace' ? order.pending.patch : null
      return applied(
        {
          state: next(),
          pending: {
            kind: 'cancel',
            requestedAt: event.at,
            acked: false,
            requestId: null,
            patch: null,
            ...(overtaken ? { overtakenReplace: { ...overtaken } } : {}),
          },
        },
        [{ type: 'send_request', request: 'cancel_order' }],
      )
    }

    case 'cancel_acked': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      const id = event.cancelRequestId
      const isNew = id !== undefined && !order.legs.some((l) => l.brokerOrderId === id)
      if (isTerminal(order.state)) {
        // The order closed first (usually a fill beat the cancel): the cancel's number is still
        // linked, so that its refusal notice (KIS's usual answer then) routes here and is absorbed
        // instead of waiting parked forever, exactly as when the fill arrives after the refusal.
        if (!isNew) return ignored('absorbed: the cancel number is already linked')
        const cancelLeg: BrokerLeg = {
          brokerOrderId: id,
          role: 'cancel',
          brokerDate: kstDate(event.at),
          predecessorId: order.brokerOrderId,
          filledQuantity: 0,
        }
        return applied({ legs: [...order.legs, cancelLeg] }, [{ type: 'link_broker_order', leg: cancelLeg }])
      }
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
      if (event.type === 'replace_rejected' && order.state === 'CANCEL_PENDING') {
        // Only the refusal of the replace this cancel overtook means something here.
        const pending = order.pending
        if (pending?.overtakenReplace === undefined)
          return ignored('stale answer to a replace already resolved')
        const { overtakenReplace: _refused, ...rest } = pending
        return applied({ pending: rest })
      }
      if (rule.kind === 'stay') return applied({})
      if (event.type === 'cancel_rejected' && event.cancelRequestId !== undefined) {
        const current = order.pending?.kind === 'cancel' ? order.pending.requestId : null
        if (current !== event.cancelRequestId) {
          return ignored(
            `refusal of cancel request ${event.cancelRequestId}, not of the one in flight (${current ?? 'not acked yet'})`,
          )
        }
      }
      // A refused cancel that had overtaken a replace: that replace is still unanswered.
      const overtaken = event.type === 'cancel_rejected' ? order.pending?.overtakenReplace : undefined
      if (overtaken !== undefined) {
        return applied({
          state: 'REPLACE_PENDING',
          pending: {
            kind: 'replace',
            requestedAt: event.at,
            acked: false,
            requestId: null,
            patch: overtaken,
          },
        })
      }
      return applied({ state: next(), pending: null })
    }

    case 'canceled':
    case 'expired': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (rule.kind !== 'end') return illegal()
      // A closed order without a number (canceled before it was sent) has nothing a report can end.
      if (isTerminal(order.state) && order.legs.length === 0) return ignored('absorbed')
      return endLeg(order, event, rule, { applied, ignored, fail })
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
      const linked = order.legs.find((l) => l.brokerOrderId === event.newBrokerOrderId)
      if (linked) {
        const sized = sizeLinkedReplacement(order, linked, event)
        if (sized) return applied(sized)
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
      const patch =
        order.pending?.kind === 'replace' ? order.pending.patch : (order.pending?.overtakenReplace ?? null)
      const newLegQuantity = event.quantity ?? patch?.quantity
      // The replacement carries what remained; fills under older numbers keep counting.
      const quantity = newLegQuantity === undefined ? order.quantity : order.filledQuantity + newLegQuantity
      // A modify of more shares than were left (fills got there first: KIS answers a modify with
      // its number before the exchange decides, broker-kis README "Modify/cancel outcomes"), or of
      // a closed order, cannot have taken effect: the exchange refuses it. Link its number as
      // refused, so its notices route here, and keep the order's terms.
      // Only for a receipt sized by our own patch (the REST answer): a broker's confirmation states
      // the quantity it moved, and contradicting the books with it is an alarm, not a refusal.
      const receipt = event.quantity === undefined
      const closed = isTerminal(order.state)
      if (closed && !receipt) return ignored('absorbed: a replace confirmed after the order closed')
      const impossible = closed || (receipt && quantity > order.quantity)
      if (quantity > order.quantity && !impossible) {
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
        // Kept so that a refusal by the exchange (`replace_refused`) can restore them.
        replaced: {
          quantity: order.quantity,
          limitPrice: order.limitPrice,
          legFills: order.legs.map((l) => l.filledQuantity),
          predecessorReductions:
            order.legs.find((l) => l.brokerOrderId === event.brokerOrderId && l.role !== 'cancel')?.reductions
              ?.length ?? 0,
        },
      }
      if (impossible) {
        const why = closed
          ? `the order was already ${order.state}`
          : `${order.filledQuantity} of ${order.quantity} were filled, more than a replace for ${newLegQuantity} leaves`
        const refusedLeg: BrokerLeg = { ...leg, refused: `implied: ${why}` }
        const keep = rule.kind !== 'working'
        return applied(
          {
            ...(keep ? {} : { state: next(), pending: null }),
            ...(rule.kind === 'stay' ? { pending: answered(order.pending) } : {}),
            legs: [...order.legs, refusedLeg],
          },
          [
            { type: 'link_broker_order', leg: refusedLeg },
            {
              type: 'alarm',
              code: 'replace_refused_by_fill',
              severity: 'warning',
              message: `order ${order.intentId}: the replace by ${event.newBrokerOrderId} cannot have taken effect (${why}); the order keeps ${order.brokerOrderId}`,
            },
          ],
        )
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
          ...(keepState && !complete ? { pending: answered(order.pending) } : { pending: null }),
          ...(order.unresolved?.operation === 'replace' && !complete
            ? { unresolved: { ...order.unresolved, replaceLinked: true } }
            : {}),
        },
        [{ type: 'link_broker_order', leg }],
      )
    }

    case 'replace_refused': {
      if (rule.kind === 'illegal') return illegal()
      if (rule.kind === 'ignore') return ignored(rule.note)
      if (rule.kind !== 'revert') return illegal()
      const reason = event.code ? `${event.reason} [${event.code}]` : event.reason
      const r = refuseReplacement(order, event.brokerOrderId, reason)
      if (r.kind === 'ignored') return ignored(r.note)
      if (r.kind === 'error') return fail(r.code, r.message, true)
      const o = r.order
      const terminal = isTerminal(order.state)
      const state: OrderState = terminal
        ? order.state
        : o.filledQuantity >= o.quantity
          ? 'FILLED'
          : r.ended === 'canceled'
            ? 'CANCELED'
            : r.ended === 'expired'
              ? 'EXPIRED'
              : rule.then === 'working'
                ? targetOf({ kind: 'working' }, o)
                : order.state
      const effects: OrderEffect[] = [
        {
          type: 'alarm',
          code: 'replace_refused',
          severity: 'warning',
          message: r.restored
            ? `order ${order.intentId}: the replace by ${event.brokerOrderId} was refused (${reason}); the order works under ${o.brokerOrderId} again`
            : `order ${order.intentId}: the replace by ${event.brokerOrderId} was refused (${reason}); it had been replaced already`,
        },
      ]
      if (order.state === 'FILLED' && o.quantity > o.filledQuantity) {
        effects.push({
          type: 'alarm',
          code: 'replace_refused_after_fill',
          severity: 'critical',
          message: `order ${order.intentId}: FILLED at ${o.filledQuantity}, but on the restored terms of ${o.brokerOrderId} ${o.quantity - o.filledQuantity} shares may still work`,
        })
      }
      const closes = !terminal && isTerminal(state)
      return applied(
        {
          state,
          quantity: o.quantity,
          limitPrice: o.limitPrice,
          brokerOrderId: o.brokerOrderId,
          legs: o.legs,
          ...(closes ? { pending: null, unresolved: null } : {}),
        },
        effects,
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

/**
 * The own report of (part of) a fill gap under `leg`: its shares leave the gap at their real price,
 * what is left of the gap on either side stays inferred at the gap's price. Share counts, state and
 * quantity do not change; the notional does, by the price difference.
 */
function repriceGap(
  order: Order,
  leg: BrokerLeg,
  gap: FillGap,
  event: Extract<OrderEvent, { type: 'fill' }>,
  applied: Outcomes['applied'],
): Transitioned {
  const top = event.cumulativeQuantity
  const bottom = Math.max(gap.from, top - event.fillQuantity)
  const shares = top - bottom
  const row = (cumulativeQuantity: number, quantity: number, price: number, inferred: boolean) =>
    ({
      type: 'record_fill',
      brokerOrderId: leg.brokerOrderId,
      brokerDate: leg.brokerDate,
      cumulativeQuantity,
      quantity,
      price,
      inferred,
      at: event.at,
    }) as const
  // Rows are keyed by their top level; the gap's row sits at gap.to and is rewritten in place.
  const effects: OrderEffect[] = [row(top, shares, event.fillPrice, shares !== event.fillQuantity)]
  const rest: FillGap[] = []
  if (bottom > gap.from) {
    rest.push({ from: gap.from, to: bottom, price: gap.price })
    effects.push(row(bottom, bottom - gap.from, gap.price, true))
  }
  if (top < gap.to) {
    rest.push({ from: top, to: gap.to, price: gap.price })
    effects.push(row(gap.to, gap.to - top, gap.price, true))
  }
  const gaps = (leg.fillGaps ?? []).flatMap((g) => (g === gap ? rest : [g]))
  return applied(
    {
      filledNotional: order.filledNotional + shares * (event.fillPrice - gap.price),
      legs: order.legs.map((l) => {
        if (l !== leg) return l
        const { fillGaps: _old, ...plain } = l
        return gaps.length > 0 ? { ...plain, fillGaps: gaps } : plain
      }),
    },
    effects,
  )
}

type EndRule = Extract<TransitionRule, { kind: 'end' }>

interface Outcomes {
  applied: (patch: Partial<Order>, effects?: OrderEffect[]) => Transitioned
  ignored: (note: string) => Transitioned
  fail: (code: TransitionErrorCode, message: string, alarm?: boolean) => TransitionError
}

/**
 * A `canceled` or `expired` report: decide by the number it came under and the shares it names
 * (the `end` rule of the table). The order closes only when nothing it has is left working.
 */
function endLeg(order: Order, event: Canceled | Expired, rule: EndRule, out: Outcomes): TransitionResult {
  const reported = event.type === 'canceled' ? event.canceledQuantity : event.expiredQuantity
  if (reported !== undefined && (!Number.isSafeInteger(reported) || reported < 0)) {
    return out.fail('invalid_event', `${event.type} quantity ${reported} is not a non-negative integer`)
  }
  const close = { state: rule.to, pending: null, unresolved: null } as const
  // No number linked (RECONCILE_REQUIRED before any ack): the broker's word about the order is the evidence.
  if (order.legs.length === 0) return out.applied(close)

  let leg =
    event.brokerOrderId === undefined
      ? currentLeg(order)
      : order.legs.find((l) => l.brokerOrderId === event.brokerOrderId)
  // Reported under a cancel request's own number: it is about the number that request canceled.
  if (leg?.role === 'cancel') {
    const target = leg.predecessorId
    leg = order.legs.find((l) => l.brokerOrderId === target && l.role !== 'cancel')
  }
  if (!leg) {
    return out.fail(
      'unknown_broker_order',
      `no broker order ${event.brokerOrderId ?? order.brokerOrderId} to ${event.type === 'canceled' ? 'cancel' : 'expire'}`,
      true,
    )
  }
  const id = leg.brokerOrderId
  if (leg.refused !== undefined) {
    return out.fail(
      'invalid_event',
      `${id} is a replace the exchange refused (${leg.refused}); nothing of it can be ${event.type}`,
      true,
    )
  }
  const fact: LegReduction = {
    type: event.type,
    quantity: reported ?? null,
    ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
    at: event.at,
  }
  // A report is identified by its own id: two cancels of one share under one number are two facts.
  // Only a report without an id falls back to "same type and size" (e.g. a reconciliation verdict).
  const repeat = (leg.reductions ?? []).some((r) =>
    fact.eventId !== undefined
      ? r.eventId === fact.eventId
      : r.type === fact.type && r.quantity === fact.quantity,
  )
  if (repeat) return out.ignored(`${event.type} of ${fact.quantity ?? 'all'} under ${id} already applied`)
  const target = leg
  const legs = (closed: boolean): BrokerLeg[] =>
    order.legs.map((l) =>
      l === target
        ? {
            ...l,
            reductions: [...(l.reductions ?? []), fact],
            ...(closed ? { closed: l.closed ?? event.type } : {}),
          }
        : l,
    )

  // A replaced number: the order's shares work under its successor; only this number closes (the
  // leftover a quantity modify leaves behind, canceled by the adapter). Several reports may end
  // parts of it (a broker-side partial cancel delivered after the modify's answer, then the
  // leftover): each is recorded, none touches the order.
  if (isSuperseded(order, id)) return out.applied({ legs: legs(true) })

  if (leg.closed) {
    if (!fact.quantity) return out.ignored(`${id} is already ${leg.closed}`)
    // The number closed on a report that took fewer shares than were working, the difference being
    // fills in flight; this further report says some of them were ended instead (e.g. a broker-side
    // partial cancel delivered after our own cancel). The order shrinks by them, as it would have
    // had the reports come the other way round. More than the unfilled shares is a contradiction.
    // Which report closed the number is decided by broker time, not arrival: the latest one closed
    // it, every earlier one was a partial end the order shrinks by.
    const all = [...(leg.reductions ?? []), fact]
    // A report of "everything left" (no quantity) is the close whenever it came; among equal broker
    // times the one applied last is taken as the later.
    let last = all.findIndex((r) => r.quantity === null)
    if (last < 0) {
      last = 0
      all.forEach((r, i) => {
        if ((r.at ?? 0) >= (all[last]!.at ?? 0)) last = i
      })
    }
    const base = (leg.reductions ?? []).reduce((q, r) => q + (r.shrank ?? 0), order.quantity)
    const reductions = all.map((r, i): LegReduction => {
      const { shrank: _was, ...plain } = r
      return i === last || !r.quantity ? plain : { ...plain, shrank: r.quantity }
    })
    // Never grows: a report can only take shares away.
    const quantity = Math.min(
      order.quantity,
      reductions.reduce((q, r) => q - (r.shrank ?? 0), base),
    )
    if (quantity < order.filledQuantity) {
      return out.fail(
        'invalid_event',
        `${id} was already ${leg.closed}; a further ${event.type} of ${fact.quantity} leaves fewer shares than the ${order.filledQuantity} filled`,
        true,
      )
    }
    return out.applied({
      quantity,
      legs: order.legs.map((l) => (l === target ? { ...l, reductions } : l)),
    })
  }

  const working = order.quantity - order.filledQuantity
  if (fact.quantity === null || fact.quantity >= working) {
    const effects: OrderEffect[] =
      fact.quantity !== null && fact.quantity > working
        ? [
            {
              type: 'alarm',
              code: `${event.type}_exceeds_working`,
              severity: 'critical',
              message: `order ${order.intentId}: ${fact.quantity} shares ${event.type} under ${id}, but only ${working} are working in the books`,
            },
          ]
        : []
    return out.applied({ ...close, legs: legs(true) }, effects)
  }

  // Fewer shares than are working. An unanswered replace explains a short report only when it
  // changes the quantity (its leftover under the old number is canceled); a price-only modify
  // moves every remaining share and leaves no leftover, so it explains nothing.
  const known = order.pending?.kind === 'replace' ? order.pending.patch : order.pending?.overtakenReplace
  const unanswered = replaceUnanswered(order) && !(known != null && known.quantity === undefined)
  if (!unanswered && rule.short === 'end') return out.applied({ ...close, legs: legs(true) })
  // The order continues with fewer shares. Expected while a quantity modify is unanswered (its
  // leftover under the old number is canceled); anything else is a partial cancel nobody here asked
  // for, or a full one whose fills are still on their way: say so.
  const expected = unanswered && known?.quantity !== undefined
  const effects: OrderEffect[] = expected
    ? []
    : [
        {
          type: 'alarm',
          code: `partial_${event.type === 'canceled' ? 'cancel' : 'expiry'}`,
          severity: 'warning',
          message: `order ${order.intentId}: ${fact.quantity} of ${working} working shares ${event.type} under ${id}; the order continues with ${working - fact.quantity}`,
        },
      ]
  return out.applied(
    {
      quantity: order.quantity - fact.quantity,
      legs: order.legs.map((l) =>
        l === target
          ? { ...l, reductions: [...(l.reductions ?? []), { ...fact, shrank: fact.quantity! }] }
          : l,
      ),
    },
    effects,
  )
}

type Refusal =
  | { kind: 'ignored'; note: string }
  | { kind: 'error'; code: TransitionErrorCode; message: string }
  /** `order`: legs, number and terms after the refusal (state and version untouched). */
  | { kind: 'ok'; order: Order; restored: boolean; ended: 'canceled' | 'expired' | null }

/**
 * Close replacement `id` as refused. When the order works under it, go back along its chain to the
 * nearest number not refused, on the terms the order had when the first refused replacement of that
 * run was linked (`BrokerLeg.replaced`), re-reading what happened since under the restored terms:
 * - a fill under an older number grew the order only because a sized replacement was newer than
 *   it; under the restored terms it grows the order only if a sized number not refused still is;
 * - a `canceled`/`expired` under the restored number closed that number only while it was replaced;
 *   now it reduces (or, when it took all that works, ends) the order.
 */
function refuseReplacement(order: Order, id: string, reason: string): Refusal {
  const index = order.legs.findIndex((l) => l.brokerOrderId === id && l.role === 'replacement')
  const leg = order.legs[index]
  if (!leg) {
    return { kind: 'error', code: 'unknown_broker_order', message: `no replacement ${id} on this order` }
  }
  if (leg.refused !== undefined) return { kind: 'ignored', note: `replace ${id} already refused` }
  if (leg.filledQuantity > 0 || leg.closed !== undefined || (leg.reductions?.length ?? 0) > 0) {
    return {
      kind: 'error',
      code: 'invalid_event',
      message: `replace ${id} is refused, but ${leg.filledQuantity > 0 ? `${leg.filledQuantity} shares filled under it` : `it was ${leg.closed ?? 'reduced'}`}`,
    }
  }
  const legs = order.legs.map((l, i) => (i === index ? { ...l, refused: reason } : l))
  // Replaced by a newer number already: that one works (or will be refused in turn).
  if (order.brokerOrderId !== id)
    return { kind: 'ok', order: { ...order, legs }, restored: false, ended: null }

  const byId = (n: string | null) => legs.findIndex((l) => l.brokerOrderId === n && l.role !== 'cancel')
  let first = legs[index]!
  let targetIndex = byId(first.predecessorId)
  for (
    let t = legs[targetIndex];
    t?.role === 'replacement' && t.refused !== undefined;
    t = legs[targetIndex]
  ) {
    first = t
    targetIndex = byId(t.predecessorId)
  }
  const target = legs[targetIndex]
  const snap = first.replaced
  if (!target || !snap) {
    return {
      kind: 'error',
      code: 'invalid_event',
      message: `replace ${id} is refused, but its predecessor's terms are unknown`,
    }
  }
  const anchor = legs.findLastIndex(
    (l, i) => i <= targetIndex && l.quantity !== undefined && l.refused === undefined,
  )
  let quantity = snap.quantity
  for (let i = 0; i < anchor; i++) quantity += legs[i]!.filledQuantity - (snap.legFills[i] ?? 0)
  let ended: 'canceled' | 'expired' | null = null
  const since = (target.reductions ?? []).slice(snap.predecessorReductions)
  for (const r of since) {
    if (r.quantity === null || r.quantity >= quantity - order.filledQuantity) {
      ended = r.type
      break
    }
    quantity -= r.quantity
  }
  if (since.length === 0 && target.closed !== undefined) ended = target.closed
  if (order.filledQuantity > quantity) {
    return {
      kind: 'error',
      code: 'overfill',
      message: `replace ${id} is refused, but ${order.filledQuantity} filled exceeds the ${quantity} of ${target.brokerOrderId}`,
    }
  }
  const { closed: _reread, ...open } = target
  legs[targetIndex] = ended ? { ...open, closed: ended } : open
  return {
    kind: 'ok',
    order: { ...order, legs, brokerOrderId: target.brokerOrderId, quantity, limitPrice: snap.limitPrice },
    restored: true,
    ended,
  }
}

/**
 * For a fill under `leg` at `cumulative` that the newer sized replacements could not have left
 * there: the order with those replacements refused, or `null` when that is not what it proves
 * (a replacement that traded or ended, or the fill still too large).
 */
function impliedRefusal(order: Order, leg: BrokerLeg, cumulative: number): Order | null {
  const legIndex = order.legs.indexOf(leg)
  const delta = cumulative - leg.filledQuantity
  let cur = order
  for (;;) {
    const anchor = cur.legs.findLastIndex((l) => l.quantity !== undefined && l.refused === undefined)
    if (anchor <= legIndex || cur.quantity + delta <= cur.intent.quantity) return cur === order ? null : cur
    const current = currentLeg(cur)
    if (current?.role !== 'replacement' || cur.legs.indexOf(current) <= legIndex) return null
    const r = refuseReplacement(
      cur,
      current.brokerOrderId,
      `implied: ${cumulative} filled under ${leg.brokerOrderId}, more than this replace left there`,
    )
    if (r.kind !== 'ok' || r.ended !== null) return null
    cur = r.order
  }
}

/**
 * A broker's confirmation stating the size of a replacement that was linked without one (a
 * price-only modify answered before the confirmation): the size is the broker's, so the order's
 * quantity follows it (fills under other numbers, plus the replacement's size, less what was
 * ended under it), as it would had the confirmation come first. `null` when there is nothing to
 * learn (no size stated, already sized, refused, or a size the books cannot hold).
 */
function sizeLinkedReplacement(
  order: Order,
  leg: BrokerLeg,
  event: Extract<OrderEvent, { type: 'replace_acked' }>,
): Partial<Order> | null {
  const size = event.quantity
  if (
    size === undefined ||
    leg.role !== 'replacement' ||
    leg.quantity !== undefined ||
    leg.refused !== undefined ||
    leg.predecessorId !== event.brokerOrderId
  ) {
    return null
  }
  const legs = order.legs.map((l) => (l === leg ? { ...l, quantity: size } : l))
  if (order.brokerOrderId !== leg.brokerOrderId) return { legs }
  // What the order already shrank by under this number (partial ends; the close takes nothing).
  const ended = (leg.reductions ?? []).reduce((sum, r) => sum + (r.shrank ?? 0), 0)
  const quantity = order.filledQuantity - leg.filledQuantity + size - ended
  if (quantity < order.filledQuantity || quantity > order.intent.quantity) return null
  const complete = !isTerminal(order.state) && order.filledQuantity === quantity
  return {
    legs,
    quantity,
    ...(complete ? { state: 'FILLED' as const, pending: null, unresolved: null } : {}),
  }
}

/** A cancel request once the replace it overtook is answered; any other request as is. */
function answered(pending: PendingRequest | null): PendingRequest | null {
  if (pending?.overtakenReplace === undefined) return pending
  const { overtakenReplace: _answered, ...rest } = pending
  return rest
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
