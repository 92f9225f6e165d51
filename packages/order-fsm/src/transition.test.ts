import { describe, expect, it } from 'vitest'
import { TransitionError, type TransitionErrorCode } from './errors'
import { ORDER_EVENT_TYPES, type OrderEvent, type OrderEventType } from './events'
import { newOrder, type Order } from './order'
import { ORDER_STATES, type OrderState } from './states'
import { anIntent } from './testing'
import { type Transitioned, transition } from './transition'
import { TRANSITION_TABLE } from './transition-table'

const T0 = Date.UTC(2026, 10, 24, 1, 0, 0) // 10:00 KST

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

function step(order: Order, event: OrderEvent): Order {
  const r = transition(order, event)
  if (TransitionError.isTransitionError(r)) throw r
  if (r.change !== 'applied') throw new Error(`expected ${event.type} to apply in ${order.state}: ${r.note}`)
  return r.order
}

const at = T0 + 1_000
const created = newOrder(anIntent({ intentId: 'fsm-1', quantity: 10 }), T0)
const submitted = step(created, { type: 'submit_started', at })
const acked = step(submitted, { type: 'acked', brokerOrderId: 'B1', at })
const partial = step(acked, {
  type: 'fill',
  brokerOrderId: 'B1',
  cumulativeQuantity: 4,
  fillQuantity: 4,
  fillPrice: 71_000,
  at,
})
const cancelPendingPartial = step(partial, { type: 'cancel_requested', at })
const replacedB2 = step(step(acked, { type: 'replace_requested', patch: { limitPrice: 70_900 }, at }), {
  type: 'replace_acked',
  brokerOrderId: 'B1',
  newBrokerOrderId: 'B2',
  at,
})

/** One genuine order per state (reached through the table), plus variants where guards differ. */
const FIXTURES: Record<string, Order> = {
  INTENT_CREATED: created,
  SUBMITTED: submitted,
  ACKED: acked,
  PARTIAL_FILLED: partial,
  FILLED: step(partial, {
    type: 'fill',
    brokerOrderId: 'B1',
    cumulativeQuantity: 10,
    fillQuantity: 6,
    fillPrice: 71_000,
    at,
  }),
  REJECTED: step(acked, { type: 'rejected', reason: 'price outside the daily limit', at }),
  CANCEL_PENDING: step(acked, { type: 'cancel_requested', at }),
  REPLACE_PENDING: step(acked, { type: 'replace_requested', patch: { limitPrice: 70_900 }, at }),
  CANCELED: step(cancelPendingPartial, { type: 'canceled', canceledQuantity: 6, at }),
  EXPIRED: step(acked, { type: 'expired', expiredQuantity: 10, at }),
  RECONCILE_REQUIRED: step(submitted, {
    type: 'outcome_unknown',
    operation: 'submit',
    reason: 'timeout',
    at,
  }),
  'RECONCILE_REQUIRED/linked': step(step(acked, { type: 'cancel_requested', at }), {
    type: 'outcome_unknown',
    operation: 'cancel',
    reason: 'timeout',
    at,
  }),
  'CANCEL_PENDING/partial': cancelPendingPartial,
  // Working under a replacement's number (B2), so that a refusal of it has something to refuse.
  'ACKED/replaced': replacedB2,
  'PARTIAL_FILLED/replaced': step(replacedB2, {
    type: 'fill',
    brokerOrderId: 'B1',
    cumulativeQuantity: 4,
    fillQuantity: 4,
    fillPrice: 71_000,
    at,
  }),
  'REPLACE_PENDING/replaced': step(replacedB2, {
    type: 'replace_requested',
    patch: { limitPrice: 70_800 },
    at,
  }),
  'CANCEL_PENDING/replaced': step(replacedB2, { type: 'cancel_requested', at }),
  'FILLED/replaced': step(replacedB2, {
    type: 'fill',
    brokerOrderId: 'B1',
    cumulativeQuantity: 10,
    fillQuantity: 10,
    fillPrice: 71_000,
    at,
  }),
}
for (const o of Object.values(FIXTURES)) deepFreeze(o)

