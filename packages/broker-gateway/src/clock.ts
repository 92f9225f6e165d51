/** An opaque handle for a scheduled timer. */
export type TimerHandle = { readonly __timer: unique symbol } | object

/**
 * Time and timers, injected everywhere so sessions, limiters, backoff and timeouts run
 * deterministically under test (see `ManualClock` in `@vellab/broker-gateway/testing`).
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/**
 * The real clock. Calls the globals at call time (not captured at import), so test frameworks'
 * fake timers keep working.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
}

/**
 * Resolve after `ms` milliseconds on `clock`. With a signal, rejects with the signal's reason when
 * aborted and clears the timer.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clock.clearTimeout(handle)
      reject(signal?.reason)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** A source of uniform random numbers in [0, 1). Injected wherever jitter or sampling happens. */
export type RandomSource = () => number

/** The default random source. */
export const systemRandom: RandomSource = () => Math.random()

/**
 * A small, fast, seeded PRNG (mulberry32) for deterministic tests and simulations. Not for secrets.
 */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
