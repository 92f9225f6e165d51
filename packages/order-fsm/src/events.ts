/**
 * What can happen to an order. Commands the caller records (`submit_started`, `cancel_requested`, …),
 * broker facts (`acked`, `fill`, `canceled`, …; see `fromBrokerEvent`) and reconciliation verdicts
 * share one union so one table decides them all. Every event carries `at`, epoch milliseconds of
 * when it happened (the broker's time for broker facts).
 */
export type OrderEvent =
  | SubmitStarted
  | Acked
  | Rejected
  | FillReported
  | CancelRequested
  | CancelAcked
  | CancelRejected
  | Canceled
  | ReplaceRequested
  | ReplaceAcked
  | ReplaceRejected
  | ReplaceRefused
  | Expired
  | OutcomeUnknown
  | ReconcileMatched
  | ReconcileNotFound
  | ReconcileAmbiguous
  | ReconcileFlagged

/** The `type` of an {@link OrderEvent}. */
export type OrderEventType = OrderEvent['type']

/** Every event type, in the column order of the transition table. */
export const ORDER_EVENT_TYPES = [
  'submit_started',
  'acked',
  'rejected',
  'fill',
  'cancel_requested',
  'cancel_acked',
  'cancel_rejected',
  'canceled',
  'replace_requested',
  'replace_acked',
  'replace_rejected',
  'replace_refused',
  'expired',
  'outcome_unknown',
  'reconcile_matched',
  'reconcile_not_found',
  'reconcile_ambiguous',
  'reconcile_flagged',
] as const satisfies readonly OrderEventType[]

/** The write-ahead mark: the caller is about to send the order. Recorded before the request leaves. */
export interface SubmitStarted {
  type: 'submit_started'
  at: number
}

/** The broker accepted the order and gave it a number (KIS `ODNO`). */
export interface Acked {
  type: 'acked'
  brokerOrderId: string
  at: number
}

/** The broker or the exchange refused the order. Final. */
export interface Rejected {
  type: 'rejected'
  reason: string
  code?: string
  at: number
}

/**
 * "The order's cumulative filled quantity under `brokerOrderId` is now `cumulativeQuantity`". Stated
 * as a level, not a delta, so applying it twice is harmless. `fillQuantity`/`fillPrice` describe the
 * last execution; when earlier reports were missed, the delta is larger than `fillQuantity`.
 */
export interface FillReported {
  type: 'fill'
  brokerOrderId: string
  cumulativeQuantity: number
  fillQuantity: number
  fillPrice: number
  at: number
}

/** The write-ahead mark for a cancel: the caller is about to send it. */
export interface CancelRequested {
  type: 'cancel_requested'
  at: number
}

/** The broker took the cancel request (KIS gives it its own order number). Not yet canceled. */
export interface CancelAcked {
  type: 'cancel_acked'
  cancelRequestId?: string
  at: number
}

/** The broker refused the cancel request; the order keeps working. */
export interface CancelRejected {
  type: 'cancel_rejected'
  reason: string
  /**
   * The refused request's own number, when the broker names it (a KIS refusal notice does). A
   * refusal naming another number than the pending cancel's answers an earlier request and is
   * ignored, so a replayed or late notice cannot clear a cancel that is still in flight.
   */
  cancelRequestId?: string
  at: number
}

/**
 * The broker canceled shares under one of the order's numbers (our cancel, the leftover of a
 * quantity modify, or a broker-initiated cancel). What it means for the order depends on which
 * number and how many shares (see the `end` rule of {@link TRANSITION_TABLE}).
 */
export interface Canceled {
  type: 'canceled'
  /** The number the shares were canceled under. @default the number the order works under now */
  brokerOrderId?: string
  /** Shares canceled under that number. @default everything the order has working */
  canceledQuantity?: number
  /**
   * The broker's id of this report (`BrokerOrderEvent.eventId`): two reports of the same size under
   * one number are two facts unless they carry the same id. Without one, a report of the same type
   * and size as one already applied under the number is taken as its repeat.
   */
  eventId?: string
  at: number
}

/** The write-ahead mark for a replace (정정): the caller is about to send it. */
export interface ReplaceRequested {
  type: 'replace_requested'
  /** The new limit price and/or the new remaining quantity (it can only shrink). */
  patch: { limitPrice?: number; quantity?: number }
  at: number
}

/**
 * The replace took effect: the remaining quantity now works under `newBrokerOrderId`, linked to
 * `brokerOrderId`. `quantity` is the replacement's quantity (what remains to fill under the new
 * number); when absent, the pending patch's quantity, else unchanged.
 */
export interface ReplaceAcked {
  type: 'replace_acked'
  brokerOrderId: string
  newBrokerOrderId: string
  quantity?: number
  limitPrice?: number
  at: number
}

/** The broker refused the replace; the order keeps working on its old terms. */
export interface ReplaceRejected {
  type: 'replace_rejected'
  reason: string
  at: number
}

/**
 * The exchange refused a replace (정정) after the broker had numbered it: `brokerOrderId` is the
 * replacement's own number, already linked (KIS answers a modify with its number synchronously and
 * may refuse it later, e.g. when the original filled first; the adapter then emits a contract
 * `rejected` under the new number). The replacement never worked: the order goes on under the
 * number it replaced, on that number's terms. Not a refusal of the order.
 */
export interface ReplaceRefused {
  type: 'replace_refused'
  brokerOrderId: string
  reason: string
  code?: string
  at: number
}

/**
 * Shares under one of the order's numbers ended unfilled at the end of their time in force (also
 * IOC/FOK leftovers). An expiry always ends that number.
 */
export interface Expired {
  type: 'expired'
  /** The number that expired. @default the number the order works under now */
  brokerOrderId?: string
  /** Shares that expired under that number. @default everything the order has working */
  expiredQuantity?: number
  /** The broker's id of this report; see {@link Canceled.eventId}. */
  eventId?: string
  at: number
}

/**
 * A request may or may not have reached the broker (a timeout, a connection lost after sending, or
 * a restart between the send and its answer). Never retried: the order waits for reconciliation.
 */
export interface OutcomeUnknown {
  type: 'outcome_unknown'
  operation: 'submit' | 'cancel' | 'replace'
  reason: string
  at: number
}

/** Reconciliation found the order at the broker (for a lost ack: matched by fingerprint). */
export interface ReconcileMatched {
  type: 'reconcile_matched'
  brokerOrderId: string
  reason: string
  at: number
}

/**
 * Reconciliation proved the order never reached the broker: every page of the day's orders was
 * read after the inquiry latency window and nothing matched.
 */
export interface ReconcileNotFound {
  type: 'reconcile_not_found'
  reason: string
  at: number
}

/** Reconciliation found several candidates and opened a ticket instead of guessing. */
export interface ReconcileAmbiguous {
  type: 'reconcile_ambiguous'
  candidates: string[]
  ticketId?: string
  reason: string
  at: number
}

/** Someone (reconciliation, an operator) found a break and wants the order looked at. */
export interface ReconcileFlagged {
  type: 'reconcile_flagged'
  reason: string
  at: number
}