/** A canonical event of each type, shaped so that its guards pass against the fixture. */
function canonical(type: OrderEventType, order: Order): OrderEvent {
  const e = at + 5_000
  const op =
    order.state === 'CANCEL_PENDING' ? 'cancel' : order.state === 'REPLACE_PENDING' ? 'replace' : 'submit'
  const leg = order.legs.find((l) => l.brokerOrderId === 'B1')
  switch (type) {
    case 'submit_started':
      return { type, at: e }
    case 'acked':
      return { type, brokerOrderId: 'B1', at: e }
    case 'rejected':
      return { type, reason: 'no', at: e }
    case 'fill': {
      const cum = (leg?.filledQuantity ?? 0) + 2
      return { type, brokerOrderId: 'B1', cumulativeQuantity: cum, fillQuantity: 2, fillPrice: 71_000, at: e }
    }
    case 'cancel_requested':
      return { type, at: e }
    case 'cancel_acked':
      return { type, cancelRequestId: 'C1', at: e }
    case 'cancel_rejected':
      return { type, reason: 'nothing to cancel', at: e }
    case 'canceled':
      // Everything working, so that the cell's target is what happens (short reports: below).
      return { type, canceledQuantity: order.quantity - order.filledQuantity, at: e }
    case 'replace_requested':
      return { type, patch: { limitPrice: 70_900 }, at: e }
    case 'replace_acked':
      return { type, brokerOrderId: 'B1', newBrokerOrderId: 'B2', at: e }
    case 'replace_rejected':
      return { type, reason: 'no', at: e }
    case 'replace_refused':
      return { type, brokerOrderId: 'B2', reason: 'the original filled first', at: e }
    case 'expired':
      return { type, expiredQuantity: order.quantity - order.filledQuantity, at: e }
    case 'outcome_unknown':
      return { type, operation: op, reason: 'timeout', at: e }
    case 'reconcile_matched':
      return { type, brokerOrderId: 'B1', reason: 'matched by fingerprint', at: e }
    case 'reconcile_not_found':
      return { type, reason: 'absent from every page after the window', at: e }
    case 'reconcile_ambiguous':
      return { type, candidates: ['X1', 'X2'], reason: 'two candidates', at: e }
    case 'reconcile_flagged':
      return { type, reason: 'drift', at: e }
  }
}

/** Cells where the canonical event trips a guard of the (otherwise allowed) edge, and which code. */
const GUARD_EXCEPTIONS: Record<string, TransitionErrorCode> = {
  'PARTIAL_FILLED × rejected': 'reject_after_fill',
  'CANCEL_PENDING/partial × rejected': 'reject_after_fill',
  'FILLED × fill': 'overfill',
  'REJECTED × fill': 'fill_after_terminal',
  'RECONCILE_REQUIRED × fill': 'unknown_broker_order',
  'RECONCILE_REQUIRED × replace_acked': 'unknown_broker_order',
  'RECONCILE_REQUIRED/linked × reconcile_not_found': 'invalid_event',
  'PARTIAL_FILLED/replaced × rejected': 'reject_after_fill',
}
/** Cells where the canonical event is a repeat of what the fixture already knows. */
const REPEAT_IGNORED = new Set([
  // The canonical report repeats the end that closed the fixture's number (no quantity stated).
  'CANCELED × canceled',
  'EXPIRED × expired',
  'RECONCILE_REQUIRED/linked × acked',
  // No replace was overtaken by these cancels: a replace refusal is stale.
  'CANCEL_PENDING × replace_rejected',
  'CANCEL_PENDING/partial × replace_rejected',
  'CANCEL_PENDING/replaced × replace_rejected',
  // B2 is linked already in the `/replaced` fixtures: the canonical replace_acked repeats it.
  'ACKED/replaced × replace_acked',
  'PARTIAL_FILLED/replaced × replace_acked',
  'REPLACE_PENDING/replaced × replace_acked',
  'CANCEL_PENDING/replaced × replace_acked',
  'FILLED/replaced × replace_acked',
])

