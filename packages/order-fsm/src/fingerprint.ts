import type { BrokerOrder, OrderIntent } from '@vellab/broker-gateway'

/**
 * What identifies an order at a broker that echoes no client id (reference/peers.md §(e) E1): KIS
 * returns only its own number, so a lost ack is healed by matching these fields, plus the submit
 * time window, against the day's orders.
 */
export interface OrderFingerprint {
  account: string
  symbol: string
  side: 'buy' | 'sell'
  quantity: number
  /** `null` for orders the broker prices (market, best-limit, close-price sessions). */
  limitPrice: number | null
  orderType: string
  venue: string
}

/** The fingerprint of an intent as it is submitted. */
export function fingerprintOfIntent(intent: OrderIntent): OrderFingerprint {
  return {
    account: intent.account,
    symbol: intent.symbol,
    side: intent.side,
    quantity: intent.quantity,
    limitPrice: intent.limitPrice ?? null,
    orderType: intent.orderType,
    venue: intent.venue,
  }
}

/** The fingerprint of an order as the broker lists it, to look the local intent up. */
export function fingerprintOfBrokerOrder(order: BrokerOrder): OrderFingerprint {
  return {
    account: order.account,
    symbol: order.symbol,
    side: order.side,
    quantity: order.quantity,
    limitPrice: order.limitPrice ?? null,
    orderType: order.orderType,
    venue: order.venue,
  }
}

/**
 * The fingerprint as one indexable string: `account|symbol|side|quantity|price|type|venue`, with
 * `-` for no price. The time window is not part of it; it is matched against `submittedAt`.
 */
export function fingerprintKey(f: OrderFingerprint): string {
  return [f.account, f.symbol, f.side, f.quantity, f.limitPrice ?? '-', f.orderType, f.venue].join('|')
}
