import type { Clock } from '@vellab/broker-gateway'
import { BrokerError, systemClock } from '@vellab/broker-gateway'
import type { KisEventListener } from './events'
import { singleflightRefresh } from './token-issuance'
import type { AccessToken, TokenStore } from './token-store'
import { MemoryTokenStore } from './token-store'

/** Options of {@link TokenManager}. */
export interface TokenManagerOptions {
  /** Calls `/oauth2/tokenP`; throws a `BrokerError` on failure. */
  issue: () => Promise<AccessToken>
  /** Key of this app key's token in the store (see `tokenStoreKey`). */
  storeKey: string
  /** @default a MemoryTokenStore */
  store?: TokenStore
  /** @default systemClock */
  clock?: Clock
  /** Refresh this long before the absolute expiry. @default 3_600_000 (1 h) */
  refreshBeforeMs?: number
  /** Never use a token closer than this to its expiry. @default 60_000 */
  expirySafetyMs?: number
  /** At most one issuance per this interval (reference §2.1: EGW00133 "1분당 1회"). @default 60_000 */
  minIssueIntervalMs?: number
  /**
   * Within this age, tokenP returns the same token again (reference §2.1, policy since
   * 2023-04-28), so a proactive refresh before it would be wasted. @default 21_600_000 (6 h)
   */
  sameTokenWindowMs?: number
  onEvent?: KisEventListener
  /** Called with every token value, so the caller can register it for redaction. */
  onSecret?: (value: string) => void
}

/**
 * Owns the access token of one app key.
 *
 * - Singleflight: concurrent callers share one tokenP call.
 * - Proactive refresh `refreshBeforeMs` before the absolute KST expiry (`access_token_token_expired`,
 *   reference §2.1; `expires_in` drifts), but not while the token is younger than the same-token window.
 * - At most one issuance per `minIssueIntervalMs`; when throttled it keeps serving a token that is
 *   still valid, and otherwise fails with `rate_limited` (nothing was sent).
 * - Tokens persist in a `TokenStore`; before issuing, the store is re-read, since another process
 *   may have refreshed already.
 * - Issuance is coordinated: one refresh per store key in flight in the whole process (gateways
 *   sharing an app key wait for one tokenP call), and a store offering `issueExclusively` (the
 *   Postgres store's advisory lock) serialises load-issue-save across processes.
 */
export class TokenManager {
  readonly #o: Required<Omit<TokenManagerOptions, 'onEvent' | 'onSecret'>> &
    Pick<TokenManagerOptions, 'onEvent' | 'onSecret'>
  #current: AccessToken | undefined
  #inflight: Promise<AccessToken> | undefined
  #lastIssueAt: number | undefined
  /** The broker's refusal of the last issuance (credentials), repeated while the slot is spent. */
  #lastRefusal: { error: BrokerError; at: number } | undefined
  #rejected = new Set<string>()
  #issued = 0

