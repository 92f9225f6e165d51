import { describe, expect, it } from 'vitest'
import type { OrderEffect } from './effects'
import { TransitionError } from './errors'
import type { OrderEvent } from './events'
import { newOrder, type Order } from './order'
import { anIntent } from './testing'
import { type Transitioned, transition } from './transition'

// `canceled` and `expired` end shares under one number of the order; the order closes only when
// nothing it has is left working (the `end` rule of the transition table).

const at = Date.UTC(2026, 10, 24, 1, 0, 0)

function run(order: Order, ...events: OrderEvent[]): { order: Order; effects: OrderEffect[] } {
  const effects: OrderEffect[] = []
  for (const e of events) {
    const r = transition(order, e)
    if (TransitionError.isTransitionError(r)) throw r
    order = r.order
    effects.push(...r.effects)
  }
  return { order, effects }
}

const fill = (brokerOrderId: string, cum: number, qty = 1): OrderEvent => ({
  type: 'fill',
  brokerOrderId,
  cumulativeQuantity: cum,
  fillQuantity: qty,
  fillPrice: 71_000,
  at,
})
const canceled = (brokerOrderId: string, canceledQuantity: number): OrderEvent => ({
  type: 'canceled',
  brokerOrderId,
  canceledQuantity,
  at,
})
const expired = (brokerOrderId: string, expiredQuantity: number): OrderEvent => ({
  type: 'expired',
  brokerOrderId,
  expiredQuantity,
  at,
})
// What broker-kis reports for replaceOrder(B1, { quantity: 4 }): a modify of 4 shares (new number
// B2) and a cancel of the rest under B1.
const replaced: OrderEvent = {
  type: 'replace_acked',
  brokerOrderId: 'B1',
  newBrokerOrderId: 'B2',
  quantity: 4,
  at,
}
const restAck: OrderEvent = { type: 'replace_acked', brokerOrderId: 'B1', newBrokerOrderId: 'B2', at }
const alarms = (effects: OrderEffect[]) => effects.filter((e) => e.type === 'alarm').map((e) => e.code)

const acked = run(
  newOrder(anIntent({ intentId: 'end-1', quantity: 10 }), at),
  { type: 'submit_started', at },
  { type: 'acked', brokerOrderId: 'B1', at },
).order
const reducing = run(acked, { type: 'replace_requested', patch: { quantity: 4 }, at }).order

describe('a quantity replace (modify of q shares + cancel of the leftover)', () => {
  it('the leftover cancel under the replaced number closes that number only', () => {
    const { order, effects } = run(reducing, replaced, canceled('B1', 6))
    expect(order).toMatchObject({ state: 'ACKED', quantity: 4, brokerOrderId: 'B2', pending: null })
    expect(order.legs.find((l) => l.brokerOrderId === 'B1')).toMatchObject({
      closed: 'canceled',
      reductions: [{ type: 'canceled', quantity: 6 }],
    })
    expect(alarms(effects)).toEqual([])
    // Fills under the new number apply and complete the order.
    expect(run(order, fill('B2', 3, 3), fill('B2', 4)).order).toMatchObject({
      state: 'FILLED',
      filledQuantity: 4,
    })
  })

  it('a leftover cancel that overtakes the replace shrinks the order and waits for the replacement', () => {
    const early = run(reducing, canceled('B1', 6))
    expect(early.order).toMatchObject({ state: 'REPLACE_PENDING', quantity: 4, brokerOrderId: 'B1' })
    expect(alarms(early.effects)).toEqual([])
    const { order } = run(early.order, restAck, replaced, fill('B2', 4, 4))
    expect(order).toMatchObject({ state: 'FILLED', quantity: 4, filledQuantity: 4 })
  })

  it('with fills under the old number before the modify, in any order', () => {
    // Truth: 2 filled under B1, the modify moves 4 to B2, the leftover of 4 is canceled.
    const a = run(reducing, fill('B1', 2, 2), canceled('B1', 4), replaced, fill('B2', 4, 4)).order
    const b = run(reducing, canceled('B1', 4), restAck, fill('B2', 4, 4), fill('B1', 2, 2)).order
    for (const o of [a, b]) expect(o).toMatchObject({ state: 'FILLED', quantity: 6, filledQuantity: 6 })
  })

  it('ignores the same report twice, before and after the replace', () => {
    const once = run(reducing, canceled('B1', 6)).order
    const again = transition(once, canceled('B1', 6)) as Transitioned
    expect(again.change).toBe('ignored')
    const later = transition(run(once, replaced).order, canceled('B1', 6)) as Transitioned
    expect(later.change).toBe('ignored')
  })

  it('records a further end of a replaced number (a partial cancel delivered after the modify) and leaves the order alone', () => {
    const closed = run(reducing, replaced, canceled('B1', 6)).order
    const r = transition(closed, {
      ...canceled('B1', 5),
      eventId: 'another-report',
    } as OrderEvent) as Transitioned
    expect(r.change).toBe('applied')
    expect(r.order).toMatchObject({ state: closed.state, quantity: closed.quantity })
    expect(r.order.legs.find((l) => l.brokerOrderId === 'B1')?.reductions).toHaveLength(2)
  })

  it('an expiry of the replaced number closes that number only', () => {
    const { order } = run(reducing, replaced, expired('B1', 6))
    expect(order).toMatchObject({ state: 'ACKED', quantity: 4 })
    expect(order.legs[0]?.closed).toBe('expired')
  })

  it('a cancel that overtook the replace does not close the order on the leftover', () => {
    const overtaken = run(reducing, { type: 'cancel_requested', at }).order
    expect(overtaken.pending?.overtakenReplace).toEqual({ quantity: 4 })
    const { order } = run(overtaken, canceled('B1', 6))
    expect(order).toMatchObject({ state: 'CANCEL_PENDING', quantity: 4 })
    // The replacement shows up: linked, and the cancel keeps waiting (it targeted B1).
    const linked = run(order, replaced).order
    expect(linked).toMatchObject({ state: 'CANCEL_PENDING', brokerOrderId: 'B2', quantity: 4 })
    expect(linked.pending?.overtakenReplace).toBeUndefined()
    // Our cancel of B1 is refused (nothing left there): the order works on under B2.
    expect(run(linked, { type: 'cancel_rejected', reason: 'nothing to cancel', at }).order).toMatchObject({
      state: 'ACKED',
      brokerOrderId: 'B2',
    })
  })

  it('a refused cancel that overtook a replace returns to REPLACE_PENDING', () => {
    const overtaken = run(reducing, { type: 'cancel_requested', at }).order
    const { order } = run(overtaken, { type: 'cancel_rejected', reason: 'no', at })
    expect(order).toMatchObject({
      state: 'REPLACE_PENDING',
      pending: { kind: 'replace', patch: { quantity: 4 } },
    })
    expect(run(order, replaced).order).toMatchObject({ state: 'ACKED', quantity: 4, brokerOrderId: 'B2' })
  })

  it('a refusal of the overtaken replace is recorded; a stale one is ignored', () => {
    const overtaken = run(reducing, { type: 'cancel_requested', at }).order
    const r = transition(overtaken, { type: 'replace_rejected', reason: 'no', at }) as Transitioned
    expect(r.change).toBe('applied')
    expect(r.order.pending).toMatchObject({ kind: 'cancel' })
    expect(r.order.pending?.overtakenReplace).toBeUndefined()
    expect((transition(r.order, { type: 'replace_rejected', reason: 'no', at }) as Transitioned).change).toBe(
      'ignored',
    )
    // Now a short cancel is our cancel with fills in flight: the order is canceled.
    expect(run(r.order, canceled('B1', 7)).order.state).toBe('CANCELED')
  })
})

