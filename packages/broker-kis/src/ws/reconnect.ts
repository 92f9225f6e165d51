import type { RandomSource } from '@vellab/broker-gateway'
import { fullJitterDelay } from '../backoff'

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the circuit. */
  threshold: number
  windowMs: number
  /** How long the circuit stays open before a half-open probe. */
  openMs: number
}

/** Circuit states: closed (normal), open (no attempts), half_open (one probe allowed). */
export type CircuitState = 'closed' | 'open' | 'half_open'

/**
 * Opens after `threshold` connection failures within `windowMs`; after `openMs` it lets one probe
 * through (half-open). A probe success closes it; a probe failure opens it again. Pure: the caller
 * passes the time.
 */
export class CircuitBreaker {
  readonly #o: CircuitBreakerOptions
  #failures: number[] = []
  #openUntil = 0
  #state: CircuitState = 'closed'

  constructor(options: CircuitBreakerOptions) {
    this.#o = options
  }

  /** The state at `now` (an open circuit becomes half-open when its time is up). */
  state(now: number): CircuitState {
    if (this.#state === 'open' && now >= this.#openUntil) this.#state = 'half_open'
    return this.#state
  }

  /** Failures counted in the window ending at `now`. */
  failuresInWindow(now: number): number {
    this.#failures = this.#failures.filter((t) => now - t < this.#o.windowMs)
    return this.#failures.length
  }

  /** Earliest time an attempt is allowed (now, unless open). */
  allowedAt(now: number): number {
    return this.state(now) === 'open' ? this.#openUntil : now
  }

  /** Record a failed attempt; returns the new state. */
  recordFailure(now: number): CircuitState {
    this.#failures.push(now)
    const n = this.failuresInWindow(now)
    if (this.state(now) === 'half_open' || n >= this.#o.threshold) {
      this.#state = 'open'
      this.#openUntil = now + this.#o.openMs
    }
    return this.#state
  }

  /** Record a successful connection: closes the circuit and forgets failures. */
  recordSuccess(): void {
    this.#failures = []
    this.#state = 'closed'
    this.#openUntil = 0
  }
}

/** Why the session is reconnecting; decides the delay floor. */
export type ReconnectReason =
  | 'closed'
  | 'error'
  | 'connect_timeout'
  | 'auth'
  | 'appkey_in_use'
  | 'stale'
  | 'approval_failed'

/** Options of {@link ConnectionBudget}. */
export interface ConnectionBudgetOptions {
  /** Connection attempts allowed in any window of `windowMs`. */
  maxPerWindow: number
  /** @default 60000 */
  windowMs?: number
  /**
   * Added to the window: the broker counts a session when its first frame arrives, which may be
   * later for one attempt than for the next (approval key, handshake, latency). @default 0
   */
  marginMs?: number
}

/**
 * Connection attempts the adapter allows itself per sliding window, kept below the broker's
 * reconnect limit (reference §8: KIS blocking reconnect loops is UNVERIFIED, so the limit is
 * configurable). Pure: the caller passes the time and records every attempt it makes.
 */
export class ConnectionBudget {
  readonly maxPerWindow: number
  readonly windowMs: number
  #attempts: number[] = []

  constructor(options: ConnectionBudgetOptions) {
    if (!(options.maxPerWindow >= 1)) throw new RangeError('ConnectionBudget: maxPerWindow must be >= 1')
    this.maxPerWindow = Math.floor(options.maxPerWindow)
    this.windowMs = (options.windowMs ?? 60_000) + (options.marginMs ?? 0)
  }

  /** Attempts recorded inside the window ending at `now`. */
  used(now: number): number {
    this.#attempts = this.#attempts.filter((t) => now - t < this.windowMs)
    return this.#attempts.length
  }

  /** Earliest time at or after `now` when one more attempt stays within the budget. */
  nextAllowedAt(now: number): number {
    if (this.used(now) < this.maxPerWindow) return now
    return this.#attempts[this.#attempts.length - this.maxPerWindow]! + this.windowMs
  }

