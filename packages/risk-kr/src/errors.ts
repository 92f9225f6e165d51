const MARKER = Symbol.for('@vellab/risk-kr/RiskError')

/**
 * Stable codes of thrown `RiskError`s (the check itself never throws: it returns reason codes).
 * - `RULES_INVALID`: rule data or a reviewed update is malformed or contradicts itself.
 * - `CONFIG_INVALID`: gateway options failed validation.
 * - `KILL_SWITCH_STORE`: the kill-switch store could not read or write Postgres.
 * - `KILL_SWITCH_NOT_ENGAGED`: release of a switch that is not engaged.
 * - `KILL_SWITCH_NOT_LOADED`: the board was used before `load()` finished.
 * - `KILL_SWITCH_NOT_PERSISTED`: release of a switch whose engagement the store has not taken yet
 *   (the board is still retrying it; see `KillSwitchBoard.pendingWrites()`).
 */
export type RiskErrorCode =
  | 'RULES_INVALID'
  | 'CONFIG_INVALID'
  | 'KILL_SWITCH_STORE'
  | 'KILL_SWITCH_NOT_ENGAGED'
  | 'KILL_SWITCH_NOT_LOADED'
  | 'KILL_SWITCH_NOT_PERSISTED'

/** The error `@vellab/risk-kr` throws. Check with `RiskError.isInstance(e)` (works across duplicate installs). */
export class RiskError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [MARKER] = true
  override readonly name = 'RiskError'
  readonly code: RiskErrorCode

  constructor(code: RiskErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? {} : { cause: options.cause })
    this.code = code
  }

  /** True for a RiskError from any copy of this package. */
  static isInstance(value: unknown): value is RiskError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true
  }
}