describe('a cancel or expiry of the number the order works under', () => {
  it('a partial cancel nobody asked for shrinks the order, which keeps working (warning)', () => {
    const { order, effects } = run(acked, fill('B1', 2, 2), canceled('B1', 3))
    expect(order).toMatchObject({ state: 'PARTIAL_FILLED', quantity: 7, filledQuantity: 2 })
    expect(alarms(effects)).toEqual(['partial_cancel'])
    expect(run(order, fill('B1', 7, 5)).order).toMatchObject({ state: 'FILLED', quantity: 7 })
    // A later cancel of all that is left closes it.
    expect(run(order, canceled('B1', 5)).order).toMatchObject({ state: 'CANCELED', quantity: 7 })
  })

  it('all that is working canceled: CANCELED', () => {
    expect(run(acked, fill('B1', 3, 3), canceled('B1', 7)).order.state).toBe('CANCELED')
  })

  it('our cancel confirmed for fewer shares than working: CANCELED, the fills in flight still apply', () => {
    const pending = run(acked, { type: 'cancel_requested', at }).order
    const { order, effects } = run(pending, canceled('B1', 7))
    expect(order).toMatchObject({ state: 'CANCELED', quantity: 10, filledQuantity: 0 })
    expect(alarms(effects)).toEqual([])
    const late = run(order, fill('B1', 3, 3))
    expect(late.order).toMatchObject({ state: 'CANCELED', filledQuantity: 3 })
    expect(alarms(late.effects)).toEqual(['late_fill_after_cancel'])
  })

  it('an expiry ends the number; fills reported after it still apply (warning)', () => {
    const { order } = run(acked, expired('B1', 7))
    expect(order.state).toBe('EXPIRED')
    const late = run(order, fill('B1', 3, 3))
    expect(late.order).toMatchObject({ state: 'EXPIRED', filledQuantity: 3 })
    expect(alarms(late.effects)).toEqual(['late_fill_after_expiry'])
    // More than the expiry left over is still an overfill.
    expect(TransitionError.isTransitionError(transition(late.order, fill('B1', 11, 8)))).toBe(true)
  })

  it('more canceled than working still closes, with a critical alarm', () => {
    const { order, effects } = run(acked, fill('B1', 4, 4), canceled('B1', 10))
    expect(order.state).toBe('CANCELED')
    expect(effects.filter((e) => e.type === 'alarm')).toMatchObject([
      { code: 'canceled_exceeds_working', severity: 'critical' },
    ])
  })

  it('a report under a cancel request number is about the number it canceled', () => {
    const pending = run(
      acked,
      { type: 'cancel_requested', at },
      { type: 'cancel_acked', cancelRequestId: 'C1', at },
    ).order
    expect(run(pending, canceled('C1', 10)).order.state).toBe('CANCELED')
  })

  it('refuses a report under a number the order does not have', () => {
    const r = transition(acked, canceled('B7', 10))
    expect(TransitionError.isTransitionError(r) && [r.code, r.alarm]).toEqual(['unknown_broker_order', true])
  })

  it('a partial cancel in RECONCILE_REQUIRED shrinks it and keeps it unresolved', () => {
    const unknown = run(
      acked,
      { type: 'replace_requested', patch: { limitPrice: 70_000 }, at },
      { type: 'outcome_unknown', operation: 'replace', reason: 'timeout', at },
    ).order
    const { order } = run(unknown, canceled('B1', 6))
    expect(order).toMatchObject({ state: 'RECONCILE_REQUIRED', quantity: 4 })
  })
})
