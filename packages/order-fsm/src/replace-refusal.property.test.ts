import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TransitionError } from './errors'
import type { OrderEvent } from './events'
import { newOrder, type Order } from './order'
import { anIntent } from './testing'
import { transition } from './transition'

// Deterministic (the suite must be): a fixed seed, overridable to explore with FC_SEED.
const seed = Number(process.env.FC_SEED ?? 20_261_124)

const Q = 10
const PRICE = 71_000
const at = Date.UTC(2026, 10, 24, 1, 0, 0)

function apply(order: Order, event: OrderEvent): Order {
  const r = transition(order, event)
  if (TransitionError.isTransitionError(r)) throw r
  return r.order
}

const acked = [
  { type: 'submit_started', at },
  { type: 'acked', brokerOrderId: 'B1', at },
] satisfies OrderEvent[]
const opening = acked.reduce(
  apply,
  newOrder(anIntent({ intentId: 'prop-refuse', quantity: Q, limitPrice: PRICE }), at),
)

const refusal: OrderEvent = { type: 'replace_refused', brokerOrderId: 'B2', reason: 'filled first', at }
const fillB1 = (cum: number): OrderEvent => ({
  type: 'fill',
  brokerOrderId: 'B1',
  cumulativeQuantity: cum,
  fillQuantity: 1,
  fillPrice: PRICE,
  at,
})

/**
 * One refused modify: requested, numbered by the REST answer (replace_acked), refused by the
 * exchange one or more times (a replayed notice), with fills of the original anywhere in between.
 * The store parks a refusal that comes before the number is linked and applies it on the link, so
 * at the FSM every refusal follows the ack.
 */
const scenario = fc
  .record({
    patch: fc.oneof(
      fc.constant({ limitPrice: 70_900 }),
      fc.integer({ min: 1, max: Q }).map((quantity) => ({ quantity })),
      fc.integer({ min: 1, max: Q }).map((quantity) => ({ quantity, limitPrice: 70_800 })),
    ),
    fills: fc.array(fc.integer({ min: 1, max: Q }), { maxLength: 4 }),
    refusals: fc.integer({ min: 1, max: 3 }),
    // Where the ack and the refusals go among the fills.
    ackAt: fc.nat(),
    refusalsAt: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
  })
  .map(({ patch, fills, refusals, ackAt, refusalsAt }) => {
    const events: OrderEvent[] = fills.map(fillB1)
    const ackIndex = ackAt % (events.length + 1)
    events.splice(ackIndex, 0, { type: 'replace_acked', brokerOrderId: 'B1', newBrokerOrderId: 'B2', at })
    for (let i = 0; i < refusals; i++) {
      const ack = events.findIndex((e) => e.type === 'replace_acked')
      const slots = events.length - ack // positions after the ack
      events.splice(ack + 1 + (refusalsAt[i]! % slots), 0, refusal)
    }
    return { patch, fills, events }
  })

describe('replace_refused (property)', () => {
  it('a refused modify leaves the order as the original number says, in any order, duplicated or not', () => {
    fc.assert(
      fc.property(scenario, ({ patch, fills, events }) => {
        let order = apply(opening, { type: 'replace_requested', patch, at })
        const refusalsSeen: string[] = []
        for (const e of events) {
          const r = transition(order, e)
          if (TransitionError.isTransitionError(r))
            throw new Error(`${e.type} refused in ${order.state}: ${r.message}`)
          if (e.type === 'replace_refused') refusalsSeen.push(r.change)
          order = r.order
        }
        const filled = Math.max(0, ...fills)
        expect(order.filledQuantity).toBe(filled)
        expect(order.quantity).toBe(Q)
        expect(order.limitPrice).toBe(PRICE)
        expect(order.brokerOrderId).toBe('B1')
        expect(order.state).toBe(filled === Q ? 'FILLED' : filled > 0 ? 'PARTIAL_FILLED' : 'ACKED')
        expect(order.legs.find((l) => l.brokerOrderId === 'B2')?.refused).toBeDefined()
        // Exactly one refusal changes the order (unless a fill proved it first); repeats are ignored.
        expect(refusalsSeen.filter((c) => c === 'applied').length).toBeLessThanOrEqual(1)
        expect(refusalsSeen.slice(1).every((c) => c === 'ignored')).toBe(true)
      }),
      { seed, numRuns: 500 },
    )
  })

  it('the outcome does not depend on when the refusal arrives', () => {
    fc.assert(
      fc.property(scenario, ({ patch, events }) => {
        const final = (list: OrderEvent[]) => {
          const o = list.reduce(apply, apply(opening, { type: 'replace_requested', patch, at }))
          return { state: o.state, q: o.quantity, f: o.filledQuantity, p: o.limitPrice, id: o.brokerOrderId }
        }
        // The same facts with every refusal moved to the end.
        const rest = events.filter((e) => e.type !== 'replace_refused')
        const refusals = events.filter((e) => e.type === 'replace_refused')
        const late = [...rest, ...refusals]
        // ... or right after the ack.
        const ack = rest.findIndex((e) => e.type === 'replace_acked')
        const early = [...rest.slice(0, ack + 1), ...refusals, ...rest.slice(ack + 1)]
        const expected = final(events)
        expect(final(late)).toEqual(expected)
        expect(final(early)).toEqual(expected)
      }),
      { seed, numRuns: 300 },
    )
  })
})
