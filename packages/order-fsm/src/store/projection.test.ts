import { describe, expect, it } from 'vitest'
import { step, T0 } from '../../test/helpers'
import { newOrder, type Order } from '../order'
import { anIntent } from '../testing'
import { orderOfRow, type ProjectionRow, projectionDoc } from './projection'

/** The row the store writes for `order`, as pg returns it (JSON round trip, BIGINT as a string). */
function rowOf(order: Order, doc: unknown, intent: unknown): ProjectionRow {
  return {
    intent_id: order.intentId,
    state: order.state,
    version: order.version,
    broker_order_id: order.brokerOrderId,
    submitted_at: order.submittedAt === null ? null : String(order.submittedAt),
    created_at: String(order.createdAt),
    updated_at: String(order.updatedAt),
    doc: JSON.parse(JSON.stringify(doc)),
    intent: intent === null ? null : JSON.parse(JSON.stringify(intent)),
  }
}

const created = newOrder(anIntent({ intentId: 'proj-1', quantity: 10 }), T0)
const submitted = step(created, { type: 'submit_started', at: T0 + 1 })
const acked = step(submitted, { type: 'acked', brokerOrderId: 'B1', at: T0 + 2 })
const partial = step(acked, {
  type: 'fill',
  brokerOrderId: 'B1',
  cumulativeQuantity: 4,
  fillQuantity: 4,
  fillPrice: 71_000,
  at: T0 + 3,
})
const replacing = step(partial, { type: 'replace_requested', patch: { limitPrice: 70_900 }, at: T0 + 4 })
const replaced = step(replacing, {
  type: 'replace_acked',
  brokerOrderId: 'B1',
  newBrokerOrderId: 'B2',
  at: T0 + 5,
})
const orders = [created, submitted, acked, partial, replacing, replaced]

describe('the projection row', () => {
  it('keeps out of doc what the row has elsewhere: the intent and the columns', () => {
    const doc = projectionDoc(replaced)
    expect(Object.keys(doc).sort()).toEqual(
      [
        'filledNotional',
        'filledQuantity',
        'legs',
        'limitPrice',
        'pending',
        'quantity',
        'rejectReason',
        'unresolved',
      ].sort(),
    )
    expect(JSON.stringify(projectionDoc(acked)).length).toBeLessThan(JSON.stringify(acked).length / 2)
  })

  it('reads back exactly the order written, in every state', () => {
    for (const order of orders) {
      expect(orderOfRow(rowOf(order, projectionDoc(order), order.intent))).toStrictEqual(
        JSON.parse(JSON.stringify(order)),
      )
    }
  })

  it('reads a row written before migration 0003 (doc is the whole order) the same', () => {
    for (const order of orders) {
      const expected = JSON.parse(JSON.stringify(order))
      expect(orderOfRow(rowOf(order, order, order.intent))).toStrictEqual(expected)
      // Without its log the whole doc still carries the intent.
      expect(orderOfRow(rowOf(order, order, null))).toStrictEqual(expected)
    }
  })

  it('refuses a narrow row without its intent rather than return an order without one', () => {
    expect(() => orderOfRow(rowOf(acked, projectionDoc(acked), null))).toThrow(/no intent/)
  })
})
