import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TransitionError } from './errors'
import type { OrderEvent } from './events'
import { newOrder, type Order } from './order'
import { type OrderState, TERMINAL_STATES } from './states'
import { anIntent } from './testing'
import { type Transitioned, transition } from './transition'

const Q = 10
const at = Date.UTC(2026, 10, 24, 1, 0, 0)

const fill = (brokerOrderId: string, cum: number): OrderEvent => ({
  type: 'fill',
  brokerOrderId,
  cumulativeQuantity: cum,
  fillQuantity: 1,
  fillPrice: 70_000 + cum,
  at,
})

// Everything that can happen to one order, including wrong numbers, overfills and stale answers.
const anyEvent: fc.Arbitrary<OrderEvent> = fc.oneof(
  fc.constant<OrderEvent>({ type: 'submit_started', at }),
  fc.constantFrom('B1', 'B9').map<OrderEvent>((id) => ({ type: 'acked', brokerOrderId: id, at })),
  fc.constant<OrderEvent>({ type: 'rejected', reason: 'r', at }),
  fc
    .tuple(fc.constantFrom('B1', 'B2', 'B3'), fc.integer({ min: 1, max: Q + 3 }))
    .map(([id, cum]) => fill(id, cum)),
  fc.constant<OrderEvent>({ type: 'cancel_requested', at }),
  fc.constant<OrderEvent>({ type: 'cancel_acked', cancelRequestId: 'C1', at }),
  fc.constant<OrderEvent>({ type: 'cancel_rejected', reason: 'r', at }),
  fc.constant<OrderEvent>({ type: 'canceled', at }),
  fc
    .integer({ min: 1, max: Q })
    .map<OrderEvent>((q) => ({ type: 'replace_requested', patch: { quantity: q }, at })),
  fc.constant<OrderEvent>({ type: 'replace_requested', patch: { limitPrice: 70_500 }, at }),
  fc.option(fc.integer({ min: 1, max: Q }), { nil: undefined }).map<OrderEvent>((q) => ({
    type: 'replace_acked',
    brokerOrderId: 'B1',
    newBrokerOrderId: 'B2',
    ...(q ? { quantity: q } : {}),
    at,
  })),
  fc.constant<OrderEvent>({ type: 'replace_rejected', reason: 'r', at }),
  fc.constant<OrderEvent>({ type: 'expired', at }),
  fc
    .constantFrom('submit', 'cancel', 'replace')
    .map<OrderEvent>((operation) => ({ type: 'outcome_unknown', operation, reason: 'timeout', at })),
  fc
    .constantFrom('B1', 'B9')
    .map<OrderEvent>((id) => ({ type: 'reconcile_matched', brokerOrderId: id, reason: 'fp', at })),
  fc.constant<OrderEvent>({ type: 'reconcile_not_found', reason: 'absent', at }),
  fc.constant<OrderEvent>({ type: 'reconcile_ambiguous', candidates: ['x', 'y'], reason: 'two', at }),
  fc.constant<OrderEvent>({ type: 'reconcile_flagged', reason: 'drift', at }),
)

// Sequences biased towards a live order: most runs submit and get acked early.
const sequence = fc
  .tuple(fc.boolean(), fc.array(anyEvent, { maxLength: 40 }))
  .map(([prefix, rest]) =>
    prefix
      ? [
          { type: 'submit_started', at } as OrderEvent,
          { type: 'acked', brokerOrderId: 'B1', at } as OrderEvent,
          ...rest,
        ]
      : rest,
  )

function freeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const x of Object.values(v)) freeze(x)
  }
  return v
}

const projection = (o: Order) => {
  const { version: _v, updatedAt: _u, ...rest } = o
  return rest
}

function fresh(): Order {
  return freeze(newOrder(anIntent({ intentId: 'prop-1', quantity: Q }), at))
}

