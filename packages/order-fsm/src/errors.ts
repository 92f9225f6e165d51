import type { OrderEventType } from './events'
import type { OrderState } from './states'

const MARKER = Symbol.for('@vellab/order-fsm/OrderFsmError')

/** Stable codes of every error this package raises or returns. */
export type OrderFsmErrorCode =
  | TransitionErrorCode
  | 'order_not_found'
  | 'intent_conflict'
  | 'broker_id_conflict'
  | 'concurrency_exhausted'
  | 'store_unavailable'
  | 'fenced'

/**
 * Base class of this package's errors. Check with `OrderFsmError.isInstance(e)` (works across
 * duplicate installs) and switch on `code`.
 */
export class OrderFsmError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [MARKER] = true
  override readonly name: string = 'OrderFsmError'
  readonly code: OrderFsmErrorCode

  constructor(code: OrderFsmErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause })
    this.code = code
  }

  /** True for an error from any copy of this package. */
  static isInstance(value: unknown): value is OrderFsmError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true
  }
}

/**
 * Why `transition` refused an event:
 * - `illegal_transition`: the table has no edge for this event in this state.
 * - `overfill`: the fill would take the filled quantity past the order quantity (alarm).
 * - `fill_after_terminal`: a new fill for an order that is REJECTED, EXPIRED or FILLED (alarm).
 * - `unknown_broker_order`: the event names a broker number the order does not own.
 * - `broker_id_conflict`: an ack names a different broker number than the one already linked (alarm).
 * - `ack_after_terminal`: a broker number shows up for an order already closed without it (alarm).
 * - `reject_after_fill`: a reject for an order that already has fills (alarm).
 * - `operation_mismatch`: an outcome-unknown for a request that is not in flight.
 * - `invalid_event`: the event contradicts itself or the order (e.g. a replace that grows the order).
 */
export type TransitionErrorCode =
  | 'illegal_transition'
  | 'overfill'
  | 'fill_after_terminal'
  | 'unknown_broker_order'
  | 'broker_id_conflict'
  | 'ack_after_terminal'
  | 'reject_after_fill'
  | 'operation_mismatch'
  | 'invalid_event'

/**
 * `transition` refused an event; the order is unchanged. `alarm` marks refusals that mean the local
 * book and the broker disagree (someone must look), as opposed to a caller asking for something
 * the state does not allow.
 */
export class TransitionError extends OrderFsmError {
  override readonly name = 'TransitionError'
  declare readonly code: TransitionErrorCode
  readonly intentId: string
  readonly state: OrderState
  readonly eventType: OrderEventType
  readonly alarm: boolean

  constructor(
    code: TransitionErrorCode,
    details: { intentId: string; state: OrderState; eventType: OrderEventType; alarm: boolean },
    message: string,
  ) {
    super(code, `order ${details.intentId}: ${details.eventType} in ${details.state}: ${message}`)
    this.intentId = details.intentId
    this.state = details.state
    this.eventType = details.eventType
    this.alarm = details.alarm
  }

  /** True for a TransitionError from any copy of this package. */
  static isTransitionError(value: unknown): value is TransitionError {
    return OrderFsmError.isInstance(value) && value.name === 'TransitionError'
  }
}

/** No order has this intent id (or broker number). */
export class OrderNotFoundError extends OrderFsmError {
  override readonly name = 'OrderNotFoundError'
  constructor(what: string) {
    super('order_not_found', `no order ${what}`)
  }
}

/** `createIntent` was called again with an existing `intentId` but a different payload. */
export class IntentConflictError extends OrderFsmError {
  override readonly name = 'IntentConflictError'
  readonly intentId: string
  constructor(intentId: string, differences: readonly string[]) {
    super(
      'intent_conflict',
      `intent ${intentId} already exists with a different payload (${differences.join(', ')}); ` +
        'an intentId names exactly one order',
    )
    this.intentId = intentId
  }
}

/** A broker number is already linked to another order; the link was not made. */
export class BrokerIdConflictError extends OrderFsmError {
  override readonly name = 'BrokerIdConflictError'
  constructor(intentId: string, brokerOrderId: string, cause: unknown) {
    super(
      'broker_id_conflict',
      `order ${intentId}: broker order ${brokerOrderId} already belongs to another order`,
      {
        cause,
      },
    )
  }
}

/** Optimistic concurrency lost the race too many times in a row. Nothing was written. */
export class ConcurrencyExhaustedError extends OrderFsmError {
  override readonly name = 'ConcurrencyExhaustedError'
  constructor(intentId: string, attempts: number) {
    super('concurrency_exhausted', `order ${intentId}: gave up after ${attempts} version conflicts`)
  }
}

/**
 * The database could not be reached, or the connection died during the call (server restart,
 * failover, `pg_terminate_backend`, network loss). When the call was a write, it may or may not
 * have committed: read the order again before acting, and never re-send a broker request because
 * of this error (a write-ahead mark that may have committed means the send must not happen; the
 * order is then explained by `recover()` and reconciliation). The driver's error is the `cause`.
 */
export class StoreUnavailableError extends OrderFsmError {
  override readonly name = 'StoreUnavailableError'
  /** The store method that failed, e.g. `applyBrokerEvent`. */
  readonly operation: string
  constructor(operation: string, cause: unknown) {
    super(
      'store_unavailable',
      `order store ${operation}: the database is unavailable (${describe(cause)}); ` +
        'a write may or may not have committed: re-read before acting, never re-send',
      { cause },
    )
    this.operation = operation
  }
}

/**
 * The store's `fence` names a lease epoch that is no longer current: another process took the
 * lease over (see `@vellab/lease`). Nothing was written. The caller lost the right to act for this
 * appkey and must stop; never retry the write.
 */
export class FencedError extends OrderFsmError {
  override readonly name = 'FencedError'
  /** The store method that was refused. */
  readonly operation: string
  constructor(operation: string, fence: { key: string; epoch: number }, cause?: unknown) {
    super(
      'fenced',
      `order store ${operation}: fenced, lease ${fence.key} has moved past epoch ${fence.epoch}; nothing was written`,
      cause === undefined ? {} : { cause },
    )
    this.operation = operation
  }
}

/** SQLSTATE the fenced write functions raise (class `VL`, Vellab). */
export const FENCED_SQLSTATE = 'VL001'

function describe(cause: unknown): string {
  if (cause && typeof cause === 'object') {
    const c = cause as { code?: unknown; message?: unknown }
    const code = typeof c.code === 'string' ? `${c.code}: ` : ''
    return `${code}${typeof c.message === 'string' ? c.message : String(cause)}`
  }
  return String(cause)
}

// SQLSTATE classes/codes and socket errors that mean "the connection or the server went away".
// PostgreSQL: class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect
// now), 53300 (too many connections).
const CONNECTION_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
])
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|Client was closed|timeout exceeded when trying to connect|Cannot use a pool after calling end|is not currently accepting connections/i

/**
 * Whether a driver error means the database is unreachable (as opposed to a refused statement):
 * a lost or refused connection, a server shutting down, a database closed to connections. Callers
 * that write durably before acting use it to stop acting (fail closed) rather than retry blindly.
 */
export function isConnectionError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false
  const { code, message } = error as { code?: unknown; message?: unknown }
  if (typeof code === 'string' && (code.startsWith('08') || CONNECTION_CODES.has(code))) return true
  return typeof message === 'string' && CONNECTION_MESSAGES.test(message)
}
