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

/**
 * How the paper (모의) environment behaves where a paper account was seen to differ from the
 * documentation (reference §7.10: one community source, paper only, measured 2026-08). Each
 * behaviour is an option; the defaults are the behaviour as reported.
 */
export interface PaperProfile {
  /** Field count of H0STCNI9 records: 23 as reported, or 26 as §7.9 documents. @default 23 */
  noticeFields?: 23 | 26
  /**
   * Whether paper `inquire-daily-ccld` lists order rows. Reported: `output1` empty (with `rt_cd` 0;
   * `output2` still carries the day's totals) for the old TR id VTTC8001R; VTTC0081R untested.
   * @default false
   */
  listsOrders?: boolean
  /**
   * Paper `inquire-psbl-rvsecncl`: `'refused'` answers `rt_cd` 1, `msg_cd` 90000000 (reported);
   * `'not-offered'` answers OPSQ0002 as for other TRs paper does not offer (§4.3). @default 'refused'
   */
  psblRvsecncl?: 'refused' | 'not-offered'
  /**
   * The answer to a paper order, modify or cancel is held back this long after the request took
   * effect (its notices go out at once), drawn uniformly from `[min, max]` sim-ms. Reported:
   * notices overtook the REST answer by 150–400 ms. `[0, 0]` answers at once. @default [150, 400]
   */
  answerAfterNoticeMs?: readonly [number, number]
  /**
   * Cancel notices on paper: `'confirm-only'` sends only the confirmation as reported (RCTF_CLS 2,
   * CNTG_YN 1, ACPT_YN 2 under the cancel's own number, OODER_NO the original, price 0, quantity the
   * shares canceled; no 접수 was reported); `'receipt-and-confirm'` sends the 접수 first, as on real.
   * @default 'confirm-only'
   */
  cancelNotices?: 'confirm-only' | 'receipt-and-confirm'
}

/** {@link PaperProfile} with defaults applied. */
export type ResolvedPaperProfile = Required<PaperProfile>

/** The paper profile as reported (reference §7.10). */
export const REPORTED_PAPER_PROFILE: ResolvedPaperProfile = Object.freeze({
  noticeFields: 23,
  listsOrders: false,
  psblRvsecncl: 'refused',
  answerAfterNoticeMs: Object.freeze([150, 400] as const),
  cancelNotices: 'confirm-only',
})

/** Paper behaving as the documentation says (the simulator's behaviour before §7.10 was known). */
export const DOCUMENTED_PAPER_PROFILE: ResolvedPaperProfile = Object.freeze({
  noticeFields: 26,
  listsOrders: true,
  psblRvsecncl: 'not-offered',
  answerAfterNoticeMs: Object.freeze([0, 0] as const),
  cancelNotices: 'receipt-and-confirm',
})

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
  /** How the paper environment behaves (see {@link PaperProfile}). */
  paper: ResolvedPaperProfile
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
  /** A session closed because it left a PINGPONG unanswered for `ws.pongTimeoutMs`. */
  | { type: 'ws-pong-timeout'; appkey: string }
  /** A bug inside the simulator, answered with HTTP 500 EGW00002 instead of crashing. */
  | { type: 'internal-error'; message: string }
