import { redactSecrets } from '@vellab/broker-gateway'

/**
 * Stable string codes of this package's own errors (failures that are not a broker's answer to a
 * request; those are `BrokerError`s from `@vellab/broker-gateway`).
 *
 * - `KIS_CONFIG_INVALID`: the configuration failed validation.
 * - `KIS_SECRET_UNAVAILABLE`: a secret file could not be read.
 * - `KIS_FRAME_MALFORMED`: a WebSocket frame does not have the `enc|tr_id|count|payload` shape.
 * - `KIS_FRAME_FIELD_COUNT`: a frame's field count does not fit its record count and layout.
 * - `KIS_FRAME_VALUE`: a field that must be a number, code or time is not.
 * - `KIS_DECRYPT_FAILED`: an encrypted frame could not be decrypted (no key yet, bad key, bad padding).
 * - `KIS_CONTROL_MALFORMED`: a JSON control frame could not be understood.
 * - `KIS_SUBSCRIPTION_BUDGET`: a subscription would exceed the session's registration budget.
 * - `KIS_SESSION_CLOSED`: the gateway or session was closed.
 * - `KIS_MASTER_MALFORMED`: a stock master file (or its zip) does not fit the published layout.
 */
export type KisErrorCode =
  | 'KIS_CONFIG_INVALID'
  | 'KIS_SECRET_UNAVAILABLE'
  | 'KIS_FRAME_MALFORMED'
  | 'KIS_FRAME_FIELD_COUNT'
  | 'KIS_FRAME_VALUE'
  | 'KIS_DECRYPT_FAILED'
  | 'KIS_CONTROL_MALFORMED'
  | 'KIS_SUBSCRIPTION_BUDGET'
  | 'KIS_SESSION_CLOSED'
  | 'KIS_MASTER_MALFORMED'

const MARKER = Symbol.for('@vellab/broker-kis/KisError')

/** Options of a {@link KisError}. */
export interface KisErrorOptions {
  /** The real-time TR id involved, e.g. `H0STCNT0`. */
  trId?: string
  cause?: unknown
  /** Values that must not appear in the message. */
  secrets?: readonly string[]
}

/**
 * An error raised by this package itself (configuration, WebSocket codecs, local budgets). Check
 * with `KisError.isInstance(e)`, which survives duplicate installs. The message never contains
 * secrets: it is passed through `redactSecrets`.
 */
export class KisError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [MARKER] = true
  override readonly name = 'KisError'
  readonly code: KisErrorCode
  readonly trId: string | undefined

  constructor(code: KisErrorCode, message: string, options: KisErrorOptions = {}) {
    super(
      redactSecrets(`${code}${options.trId ? ` ${options.trId}` : ''}: ${message}`, options.secrets ?? []),
      {
        ...(options.cause === undefined ? {} : { cause: options.cause }),
      },
    )
    this.code = code
    this.trId = options.trId
  }

  /** True for a KisError from any copy of this package. */
  static isInstance(value: unknown): value is KisError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, trId: this.trId, message: this.message }
  }
}
