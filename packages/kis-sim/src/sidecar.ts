import type { DaySchedule } from './calendar'

/**
 * A sidecar (프로그램매매 호가 효력정지, reference/krx-market-rules.md §4.4): for a few minutes, program
 * orders in one direction on one market are accepted but have no effect (they are not matched),
 * then they are released.
 *
 * KIS's order-cash carries no program-trading flag, so the simulator cannot tell a program order
 * from the request: it treats every order of an account marked `programTrading` (an
 * `AccountConfig` option) as one. The simulator has no index futures either, so a sidecar starts
 * only through the control API (`control.sidecar`, `POST /__sim/sidecar`).
 */
export interface SidecarInfo {
  market: 'KOSPI' | 'KOSDAQ'
  /** The direction whose program orders are held: `buy` after a rise, `sell` after a fall. */
  direction: 'buy' | 'sell'
  /** Virtual epoch ms. */
  startedAt: number
  /** When held orders are released (virtual epoch ms). */
  endsAt: number
}

/** reference/krx-market-rules.md §4.4: suspended for 5 minutes, then released automatically. */
export const SIDECAR_DEFAULT_MS = 5 * 60_000

/**
 * Why a sidecar may not start at `msOfDay` (KST) on the day of `sched`, or `undefined` when it may
 * (reference/krx-market-rules.md §4.4: at most once a day per market; not within the first 5
 * minutes after the open nor the last 40 minutes before the close). The open is the start of
 * continuous trading, the close the end of the closing auction.
 */
export function sidecarRefusal(sched: DaySchedule, msOfDay: number, firedToday: boolean): string | undefined {
  if (!sched.trading) return 'the market is closed today'
  if (firedToday) return 'a sidecar already fired on this market today (at most once a day)'
  const from = sched.continuous[0] + 5 * 60_000
  const until = sched.closingAuction[1] - 40 * 60_000
  if (msOfDay < from) return 'not within the first 5 minutes after the open'
  if (msOfDay >= until) return 'not within the last 40 minutes before the close'
  return undefined
}
