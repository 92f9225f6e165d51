import { BrokerError } from '@vellab/broker-gateway'

/** How {@link untilAnswered} waits and gives up. */
export interface UntilAnsweredOptions {
  /** Give up once the next wait would end later than this many ms after the first try. @default 180000 */
  deadlineMs?: number
  /** Wait when the broker names no time (a 5xx, a rate limit without a hint). @default 2000 */
  fallbackWaitMs?: number
  /** Longest single wait; a throttled token names about a minute. @default 65000 */
  maxWaitMs?: number
  log?: (line: string) => void
  signal?: AbortSignal
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

/**
 * A read the session needs before it may trade (the account's positions at start): retried while
 * the broker says "not now" — a retryable {@link BrokerError}: a rate limit, the token endpoint's
 * one-a-minute throttle (EGW00133), a 5xx where the broker did not act — waiting what the error
 * names. Anything else throws at once. Reads only: an order is never sent through this.
 *
 * Without it, a process that met a throttled token at start crashed, its supervisor restarted it,
 * and every restart asked for a token again, keeping the throttle's window open (found by the
 * chaos soak).
 */
export async function untilAnswered<T>(
  what: string,
  fn: () => Promise<T>,
  options: UntilAnsweredOptions = {},
): Promise<T> {
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const deadline = now() + (options.deadlineMs ?? 180_000)
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (!BrokerError.isInstance(err) || !err.retryable) throw err
      const wait = Math.min(
        options.maxWaitMs ?? 65_000,
        Math.max(250, err.retryAfterMs ?? options.fallbackWaitMs ?? 2_000),
      )
      if (now() + wait > deadline || options.signal?.aborted) throw err
      options.log?.(
        `${what}: ${err.message}; asking again in ${Math.round(wait / 1000)} s (attempt ${attempt})`,
      )
      await sleep(wait)
    }
  }
}
