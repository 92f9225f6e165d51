import { KisError } from '../errors'

/**
 * Counts WebSocket registrations against the session cap (reference §8: 41 per session, summed
 * over all TRs; the 42nd is refused with OPSP0008). Refusing locally keeps the broker from ever
 * seeing an over-budget request.
 */
export class SubscriptionBudget {
  readonly max: number
  readonly #keys = new Set<string>()

  constructor(max: number) {
    this.max = max
  }

  get used(): number {
    return this.#keys.size
  }

  get available(): number {
    return this.max - this.#keys.size
  }

  has(key: string): boolean {
    return this.#keys.has(key)
  }

  /** Reserve every key not yet held, all or nothing. */
  reserve(keys: readonly string[]): void {
    const fresh = [...new Set(keys)].filter((k) => !this.#keys.has(k))
    if (fresh.length > this.available) {
      throw new KisError(
        'KIS_SUBSCRIPTION_BUDGET',
        `${fresh.length} new registration(s) requested but only ${this.available} of ${this.max} left`,
      )
    }
    for (const k of fresh) this.#keys.add(k)
  }

  release(key: string): void {
    this.#keys.delete(key)
  }
}