  /** Record an attempt made at `now`. */
  record(now: number): void {
    this.#attempts.push(now)
  }
}

/**
 * How a session ended, as the reconnect controller sees it. `unclean` means the socket went away
 * without a close handshake after it had opened: the broker may keep that session's slot for a
 * while (OPSP8996), so the first retry waits the slot-hold estimate.
 */
export interface SessionEnd {
  reason: ReconnectReason
  unclean: boolean
}

/** Options of {@link ReconnectPolicy}. */
export interface ReconnectPolicyOptions {
  baseMs: number
  maxMs: number
  /** Floor after OPSP8996 (reference §8: ~18 s recovered, ~1 s retries locked the slot). */
  appKeyInUseMs: number
  /**
   * How long the broker may keep the slot of a session that ended uncleanly: the first retry after
   * such a close waits at least this (plus jitter). reference §8: "tens of seconds to hours";
   * UNVERIFIED. @default appKeyInUseMs
   */
  slotHoldMs?: number
  /**
   * A session must stay accepted this long to count as "up": shorter sessions do not reset the
   * backoff, so a server that accepts and then closes every few seconds meets a growing delay.
   * @default 60000
   */
  stableSessionMs?: number
  /** Connection attempts per minute the adapter allows itself. @default unlimited */
  budget?: ConnectionBudgetOptions
  breaker: CircuitBreakerOptions
  random: RandomSource
}

/** The decision after a session ended. */
export interface ReconnectDecision {
  delayMs: number
  circuit: CircuitState
  /** Part of `delayMs` that only the connection budget imposed (0 when the budget had room). */
  budgetWaitMs: number
}

/**
 * Decides when to reconnect: exponential backoff with full jitter and a cap over consecutive
 * sessions that did not stay up, a floor of the slot-hold estimate after an unclean close or
 * OPSP8996, a per-minute connection budget that is never exceeded, and a circuit breaker. Pure.
 */
export class ReconnectPolicy {
  readonly #o: ReconnectPolicyOptions
  readonly breaker: CircuitBreaker
  readonly budget: ConnectionBudget | undefined
  #attempt = 0
  #acceptedAt: number | undefined

  constructor(options: ReconnectPolicyOptions) {
    this.#o = options
    this.breaker = new CircuitBreaker(options.breaker)
    this.budget = options.budget ? new ConnectionBudget(options.budget) : undefined
  }

  /** Consecutive sessions that did not stay up. */
  get attempt(): number {
    return this.#attempt
  }

  /** Milliseconds to wait at `now` before the next connection attempt fits the budget. */
  budgetWait(now: number): number {
    return this.budget ? this.budget.nextAllowedAt(now) - now : 0
  }

  /** A connection attempt is being made at `now` (counts against the budget). */
  onAttempt(now: number): void {
    this.budget?.record(now)
  }

  /**
   * A connection failed or a session ended at `now`: returns the delay before the next attempt.
   * `end` may be a bare reason (treated as clean unless it is `appkey_in_use`).
   */
  onFailure(now: number, end: ReconnectReason | SessionEnd): ReconnectDecision {
    const { reason, unclean } = typeof end === 'string' ? { reason: end, unclean: false } : end
    const stayedUp =
      this.#acceptedAt !== undefined && now - this.#acceptedAt >= (this.#o.stableSessionMs ?? 60_000)
    this.#acceptedAt = undefined
    if (stayedUp) this.#attempt = 0
    const circuit = this.breaker.recordFailure(now)
    let delay = fullJitterDelay(
      this.#attempt,
      { baseMs: this.#o.baseMs, maxMs: this.#o.maxMs },
      this.#o.random,
    )
    this.#attempt++
    const jitter = () => Math.floor(this.#o.random() * this.#o.baseMs)
    if (reason === 'appkey_in_use') {
      // Never a tight loop against a locked slot: floor plus jitter so several processes spread out.
      delay = Math.max(delay, Math.max(this.#o.appKeyInUseMs, this.#o.slotHoldMs ?? 0) + jitter())
    } else if (unclean) {
      // reference §8: retries into the slot a dead session still holds keep it locked.
      delay = Math.max(delay, (this.#o.slotHoldMs ?? this.#o.appKeyInUseMs) + jitter())
    }
    delay = Math.max(delay, this.breaker.allowedAt(now) - now)
    const budgetWaitMs = Math.max(0, this.budgetWait(now + delay))
    return { delayMs: delay + budgetWaitMs, circuit, budgetWaitMs }
  }

  /**
   * The broker accepted a session (a subscription was acknowledged or data arrived). The backoff
   * restarts only once that session has stayed up `stableSessionMs` (checked when it ends); a
   * half-open circuit closes. Failures stay counted in the breaker's window.
   */
  onSuccess(now: number): void {
    this.#acceptedAt ??= now
    if (this.breaker.state(now) === 'half_open') this.breaker.recordSuccess()
  }
}