describe('transition: every state × every event', () => {
  it('covers every state and every event type in the table', () => {
    expect(Object.keys(TRANSITION_TABLE).sort()).toEqual([...ORDER_STATES].sort())
    for (const s of ORDER_STATES)
      expect(Object.keys(TRANSITION_TABLE[s]).sort()).toEqual([...ORDER_EVENT_TYPES].sort())
    for (const s of ORDER_STATES) expect(Object.values(FIXTURES).some((o) => o.state === s)).toBe(true)
  })

  for (const [name, order] of Object.entries(FIXTURES)) {
    for (const type of ORDER_EVENT_TYPES) {
      const cellName = `${name} × ${type}`
      it(cellName, () => {
        const rule = TRANSITION_TABLE[order.state][type]
        const before = structuredClone(order)
        const result = transition(order, canonical(type, order))
        expect(order).toEqual(before) // the input is frozen too: any mutation would have thrown

        // Only the `/replaced` fixtures have a replacement (B2) a refusal can name.
        const noReplacement =
          type === 'replace_refused' &&
          rule.kind === 'revert' &&
          !order.legs.some((l) => l.brokerOrderId === 'B2')
        const guard = noReplacement ? 'unknown_broker_order' : GUARD_EXCEPTIONS[cellName]
        if (guard) {
          expect(TransitionError.isTransitionError(result) && result.code).toBe(guard)
          return
        }
        if (rule.kind === 'illegal') {
          expect(TransitionError.isTransitionError(result) && result.code).toBe('illegal_transition')
          return
        }
        if (rule.kind === 'absorb_fill') {
          expect(TransitionError.isTransitionError(result) && result.alarm).toBe(true)
          return
        }
        expect(TransitionError.isTransitionError(result)).toBe(false)
        const r = result as Transitioned
        if (rule.kind === 'ignore' || REPEAT_IGNORED.has(cellName)) {
          expect(r.change).toBe('ignored')
          expect(r.order).toBe(order)
          expect(r.effects).toEqual([])
          return
        }
        expect(r.change).toBe('applied')
        expect(r.order.version).toBe(order.version + 1)
        const expected: OrderState =
          rule.kind === 'to' || rule.kind === 'end'
            ? rule.to
            : rule.kind === 'working' || (rule.kind === 'revert' && rule.then === 'working')
              ? r.order.filledQuantity > 0
                ? 'PARTIAL_FILLED'
                : 'ACKED'
              : rule.kind === 'fill'
                ? r.order.filledQuantity === r.order.quantity
                  ? 'FILLED'
                  : rule.partial === 'stay'
                    ? order.state
                    : 'PARTIAL_FILLED'
                : order.state
        expect(r.order.state).toBe(expected)
      })
    }
  }
})

