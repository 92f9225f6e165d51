import { redactSecrets } from '@vellab/broker-gateway'

/**
 * The set of secret values one gateway knows (app key, app secret, every access token and approval
 * key it has seen). Every error message and event the adapter produces passes through
 * {@link SecretRegistry.redact}. The registry itself never prints its contents.
 */
export class SecretRegistry {
  readonly #values = new Set<string>()

  /** Remember a secret; values shorter than 6 characters are ignored (they would redact words). */
  add(value: string | undefined): void {
    if (value && value.length >= 6) this.#values.add(value)
  }

  /** The secrets, longest first, for `BrokerError`'s `secrets` option. */
  list(): string[] {
    return [...this.#values].sort((a, b) => b.length - a.length)
  }

  /** Replace every known secret (and bearer/JWT/`appsecret=` patterns) with `[REDACTED]`. */
  redact(text: string): string {
    return redactSecrets(text, this.list())
  }

  /** Redact every string inside a JSON-like value (for event payloads and snapshots). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v)
      return out as T
    }
    return value
  }

  toJSON(): string {
    return `[SecretRegistry: ${this.#values.size} values]`
  }
}
