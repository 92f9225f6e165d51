import { sql } from 'kysely'
import type { Order } from '../order'
import type { OrderState } from '../states'
import type { StoreCore } from './core'
import type { RecordContext, RecoveryReport } from './types'

/** Startup recovery: unanswered requests go to reconciliation, parked events of linked numbers drain. */
export class StoreRecovery {
  private readonly core: StoreCore

  constructor(core: StoreCore) {
    this.core = core
  }

  // ---- recovery ---------------------------------------------------------------------------------

  async recover(ctx: RecordContext = {}): Promise<RecoveryReport> {
    const actor = ctx.actor ?? this.core.actor
    const { rows } = await sql<{ intent_id: string }>`
      SELECT intent_id FROM order_orders WHERE state IN ('SUBMITTED', 'CANCEL_PENDING', 'REPLACE_PENDING')
      ORDER BY created_at, intent_id`.execute(this.core.db)
    const moved: RecoveryReport['movedToReconcile'] = []
    for (const { intent_id: intentId } of rows) {
      const meta = this.core.meta('recovery', { actor, ...(ctx.reason ? { reason: ctx.reason } : {}) })
      let operation: 'submit' | 'cancel' | 'replace' | null = null
      // Decided per attempt: a late answer may land between the scan and the write.
      const outcome = await this.core.apply(
        intentId,
        (order) => {
          operation = unansweredOperation(order)
          if (!operation) return null
          return {
            type: 'outcome_unknown',
            operation,
            reason: `the process stopped after the ${operation} was marked and before its answer was recorded`,
            at: this.core.clock.now(),
          }
        },
        meta,
      )
      if (outcome.status === 'applied' && operation) {
        moved.push({ intentId, from: outcome.previous, operation })
      }
    }
    let parkedApplied = 0
    const { rows: linked } = await sql<{ account: string; broker_date: string; broker_order_id: string }>`
      SELECT DISTINCT u.account, u.broker_date, u.broker_order_id FROM order_unmatched u
      JOIN order_broker_ids l USING (account, broker_date, broker_order_id)`.execute(this.core.db)
    for (const l of linked)
      parkedApplied += await this.core.drainParked(l.account, l.broker_date, l.broker_order_id, ctx)
    const { rows: counts } = await sql<{ state: OrderState; n: number }>`
      SELECT state, count(*)::int AS n FROM order_orders
      WHERE state NOT IN ('FILLED', 'REJECTED', 'CANCELED', 'EXPIRED') GROUP BY state`.execute(this.core.db)
    return {
      movedToReconcile: moved,
      parkedApplied,
      openByState: Object.fromEntries(counts.map((c) => [c.state, c.n])),
    }
  }
}

/** The request a stopped process may have sent without recording its answer. */
function unansweredOperation(order: Order): 'submit' | 'cancel' | 'replace' | null {
  if (order.state === 'SUBMITTED') return 'submit'
  if (order.state === 'CANCEL_PENDING' && !order.pending?.acked) return 'cancel'
  if (order.state === 'REPLACE_PENDING') return 'replace'
  return null
}
