import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TransitionError } from './errors'
import type { OrderEvent } from './events'
import { newOrder, type Order } from './order'
import { type OrderState, TERMINAL_STATES } from './states'
import { anIntent } from './testing'
import { type Transitioned, transition } from './transition'

// Deterministic runs (the suite must be): a fixed seed, overridable to explore, e.g.
// `FC_SEED=$RANDOM pnpm vitest run transition.property`.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_261_124) })

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
  fc.constant<OrderEvent>({ type: 'cancel_acked', cancelRequestId: 'C?', at }),
  fc.option(fc.constantFrom('C1', 'C2', 'C3'), { nil: undefined }).map<OrderEvent>((id) => ({
    type: 'cancel_rejected',
    reason: 'r',
    ...(id ? { cancelRequestId: id } : {}),
    at,
  })),
  fc.constant<OrderEvent>({ type: 'canceled', at }),
  // Cancels and expiries under a named number, partial or not (what `fromBrokerEvent` produces).
  fc
    .tuple(fc.constantFrom('canceled', 'expired'), fc.constantFrom('B1', 'B2', 'C1'), fc.nat({ max: Q + 1 }))
    .map<OrderEvent>(([type, id, q]) =>
      type === 'canceled'
        ? { type, brokerOrderId: id, canceledQuantity: q, at }
        : { type, brokerOrderId: id, expiredQuantity: q, at },
    ),
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
  // The exchange refusing a numbered modify (a contract `rejected` under the replacement's number).
  fc
    .constantFrom('B2', 'B3')
    .map<OrderEvent>((id) => ({ type: 'replace_refused', brokerOrderId: id, reason: 'filled first', at })),
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

// KIS gives every cancel request its own number: each cancel_acked gets a fresh one (C1, C2, …),
// while refusals name any of them, so stale refusals of earlier requests occur.
function numberCancels(events: OrderEvent[]): OrderEvent[] {
  let n = 0
  return events.map((e) => (e.type === 'cancel_acked' ? { ...e, cancelRequestId: `C${++n}` } : e))
}

// Sequences biased towards a live order: most runs submit and get acked early.
const sequence = fc
  .tuple(fc.boolean(), fc.array(anyEvent, { maxLength: 40 }))
  .map(([prefix, rest]) =>
    numberCancels(
      prefix
        ? [
            { type: 'submit_started', at } as OrderEvent,
            { type: 'acked', brokerOrderId: 'B1', at } as OrderEvent,
            ...rest,
          ]
        : rest,
    ),
  )

/**
 * Broker facts: what `fromBrokerEvent` produces (its cancel refusals always name the request).
 * Replays of these must never change anything.
 */
const BROKER_FACTS: ReadonlySet<OrderEvent['type']> = new Set([
  'acked',
  'rejected',
  'fill',
  'canceled',
  'replace_acked',
  'replace_refused',
  'expired',
])
const isBrokerFact = (e: OrderEvent) =>
  BROKER_FACTS.has(e.type) || (e.type === 'cancel_rejected' && e.cancelRequestId !== undefined)

