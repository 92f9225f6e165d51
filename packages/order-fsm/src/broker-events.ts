import type { BrokerOrderEvent } from '@vellab/broker-gateway'
import type { OrderEvent } from './events'
import type { BrokerLeg } from './order'
import type { OrderState } from './states'

/** What the store knows about the order a broker event was routed to. */
export interface BrokerEventRoute {
  /** The role of the broker number the event was found under. */
  role: BrokerLeg['role']
  /** The order's current state. */
  state: OrderState
}

/**
 * The broker numbers under which a broker event can be routed to a local order, best first. A
 * replacement's own number is not linked yet when its notice arrives, so the predecessor routes it.
 */
export function routingIdsOf(event: BrokerOrderEvent): string[] {
  if (event.type === 'accepted' && event.predecessorId) return [event.predecessorId, event.brokerOrderId]
  return [event.brokerOrderId]
}

/**
 * Translate what an adapter emits (`BrokerOrderEvent` of `@vellab/broker-gateway`) into the FSM's
 * event. Pure. `route` tells which of the order's numbers the event came under, because the same
 * broker word means different things for an order and for a cancel request.
 *
 * - `accepted` → `acked`; with a `predecessorId` it announces a replacement (the new number of a
 *   modify, 정정), whatever the order's state: a KIS cancel's own number comes only in the REST
 *   answer (`CancelAck.cancelRequestId`), never as an `accepted` notice (broker-kis
 *   `OrderNoticeTracker`, the contract's `InMemoryBroker`). Reading it as a cancel ack while a
 *   cancel is pending would file a modify that raced the cancel under the wrong role, and its
 *   fills would be refused.
 * - `rejected` under a cancel request's number → `cancel_rejected` naming that request; under a
 *   replacement's number → `replace_refused` (the modify was refused, the order was not); otherwise
 *   `rejected`.
 * - `filled` → `fill` at the reported cumulative level; `canceled`, `expired` map one to one and
 *   keep the number they came under: a cancel of a replaced number's leftover is not a cancel of
 *   the order (see the `end` rule of the table);
 *   `replaced` → `replace_acked`.
 */
export function fromBrokerEvent(event: BrokerOrderEvent, route: BrokerEventRoute): OrderEvent {
  switch (event.type) {
    case 'accepted': {
      if (!event.predecessorId) return { type: 'acked', brokerOrderId: event.brokerOrderId, at: event.at }
      return {
        type: 'replace_acked',
        brokerOrderId: event.predecessorId,
        newBrokerOrderId: event.brokerOrderId,
        quantity: event.quantity,
        ...(event.limitPrice === undefined ? {} : { limitPrice: event.limitPrice }),
        at: event.at,
      }
    }
    case 'rejected':
      if (route.role === 'cancel') {
        return {
          type: 'cancel_rejected',
          reason: event.reason,
          cancelRequestId: event.brokerOrderId,
          at: event.at,
        }
      }
      // A refusal under a replacement's number refuses that modify only: the order keeps working
      // (or has filled) under the number it replaced (broker-kis README "Modify/cancel outcomes").
      if (route.role === 'replacement') {
        return {
          type: 'replace_refused',
          brokerOrderId: event.brokerOrderId,
          reason: event.reason,
          ...(event.code ? { code: event.code } : {}),
          at: event.at,
        }
      }
      return {
        type: 'rejected',
        reason: event.reason,
        ...(event.code ? { code: event.code } : {}),
        at: event.at,
      }
    case 'filled':
      return {
        type: 'fill',
        brokerOrderId: event.brokerOrderId,
        cumulativeQuantity: event.cumulativeQuantity,
        fillQuantity: event.fillQuantity,
        fillPrice: event.fillPrice,
        at: event.at,
      }
    case 'canceled':
      return {
        type: 'canceled',
        brokerOrderId: event.brokerOrderId,
        canceledQuantity: event.canceledQuantity,
        eventId: event.eventId,
        at: event.at,
      }
    case 'expired':
      return {
        type: 'expired',
        brokerOrderId: event.brokerOrderId,
        expiredQuantity: event.expiredQuantity,
        eventId: event.eventId,
        at: event.at,
      }
    case 'replaced':
      return {
        type: 'replace_acked',
        brokerOrderId: event.brokerOrderId,
        newBrokerOrderId: event.newBrokerOrderId,
        ...(event.quantity === undefined ? {} : { quantity: event.quantity }),
        ...(event.limitPrice === undefined ? {} : { limitPrice: event.limitPrice }),
        at: event.at,
      }
  }
}
