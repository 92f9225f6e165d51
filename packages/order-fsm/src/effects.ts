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
      /**
       * True when the row's shares or price are not those of one report: a gap below a higher
       * report, recorded at its price until the gap's own report re-prices it (the row is then
       * written again under the same key).
       */
      inferred: boolean
      at: number
    }
  | { type: 'send_request'; request: 'place_order' | 'cancel_order' | 'replace_order' }
  | { type: 'request_reconciliation'; reason: string }
  | { type: 'alarm'; code: string; severity: 'warning' | 'critical'; message: string }

/** The `type` of an {@link OrderEffect}. */
export type OrderEffectType = OrderEffect['type']
