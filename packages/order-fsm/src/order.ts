import type { OrderIntent } from '@vellab/broker-gateway'
import type { OrderState } from './states'

/**
 * One broker order number attached to a logical order. KIS modify and cancel each return a new
 * number linked to the original (reference/kis-openapi.md §"order-rvsecncl": `ORGN_ODNO`), so an
 * order carries a chain of them.
 */
export interface BrokerLeg {
  brokerOrderId: string
  /** `order`: the first number; `replacement`: from a replace; `cancel`: a cancel request's number. */
  role: 'order' | 'replacement' | 'cancel'
  /** The KST calendar day the number belongs to; broker numbers restart every day. */
  brokerDate: string
  predecessorId: string | null
  /** Cumulative filled quantity reported under this number (always 0 for `cancel`). */
  filledQuantity: number
  /**
   * For a replacement whose size the broker (or the replace patch) stated: the shares it was
   * placed for. The broker sizes it from what remained under the old number *at the broker*, so
   * fills under older numbers that are reported after the replace are not part of it (see
   * `transition`, fill).
   */
  quantity?: number
}

/** A cancel or replace that has been recorded as sent and not yet answered. */
export interface PendingRequest {
  kind: 'cancel' | 'replace'
  requestedAt: number
  /** Whether the broker has taken the request (a cancel ack); until then its outcome is unknown. */
  acked: boolean
  /** The broker's number for this request once acked (KIS numbers cancels), else `null`. */
  requestId: string | null
  patch: { limitPrice?: number; quantity?: number } | null
}

/** Why an order is in RECONCILE_REQUIRED. */
export interface Unresolved {
  operation: 'submit' | 'cancel' | 'replace' | 'flagged'
  reason: string
  since: number
}

/**
 * The projection of one logical order: what its event log adds up to. Immutable; `transition`
 * returns a new one.
 */
export interface Order {
  /** The caller's idempotency key; also the order's id. */
  intentId: string
  /** The intent as created (validated, defaults applied). */
  intent: OrderIntent
  state: OrderState
  /** Number of events applied; the optimistic-concurrency token. */
  version: number
  /** The order quantity now (a replace can reduce it). */
  quantity: number
  /** The limit price now (a replace can move it). */
  limitPrice: number | null
  /** Shares filled across every broker number of the order. */
  filledQuantity: number
  /** Σ shares × price of the applied fills, integer KRW. */
  filledNotional: number
  /** The broker number the order currently works under. */
  brokerOrderId: string | null
  legs: readonly BrokerLeg[]
  pending: PendingRequest | null
  unresolved: Unresolved | null
  rejectReason: string | null
  submittedAt: number | null
  createdAt: number
  updatedAt: number
}

/** A fresh order in INTENT_CREATED for a validated intent. */
export function newOrder(intent: OrderIntent, at: number): Order {
  return {
    intentId: intent.intentId,
    intent,
    state: 'INTENT_CREATED',
    version: 1,
    quantity: intent.quantity,
    limitPrice: intent.limitPrice ?? null,
    filledQuantity: 0,
    filledNotional: 0,
    brokerOrderId: null,
    legs: [],
    pending: null,
    unresolved: null,
    rejectReason: null,
    submittedAt: null,
    createdAt: at,
    updatedAt: at,
  }
}

/** Shares still to fill. */
export function remainingQuantity(order: Order): number {
  return Math.max(0, order.quantity - order.filledQuantity)
}

/** Volume-weighted average price of the applied fills, or `null` while nothing is filled. */
export function averageFillPrice(order: Order): number | null {
  return order.filledQuantity === 0 ? null : order.filledNotional / order.filledQuantity
}
