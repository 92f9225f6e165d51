import type { KillSwitchScope } from './context'
import type { RiskError } from './errors'
import type { KillSwitchRecord } from './kill-switch-store'

/**
 * How `KillSwitchBoard` retries a store that refused a write or the startup load: exponential
 * (×2 per consecutive failure) up to a cap, one timer at a time on the board's `Clock`.
 */
export interface KillSwitchRetryOptions {
  /** Delay before the first retry, in ms. @default 500 */
  readonly initialDelayMs?: number
  /** Upper bound of the delay between attempts, in ms. @default 30000 */
  readonly maxDelayMs?: number
}

/** `KillSwitchRetryOptions` with defaults applied. */
export interface ResolvedKillSwitchRetry {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
}

/** Apply the defaults and check the bounds of `KillSwitchRetryOptions`. */
export function resolveKillSwitchRetry(options: KillSwitchRetryOptions = {}): ResolvedKillSwitchRetry {
  const initialDelayMs = options.initialDelayMs ?? 500
  const maxDelayMs = options.maxDelayMs ?? 30_000
  if (!(Number.isFinite(initialDelayMs) && initialDelayMs > 0 && Number.isFinite(maxDelayMs))) {
    throw new RangeError(`retry: initialDelayMs and maxDelayMs must be positive and finite`)
  }
  if (maxDelayMs < initialDelayMs) throw new RangeError(`retry: maxDelayMs < initialDelayMs`)
  return { initialDelayMs, maxDelayMs }
}

/** Delay before retry number `failures` (1 = after the first failure): doubling, capped. */
export function killSwitchRetryDelay(retry: ResolvedKillSwitchRetry, failures: number): number {
  return Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, Math.min(failures - 1, 30)))
}

/**
 * An engagement held in memory (blocking orders) that the store has not confirmed yet. A health
 * endpoint should report these: "kill switch engaged but not yet persisted".
 */
export interface PendingKillSwitchWrite {
  readonly scope: KillSwitchScope
  readonly key: string
  /** What will be written: the engagement, or a repeat engagement (audited only). */
  readonly record: KillSwitchRecord
  /** Failed attempts so far (0 while the first attempt is in flight or queued). */
  readonly attempts: number
  /** When it was queued (epoch ms on the board's clock). */
  readonly since: number
  /** The store's last refusal, if any. */
  readonly lastError: RiskError | undefined
}

/**
 * What `KillSwitchBoard` reports through `onEvent`: alert on `engage.persist_failed` and
 * `load.failed` (trading is blocked but the database does not know, or the state is unknown).
 */
export type KillSwitchBoardEvent =
  | {
      readonly type: 'engage.persist_failed'
      /** The write that failed, after counting this attempt. */
      readonly write: PendingKillSwitchWrite
      readonly error: RiskError
      /** When the next attempt runs; `undefined` after `close()`. */
      readonly retryInMs: number | undefined
      /** Unpersisted writes in total. */
      readonly pending: number
    }
  | {
      readonly type: 'engage.persisted'
      readonly record: KillSwitchRecord
      /** Attempts it took, this one included. */
      readonly attempts: number
      /** How long it was held in memory only (ms). */
      readonly unpersistedMs: number
      readonly pending: number
    }
  | {
      readonly type: 'load.failed'
      /** Consecutive failed loads, this one included. */
      readonly attempt: number
      readonly error: RiskError
      readonly retryInMs: number | undefined
    }
  | {
      readonly type: 'load.succeeded'
      readonly attempt: number
      /** Switches read from the store. */
      readonly engaged: number
    }
  | {
      readonly type: 'listener.failed'
      readonly listener: 'onEngaged' | 'onUnpersisted'
      readonly error: unknown
    }

/** Receives `KillSwitchBoardEvent`s. Must not throw (exceptions are dropped so they cannot stop retries). */
export type KillSwitchEventListener = (event: KillSwitchBoardEvent) => void
