import type { BrokerLeg } from './order'

/**
 * What a transition asks the outside world to do. The store performs the database effects
 * (`link_broker_order`, `record_fill`, `alarm`) in the same transaction as the event; the rest are
 * returned to the caller, who owns all broker I/O.
 */
export type OrderEffect =
  | { type: 'link_broker_order'; leg: BrokerLeg }
  | {
      type: 'record_fill'
      brokerOrderId: string
      brokerDate: string
      /** The leg's cumulative quantity after this fill: the fill's deterministic key. */
      cumulativeQuantity: number
      /** Shares this fill added to the order. */
      quantity: number
      price: number
      /** True when earlier reports were missed and the delta is wider than the reported execution. */
      inferred: boolean
      at: number
    }
  | { type: 'send_request'; request: 'place_order' | 'cancel_order' | 'replace_order' }
  | { type: 'request_reconciliation'; reason: string }
  | { type: 'alarm'; code: string; severity: 'warning' | 'critical'; message: string }

/** The `type` of an {@link OrderEffect}. */
export type OrderEffectType = OrderEffect['type']