/** Whether `leg` was replaced by a sized replacement (its late fills grow the order). */
function beforeSizedReplace(order: Order, brokerOrderId: string): boolean {
  const i = order.legs.findIndex((l) => l.brokerOrderId === brokerOrderId)
  return i >= 0 && order.legs.findLastIndex((l) => l.quantity !== undefined && l.refused === undefined) > i
}

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
            // An illegal transition never changes state: `before` is frozen (a mutation would throw)
            // and stays the order; the error names the state it was refused in.
            expect(result.state).toBe(before.state)
            expect(result.intentId).toBe(before.intentId)
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
          // Filled quantity is monotonic and never exceeds the order quantity, nor the intent's.
          expect(order.filledQuantity).toBeGreaterThanOrEqual(before.filledQuantity)
          expect(order.filledQuantity).toBeLessThanOrEqual(order.quantity)
          expect(order.quantity).toBeLessThanOrEqual(order.intent.quantity)
          const legSum = order.legs
            .filter((l) => l.role !== 'cancel')
            .reduce((s, l) => s + l.filledQuantity, 0)
          expect(order.filledQuantity).toBe(legSum)
          // The order only grows by a fill reported late under a number a sized replacement replaced,
          // or by a refused replace (the exchange's refusal, or a fill proving it) restoring its terms.
          const refusal =
            event.type === 'replace_refused' ||
            r.effects.some((e) => e.type === 'alarm' && e.code === 'replace_refused_by_fill')
          if (order.quantity > before.quantity && !refusal) {
            expect(event.type === 'fill' && beforeSizedReplace(before, event.brokerOrderId)).toBe(true)
            expect(order.quantity - before.quantity).toBe(order.filledQuantity - before.filledQuantity)
          }
          // A refused number is never the current one, and never filled.
          for (const l of order.legs) if (l.refused !== undefined) expect(l.filledQuantity).toBe(0)
          expect(order.legs.find((l) => l.brokerOrderId === order.brokerOrderId)?.refused).toBeUndefined()
          // Terminal states absorb everything, except a late fill after a cancel or an expiry (and
          // a late report of a fill from before a replace); none changes a closed state but to FILLED.
          const lateFillsApply = before.state === 'CANCELED' || before.state === 'EXPIRED'
          if (TERMINAL_STATES.has(before.state) && event.type !== 'fill') {
            // A replace numbered after the close is linked as refused; a refusal restores the books.
            // A further report under the number that closed a CANCELED/EXPIRED order shrinks it.
            const furtherEnd = lateFillsApply && (event.type === 'canceled' || event.type === 'expired')
            expect([
              'replace_acked',
              'replace_refused',
              'cancel_acked',
              ...(furtherEnd ? [event.type] : []),
            ]).toContain(event.type)
            if (furtherEnd) expect(order.quantity).toBeLessThanOrEqual(before.quantity)
            expect(order.state).toBe(before.state)
            expect(order.filledQuantity).toBe(before.filledQuantity)
          } else if (TERMINAL_STATES.has(before.state)) {
            if (event.type === 'fill' && !lateFillsApply)
              expect(beforeSizedReplace(before, event.brokerOrderId)).toBe(true)
            expect([before.state, 'FILLED']).toContain(order.state)
            if (!lateFillsApply) expect(order.state).toBe(before.state)
          }
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
        const grows = beforeSizedReplace(order, 'B1')
        const delta = cum - (leg?.filledQuantity ?? 0)
        if (
          !leg ||
          delta <= 0 ||
          order.filledQuantity + delta > order.quantity + (grows ? delta : 0) ||
          (grows && order.quantity + delta > order.intent.quantity)
        )
          return
        const r = transition(order, fill('B1', cum))
        expect(TransitionError.isTransitionError(r)).toBe(false)
        expect((r as Transitioned).change).toBe('applied')
        expect((r as Transitioned).order.filledQuantity).toBe(order.filledQuantity + delta)
      }),
      { numRuns: 1500 },
    )
  })

  it('changes nothing when an event is applied a second time, at once or any time later', () => {
    fc.assert(
      fc.property(sequence, fc.array(fc.nat(), { maxLength: 20 }), (events, picks) => {
        let order = fresh()
        const appliedFacts: OrderEvent[] = []
        let p = 0
        for (const event of events) {
          const first = transition(order, event)
          if (TransitionError.isTransitionError(first)) continue
          if (first.change === 'applied' && isBrokerFact(event)) appliedFacts.push(event)
          order = freeze(first.order)
          // At once: whatever the event was.
          const second = transition(order, event)
          if (!TransitionError.isTransitionError(second)) {
            expect(projection(second.order)).toEqual(projection(order))
            expect(second.effects).toEqual([])
          }
          // Later: a broker fact that was applied before, replayed now (a reconnect, a REST
          // re-read under another event id), changes nothing.
          const pick = picks[p++]
          if (pick !== undefined && appliedFacts.length > 0) {
            const replay = appliedFacts[pick % appliedFacts.length]!
            const r = transition(order, replay)
            // (A `same (logged)` cell may log it again; it still changes nothing.)
            if (!TransitionError.isTransitionError(r) && r.change === 'applied') {
              expect(projection(r.order), JSON.stringify(replay)).toEqual(projection(order))
              expect(r.effects).toEqual([])
            }
          }
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

  it('reaches the broker truth across a sized replace, whatever the delivery order of old-number fills', () => {
    // Broker truth: `a` shares fill under B1 before the modify; the modify places B2 for q ≤ Q - a
    // (what remained at the broker); b ≤ q fill under B2; if b < q the rest may be canceled.
    const truth = fc
      .integer({ min: 0, max: Q - 1 })
      .chain((a) => fc.tuple(fc.constant(a), fc.integer({ min: 1, max: Q - a })))
      .chain(([a, q]) =>
        fc.tuple(fc.constant(a), fc.constant(q), fc.integer({ min: 0, max: q }), fc.boolean()),
      )
    const run = truth.chain(([a, q, b, cancel]) => {
      const levels = (n: number) =>
        n === 0
          ? fc.constant<number[]>([])
          : fc
              .uniqueArray(fc.integer({ min: 1, max: n }), { maxLength: 4 })
              .map((xs) => [...new Set([...xs, n])])
      return fc
        .tuple(fc.constant({ a, q, b, cancel: cancel && b < q }), levels(a), levels(b))
        .chain(([t, la, lb]) => {
          const oldFills = la.map((c) => fill('B1', c))
          const chain: OrderEvent[] = [
            { type: 'replace_acked', brokerOrderId: 'B1', newBrokerOrderId: 'B2', quantity: t.q, at },
            ...lb.map((c) => fill('B2', c)),
            ...(t.cancel ? [{ type: 'canceled', at } as OrderEvent] : []),
          ]
          // Events under B2 only route once B2 is linked (the store parks them until then), so
          // B2's own events keep their order after the link; B1's fills land anywhere, twice.
          return fc.tuple(
            fc.constant(t),
            fc.shuffledSubarray([...oldFills, ...oldFills], { minLength: oldFills.length * 2 }),
            fc.array(fc.nat({ max: chain.length }), {
              minLength: oldFills.length * 2,
              maxLength: oldFills.length * 2,
            }),
            fc.constant(chain),
          )
        })
    })
    fc.assert(
      fc.property(run, ([t, old, slots, chain]) => {
        const events: OrderEvent[] = [...chain]
        for (const [i, e] of old.entries()) events.splice(Math.min(slots[i]!, events.length), 0, e)
        let order = freeze(
          [
            { type: 'submit_started', at } as OrderEvent,
            { type: 'acked', brokerOrderId: 'B1', at } as OrderEvent,
          ].reduce((o, e) => (transition(o, e) as Transitioned).order, fresh()),
        )
        for (const e of events) {
          const r = transition(order, e)
          if (TransitionError.isTransitionError(r)) throw r
          order = freeze(r.order)
        }
        const filled = t.a + t.b
        expect({ filled: order.filledQuantity, quantity: order.quantity }).toEqual({
          filled,
          quantity: t.a + t.q,
        })
        const state: OrderState =
          t.b === t.q ? 'FILLED' : t.cancel ? 'CANCELED' : filled > 0 ? 'PARTIAL_FILLED' : 'ACKED'
        expect(order.state).toBe(state)
      }),
      { numRuns: 1500 },
    )
  })
})