  constructor(options: TokenManagerOptions) {
    this.#o = {
      store: new MemoryTokenStore(),
      clock: systemClock,
      refreshBeforeMs: 3_600_000,
      expirySafetyMs: 60_000,
      minIssueIntervalMs: 60_000,
      sameTokenWindowMs: 6 * 3_600_000,
      ...options,
    }
  }

  /** How many times this manager called tokenP successfully. */
  get issuedCount(): number {
    return this.#issued
  }

  /** The current token's expiry, if any (no secret). */
  get expiresAt(): number | undefined {
    return this.#current?.expiresAt
  }

  #usable(t: AccessToken | undefined, now: number): boolean {
    return !!t && !this.#rejected.has(t.value) && now < t.expiresAt - this.#o.expirySafetyMs
  }

  #fresh(t: AccessToken | undefined, now: number): boolean {
    if (!t || !this.#usable(t, now)) return false
    if (now < t.expiresAt - this.#o.refreshBeforeMs) return true
    // Inside the refresh window, but tokenP would hand the same token back: keep it.
    return now - t.issuedAt < this.#o.sameTokenWindowMs
  }

  /** A valid access token, issuing or refreshing one when needed. */
  async get(): Promise<string> {
    const now = this.#o.clock.now()
    if (this.#current && this.#fresh(this.#current, now)) return this.#current.value
    if (!this.#inflight) {
      this.#inflight = this.#refresh().finally(() => {
        this.#inflight = undefined
      })
    }
    try {
      return (await this.#inflight).value
    } catch (e) {
      // A failed proactive refresh is not fatal while the old token is still valid.
      const cur = this.#current as AccessToken | undefined
      if (cur && this.#usable(cur, this.#o.clock.now())) return cur.value
      throw e
    }
  }

  /**
   * Drop `value` after the broker rejected it (EGW00121/EGW00123). The next `get()` refreshes, and
   * the store's copy of that value is ignored.
   */
  invalidate(value: string, reason: string): void {
    this.#rejected.add(value)
    if (this.#current?.value === value) this.#current = undefined
    this.#o.onEvent?.({ type: 'token.invalidated', reason })
  }

  #refresh(): Promise<AccessToken> {
    const o = this.#o
    return singleflightRefresh(
      o.storeKey,
      () =>
        o.store.issueExclusively
          ? o.store.issueExclusively(o.storeKey, () => this.#refreshLocked())
          : this.#refreshLocked(),
      (t) => {
        if (!this.#usable(t, o.clock.now())) return false
        // Another gateway of this process refreshed for us.
        o.onSecret?.(t.value)
        this.#current = t
        return true
      },
    )
  }

  async #refreshLocked(): Promise<AccessToken> {
    const o = this.#o
    const stored = await o.store.load(o.storeKey).catch(() => undefined)
    if (stored) o.onSecret?.(stored.value)
    const currentValue: string | undefined = this.#current?.value
    if (stored && stored.value !== currentValue && this.#fresh(stored, o.clock.now())) {
      this.#current = stored
      o.onEvent?.({ type: 'token.acquired', source: 'store', expiresAt: stored.expiresAt })
      return stored
    }
    const now = o.clock.now()
    if (this.#lastIssueAt !== undefined && now - this.#lastIssueAt < o.minIssueIntervalMs) {
      const retryAfterMs = this.#lastIssueAt + o.minIssueIntervalMs - now
      o.onEvent?.({ type: 'token.throttled', retryAfterMs })
      const refusal = this.#lastRefusal
      if (refusal) {
        // The slot was spent on a refusal (whether KIS counts a refused tokenP against its limit is
        // unknown, reference §7.10, so it is not retried sooner): the caller's problem is still
        // the credentials, not the rate.
        throw new BrokerError(
          refusal.error.kind,
          `${refusal.error.message} (tokenP refused ${Math.round((now - refusal.at) / 1000)} s ago; the next attempt is allowed in ${retryAfterMs} ms)`,
          {
            operation: 'POST /oauth2/tokenP',
            ...(refusal.error.brokerCode ? { brokerCode: refusal.error.brokerCode } : {}),
            ...(refusal.error.httpStatus ? { httpStatus: refusal.error.httpStatus } : {}),
            retryAfterMs,
            cause: refusal.error,
          },
        )
      }
      throw new BrokerError('rate_limited', `token issuance throttled; next allowed in ${retryAfterMs} ms`, {
        operation: 'POST /oauth2/tokenP',
        retryAfterMs,
      })
    }
    this.#lastIssueAt = now
    let token: AccessToken
    try {
      token = await o.issue()
      this.#lastRefusal = undefined
    } catch (e) {
      if (BrokerError.isKind(e, 'auth') || BrokerError.isKind(e, 'invalid_request')) {
        this.#lastRefusal = { error: e as BrokerError, at: now }
      } else this.#lastRefusal = undefined
      if (BrokerError.isKind(e, 'rate_limited')) {
        o.onEvent?.({ type: 'token.throttled', retryAfterMs: o.minIssueIntervalMs })
        // Another process may have been the one that issued; its token is in the shared store.
        const again = await o.store.load(o.storeKey).catch(() => undefined)
        if (again && this.#usable(again, o.clock.now())) {
          this.#current = again
          o.onEvent?.({ type: 'token.acquired', source: 'store', expiresAt: again.expiresAt })
          return again
        }
      }
      throw e
    }
    o.onSecret?.(token.value)
    this.#issued++
    this.#rejected.delete(token.value)
    this.#current = token
    await o.store.save(o.storeKey, token).catch(() => {
      // A store outage costs a future issuance, not this request.
    })
    o.onEvent?.({ type: 'token.acquired', source: 'broker', expiresAt: token.expiresAt })
    return token
  }
}

/** Options of {@link ApprovalKeyManager}. */
export interface ApprovalKeyManagerOptions {
  /** Calls `/oauth2/Approval` (through a 1/s limiter, reference §2.3). */
  issue: () => Promise<string>
  /** @default systemClock */
  clock?: Clock
  /** Reuse a key for this long (reference §2.3: valid 24 h, used only at connect). @default 23 h */
  maxAgeMs?: number
  onEvent?: KisEventListener
  onSecret?: (value: string) => void
}

/**
 * Owns the WebSocket approval key: singleflight issuance, reuse while valid, and a fresh key after
 * the broker refused one (OPSP0011 "invalid approval").
 */
export class ApprovalKeyManager {
  readonly #o: ApprovalKeyManagerOptions & { clock: Clock; maxAgeMs: number }
  #current: { value: string; issuedAt: number } | undefined
  #inflight: Promise<string> | undefined
  #issued = 0

  constructor(options: ApprovalKeyManagerOptions) {
    this.#o = { clock: systemClock, maxAgeMs: 23 * 3_600_000, ...options }
  }

  /** How many approval keys were issued. */
  get issuedCount(): number {
    return this.#issued
  }

  async get(): Promise<string> {
    const now = this.#o.clock.now()
    if (this.#current && now - this.#current.issuedAt < this.#o.maxAgeMs) return this.#current.value
    if (!this.#inflight) {
      this.#inflight = this.#o
        .issue()
        .then((value) => {
          this.#o.onSecret?.(value)
          this.#issued++
          this.#current = { value, issuedAt: this.#o.clock.now() }
          this.#o.onEvent?.({ type: 'approval.acquired' })
          return value
        })
        .finally(() => {
          this.#inflight = undefined
        })
    }
    return this.#inflight
  }

  /** Forget the current key (after OPSP0011 or an auth-type connection failure). */
  invalidate(reason: string): void {
    this.#current = undefined
    this.#o.onEvent?.({ type: 'approval.invalidated', reason })
  }
}
