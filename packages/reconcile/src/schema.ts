import type { ColumnType, Generated } from 'kysely'

type Json<T> = ColumnType<T, string, string>

/** `recon_runs`: one row per reconciliation pass of one account. */
export interface ReconRunsTable {
  id: Generated<string>
  account: string
  broker_date: string
  trigger: string
  status: 'running' | 'clean' | 'ticketed' | 'pending' | 'failed'
  started_at: number
  finished_at: number | null
  duration_ms: number | null
  pages_read: Generated<number>
  requests_spent: Generated<number>
  breaks_found: Generated<number>
  breaks_resolved: Generated<number>
  tickets_opened: Generated<number>
  error: string | null
}

/** `recon_tickets`: a break a person must look at, deduplicated by `dedup_key` while not resolved. */
export interface ReconTicketsTable {
  id: Generated<string>
  dedup_key: string
  account: string
  kind: string
  severity: 'warning' | 'critical'
  state: 'open' | 'acknowledged' | 'resolved'
  intent_id: string | null
  broker_order_id: string | null
  symbol: string | null
  summary: string
  evidence: Json<unknown>
  opened_at: number
  first_run_id: string
  last_run_id: string
  last_seen_at: number
  seen_count: Generated<number>
  acknowledged_at: number | null
  acknowledged_by: string | null
  acknowledged_why: string | null
  resolved_at: number | null
  resolved_by: string | null
  resolved_why: string | null
}

/** `recon_breaks`: every difference a pass found, and what became of it. */
export interface ReconBreaksTable {
  id: Generated<string>
  run_id: string
  account: string
  broker_date: string
  kind: string
  dedup_key: string
  resolution: 'auto_resolved' | 'ticketed' | 'pending'
  intent_id: string | null
  broker_order_id: string | null
  symbol: string | null
  evidence: Json<unknown>
  occurred_at: number | null
  found_at: number
  resolved_at: number | null
  ticket_id: string | null
}

/** `recon_baselines`: the day's opening book per account (see the README, "Positions and cash"). */
export interface ReconBaselinesTable {
  account: string
  broker_date: string
  positions: Json<unknown>
  cash: Json<unknown>
  run_id: string
  taken_at: number
}

/** This package's tables; compose with order-fsm's `OrderFsmTables` in an app's database type. */
export interface ReconcileTables {
  recon_runs: ReconRunsTable
  recon_tickets: ReconTicketsTable
  recon_breaks: ReconBreaksTable
  recon_baselines: ReconBaselinesTable
}
