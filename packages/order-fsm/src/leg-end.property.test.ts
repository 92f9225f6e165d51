import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { OrderEffect } from './effects'
import { TransitionError } from './errors'
import type { OrderEvent } from './events'
import { newOrder, type Order } from './order'
import type { OrderState } from './states'
import { anIntent } from './testing'
import { transition } from './transition'

// Broker truths around `canceled`/`expired` delivered in any order, duplicated, with the REST
// answer anywhere: the order must end where the truth says. Fixed seed (`FC_SEED` to explore).
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_261_124) })

const Q = 10
const at = Date.UTC(2026, 10, 24, 1, 0, 0)

const fill = (id: string, cum: number): OrderEvent => ({
  type: 'fill',
  brokerOrderId: id,
  cumulativeQuantity: cum,
  fillQuantity: 1,
  fillPrice: 70_000 + cum,
  at,
})
const canceled = (id: string, q: number): OrderEvent => ({
  type: 'canceled',
  brokerOrderId: id,
  canceledQuantity: q,
  at,
})

/** Cumulative levels a stream may report for `n` shares under one number: some, always the last. */
const levels = (n: number) =>
  n === 0
    ? fc.constant<number[]>([])
    : fc.uniqueArray(fc.integer({ min: 1, max: n }), { maxLength: 3 }).map((xs) => [...new Set([...xs, n])])

const ackedOrder = (): Order =>
  [
    { type: 'submit_started', at } as OrderEvent,
    { type: 'acked', brokerOrderId: 'B1', at } as OrderEvent,
  ].reduce(
    (o, e) => {
      const r = transition(o, e)
      if (TransitionError.isTransitionError(r)) throw r
      return r.order
    },
    newOrder(anIntent({ intentId: 'prop-end', quantity: Q }), at),
  )

/** Every event is delivered once or twice, in a random order. */
function deliveries(events: OrderEvent[]) {
  return fc.array(fc.boolean(), { minLength: events.length, maxLength: events.length }).chain((twice) => {
    const all = events.flatMap((e, i) => (twice[i] ? [e, e] : [e]))
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length })
  })
}

/**
 * Apply as the store does: a report under a number the order does not own yet is parked and
 * applied once the number is linked. A refusal fails the property.
 */
function applyAll(start: Order, events: readonly OrderEvent[]): { order: Order; effects: OrderEffect[] } {
  let order = start
  const effects: OrderEffect[] = []
  let parked: OrderEvent[] = []
  const owns = (e: OrderEvent) =>
    !('brokerOrderId' in e) ||
    e.type === 'replace_acked' ||
    e.brokerOrderId === undefined ||
    order.legs.some((l) => l.brokerOrderId === e.brokerOrderId)
  const one = (e: OrderEvent) => {
    const r = transition(order, e)
    if (TransitionError.isTransitionError(r)) throw r
    order = r.order
    effects.push(...r.effects)
  }
  for (const e of events) {
    if (!owns(e)) {
      parked.push(e)
      continue
    }
    one(e)
    const ready = parked.filter(owns)
    parked = parked.filter((p) => !owns(p))
    for (const p of ready) one(p)
  }
  expect(parked).toEqual([])
  return { order, effects }
}

const critical = (effects: OrderEffect[]) =>
  effects.filter((e) => e.type === 'alarm' && e.severity === 'critical')