describe('transition: what the edges do', () => {
  it('marks the write-ahead submit with its time and asks the caller to send', () => {
    const r = transition(created, { type: 'submit_started', at: T0 + 7 }) as Transitioned
    expect(r.order).toMatchObject({ state: 'SUBMITTED', submittedAt: T0 + 7, version: 2 })
    expect(r.effects).toEqual([{ type: 'send_request', request: 'place_order' }])
  })

  it('links the broker number on ack, dated by the KST day', () => {
    const r = transition(submitted, { type: 'acked', brokerOrderId: '0000006555', at }) as Transitioned
    expect(r.order.brokerOrderId).toBe('0000006555')
    expect(r.effects).toEqual([
      {
        type: 'link_broker_order',
        leg: {
          brokerOrderId: '0000006555',
          role: 'order',
          brokerDate: '2026-11-24',
          predecessorId: null,
          filledQuantity: 0,
        },
      },
    ])
  })

  it('refuses an ack that names a second broker number, as an alarm', () => {
    const r = transition(acked, { type: 'acked', brokerOrderId: 'B9', at })
    expect(TransitionError.isTransitionError(r) && [r.code, r.alarm]).toEqual(['broker_id_conflict', true])
  })

  it('applies a fill as a level: the delta, the notional, and a record keyed by cumulative quantity', () => {
    const r = transition(partial, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 7,
      fillQuantity: 1,
      fillPrice: 71_100,
      at,
    }) as Transitioned
    expect(r.order).toMatchObject({
      filledQuantity: 7,
      filledNotional: 4 * 71_000 + 3 * 71_100,
      state: 'PARTIAL_FILLED',
    })
    // The report covers (6, 7]; the gap (4, 6] below it waits for its own report at this price.
    expect(r.effects).toEqual([
      expect.objectContaining({ type: 'record_fill', cumulativeQuantity: 6, quantity: 2, inferred: true }),
      expect.objectContaining({ type: 'record_fill', cumulativeQuantity: 7, quantity: 1, inferred: false }),
    ])
  })

  it('ignores a repeated or older fill level', () => {
    const again = transition(partial, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 4,
      fillQuantity: 4,
      fillPrice: 1,
      at,
    })
    const older = transition(partial, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 2,
      fillQuantity: 2,
      fillPrice: 1,
      at,
    })
    expect((again as Transitioned).change).toBe('ignored')
    expect((older as Transitioned).change).toBe('ignored')
  })

  it('refuses an overfill as an alarm and leaves the order as it was', () => {
    const r = transition(partial, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 11,
      fillQuantity: 7,
      fillPrice: 1,
      at,
    })
    expect(TransitionError.isTransitionError(r) && [r.code, r.alarm]).toEqual(['overfill', true])
    expect(partial.filledQuantity).toBe(4)
  })

  it('applies a late fill after a confirmed cancel and raises a warning', () => {
    const canceled = FIXTURES.CANCELED!
    const r = transition(canceled, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 6,
      fillQuantity: 2,
      fillPrice: 71_000,
      at,
    }) as Transitioned
    expect(r.order).toMatchObject({ state: 'CANCELED', filledQuantity: 6 })
    expect(r.effects.map((e) => e.type)).toEqual(['record_fill', 'alarm'])
    const all = transition(canceled, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 10,
      fillQuantity: 6,
      fillPrice: 71_000,
      at,
    }) as Transitioned
    expect(all.order.state).toBe('FILLED')
  })

  it('sends nothing twice: a second cancel request while one is pending is ignored', () => {
    const r = transition(FIXTURES.CANCEL_PENDING!, { type: 'cancel_requested', at }) as Transitioned
    expect(r.change).toBe('ignored')
    expect(r.effects).toEqual([])
  })

  it('restores the working state on cancel reject: ACKED without fills, PARTIAL_FILLED with', () => {
    const a = transition(FIXTURES.CANCEL_PENDING!, {
      type: 'cancel_rejected',
      reason: 'x',
      at,
    }) as Transitioned
    const p = transition(cancelPendingPartial, { type: 'cancel_rejected', reason: 'x', at }) as Transitioned
    expect([a.order.state, p.order.state]).toEqual(['ACKED', 'PARTIAL_FILLED'])
    expect(p.order.pending).toBeNull()
  })

  it('chains broker numbers on replace: price and quantity follow, old-number fills keep counting', () => {
    const pending = step(partial, {
      type: 'replace_requested',
      patch: { limitPrice: 70_500, quantity: 3 },
      at,
    })
    const r = transition(pending, {
      type: 'replace_acked',
      brokerOrderId: 'B1',
      newBrokerOrderId: 'B2',
      at,
    }) as Transitioned
    expect(r.order).toMatchObject({
      state: 'PARTIAL_FILLED',
      brokerOrderId: 'B2',
      limitPrice: 70_500,
      quantity: 7,
    })
    expect(r.order.legs.map((l) => [l.brokerOrderId, l.role, l.predecessorId])).toEqual([
      ['B1', 'order', null],
      ['B2', 'replacement', 'B1'],
    ])
    const done = step(r.order, {
      type: 'fill',
      brokerOrderId: 'B2',
      cumulativeQuantity: 3,
      fillQuantity: 3,
      fillPrice: 70_500,
      at,
    })
    expect(done).toMatchObject({ state: 'FILLED', filledQuantity: 7 })
  })

  it('refuses a replace that would grow the remaining quantity', () => {
    const r = transition(partial, { type: 'replace_requested', patch: { quantity: 7 }, at })
    expect(TransitionError.isTransitionError(r) && r.code).toBe('invalid_event')
  })

  it('sends a timed-out submit to RECONCILE_REQUIRED and asks for reconciliation, never for a resend', () => {
    const rr = FIXTURES.RECONCILE_REQUIRED!
    expect(rr.unresolved).toMatchObject({ operation: 'submit', reason: 'timeout' })
    expect(TransitionError.isTransitionError(transition(rr, { type: 'submit_started', at }))).toBe(true)
    const r = transition(submitted, {
      type: 'outcome_unknown',
      operation: 'submit',
      reason: 'x',
      at,
    }) as Transitioned
    expect(r.effects).toEqual([{ type: 'request_reconciliation', reason: 'submit outcome unknown: x' }])
  })

  it('refuses an outcome-unknown for a request that is not in flight', () => {
    const r = transition(submitted, { type: 'outcome_unknown', operation: 'cancel', reason: 'x', at })
    expect(TransitionError.isTransitionError(r) && r.code).toBe('operation_mismatch')
  })

  it('leaves RECONCILE_REQUIRED only on positive evidence: a match, a late ack, a broker final state', () => {
    const rr = FIXTURES.RECONCILE_REQUIRED!
    const matched = transition(rr, {
      type: 'reconcile_matched',
      brokerOrderId: 'B7',
      reason: 'fp',
      at,
    }) as Transitioned
    expect(matched.order).toMatchObject({ state: 'ACKED', brokerOrderId: 'B7', unresolved: null })
    const late = transition(rr, { type: 'acked', brokerOrderId: 'B7', at }) as Transitioned
    expect(late.order.state).toBe('ACKED')
    const gone = transition(rr, { type: 'reconcile_not_found', reason: 'absent', at }) as Transitioned
    expect(gone.order).toMatchObject({ state: 'REJECTED', rejectReason: 'not found at the broker: absent' })
    const ambiguous = transition(rr, {
      type: 'reconcile_ambiguous',
      candidates: ['a', 'b'],
      reason: 'two',
      at,
    }) as Transitioned
    expect(ambiguous.order.state).toBe('RECONCILE_REQUIRED')
  })

  it('alarms when a broker number shows up for an order already closed without one', () => {
    const closed = step(created, { type: 'cancel_requested', at })
    const r = transition(closed, { type: 'acked', brokerOrderId: 'B1', at })
    expect(TransitionError.isTransitionError(r) && [r.code, r.alarm]).toEqual(['ack_after_terminal', true])
  })

  it('ignores a refusal of an earlier cancel request while a later one is in flight', () => {
    const first = step(step(acked, { type: 'cancel_requested', at }), {
      type: 'cancel_acked',
      cancelRequestId: 'C1',
      at,
    })
    expect(first.pending).toMatchObject({ kind: 'cancel', acked: true, requestId: 'C1' })
    const refused = step(first, { type: 'cancel_rejected', reason: 'x', cancelRequestId: 'C1', at })
    expect(refused).toMatchObject({ state: 'ACKED', pending: null })
    const second = step(refused, { type: 'cancel_requested', at })
    const stale = transition(second, { type: 'cancel_rejected', reason: 'x', cancelRequestId: 'C1', at })
    expect((stale as Transitioned).change).toBe('ignored')
    const acked2 = step(second, { type: 'cancel_acked', cancelRequestId: 'C2', at })
    expect(
      (
        transition(acked2, {
          type: 'cancel_rejected',
          reason: 'x',
          cancelRequestId: 'C1',
          at,
        }) as Transitioned
      ).change,
    ).toBe('ignored')
    expect(step(acked2, { type: 'cancel_rejected', reason: 'x', cancelRequestId: 'C2', at }).state).toBe(
      'ACKED',
    )
  })

  it('grows a sized replacement by fills reported late under the replaced number, even once FILLED', () => {
    // B1 had 2 unreported fills when the modify placed B2 for the 8 that remained at the broker.
    const replaced = step(step(acked, { type: 'replace_requested', patch: { limitPrice: 70_500 }, at }), {
      type: 'replace_acked',
      brokerOrderId: 'B1',
      newBrokerOrderId: 'B2',
      quantity: 8,
      at,
    })
    expect(replaced).toMatchObject({ quantity: 8, state: 'ACKED' })
    expect(replaced.legs.at(-1)).toMatchObject({ brokerOrderId: 'B2', quantity: 8 })
    const done = step(replaced, {
      type: 'fill',
      brokerOrderId: 'B2',
      cumulativeQuantity: 8,
      fillQuantity: 8,
      fillPrice: 70_500,
      at,
    })
    expect(done).toMatchObject({ state: 'FILLED', quantity: 8, filledQuantity: 8 })
    const late = transition(done, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 2,
      fillQuantity: 2,
      fillPrice: 71_000,
      at,
    }) as Transitioned
    expect(late.order).toMatchObject({ state: 'FILLED', quantity: 10, filledQuantity: 10 })
    expect(late.effects.map((e) => e.type)).toEqual(['record_fill', 'alarm'])
    // Beyond the intent's size it is an overfill, never applied.
    const over = transition(late.order, {
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 3,
      fillQuantity: 1,
      fillPrice: 71_000,
      at,
    })
    expect(TransitionError.isTransitionError(over) && [over.code, over.alarm]).toEqual(['overfill', true])
    // A new fill under the replacement itself after FILLED stays an overfill.
    const b2 = transition(late.order, {
      type: 'fill',
      brokerOrderId: 'B2',
      cumulativeQuantity: 9,
      fillQuantity: 1,
      fillPrice: 70_500,
      at,
    })
    expect(TransitionError.isTransitionError(b2) && b2.code).toBe('overfill')
  })
})
