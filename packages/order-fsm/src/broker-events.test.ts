import { describe, expect, it } from 'vitest'
import { fromBrokerEvent, routingIdsOf } from './broker-events'
import { BrokerEventFactory } from './testing'

const broker = new BrokerEventFactory({ at: 1_000 })

describe('fromBrokerEvent', () => {
  it('maps the contract events one to one where the meaning is plain', () => {
    const route = { role: 'order' as const, state: 'ACKED' as const }
    expect(fromBrokerEvent(broker.accepted('B1', { quantity: 10 }), route)).toEqual({
      type: 'acked',
      brokerOrderId: 'B1',
      at: 1_000,
    })
    expect(
      fromBrokerEvent(broker.filled('B1', { cumulative: 7, quantity: 3, price: 71_000 }), route),
    ).toEqual({
      type: 'fill',
      brokerOrderId: 'B1',
      cumulativeQuantity: 7,
      fillQuantity: 3,
      fillPrice: 71_000,
      at: 1_000,
    })
    expect(fromBrokerEvent(broker.canceled('B1', { canceledQuantity: 3 }), route)).toEqual({
      type: 'canceled',
      brokerOrderId: 'B1',
      canceledQuantity: 3,
      eventId: 'canceled:B1',
      at: 1_000,
    })
    expect(fromBrokerEvent(broker.expired('B1', { expiredQuantity: 3 }), route)).toEqual({
      type: 'expired',
      brokerOrderId: 'B1',
      expiredQuantity: 3,
      eventId: 'expired:B1',
      at: 1_000,
    })
    expect(fromBrokerEvent(broker.rejected('B1', { reason: 'limit', code: 'APBK0919' }), route)).toEqual({
      type: 'rejected',
      reason: 'limit',
      code: 'APBK0919',
      at: 1_000,
    })
    expect(
      fromBrokerEvent(broker.replaced('B1', { newBrokerOrderId: 'B2', limitPrice: 70_900 }), route),
    ).toEqual({
      type: 'replace_acked',
      brokerOrderId: 'B1',
      newBrokerOrderId: 'B2',
      limitPrice: 70_900,
      at: 1_000,
    })
  })

  it('reads a reject under a cancel request’s own number as a cancel reject naming that request', () => {
    const e = fromBrokerEvent(broker.rejected('C1', { reason: 'nothing left' }), {
      role: 'cancel',
      state: 'CANCEL_PENDING',
    })
    expect(e).toEqual({ type: 'cancel_rejected', reason: 'nothing left', cancelRequestId: 'C1', at: 1_000 })
  })

  it('reads an accepted child order as a replacement in every state (adapters announce cancels otherwise)', () => {
    const child = broker.accepted('C1', { quantity: 4, predecessorId: 'B1' })
    for (const state of [
      'ACKED',
      'PARTIAL_FILLED',
      'CANCEL_PENDING',
      'REPLACE_PENDING',
      'RECONCILE_REQUIRED',
    ] as const) {
      expect(fromBrokerEvent(child, { role: 'order', state })).toEqual({
        type: 'replace_acked',
        brokerOrderId: 'B1',
        newBrokerOrderId: 'C1',
        quantity: 4,
        at: 1_000,
      })
    }
    expect(routingIdsOf(child)).toEqual(['B1', 'C1'])
  })
})
