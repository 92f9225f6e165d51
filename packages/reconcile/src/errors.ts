const MARKER = Symbol.for('@vellab/reconcile/ReconcileError')

/**
 * Stable codes of this package's errors:
 * - `broker_read_failed`: a broker inquiry failed or answered only part of the day; the pass failed
 *   and resolved nothing (half the data is never read as "empty").
 * - `pass_failed`: the pass failed after its reads (the order store or the database refused).
 * - `duplicate_fingerprint`: a new intent has the fingerprint of an unresolved RECONCILE_REQUIRED one.
 * - `unknown_account`: the reconciler was not configured for the account.
 * - `ticket_not_found` / `ticket_state`: a ticket command named no ticket, or one in the wrong state.
 * - `stopped`: the reconciler was stopped while a caller waited.
 * - `fenced`: the reconciler's `fence` names a lease epoch that is no longer current (another
 *   process took the appkey's lease over), or the order store refused a resolution for that
 *   reason. Nothing was written by the refused write; this process must stop acting, never retry.
 */
export type ReconcileErrorCode =
  | 'broker_read_failed'
  | 'pass_failed'
  | 'duplicate_fingerprint'
  | 'unknown_account'
  | 'ticket_not_found'
  | 'ticket_state'
  | 'stopped'
  | 'fenced'

/**
 * The one error class of this package. Check with `ReconcileError.isInstance(e)` (works across
 * duplicate installs) and switch on `code`.
 */
export class ReconcileError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [MARKER] = true
  override readonly name = 'ReconcileError'
  readonly code: ReconcileErrorCode
  /** The account concerned, when there is one. */
  readonly account: string | undefined
  /**
   * For `fenced`, when the reconciler's own write was refused: the lease key and epoch the write
   * carried, and the lease row's epoch (null when the key has no row).
   */
  readonly fence: { key: string; epoch: number; leaseEpoch: number | null } | undefined

  constructor(
    code: ReconcileErrorCode,
    message: string,
    options: {
      cause?: unknown
      account?: string
      fence?: { key: string; epoch: number; leaseEpoch: number | null }
    } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause })
    this.code = code
    this.account = options.account
    this.fence = options.fence
  }

  /** True for an error from any copy of this package. */
  static isInstance(value: unknown): value is ReconcileError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true
  }

  /** True for a `ReconcileError` with this code. */
  static isCode(value: unknown, code: ReconcileErrorCode): value is ReconcileError {
    return ReconcileError.isInstance(value) && value.code === code
  }
}

/** The `fenced` error of a refused write of this package (`operation` names it, e.g. `tickets.upsert`). */
export function fencedError(
  operation: string,
  refusal: { key: string; epoch: number; leaseEpoch: number | null },
  account?: string,
): ReconcileError {
  const now = refusal.leaseEpoch === null ? 'has no row' : `is at epoch ${refusal.leaseEpoch}`
  return new ReconcileError(
    'fenced',
    `reconcile ${operation}: fenced, lease ${refusal.key} ${now}, this write carried epoch ${refusal.epoch}; nothing was written`,
    account === undefined ? { fence: refusal } : { fence: refusal, account },
  )
}
