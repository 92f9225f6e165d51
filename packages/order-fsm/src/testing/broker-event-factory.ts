import type { BrokerOrderEvent } from '@vellab/broker-gateway'

/** Options of {@link BrokerEventFactory}. */
export interface BrokerEventFactoryOptions {
  /** @default '50123456-01' */
  account?: string
  /** @default '005930' */
  symbol?: string
  /** @default 'buy' */
  side?: 'buy' | 'sell'
  /** Time stamped on events that name none. @default 1_795_000_000_000 (2026-11-18 KST) */
  at?: number
}

/**
 * Builds `BrokerOrderEvent`s as an adapter would emit them, with deterministic `eventId`s derived
 * from the fact (so building the same fact twice gives the same id, as a broker replay would).
 *
 * @example
 * ```ts
 * const broker = new BrokerEventFactory()
 * await store.applyBrokerEvent(broker.filled('0000006555', { cumulative: 4, quantity: 4, price: 71_000 }))
 * ```
 */
export class BrokerEventFactory {
  readonly account: string
  readonly symbol: string
  readonly side: 'buy' | 'sell'
  readonly at: number

  constructor(options: BrokerEventFactoryOptions = {}) {
    this.account = options.account ?? '50123456-01'
    this.symbol = options.symbol ?? '005930'
    this.side = options.side ?? 'buy'
    this.at = options.at ?? 1_795_000_000_000
  }

  accepted(
    brokerOrderId: string,
    o: { quantity: number; limitPrice?: number; predecessorId?: string; at?: number },
  ) {
    return this.#event(`accepted:${brokerOrderId}`, brokerOrderId, o.at, {
      type: 'accepted',
      symbol: this.symbol,
      side: this.side,
      quantity: o.quantity,
      ...(o.limitPrice === undefined ? {} : { limitPrice: o.limitPrice }),
      ...(o.predecessorId === undefined ? {} : { predecessorId: o.predecessorId }),
    })
  }

  filled(brokerOrderId: string, o: { cumulative: number; quantity: number; price: number; at?: number }) {
    return this.#event(`filled:${brokerOrderId}:${o.cumulative}`, brokerOrderId, o.at, {
      type: 'filled',
      symbol: this.symbol,
      side: this.side,
      fillQuantity: o.quantity,
      fillPrice: o.price,
      cumulativeQuantity: o.cumulative,
    })
  }

  canceled(brokerOrderId: string, o: { canceledQuantity: number; at?: number }) {
    return this.#event(`canceled:${brokerOrderId}`, brokerOrderId, o.at, {
      type: 'canceled',
      canceledQuantity: o.canceledQuantity,
    })
  }

  expired(brokerOrderId: string, o: { expiredQuantity: number; at?: number }) {
    return this.#event(`expired:${brokerOrderId}`, brokerOrderId, o.at, {
      type: 'expired',
      expiredQuantity: o.expiredQuantity,
    })
  }

  rejected(brokerOrderId: string, o: { reason: string; code?: string; at?: number }) {
    return this.#event(`rejected:${brokerOrderId}`, brokerOrderId, o.at, {
      type: 'rejected',
      reason: o.reason,
      ...(o.code === undefined ? {} : { code: o.code }),
    })
  }

  replaced(
    brokerOrderId: string,
    o: { newBrokerOrderId: string; quantity?: number; limitPrice?: number; at?: number },
  ) {
    return this.#event(`replaced:${brokerOrderId}:${o.newBrokerOrderId}`, brokerOrderId, o.at, {
      type: 'replaced',
      newBrokerOrderId: o.newBrokerOrderId,
      ...(o.quantity === undefined ? {} : { quantity: o.quantity }),
      ...(o.limitPrice === undefined ? {} : { limitPrice: o.limitPrice }),
    })
  }

  #event<T extends Record<string, unknown>>(
    id: string,
    brokerOrderId: string,
    at: number | undefined,
    body: T,
  ) {
    return {
      eventId: id,
      account: this.account,
      brokerOrderId,
      at: at ?? this.at,
      ...body,
    } as BrokerOrderEvent & typeof body
  }
}