describe('transition: properties over random event sequences', () => {
  it('keeps every invariant at every step (duplicates, reordering, late fills, wrong numbers)', () => {
    fc.assert(
      fc.property(sequence, (events) => {
        let order = fresh()
        let recorded = 0
        for (const event of events) {
          const before = order
          const result = transition(before, event)
          if (TransitionError.isTransitionError(result)) {
            // An illegal transition never changes state (and `before` is frozen, so nothing mutated it).
            continue
          }
          const r: Transitioned = result
          if (r.change === 'ignored') {
            expect(r.order).toBe(before)
            expect(r.effects).toEqual([])
            continue
          }
          order = freeze(r.order)
          expect(order.version).toBe(before.version + 1)
          // Filled quantity is monotonic and never exceeds the order quantity.
          expect(order.filledQuantity).toBeGreaterThanOrEqual(before.filledQuantity)
          expect(order.filledQuantity).toBeLessThanOrEqual(order.quantity)
          const legSum = order.legs
            .filter((l) => l.role !== 'cancel')
            .reduce((s, l) => s + l.filledQuantity, 0)
          expect(order.filledQuantity).toBe(legSum)
          // Terminal states absorb everything, except a late fill after a cancel.
          if (TERMINAL_STATES.has(before.state) && before.state !== 'CANCELED')
            expect(order.state).toBe(before.state)
          if (before.state === 'CANCELED') expect(['CANCELED', 'FILLED']).toContain(order.state)
          for (const e of r.effects) if (e.type === 'record_fill') recorded += e.quantity
        }
        // Every applied share is accounted for by exactly one fill record.
        expect(recorded).toBe(order.filledQuantity)
      }),
      { numRuns: 1500 },
    )
  })

  it('applies a late fill after a cancel request or confirmation, never drops it', () => {
    fc.assert(
      fc.property(sequence, fc.integer({ min: 1, max: Q }), (events, cum) => {
        let order = fresh()
        for (const event of events) {
          const r = transition(order, event)
          if (!TransitionError.isTransitionError(r)) order = freeze(r.order)
        }
        if (order.state !== 'CANCELED' && order.state !== 'CANCEL_PENDING') return
        const leg = order.legs.find((l) => l.brokerOrderId === 'B1')
        if (
          !leg ||
          cum <= leg.filledQuantity ||
          order.filledQuantity + cum - leg.filledQuantity > order.quantity
        )
          return
        const r = transition(order, fill('B1', cum))
        expect(TransitionError.isTransitionError(r)).toBe(false)
        expect((r as Transitioned).change).toBe('applied')
        expect((r as Transitioned).order.filledQuantity).toBe(order.filledQuantity + cum - leg.filledQuantity)
      }),
      { numRuns: 1500 },
    )
  })

  it('changes nothing when the same event is applied a second time', () => {
    fc.assert(
      fc.property(sequence, (events) => {
        let order = fresh()
        for (const event of events) {
          const first = transition(order, event)
          if (TransitionError.isTransitionError(first)) continue
          order = freeze(first.order)
          const second = transition(order, event)
          if (TransitionError.isTransitionError(second)) continue
          expect(projection(second.order)).toEqual(projection(order))
          expect(second.effects).toEqual([])
          order = freeze(second.order)
        }
      }),
      { numRuns: 1500 },
    )
  })

  it('reaches the same end from any order and multiplicity of fills and a cancel', () => {
    const acked = freeze(
      [
        { type: 'submit_started', at } as OrderEvent,
        { type: 'acked', brokerOrderId: 'B1', at } as OrderEvent,
      ].reduce((o, e) => (transition(o, e) as Transitioned).order, fresh()),
    )
    const stream = fc
      .tuple(fc.uniqueArray(fc.integer({ min: 1, max: Q }), { minLength: 1, maxLength: 6 }), fc.boolean())
      .chain(([levels, cancel]) => {
        const base: OrderEvent[] = [
          ...levels.map((c) => fill('B1', c)),
          ...(cancel ? [{ type: 'canceled', at } as OrderEvent] : []),
        ]
        return fc.tuple(
          fc.constant({ levels, cancel }),
          fc.shuffledSubarray([...base, ...base], { minLength: base.length * 2, maxLength: base.length * 2 }),
        )
      })
    fc.assert(
      fc.property(stream, ([{ levels, cancel }, events]) => {
        let order = acked
        for (const e of events) {
          const r = transition(order, e)
          if (!TransitionError.isTransitionError(r)) order = r.order
        }
        const max = Math.max(...levels)
        const state: OrderState = max === Q ? 'FILLED' : cancel ? 'CANCELED' : 'PARTIAL_FILLED'
        expect(order.filledQuantity).toBe(max)
        expect(order.state).toBe(state)
      }),
      { numRuns: 1000 },
    )
  })
})
