/**
 * Every state a logical order can be in. The seed lifecycle (ARCHITECTURE.md "The order lifecycle")
 * plus `REPLACE_PENDING`: a KIS modify (정정) is a request like a cancel, and the order keeps working
 * under its old broker number until the broker answers with the new one.
 */
export const ORDER_STATES = [
  'INTENT_CREATED',
  'SUBMITTED',
  'ACKED',
  'PARTIAL_FILLED',
  'FILLED',
  'REJECTED',
  'CANCEL_PENDING',
  'REPLACE_PENDING',
  'CANCELED',
  'EXPIRED',
  'RECONCILE_REQUIRED',
] as const

/** A state of the order lifecycle. */
export type OrderState = (typeof ORDER_STATES)[number]

/** States nothing can leave, except CANCELED, which still takes a late fill. */
export const TERMINAL_STATES: ReadonlySet<OrderState> = new Set(['FILLED', 'REJECTED', 'CANCELED', 'EXPIRED'])

/**
 * States in which the order may exist at the broker and may still fill: everything that has been
 * sent and is not terminal. Risk and reconciliation count these as live exposure.
 */
export const OPEN_STATES: ReadonlySet<OrderState> = new Set([
  'SUBMITTED',
  'ACKED',
  'PARTIAL_FILLED',
  'CANCEL_PENDING',
  'REPLACE_PENDING',
  'RECONCILE_REQUIRED',
])

/** Whether nothing more can happen to an order in `state` (a late fill after a cancel aside). */
export function isTerminal(state: OrderState): boolean {
  return TERMINAL_STATES.has(state)
}
