/**
 * What went wrong, in the terms a caller must act on:
 * - `rate_limited`: the broker refused because of a request-rate limit; nothing happened; back off.
 * - `auth`: credentials or token rejected; nothing happened.
 * - `rejected`: a final business rejection (insufficient cash, market closed, bad tick); do not retry as is.
 * - `unavailable`: a transient failure before the request took effect; safe to retry.
 * - `unknown_outcome`: the request may have reached the broker (timeout, connection lost after sending);
 *   never retry blindly: reconcile first.
 * - `invalid_request`: the request was malformed and never sent.
 * - `protocol`: the broker's response could not be understood.
 */
export type BrokerErrorKind =
  | 'rate_limited'
  | 'auth'
  | 'rejected'
  | 'unavailable'
  | 'unknown_outcome'
  | 'invalid_request'
  | 'protocol'

export const BROKER_ERROR_KINDS: readonly BrokerErrorKind[] = [
  'rate_limited',
  'auth',
  'rejected',
  'unavailable',
  'unknown_outcome',
  'invalid_request',
  'protocol',
]

const MARKER = Symbol.for('@vellab/broker-gateway/BrokerError')

/** Kinds after which repeating the same request cannot cause a duplicate effect. */
const RETRYABLE: ReadonlySet<BrokerErrorKind> = new Set(['rate_limited', 'unavailable'])

export interface BrokerErrorOptions {
  /** The broker's own code, e.g. `EGW00201` or `APBK0919`. */
  brokerCode?: string
  /** HTTP status, when the error came from an HTTP response. */
  httpStatus?: number
  /** The operation that failed, e.g. `placeOrder` or `POST /uapi/.../order-cash`. */
  operation?: string
  /** Milliseconds the broker asked us to wait, when it said. */
  retryAfterMs?: number
  cause?: unknown
  /** Values that must not appear in the message (app keys, secrets, tokens). */
  secrets?: readonly string[]
}

/**
 * The one error type every broker adapter throws. Check with `BrokerError.isInstance(e)`, which
 * works across duplicate installs of this package, rather than `instanceof`.
 */
export class BrokerError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [MARKER] = true
  override readonly name = 'BrokerError'
  readonly kind: BrokerErrorKind
  readonly brokerCode: string | undefined
  readonly httpStatus: number | undefined
  readonly operation: string | undefined
  readonly retryAfterMs: number | undefined

  constructor(kind: BrokerErrorKind, message: string, options: BrokerErrorOptions = {}) {
    const parts = [options.operation, options.brokerCode ? `[${options.brokerCode}]` : undefined, message]
    super(redactSecrets(parts.filter(Boolean).join(' '), options.secrets ?? []), {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    })
    this.kind = kind
    this.brokerCode = options.brokerCode
    this.httpStatus = options.httpStatus
    this.operation = options.operation
    this.retryAfterMs = options.retryAfterMs
  }

  /**
   * Whether sending the same request again is safe: true only for `rate_limited` and `unavailable`,
   * where the broker did not act. `unknown_outcome` is never retryable: reconcile instead.
   */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind)
  }

  /** True for a BrokerError from any copy of this package. */
  static isInstance(value: unknown): value is BrokerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true
  }

  /** Narrow to a BrokerError of the given kind. */
  static isKind<K extends BrokerErrorKind>(value: unknown, kind: K): value is BrokerError & { kind: K } {
    return BrokerError.isInstance(value) && value.kind === kind
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      brokerCode: this.brokerCode,
      httpStatus: this.httpStatus,
      operation: this.operation,
      retryable: this.retryable,
    }
  }
}

const REDACTED = '[REDACTED]'
// Bearer tokens and JWT-shaped strings are redacted even when the caller did not list them.
const GENERIC_PATTERNS: readonly RegExp[] = [
  /(bearer\s+)[A-Za-z0-9\-_.=+/]{8,}/gi,
  /\beyJ[A-Za-z0-9\-_]{8,}\.[A-Za-z0-9\-_]{8,}\.[A-Za-z0-9\-_]{8,}/g,
  /("?(?:appsecret|secretkey|appkey|access_token|approval_key|token)"?\s*[:=]\s*"?)([^"\s,&}]{6,})/gi,
]

/**
 * Replace every occurrence of the given secrets, bearer tokens, JWTs and `appsecret=…`-style fields
 * in `text` with `[REDACTED]`. Secrets shorter than 6 characters are ignored (they would redact
 * ordinary words).
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const s of secrets) {
    if (s && s.length >= 6) out = out.split(s).join(REDACTED)
  }
  out = out.replace(GENERIC_PATTERNS[0]!, `$1${REDACTED}`)
  out = out.replace(GENERIC_PATTERNS[1]!, REDACTED)
  out = out.replace(GENERIC_PATTERNS[2]!, `$1${REDACTED}`)
  return out
}
