import type { BreakResolution, Finding } from './breaks'
import type { Ticket } from './tickets'

/** How a pass was asked for. */
export type PassTrigger = 'periodic' | 'on_demand' | 'barrier' | 'stream_gap' | 'startup' | 'soon'

/** The outcome of a finished pass. */
export type PassStatus = 'clean' | 'ticketed' | 'pending' | 'failed'

/**
 * What the reconciler reports, for the runner's logs and metrics (the package logs nothing).
 * Listeners run synchronously inside the reconciler; an exception from one is swallowed so a
 * faulty listener cannot fail a pass.
 */
export type ReconcileEvent =
  | { type: 'run_started'; runId: string; account: string; trigger: PassTrigger; at: number }
  | {
      type: 'run_finished'
      runId: string
      account: string
      status: PassStatus
      durationMs: number
      pagesRead: number
      requestsSpent: number
      breaksFound: number
      breaksResolved: number
      ticketsOpened: number
      at: number
    }
  | { type: 'run_failed'; runId: string; account: string; error: Error; durationMs: number; at: number }
  | {
      type: 'break_found'
      runId: string
      account: string
      finding: Omit<Finding, 'afterTicket'>
      resolution: BreakResolution
      at: number
    }
  | {
      type: 'auto_resolved'
      runId: string
      account: string
      finding: Omit<Finding, 'afterTicket'>
      /** Time from the drift's start (or its discovery) to its resolution. */
      mttrMs: number
      at: number
    }
  | { type: 'ticket_opened'; runId: string; account: string; ticket: Ticket; at: number }
  | {
      type: 'alarm'
      account: string
      code: string
      severity: 'warning' | 'critical'
      message: string
      runId?: string
      at: number
    }
  | { type: 'kill_switch_engaged'; account: string; scope: string; key: string; reason: string; at: number }
  | { type: 'kill_switch_failed'; account: string; reason: string; error: Error; at: number }
