import { type Fence, fencedWrite } from '@vellab/order-fsm'
import { type Kysely, type Selectable, sql } from 'kysely'
import type { Break, BreakKind } from './breaks'
import { fencedError, ReconcileError } from './errors'
import type { ReconcileTables, ReconTicketsTable } from './schema'

/** A break a person has to look at. `open` → `acknowledged` → `resolved`, each step with who and why. */
export interface Ticket {
  id: string
  dedupKey: string
  account: string
  kind: BreakKind
  severity: 'warning' | 'critical'
  state: 'open' | 'acknowledged' | 'resolved'
  intentId: string | null
  brokerOrderId: string | null
  symbol: string | null
  summary: string
  /** Both sides as the last pass that saw the break read them. */
  evidence: { local: unknown; broker: unknown }
  openedAt: number
  firstRunId: string
  lastRunId: string
  lastSeenAt: number
  /** How many passes saw it. */
  seenCount: number
  acknowledged: { at: number; by: string; why: string } | null
  resolved: { at: number; by: string; why: string } | null
}

/** Filters of {@link TicketBook.list}. */
export interface TicketFilter {
  account?: string
  state?: Ticket['state'] | readonly Ticket['state'][]
  kind?: BreakKind
}

/** Options of {@link TicketBook}. */
export interface TicketBookOptions {
  /**
   * The lease epoch every ticket write is fenced by (see `ReconcilerOptions.fence`). The
   * reconciler's `tickets` carries the reconciler's; a book made with `new TicketBook(db)` (an
   * operator's tool) is unfenced. @default no fencing
   */
  fence?: () => { key: string; epoch: number }
}

/**
 * The durable, deduplicated ticket list (`recon_tickets`). A break seen again while its ticket is
 * not resolved updates that ticket (evidence, last seen, count) instead of opening another.
 */
export class TicketBook {
  readonly #db: Kysely<ReconcileTables>
  readonly #fence: Fence | undefined

  constructor(db: Kysely<ReconcileTables>, options: TicketBookOptions = {}) {
    this.#db = db
    this.#fence = options.fence
  }

  /** Open a ticket for the break, or refresh the live one with its key. */
  async upsert(brk: Break, runId: string, at: number): Promise<{ ticket: Ticket; created: boolean }> {
    const evidence = JSON.stringify(brk.evidence)
    const { rows } = await this.#write('tickets.upsert', brk.account, (db) =>
      sql<Selectable<ReconTicketsTable> & { created: boolean }>`
      INSERT INTO recon_tickets (dedup_key, account, kind, severity, state, intent_id, broker_order_id, symbol,
        summary, evidence, opened_at, first_run_id, last_run_id, last_seen_at)
      VALUES (${brk.dedupKey}, ${brk.account}, ${brk.kind}, ${brk.severity}, 'open', ${brk.intentId ?? null},
        ${brk.brokerOrderId ?? null}, ${brk.symbol ?? null}, ${brk.summary}, ${evidence}::jsonb, ${at}, ${runId},
        ${runId}, ${at})
      ON CONFLICT (dedup_key) WHERE state <> 'resolved' DO UPDATE SET
        evidence = EXCLUDED.evidence, summary = EXCLUDED.summary, last_run_id = EXCLUDED.last_run_id,
        last_seen_at = EXCLUDED.last_seen_at, seen_count = recon_tickets.seen_count + 1
      RETURNING *, (xmax = 0) AS created`.execute(db),
    )
    const row = rows[0]!
    return { ticket: toTicket(row), created: row.created }
  }

  /** Mark a ticket as being looked at. */
  async acknowledge(id: string, who: string, why: string, at: number): Promise<Ticket> {
    return this.#move(id, ['open'], 'acknowledged', who, why, at)
  }

  /** Close a ticket, saying who and why (e.g. `operator:kim`, `order canceled at the broker's app`). */
  async resolve(id: string, who: string, why: string, at: number): Promise<Ticket> {
    return this.#move(id, ['open', 'acknowledged'], 'resolved', who, why, at)
  }

  async get(id: string): Promise<Ticket | undefined> {
    const row = await this.#db.selectFrom('recon_tickets').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toTicket(row) : undefined
  }

  async list(filter: TicketFilter = {}): Promise<Ticket[]> {
    let q = this.#db.selectFrom('recon_tickets').selectAll().orderBy('id')
    if (filter.account !== undefined) q = q.where('account', '=', filter.account)
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind)
    if (filter.state !== undefined) {
      const states = typeof filter.state === 'string' ? [filter.state] : [...filter.state]
      q = q.where('state', 'in', states)
    }
    return (await q.execute()).map(toTicket)
  }

  async #move(
    id: string,
    from: readonly Ticket['state'][],
    to: 'acknowledged' | 'resolved',
    who: string,
    why: string,
    at: number,
  ): Promise<Ticket> {
    if (!who || !why) throw new ReconcileError('ticket_state', `ticket ${id}: ${to} needs who and why`)
    const set =
      to === 'acknowledged'
        ? { state: to, acknowledged_at: at, acknowledged_by: who, acknowledged_why: why }
        : { state: to, resolved_at: at, resolved_by: who, resolved_why: why }
    const row = await this.#write(
      `tickets.${to === 'acknowledged' ? 'acknowledge' : 'resolve'}`,
      undefined,
      (db) =>
        db
          .updateTable('recon_tickets')
          .set(set)
          .where('id', '=', id)
          .where('state', 'in', [...from])
          .returningAll()
          .executeTakeFirst(),
    )
    if (row) return toTicket(row)
    const existing = await this.get(id)
    if (!existing) throw new ReconcileError('ticket_not_found', `no ticket ${id}`)
    throw new ReconcileError('ticket_state', `ticket ${id} is ${existing.state}; cannot move it to ${to}`)
  }

  #write<T>(
    operation: string,
    account: string | undefined,
    write: (db: Kysely<ReconcileTables>) => Promise<T>,
  ): Promise<T> {
    return fencedWrite(this.#db, this.#fence, (r) => fencedError(operation, r, account), write)
  }
}

function toTicket(r: Selectable<ReconTicketsTable>): Ticket {
  return {
    id: String(r.id),
    dedupKey: r.dedup_key,
    account: r.account,
    kind: r.kind as BreakKind,
    severity: r.severity,
    state: r.state,
    intentId: r.intent_id,
    brokerOrderId: r.broker_order_id,
    symbol: r.symbol,
    summary: r.summary,
    evidence: r.evidence as Ticket['evidence'],
    openedAt: Number(r.opened_at),
    firstRunId: String(r.first_run_id),
    lastRunId: String(r.last_run_id),
    lastSeenAt: Number(r.last_seen_at),
    seenCount: Number(r.seen_count),
    acknowledged:
      r.acknowledged_at === null
        ? null
        : { at: Number(r.acknowledged_at), by: r.acknowledged_by ?? '', why: r.acknowledged_why ?? '' },
    resolved:
      r.resolved_at === null
        ? null
        : { at: Number(r.resolved_at), by: r.resolved_by ?? '', why: r.resolved_why ?? '' },
  }
}
