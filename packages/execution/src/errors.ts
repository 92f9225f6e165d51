/** A parent id already names a different parent, or the parent cannot take the request. */
export class ParentConflictError extends Error {
  override readonly name = 'ParentConflictError'
  constructor(
    readonly parentId: string,
    detail = 'a different parent order already has this parentId',
  ) {
    super(`parent ${parentId}: ${detail}`)
  }
}

/** No parent with this id. */
export class ParentNotFoundError extends Error {
  override readonly name = 'ParentNotFoundError'
  constructor(readonly parentId: string) {
    super(`parent ${parentId}: not found`)
  }
}

const FENCED_MARKER = Symbol.for('@vellab/execution/ExecutionFencedError')

/**
 * A write of the engine was refused by its `fence`: the lease named by `key` is no longer at the
 * `epoch` the write carried (another process took the appkey's lease over; `leaseEpoch` is the
 * lease row's epoch, null when the key has no row). Nothing was written. This process lost the
 * right to act for the appkey and must stop; never retry the write. `code` is `'fenced'`, like
 * order-fsm's `FencedError` and reconcile's `fenced`.
 */
export class ExecutionFencedError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [FENCED_MARKER] = true
  override readonly name = 'ExecutionFencedError'
  readonly code = 'fenced'
  /** The engine write that was refused, e.g. `child` or `submit`. */
  readonly operation: string
  readonly key: string
  readonly epoch: number
  readonly leaseEpoch: number | null

  constructor(operation: string, refusal: { key: string; epoch: number; leaseEpoch: number | null }) {
    const now = refusal.leaseEpoch === null ? 'has no row' : `is at epoch ${refusal.leaseEpoch}`
    super(
      `execution ${operation}: fenced, lease ${refusal.key} ${now}, this write carried epoch ${refusal.epoch}; nothing was written`,
    )
    this.operation = operation
    this.key = refusal.key
    this.epoch = refusal.epoch
    this.leaseEpoch = refusal.leaseEpoch
  }

  /** True for this error from any copy of this package. */
  static isInstance(value: unknown): value is ExecutionFencedError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[FENCED_MARKER] === true
    )
  }
}
