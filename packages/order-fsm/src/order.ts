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
  /**
   * The broker's `canceled`/`expired` reports applied under this number, in order (a repeat of
   * one is recognised by its event id, or, for a report without one, by type and quantity, and
   * changes nothing).
   */
  reductions?: LegReduction[]
  /**
   * Cumulative ranges under this number whose own fill report has not arrived yet: a report at a
   * higher level came first and stated fewer shares than its level moved, so the gap was recorded
   * (as an `inferred` fill row) at that report's price. The report that belongs to the gap re-prices
   * it when it arrives, so the fill rows end the same whatever order the reports came in.
   */
  fillGaps?: FillGap[]
  /**
   * Set once the broker ended this number: nothing rests under it any more. Fills executed before
   * the end and reported late still count.
   */
  closed?: 'canceled' | 'expired'
  /**
   * For a replacement the exchange refused after numbering it (`replace_refused`): why. The number
   * never worked; the order went back to the number it replaced.
   */
  refused?: string
  /**
   * For a replacement: the order's terms just before it, so that a refusal can restore them.
   */
  replaced?: ReplacedTerms
}

/** The order's terms when a replacement was linked (see {@link BrokerLeg.replaced}). */
export interface ReplacedTerms {
  quantity: number
  limitPrice: number | null
  /** Each earlier leg's cumulative filled quantity then, by position in `legs`. */
  legFills: number[]
  /** How many reductions the replaced number had then. */
  predecessorReductions: number
}

/** One `canceled` or `expired` report applied under a broker number. */
export interface LegReduction {
  type: 'canceled' | 'expired'
  /** Shares the report took off the number; `null` when it did not say (everything left). */
  quantity: number | null
  /** The broker's id of the report, when it had one (its identity; see `Canceled.eventId`). */
  eventId?: string
  /** When the broker says it happened. */
  at?: number
  /** Shares the order shrank by because of this report (a partial end); absent when none. */
  shrank?: number
}

/**
 * Cumulative levels (`from`, `to`] under one number filled without their own report yet, recorded
 * at `price` (the price of the higher report that revealed them) until that report arrives.
 */
export interface FillGap {
  from: number
  to: number
  price: number
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
  /**
   * For a cancel sent while a replace was still unanswered: that replace's patch, until its answer
   * arrives. Until then part of the order may already work under the replacement's new number.
   */
  overtakenReplace?: { limitPrice?: number; quantity?: number }
}

/** Why an order is in RECONCILE_REQUIRED. */
export interface Unresolved {
  operation: 'submit' | 'cancel' | 'replace' | 'flagged'
  reason: string
  since: number
  /**
   * For an unknown replace: its new number has been linked since (the replace is answered, though
   * the order stays unresolved until reconciliation says so).
   */
  replaceLinked?: boolean
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

/** The order's current broker number as a leg (never a cancel request's), or `undefined` before the ack. */
export function currentLeg(order: Order): BrokerLeg | undefined {
  return order.legs.find((l) => l.brokerOrderId === order.brokerOrderId && l.role !== 'cancel')
}

/** Whether a replacement leg (not refused) names `brokerOrderId` as its predecessor: the number was replaced. */
export function isSuperseded(order: Order, brokerOrderId: string): boolean {
  // A replacement the exchange refused never took the shares: its predecessor was not replaced.
  return order.legs.some(
    (l) => l.role === 'replacement' && l.predecessorId === brokerOrderId && l.refused === undefined,
  )
}

/**
 * Whether a replace (정정) may be unanswered: in flight, overtaken by a cancel, or of unknown
 * outcome. Until it is answered, shares may already work under a new number the order does not
 * know yet.
 */
export function replaceUnanswered(order: Order): boolean {
  return (
    order.pending?.kind === 'replace' ||
    order.pending?.overtakenReplace !== undefined ||
    (order.state === 'RECONCILE_REQUIRED' &&
      order.unresolved?.operation === 'replace' &&
      order.unresolved.replaceLinked !== true)
  )
}

/** Shares still to fill. */
export function remainingQuantity(order: Order): number {
  return Math.max(0, order.quantity - order.filledQuantity)
}

/** Volume-weighted average price of the applied fills, or `null` while nothing is filled. */
export function averageFillPrice(order: Order): number | null {
  return order.filledQuantity === 0 ? null : order.filledNotional / order.filledQuantity
}
