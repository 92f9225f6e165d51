import type { AuthRegistry } from './auth'
import type { HostTimers, SimClock } from './clock'
import type { Exchange, SimEnv } from './exchange'
import type { FaultPlan } from './faults'
import type { Ledger } from './ledger'
import type { MessageKey, MessageTable } from './messages'
import type { RandomSource } from './random'
import type { SlidingWindowLimiter } from './rate-window'

/** Per-environment numbers. */
export interface PerEnv<T> {
  real: T
  paper: T
}

/** Resolved REST limits. */
export interface ResolvedLimits {
  restPerSecond: PerEnv<number>
  approvalPerSecond: number
  timebase: 'sim' | 'host'
}

/** Internal state shared by the REST server, the WebSocket server and the control API. */
export interface SimCore {
  clock: SimClock
  host: HostTimers
  exchange: Exchange
  auth: AuthRegistry
  ledger: Ledger
  faults: FaultPlan
  rng: RandomSource
  limiter: SlidingWindowLimiter
  limits: ResolvedLimits
  messages: MessageTable
  status: { gateway: number; business: number; auth: number }
  pageSizes: {
    balance: PerEnv<number>
    dailyCcld: PerEnv<number>
    psblRvsecncl: number
    holidays: number
  }
  validateHashkey: boolean
  /** Current time in the rate-limit timebase. */
  limitNow(): number
  /** Text of a message for an env. */
  msg(key: MessageKey, env: SimEnv): { msgCd: string; msg1: string }
  log(event: SimEvent): void
}

/** Events the simulator reports through `options.onEvent` (never carrying secrets). */
export type SimEvent =
  | { type: 'request'; method: string; path: string; trId: string; status: number; msgCd: string }
  | { type: 'rate-violation'; appkey: string; channel: string }
  | { type: 'fault'; id: string; on: string; effect: string }
  | { type: 'ws-session'; appkey: string; outcome: string }
  | { type: 'ws-close'; appkey: string; clean: boolean }
  /** A bug inside the simulator, answered with HTTP 500 EGW00002 instead of crashing. */
  | { type: 'internal-error'; message: string }
