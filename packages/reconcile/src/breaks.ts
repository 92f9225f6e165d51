/**
 * Every kind of difference a pass can find (the README's break catalogue says what each means and
 * how it is resolved).
 */
export const BREAK_KINDS = [
  'missing_locally',
  'unlinked_at_broker',
  'missing_at_broker',
  'status_mismatch',
  'fill_quantity_mismatch',
  'fill_price_mismatch',
  'position_mismatch',
  'cash_mismatch',
  'orphan_reconcile_required',
] as const

/** The kind of a {@link Break}. */
export type BreakKind = (typeof BREAK_KINDS)[number]

/**
 * What became of a break in its pass: resolved through the order store, ticketed for a person, or
 * pending (too early to decide: inside the reporting delay, or the order is still in flight).
 */
export type BreakResolution = 'auto_resolved' | 'ticketed' | 'pending'

/** One difference between the local book and the broker's, with the evidence of both sides. */
export interface Break {
  kind: BreakKind
  /** Identifies the same break across passes (tickets are deduplicated by it). */
  dedupKey: string
  account: string
  severity: 'warning' | 'critical'
  summary: string
  intentId?: string
  brokerOrderId?: string
  symbol?: string
  evidence: { local: unknown; broker: unknown }
  /** When the drift began, when known (an order's submit, an unknown outcome's time). */
  occurredAt?: number
}

/** A break and what the pass did with it. */
export interface Finding extends Break {
  resolution: BreakResolution
  /** For `auto_resolved`: what was applied, e.g. `reconcile_matched P0000000007`. */
  action?: string
  /** For `ticketed`: the ticket's id, once opened. */
  ticketId?: string
  /** Called with the ticket's id once it is opened (e.g. to record `reconcile_ambiguous` with it). */
  afterTicket?: (ticketId: string) => Promise<void>
}
