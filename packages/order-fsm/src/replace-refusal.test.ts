import { describe, expect, it } from 'vitest'
import { fromBrokerEvent } from './broker-events'
import { TransitionError } from './errors'
import type { OrderEvent } from './events'
import { newOrder, type Order } from './order'
import { anIntent, BrokerEventFactory } from './testing'
import { type Transitioned, transition } from './transition'

const at = Date.UTC(2026, 10, 24, 1, 0, 0)

function run(order: Order, event: OrderEvent): Transitioned {
  const r = transition(order, event)
  if (TransitionError.isTransitionError(r)) throw r
  return r
}
function step(order: Order, event: OrderEvent): Order {
  const r = run(order, event)
  if (r.change !== 'applied') throw new Error(`expected ${event.type} to apply in ${order.state}: ${r.note}`)
  return r.order
}
const fill = (brokerOrderId: string, cum: number): OrderEvent => ({
  type: 'fill',
  brokerOrderId,
  cumulativeQuantity: cum,
  fillQuantity: 1,
  fillPrice: 71_000,
  at,
})
const refused = (brokerOrderId: string): OrderEvent => ({
  type: 'replace_refused',
  brokerOrderId,
  reason: 'the original filled first',
  at,
})

const acked = step(
  step(newOrder(anIntent({ intentId: 'refuse-1', quantity: 10, limitPrice: 71_000 }), at), {
    type: 'submit_started',
    at,
  }),
  { type: 'acked', brokerOrderId: 'B1', at },
)
function replaced(order: Order, patch: { limitPrice?: number; quantity?: number }, from = 'B1', to = 'B2') {
  const pending = step(order, { type: 'replace_requested', patch, at })
  return step(pending, { type: 'replace_acked', brokerOrderId: from, newBrokerOrderId: to, at })
}

describe('fromBrokerEvent: a rejected under a replacement number', () => {
  const broker = new BrokerEventFactory({ at })
  it('is a refusal of that replace, not of the order', () => {
    const e = broker.rejected('B2', { reason: 'filled first', code: 'APBK0913' })
    expect(fromBrokerEvent(e, { role: 'replacement', state: 'ACKED' })).toEqual({
      type: 'replace_refused',
      brokerOrderId: 'B2',
      reason: 'filled first',
      code: 'APBK0913',
      at,
    })
    expect(fromBrokerEvent(e, { role: 'order', state: 'ACKED' }).type).toBe('rejected')
  })
})

