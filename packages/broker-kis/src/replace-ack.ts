import type { BrokerError, ReplaceAck } from '@vellab/broker-gateway'

/**
 * What became of the original order's rest after a quantity-reducing replace. KIS moves only
 * ORD_QTY shares of a partial modify (일부정정) to the new number and leaves the rest working under
 * the original (reference §4.2), so `replaceOrder(id, { quantity })` cancels that rest itself.
 *
 * - `canceled`: the broker accepted the cancel of the rest (`cancelRequestId` is its ODNO; the
 *   `canceled` event for the original follows on the order-event stream).
 * - `cancel_failed`: the cancel of the rest did not go through; `error.kind` says how:
 *   `rejected` — the broker refused it (usually nothing was left: the rest filled or was canceled
 *   meanwhile); `rate_limited`, `unavailable`, `auth`, `invalid_request` — it was not executed, so
 *   the rest **is still working** under `brokerOrderId`; `unknown_outcome` — it may or may not
 *   have been executed. Either way the total working quantity is never more than before the
 *   replace. Cancel the original again (`cancelOrder(brokerOrderId)`) or reconcile (`getOrders`);
 *   never repeat the replace, which would move another `quantity` shares to a second new number.
 */
export type ReplaceLeftover =
  | { status: 'canceled'; brokerOrderId: string; cancelRequestId: string }
  | { status: 'cancel_failed'; brokerOrderId: string; error: BrokerError }

/**
 * The KIS answer to `replaceOrder`: the contract's `ReplaceAck` (the modify was accepted; the new
 * number is live) plus, when the replace reduced the quantity, what became of the original's rest.
 */
export interface KisReplaceAck extends ReplaceAck {
  /** Present exactly when the replace reduced the quantity (a modify of q shares + a cancel). */
  leftover?: ReplaceLeftover
}