describe('canceled/expired: properties over delivery orders', () => {
  it('a reduce (modify of q + cancel of the leftover) ends at the broker truth, whatever the interleaving', () => {
    // Truth: `a` shares fill under B1 before the modify; the modify moves q < Q - a to B2; the
    // leftover c = Q - a - q is canceled under B1; `b` ≤ q fill under B2; if b < q, we may cancel B2.
    const truth = fc
      .integer({ min: 0, max: Q - 2 })
      .chain((a) => fc.tuple(fc.constant(a), fc.integer({ min: 1, max: Q - a - 1 })))
      .chain(([a, q]) =>
        fc.tuple(fc.constant(a), fc.constant(q), fc.integer({ min: 0, max: q }), fc.boolean()),
      )
      .map(([a, q, b, cancel]) => ({ a, q, b, c: Q - a - q, cancel: cancel && b < q }))
    const scenario = truth.chain((t) =>
      fc.tuple(fc.constant(t), levels(t.a), levels(t.b)).chain(([t, la, lb]) => {
        // What the stream reports: the modify (replaced + accepted of the new number), the
        // leftover cancel, the fills; and our REST answer of the replace, wherever it lands.
        const notices: OrderEvent[] = [
          { type: 'replace_acked', brokerOrderId: 'B1', newBrokerOrderId: 'B2', quantity: t.q, at },
          { type: 'replace_acked', brokerOrderId: 'B1', newBrokerOrderId: 'B2', quantity: t.q, at: at + 1 },
          canceled('B1', t.c),
          ...la.map((c) => fill('B1', c)),
          ...lb.map((c) => fill('B2', c)),
        ]
        const rest: OrderEvent = { type: 'replace_acked', brokerOrderId: 'B1', newBrokerOrderId: 'B2', at }
        return fc.tuple(fc.constant(t), deliveries([...notices, rest]))
      }),
    )
    fc.assert(
      fc.property(scenario, ([t, delivered]) => {
        let events: OrderEvent[] = [
          { type: 'replace_requested', patch: { quantity: t.q }, at } as OrderEvent,
          ...delivered,
        ]
        if (t.cancel) {
          // We cancel B2 once the REST answer told us its number; the broker cancels what is left.
          const i = events.findIndex((e) => e.type === 'replace_acked' && e.quantity === undefined)
          const after = [...events.slice(i + 1), canceled('B2', t.q - t.b)]
          events = [...events.slice(0, i + 1), { type: 'cancel_requested', at }, ...after]
        }
        const { order, effects } = applyAll(ackedOrder(), events)
        const filled = t.a + t.b
        expect({ filled: order.filledQuantity, quantity: order.quantity }).toEqual({
          filled,
          quantity: t.a + t.q,
        })
        const state: OrderState =
          t.b === t.q ? 'FILLED' : t.cancel ? 'CANCELED' : filled > 0 ? 'PARTIAL_FILLED' : 'ACKED'
        expect(order.state).toBe(state)
        expect(order.brokerOrderId).toBe('B2')
        // The leftover's cancel is recorded under B1 (a closed order absorbs it without a change).
        if (order.state !== 'FILLED' && order.state !== 'CANCELED') {
          const reductions = order.legs.find((l) => l.brokerOrderId === 'B1')?.reductions ?? []
          expect(reductions.map((r) => ({ type: r.type, quantity: r.quantity }))).toEqual([
            { type: 'canceled', quantity: t.c },
          ])
        }
        expect(critical(effects)).toEqual([])
        // The leftover's cancel is expected: no partial-cancel warning.
        expect(effects.filter((e) => e.type === 'alarm' && e.code === 'partial_cancel')).toEqual([])
      }),
      { numRuns: 1500 },
    )
  })

  it('a partial cancel shrinks the order to what the broker has left; our full cancel closes it', () => {
    // Truth: f shares fill, and c shares are canceled (f + c ≤ Q). `requested`: our cancel, which
    // takes everything left (c = Q - f); otherwise a partial cancel nobody here asked for.
    const truth = fc
      .tuple(fc.integer({ min: 0, max: Q - 1 }), fc.boolean())
      .chain(([f, requested]) =>
        fc.tuple(
          fc.constant(f),
          requested ? fc.constant(Q - f) : fc.integer({ min: 1, max: Q - f }),
          fc.constant(requested),
        ),
      )
      .map(([f, c, requested]) => ({ f, c, requested }))
    const scenario = truth.chain((t) =>
      levels(t.f).chain((lf) =>
        fc.tuple(fc.constant(t), deliveries([...lf.map((c) => fill('B1', c)), canceled('B1', t.c)])),
      ),
    )
    fc.assert(
      fc.property(scenario, ([t, delivered]) => {
        const events: OrderEvent[] = t.requested
          ? [{ type: 'cancel_requested', at }, ...delivered]
          : delivered
        const { order, effects } = applyAll(ackedOrder(), events)
        expect(order.filledQuantity).toBe(t.f)
        expect(critical(effects)).toEqual([])
        // What the order knew when the cancel first arrived (a repeat changes nothing).
        const firstCancel = delivered.findIndex((e) => e.type === 'canceled')
        const lastLevel = delivered.findIndex((e) => e.type === 'fill' && e.cumulativeQuantity === t.f)
        if (t.requested) {
          expect(order).toMatchObject({ state: 'CANCELED', quantity: Q })
        } else if (t.f + t.c < Q) {
          // Shares are still working: the order lives on with fewer.
          expect(order).toMatchObject({ state: t.f > 0 ? 'PARTIAL_FILLED' : 'ACKED', quantity: Q - t.c })
        } else {
          // Nothing left: a cancel of the rest after every fill closes the order as CANCELED (the
          // broker's word); a partial cancel before the last fills leaves it FILLED. The same
          // shares either way; reordered delivery cannot tell these two apart.
          const seenAllFillsFirst = lastLevel < firstCancel
          expect(order).toMatchObject(
            seenAllFillsFirst ? { state: 'CANCELED', quantity: Q } : { state: 'FILLED', quantity: Q - t.c },
          )
        }
      }),
      { numRuns: 1500 },
    )
  })

  it('an expiry with fills in flight ends the order as EXPIRED and keeps every fill', () => {
    const scenario = fc
      .integer({ min: 0, max: Q - 1 })
      .chain((f) =>
        levels(f).chain((lf) =>
          fc.tuple(
            fc.constant(f),
            deliveries([
              ...lf.map((c) => fill('B1', c)),
              { type: 'expired', brokerOrderId: 'B1', expiredQuantity: Q - f, at },
            ]),
          ),
        ),
      )
    fc.assert(
      fc.property(scenario, ([f, delivered]) => {
        const { order, effects } = applyAll(ackedOrder(), delivered)
        expect(order).toMatchObject({ state: 'EXPIRED', filledQuantity: f, quantity: Q })
        expect(critical(effects)).toEqual([])
      }),
      { numRuns: 1000 },
    )
  })
})