describe('replace_refused: the modify never took effect', () => {
  it('reverts the number and the price of a price modify; the order stays working', () => {
    const r = replaced(acked, { limitPrice: 70_900 })
    expect(r).toMatchObject({ state: 'ACKED', brokerOrderId: 'B2', limitPrice: 70_900 })
    const out = run(r, refused('B2'))
    expect(out.change).toBe('applied')
    expect(out.order).toMatchObject({ state: 'ACKED', brokerOrderId: 'B1', limitPrice: 71_000, quantity: 10 })
    expect(out.order.legs.find((l) => l.brokerOrderId === 'B2')?.refused).toBe('the original filled first')
    expect(out.effects).toEqual([expect.objectContaining({ type: 'alarm', code: 'replace_refused' })])
    // Idempotent: the same refusal again changes nothing.
    expect(run(out.order, refused('B2')).change).toBe('ignored')
    // The original keeps filling.
    expect(step(out.order, fill('B1', 10))).toMatchObject({ state: 'FILLED', filledQuantity: 10 })
  })

  it('after the original filled (fill first), the order stays FILLED under the original number', () => {
    const filled = step(replaced(acked, { limitPrice: 70_900 }), fill('B1', 10))
    expect(filled.state).toBe('FILLED')
    const out = run(filled, refused('B2'))
    expect(out.change).toBe('applied')
    expect(out.order).toMatchObject({
      state: 'FILLED',
      brokerOrderId: 'B1',
      filledQuantity: 10,
      quantity: 10,
    })
  })

  it('keeps PARTIAL_FILLED when part of the original filled', () => {
    const out = step(step(replaced(acked, { limitPrice: 70_900 }), fill('B1', 4)), refused('B2'))
    expect(out).toMatchObject({
      state: 'PARTIAL_FILLED',
      brokerOrderId: 'B1',
      filledQuantity: 4,
      quantity: 10,
    })
  })

  it('reverts a reducing modify to the quantity the original carries', () => {
    const r = replaced(acked, { quantity: 6 })
    expect(r.quantity).toBe(6)
    const out = step(r, refused('B2'))
    expect(out).toMatchObject({ state: 'ACKED', brokerOrderId: 'B1', quantity: 10 })
    expect(step(out, fill('B1', 10))).toMatchObject({ state: 'FILLED', filledQuantity: 10, quantity: 10 })
  })

  it('a reducing modify: a fill under the original before the refusal (late fill growth) is undone right', () => {
    const grown = step(replaced(acked, { quantity: 6 }), fill('B1', 4))
    expect(grown).toMatchObject({ quantity: 10, filledQuantity: 4 })
    expect(step(grown, refused('B2'))).toMatchObject({
      state: 'PARTIAL_FILLED',
      quantity: 10,
      filledQuantity: 4,
      brokerOrderId: 'B1',
    })
  })

  it('a reducing modify: a fill the modify could not have left proves the refusal (applied, warned)', () => {
    const r = replaced(acked, { quantity: 6 })
    const out = run(r, fill('B1', 10))
    expect(out.change).toBe('applied')
    expect(out.order).toMatchObject({
      state: 'FILLED',
      quantity: 10,
      filledQuantity: 10,
      brokerOrderId: 'B1',
    })
    expect(out.effects).toContainEqual(
      expect.objectContaining({ type: 'alarm', code: 'replace_refused_by_fill' }),
    )
    expect(out.order.legs.find((l) => l.brokerOrderId === 'B2')?.refused).toBeDefined()
    expect(run(out.order, refused('B2')).change).toBe('ignored')
  })

  it('a leftover cancel of the original, then the refusal: the order continues with fewer shares', () => {
    // 10 at 71 000; modify to 6 sent, the leftover 4 canceled under B1, then the modify is refused:
    // 6 shares are still working under B1.
    const r = step(replaced(acked, { quantity: 6 }), {
      type: 'canceled',
      brokerOrderId: 'B1',
      canceledQuantity: 4,
      at,
    })
    const out = step(r, refused('B2'))
    expect(out).toMatchObject({ state: 'ACKED', quantity: 6, brokerOrderId: 'B1' })
    expect(out.legs.find((l) => l.brokerOrderId === 'B1')?.closed).toBeUndefined()
    expect(step(out, fill('B1', 6))).toMatchObject({ state: 'FILLED', filledQuantity: 6 })
  })

  it('the original ended whole under its number, then the refusal: nothing is working, the order ends', () => {
    const r = step(replaced(acked, { limitPrice: 70_900 }), { type: 'canceled', brokerOrderId: 'B1', at })
    expect(step(r, refused('B2'))).toMatchObject({ state: 'CANCELED', brokerOrderId: 'B1' })
  })

  it('while a later replace is pending, the state is kept and the number reverts', () => {
    const pending = step(replaced(acked, { limitPrice: 70_900 }), {
      type: 'replace_requested',
      patch: { limitPrice: 70_800 },
      at,
    })
    expect(step(pending, refused('B2'))).toMatchObject({
      state: 'REPLACE_PENDING',
      brokerOrderId: 'B1',
      limitPrice: 71_000,
    })
  })

  it('a chain reverts to the nearest number not refused, in either order', () => {
    const chain = replaced(replaced(acked, { limitPrice: 70_900 }), { limitPrice: 70_800 }, 'B2', 'B3')
    const newestFirst = step(chain, refused('B3'))
    expect(newestFirst).toMatchObject({ brokerOrderId: 'B2', limitPrice: 70_900 })
    expect(step(newestFirst, refused('B2'))).toMatchObject({ brokerOrderId: 'B1', limitPrice: 71_000 })
    const oldestFirst = step(chain, refused('B2'))
    expect(oldestFirst).toMatchObject({ brokerOrderId: 'B3', limitPrice: 70_800 })
    expect(step(oldestFirst, refused('B3'))).toMatchObject({ brokerOrderId: 'B1', limitPrice: 71_000 })
  })

  it('contradictions are refused with an alarm, never guessed', () => {
    const r = replaced(acked, { limitPrice: 70_900 })
    const traded = step(r, fill('B2', 3))
    const e1 = transition(traded, refused('B2'))
    expect(TransitionError.isTransitionError(e1) && e1.alarm).toBe(true)
    const e2 = transition(step(r, refused('B2')), fill('B2', 3))
    expect(TransitionError.isTransitionError(e2) && e2.alarm).toBe(true)
    const e3 = transition(r, refused('B9'))
    expect(TransitionError.isTransitionError(e3) && e3.code).toBe('unknown_broker_order')
  })
})
