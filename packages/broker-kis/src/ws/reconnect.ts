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

/** Options of {@link ReconnectPolicy}. */
export interface ReconnectPolicyOptions {
  baseMs: number
  maxMs: number
  /** Floor after OPSP8996 (reference §8: ~18 s recovered, ~1 s retries locked the slot). */
  appKeyInUseMs: number
  breaker: CircuitBreakerOptions
  random: RandomSource
}

/**
 * Decides when to reconnect: exponential backoff with full jitter and a cap, a long floor after
 * "appkey already in use", and a circuit breaker that bounds attempts per window. Pure.
 */
export class ReconnectPolicy {
  readonly #o: ReconnectPolicyOptions
  readonly breaker: CircuitBreaker
  #attempt = 0

  constructor(options: ReconnectPolicyOptions) {
    this.#o = options
    this.breaker = new CircuitBreaker(options.breaker)
  }

  /** Consecutive failed attempts since the last success. */
  get attempt(): number {
    return this.#attempt
  }

  /** A connection failed at `now` for `reason`: returns the delay before the next attempt. */
  onFailure(now: number, reason: ReconnectReason): { delayMs: number; circuit: CircuitState } {
    const circuit = this.breaker.recordFailure(now)
    let delay = fullJitterDelay(
      this.#attempt,
      { baseMs: this.#o.baseMs, maxMs: this.#o.maxMs },
      this.#o.random,
    )
    this.#attempt++
    if (reason === 'appkey_in_use') {
      // Never a tight loop against a locked slot: floor plus jitter so several processes spread out.
      delay = Math.max(delay, this.#o.appKeyInUseMs + Math.floor(this.#o.random() * this.#o.baseMs))
    }
    delay = Math.max(delay, this.breaker.allowedAt(now) - now)
    return { delayMs: delay, circuit }
  }

  /**
   * A connection proved healthy (a subscription was acknowledged or data arrived): the backoff
   * restarts, and a half-open circuit closes. Failures stay counted in the breaker's window, so a
   * connection that keeps dropping right after it succeeds still opens the circuit.
   */
  onSuccess(now: number): void {
    this.#attempt = 0
    if (this.breaker.state(now) === 'half_open') this.breaker.recordSuccess()
  }
}
