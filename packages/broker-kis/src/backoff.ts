import type { RandomSource } from '@vellab/broker-gateway'

/** Exponential backoff parameters. */
export interface BackoffOptions {
  /** Cap of the first delay. */
  baseMs: number
  /** Largest delay. */
  maxMs: number
}

/**
 * "Full jitter" backoff: a uniform delay in [0, min(max, base·2^attempt)). Spreads reconnecting
 * clients out instead of synchronising them (attempt counts from 0).
 */
export function fullJitterDelay(attempt: number, o: BackoffOptions, random: RandomSource): number {
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}
