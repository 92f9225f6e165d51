import {
  type Clock,
  capabilitiesOf,
  kstDate,
  type RandomSource,
  sleep,
  systemClock,
  systemRandom,
} from '@vellab/broker-gateway'
import { fencedWrite, isTerminal, ORDER_STATES, OrderFsmError, type OrderStore } from '@vellab/order-fsm'
import type { Insertable, Kysely } from 'kysely'
import pLimit from 'p-limit'
import { type BookTolerances, compareBook, type OpeningBook } from './book'
import type { Finding } from './breaks'
import { fencedError, ReconcileError } from './errors'
import type { PassStatus, PassTrigger, ReconcileEvent } from './events'
import { createFingerprintGuard, type FingerprintGuard } from './guard'
import { defaultKillSwitchPolicy, type KillSwitchPolicy, type KillSwitchPort } from './kill-switch'
import { reconcileOrders } from './orders'
import type { ReconBreaksTable, ReconcileTables } from './schema'
import { type BrokerReader, type ReadCapabilities, readBroker } from './snapshot'
import { TicketBook } from './tickets'

/** Options of {@link createReconciler}. Every duration is in milliseconds. */
export interface ReconcilerOptions<DB extends ReconcileTables> {
  /** A Kysely instance where {@link reconcileMigrations} (and order-fsm's) have run. */
  db: Kysely<DB>
  /** The order store every resolution goes through (never a row edit). */
  store: OrderStore
  /**
   * Where the broker's views are read: the gateway, or a wrapper that sends its inquiries through
   * the adapter's lowest-priority lane (broker-kis: its `reconcile` lane, which it already uses for
   * every inquiry).
   */
  broker: BrokerReader
  /** The accounts this reconciler owns. */
  accounts: readonly string[]
  /** @default systemClock */
  clock?: Clock
  /** Jitter source of the periodic schedule. @default systemRandom */
  random?: RandomSource
  /** Recorded on every event the reconciler applies and every ticket it opens. @default 'reconcile' */
  actor?: string
  /**
   * How long after its submit an order may still be missing from the broker's inquiries (KIS
   * reflects an order in inquire-daily-ccld with a delay). Nothing is declared absent earlier.
   * UNVERIFIED: the reference gives no figure for KIS; 15 s is a conservative guess.
   * @default 15_000
   */
  reportingDelayMs?: number
  /** A lost ack matches broker orders submitted up to this long after the local submit. @default 60_000 */
  matchWindowMs?: number
  /** ... and up to this long before it (clocks differ). @default 2_000 */
  clockSkewMs?: number
  /** Allowed difference of average fill prices, in KRW. @default 0.5 */
  fillPriceTolerance?: number
  /** Positions and cash tolerances (see {@link BookTolerances}). */
  tolerances?: Partial<BookTolerances>
  /**
   * What the account's environment can answer, overriding what the gateway declares.
   * @default the gateway's `capabilities` (`capabilitiesOf(broker)`)
   */
  capabilities?: ReadCapabilities | ((account: string) => ReadCapabilities)
  /** Mean time between periodic passes of an account. @default 60_000 */
  intervalMs?: number
  /** Relative jitter of that interval, in [0, 1): each wait is interval × (1 ± jitter). @default 0.2 */
  jitter?: number
  /** Accounts reconciled at once (p-limit). @default 2 */
  concurrency?: number
  /** How long the barrier waits before asking for another pass after a pending or failed one. @default 5_000 */
  barrierRetryMs?: number
  /** Engages kill switches when the policy says so (risk-kr's `KillSwitchBoard` fits). */
  killSwitch?: KillSwitchPort
  /** @default defaultKillSwitchPolicy() */
  killSwitchPolicy?: KillSwitchPolicy
  /** Orders whose resolutions one pass writes at once (each order's own events stay in order). @default 16 */
  writeConcurrency?: number
  /** The most local orders one pass reads per account. @default 1_000_000 */
  maxLocalOrders?: number
  /** Typed events for logs and metrics. */
  onEvent?: (event: ReconcileEvent) => void
  /**
   * The lease epoch the reconciler's own writes are fenced by (`@vellab/lease`: `lease.fence()`),
   * read at each write: the run rows, breaks, opening books and tickets (the `tickets` book's
   * commands included). Each write runs in a transaction that first holds the `vellab_leases` row
   * at that epoch, so once another process has taken the lease over it is refused with
   * `ReconcileError` `fenced` and writes nothing. A pass refused this way (or whose resolution the
   * order store refused with its `fenced` error) rejects `run`, `runAll` and `barrier` with that
   * error instead of reporting a failed pass. Resolutions go through `store`: give it the same
   * fence (order-fsm's `fence` option). The `vellab_leases` table must exist. Unset: no fencing.
   */
  fence?: () => { key: string; epoch: number }
}

/** What one pass of one account found and did. */
export interface PassReport {
  runId: string
  account: string
  trigger: PassTrigger
  status: PassStatus
  date: string
  startedAt: number
  finishedAt: number
  pagesRead: number
  requestsSpent: number
  findings: Omit<Finding, 'afterTicket'>[]
  /** Tickets this pass saw that nobody has acknowledged yet. */
  unacknowledgedTickets: number
  /** What the environment could not answer in this pass (issue #17), e.g. no order listing. */
  limits: string[]
  /** For a failed pass: why (a `ReconcileError`). */
  error?: ReconcileError
}

/** Whether new orders of an account may go out, and why not. */
export interface BarrierState {
  account: string
  /** True when the account's last pass since the last invalidation was clean or ticketed everything. */
  open: boolean
  status: 'clean' | 'ticketed' | 'pending' | 'failed' | 'not_run'
  /** Why the barrier is closed, or what the tickets that let it open say. */
  reasons: string[]
  /** The pass the state comes from. */
  runId: string | null
}

/** The reconciliation service of a set of accounts. See {@link createReconciler}. */
export interface Reconciler {
  /**
   * Run one pass of the account now (joins a pass already queued). Never throws for a failed read:
   * see `status`. Rejects with `ReconcileError` `fenced` when the lease has moved on (see `fence`).
   */
  run(account: string, trigger?: PassTrigger): Promise<PassReport>
  /** One pass of every account, at most `concurrency` at once. */
  runAll(trigger?: PassTrigger): Promise<PassReport[]>
  /**
   * Resolves when the account's last pass since the last {@link invalidate} is clean or every break
   * in it is ticketed; asks for passes until then. The runner holds new orders until it resolves.
   */
  barrier(account: string, options?: { signal?: AbortSignal }): Promise<BarrierState>
  /** The barrier's current state, without waiting. */
  barrierState(account: string): BarrierState
  /** Close the barrier (a stream gap, a stale stream, a restart) and ask for a pass. */
  invalidate(account: string, reason: string): void
  /**
   * Ask for a pass of the account `afterMs` from now rather than at the next periodic one: after
   * an order's outcome became unknown, say, whose parent waits for reconciliation to say whether
   * the broker has it. The default waits out `reportingDelayMs` (and half a second), so the order
   * can show in the broker's listing and the pass decides instead of reporting it pending. Calls
   * while one is scheduled join it; one that wants a later pass gets a second pass then. A failed
   * pass raises the `pass_failed` alarm like a periodic one. Does nothing once stopped.
   */
  soon(account: string, afterMs?: number): void
  /** Start periodic passes (each account on its own jittered schedule). */
  start(): void
  /** Stop periodic passes and wait for running ones; `barrier` waiters then fail with `stopped`. */
  stop(): Promise<void>
  /** The ticket list. */
  readonly tickets: TicketBook
  /** The duplicate-fingerprint guard over the same store. */
  readonly guard: FingerprintGuard
}

interface AccountState {
  account: string
  epoch: number
  invalidatedBy: string | null
  running: Promise<PassReport> | null
  queued: Promise<PassReport> | null
  last: { epoch: number; report: PassReport } | null
  ticketedStreak: number
  failedStreak: number
  timer: ReturnType<Clock['setTimeout']> | null
  /** The `soon` pass scheduled, and the latest time a `soon` call asked a pass to start at. */
  soonTimer: ReturnType<Clock['setTimeout']> | null
  soonDue: number
}

const DEFAULT_REPORTING_DELAY_MS = 15_000

const DEFAULT_TOLERANCES: BookTolerances = {
  averagePrice: 1,
  cash: (traded) => Math.ceil(traded * 0.003) + 1_000,
}

/**
 * Create the reconciler: broker-vs-local drift detection per account, provably safe resolution
 * through order-fsm, tickets for the rest, the barrier and the duplicate-fingerprint guard.
 *
 * @example
 * ```ts
 * const reconciler = createReconciler({ db, store, broker: gateway, accounts: ['50123456-01'] })
 * await reconciler.barrier('50123456-01') // at startup, before the first order
 * reconciler.start()                      // periodic passes with jitter
 * ```
 */
export function createReconciler<DB extends ReconcileTables>(options: ReconcilerOptions<DB>): Reconciler {
  return new ReconcilerImpl(options as unknown as ReconcilerOptions<ReconcileTables>)
}

class ReconcilerImpl implements Reconciler {
  readonly tickets: TicketBook
  readonly guard: FingerprintGuard
  readonly #o: ReconcilerOptions<ReconcileTables>
  readonly #db: Kysely<ReconcileTables>
  readonly #clock: Clock
  readonly #random: RandomSource
  readonly #limit: ReturnType<typeof pLimit>
  readonly #tolerances: BookTolerances
  readonly #policy: KillSwitchPolicy
  readonly #accounts = new Map<string, AccountState>()
  #started = false
  #stopped = false

  constructor(options: ReconcilerOptions<ReconcileTables>) {
    this.#o = options
    this.#db = options.db
    this.#clock = options.clock ?? systemClock
    this.#random = options.random ?? systemRandom
    this.#limit = pLimit(options.concurrency ?? 2)
    this.#tolerances = { ...DEFAULT_TOLERANCES, ...options.tolerances }
    this.#policy = options.killSwitchPolicy ?? defaultKillSwitchPolicy()
    this.tickets = new TicketBook(this.#db, options.fence ? { fence: options.fence } : {})
    this.guard = createFingerprintGuard(options.store)
    for (const account of options.accounts) {
      this.#accounts.set(account, {
        account,
        epoch: 0,
        invalidatedBy: null,
        running: null,
        queued: null,
        last: null,
        ticketedStreak: 0,
        failedStreak: 0,
        timer: null,
        soonTimer: null,
        soonDue: 0,
      })
    }
  }

  // ---- scheduling ------------------------------------------------------------------------------

  run(account: string, trigger: PassTrigger = 'on_demand'): Promise<PassReport> {
    const s = this.#state(account)
    if (!s.running) {
      s.running = this.#startPass(s, trigger)
      return s.running
    }
    // A pass is running: it may have read the broker before the reason for this call; queue one
    // more (callers arriving meanwhile share it).
    if (!s.queued) {
      s.queued = s.running.then(
        () => {
          s.queued = null
          s.running = this.#startPass(s, trigger)
          return s.running
        },
        () => {
          s.queued = null
          s.running = this.#startPass(s, trigger)
          return s.running
        },
      )
    }
    return s.queued
  }

  runAll(trigger: PassTrigger = 'on_demand'): Promise<PassReport[]> {
    return Promise.all([...this.#accounts.keys()].map((a) => this.run(a, trigger)))
  }

  #startPass(s: AccountState, trigger: PassTrigger): Promise<PassReport> {
    const epoch = s.epoch
    const p: Promise<PassReport> = this.#limit(() => this.#pass(s, trigger))
      .then((report) => {
        s.last = { epoch, report }
        return report
      })
      .finally(() => {
        // Also after a fenced pass (rejected): the next call starts a pass of its own.
        if (s.running === p) s.running = null
      })
    return p
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    this.#stopped = false
    for (const s of this.#accounts.values()) this.#schedule(s)
  }

  async stop(): Promise<void> {
    this.#started = false
    this.#stopped = true
    for (const s of this.#accounts.values()) {
      if (s.timer) this.#clock.clearTimeout(s.timer)
      s.timer = null
      if (s.soonTimer) this.#clock.clearTimeout(s.soonTimer)
      s.soonTimer = null
    }
    await Promise.allSettled(
      [...this.#accounts.values()].flatMap((s) => [s.running, s.queued].filter((p) => p !== null)),
    )
  }

  #schedule(s: AccountState): void {
    const interval = this.#o.intervalMs ?? 60_000
    const jitter = Math.min(Math.max(this.#o.jitter ?? 0.2, 0), 0.99)
    const wait = Math.max(0, Math.round(interval * (1 + jitter * (2 * this.#random() - 1))))
    s.timer = this.#clock.setTimeout(() => {
      s.timer = null
      if (!this.#started) return
      void this.run(s.account, 'periodic')
        .catch((e: unknown) => this.#backgroundFailed(s.account, 'periodic', e))
        .finally(() => {
          if (this.#started) this.#schedule(s)
        })
    }, wait)
  }

  // ---- barrier ---------------------------------------------------------------------------------

  barrierState(account: string): BarrierState {
    const s = this.#state(account)
    const last = s.last
    if (!last) {
      return { account, open: false, status: 'not_run', reasons: ['no reconciliation pass yet'], runId: null }
    }
    const report = last.report
    const reasons: string[] = []
    if (last.epoch < s.epoch) reasons.push(`waiting for a pass after: ${s.invalidatedBy ?? 'invalidation'}`)
    if (report.status === 'failed')
      reasons.push(`last pass failed: ${report.error?.message ?? 'unknown error'}`)
    for (const limit of report.limits) reasons.push(`environment: ${limit}`)
    for (const f of report.findings) {
      if (f.resolution === 'pending') reasons.push(`pending: ${f.summary}`)
      if (f.resolution === 'ticketed') reasons.push(`ticket ${f.ticketId ?? '?'} (${f.kind}): ${f.summary}`)
    }
    const open = last.epoch >= s.epoch && (report.status === 'clean' || report.status === 'ticketed')
    return { account, open, status: report.status, reasons, runId: report.runId }
  }

  async barrier(account: string, options: { signal?: AbortSignal } = {}): Promise<BarrierState> {
    const s = this.#state(account)
    for (;;) {
      if (options.signal?.aborted) throw options.signal.reason
      if (this.#stopped)
        throw new ReconcileError('stopped', `reconcile ${account}: stopped while waiting at the barrier`, {
          account,
        })
      const state = this.barrierState(account)
      if (state.open) return state
      const fresh = s.last !== null && s.last.epoch >= s.epoch
      const report = await this.run(account, 'barrier')
      if (this.barrierState(account).open) return this.barrierState(account)
      // Pending (inside the reporting delay) or failed: ask again after a while, never spin.
      if (fresh || report.status === 'pending' || report.status === 'failed') {
        await sleep(this.#clock, this.#o.barrierRetryMs ?? 5_000, options.signal)
      }
    }
  }

  soon(account: string, afterMs?: number): void {
    const s = this.#state(account)
    if (this.#stopped) return
    const wait = Math.max(0, afterMs ?? (this.#o.reportingDelayMs ?? DEFAULT_REPORTING_DELAY_MS) + 500)
    s.soonDue = Math.max(s.soonDue, this.#clock.now() + wait)
    if (!s.soonTimer) this.#armSoon(s, wait)
  }

  #armSoon(s: AccountState, wait: number): void {
    s.soonTimer = this.#clock.setTimeout(() => {
      const firedAt = this.#clock.now()
      void this.run(s.account, 'soon')
        .catch((e: unknown) => this.#backgroundFailed(s.account, 'soon', e))
        .finally(() => {
          s.soonTimer = null
          // Asked again for a later time meanwhile (another unknown outcome): one more pass then.
          if (!this.#stopped && s.soonDue > firedAt)
            this.#armSoon(s, Math.max(0, s.soonDue - this.#clock.now()))
        })
    }, wait)
  }

  invalidate(account: string, reason: string): void {
    const s = this.#state(account)
    s.epoch++
    s.invalidatedBy = reason
    void this.run(account, 'stream_gap').catch((e: unknown) =>
      this.#backgroundFailed(account, 'stream_gap', e),
    )
  }

  // ---- one pass --------------------------------------------------------------------------------

  async #pass(s: AccountState, trigger: PassTrigger): Promise<PassReport> {
    const account = s.account
    const startedAt = this.#clock.now()
    const date = kstDate(startedAt)
    const run = await this.#write('run', account, (db) =>
      db
        .insertInto('recon_runs')
        .values({
          account,
          broker_date: date,
          trigger,
          status: 'running',
          started_at: startedAt,
          finished_at: null,
          duration_ms: null,
          error: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    ).catch((cause: unknown) => {
      throw this.#fenced(account, undefined, cause)
    })
    const runId = String(run.id)
    this.#emit({ type: 'run_started', runId, account, trigger, at: startedAt })
    let requests = 0
    const capabilities = this.#capabilitiesOf(account)
    const limitsOf = (c: ReadCapabilities) => [
      ...(c.listOrders === false
        ? ["cannot list today's orders: a lost ack is never proven absent, foreign orders are not seen"]
        : []),
      ...(c.listFills === false ? ["cannot list today's fills"] : []),
    ]
    let limits = limitsOf(capabilities)
    try {
      // Local first, broker second: the broker's view is then never older than ours, so a local
      // order is never "ahead" only because the broker was read too early.
      const local = (
        await this.#o.store.listByState(
          ORDER_STATES.filter((st) => st !== 'INTENT_CREATED'),
          { account, limit: this.#o.maxLocalOrders ?? 1_000_000 },
        )
      ).filter((o) => !isTerminal(o.state) || (o.submittedAt !== null && kstDate(o.submittedAt) === date))
      const snap = await readBroker(this.#o.broker, account, date, this.#clock.now(), capabilities)
      requests = snap.requests
      // A listing the gateway refused as not supported counts as undeclared-but-unavailable.
      limits = limitsOf({ listOrders: snap.orders !== null, listFills: snap.fills !== null })
      const orders = await reconcileOrders(
        {
          store: this.#o.store,
          account,
          actor: this.#o.actor ?? 'reconcile',
          now: () => this.#clock.now(),
          reportingDelayMs: this.#o.reportingDelayMs ?? DEFAULT_REPORTING_DELAY_MS,
          matchWindowMs: this.#o.matchWindowMs ?? 60_000,
          clockSkewMs: this.#o.clockSkewMs ?? 2_000,
          priceTolerance: this.#o.fillPriceTolerance ?? 0.5,
          writeConcurrency: this.#o.writeConcurrency ?? 16,
        },
        local,
        snap,
      )
      const baseline = await this.#db
        .selectFrom('recon_baselines')
        .select(['positions', 'cash'])
        .where('account', '=', account)
        .where('broker_date', '=', date)
        .executeTakeFirst()
      const book = compareBook({
        account,
        date,
        opening: baseline
          ? {
              positions: baseline.positions as OpeningBook['positions'],
              d2: (baseline.cash as { d2: number }).d2,
            }
          : null,
        orders: orders.orders,
        unowned: orders.unowned,
        positions: snap.positions,
        cash: snap.cash,
        tolerances: this.#tolerances,
        kstDate,
      })
      if (book.taken) {
        await this.#write('baseline', account, (db) =>
          db
            .insertInto('recon_baselines')
            .values({
              account,
              broker_date: date,
              positions: JSON.stringify(book.opening.positions),
              cash: JSON.stringify({ d2: book.opening.d2, read: snap.cash }),
              run_id: runId,
              taken_at: this.#clock.now(),
            })
            .onConflict((oc) => oc.columns(['account', 'broker_date']).doNothing())
            .execute(),
        )
      }
      const { findings, unacknowledged } = await this.#record(runId, account, date, [
        ...orders.findings,
        ...book.findings,
      ])
      const status: PassStatus = findings.some((f) => f.resolution === 'pending')
        ? 'pending'
        : findings.some((f) => f.resolution === 'ticketed')
          ? 'ticketed'
          : 'clean'
      return await this.#finish(s, {
        runId,
        account,
        trigger,
        status,
        date,
        startedAt,
        finishedAt: this.#clock.now(),
        pagesRead: requests,
        requestsSpent: requests,
        findings,
        unacknowledgedTickets: unacknowledged,
        limits,
      })
    } catch (cause) {
      // A holder that lost the lease cannot record even its failure: the pass rejects (the run
      // row stays `running`; the new holder's passes are its own).
      const fenced = this.#fenced(account, runId, cause)
      if (ReconcileError.isCode(fenced, 'fenced')) throw fenced
      const error = ReconcileError.isInstance(cause)
        ? cause
        : new ReconcileError(
            'pass_failed',
            `reconcile ${account}: ${(cause as Error)?.message ?? String(cause)}`,
            {
              cause,
              account,
            },
          )
      return this.#finish(s, {
        runId,
        account,
        trigger,
        status: 'failed',
        date,
        startedAt,
        finishedAt: this.#clock.now(),
        pagesRead: requests,
        requestsSpent: requests,
        findings: [],
        unacknowledgedTickets: 0,
        limits,
        error,
      }).catch((cause: unknown) => {
        throw this.#fenced(account, runId, cause)
      })
    }
  }

  /** The gateway's declaration, overridden by the `capabilities` option where it says anything. */
  #capabilitiesOf(account: string): ReadCapabilities {
    const declared = capabilitiesOf(this.#o.broker)
    const stated =
      typeof this.#o.capabilities === 'function'
        ? this.#o.capabilities(account)
        : (this.#o.capabilities ?? {})
    return {
      listOrders: stated.listOrders ?? declared.listOrders,
      listFills: stated.listFills ?? declared.listFills,
    }
  }

  /** Ticket what needs a person, store every break, tell listeners. */
  async #record(
    runId: string,
    account: string,
    date: string,
    findings: Finding[],
  ): Promise<{ findings: Omit<Finding, 'afterTicket'>[]; unacknowledged: number }> {
    const out: Omit<Finding, 'afterTicket'>[] = []
    const rows: Insertable<ReconBreaksTable>[] = []
    let unacknowledged = 0
    for (const { afterTicket, ...f } of findings) {
      const at = this.#clock.now()
      let ticketId: string | undefined
      if (f.resolution === 'ticketed') {
        const { ticket, created } = await this.tickets.upsert(f, runId, at)
        ticketId = ticket.id
        if (ticket.state === 'open') unacknowledged++
        if (afterTicket) await afterTicket(ticket.id)
        if (created) {
          this.#emit({ type: 'ticket_opened', runId, account, ticket, at })
          this.#emit({
            type: 'alarm',
            account,
            code: `recon_${f.kind}`,
            severity: f.severity,
            message: f.summary,
            runId,
            at,
          })
        }
      }
      const finding = ticketId === undefined ? f : { ...f, ticketId }
      out.push(finding)
      this.#emit({ type: 'break_found', runId, account, finding, resolution: f.resolution, at })
      if (f.resolution === 'pending') continue
      rows.push({
        run_id: runId,
        account,
        broker_date: date,
        kind: f.kind,
        dedup_key: f.dedupKey,
        resolution: f.resolution,
        intent_id: f.intentId ?? null,
        broker_order_id: f.brokerOrderId ?? null,
        symbol: f.symbol ?? null,
        evidence: JSON.stringify(f.evidence),
        occurred_at: f.occurredAt ?? null,
        found_at: at,
        resolved_at: f.resolution === 'auto_resolved' ? at : null,
        ticket_id: ticketId ?? null,
      })
      if (f.resolution === 'auto_resolved') {
        this.#emit({ type: 'auto_resolved', runId, account, finding, mttrMs: at - (f.occurredAt ?? at), at })
      }
    }
    // One statement per 1,000 breaks rather than one per break; fenced, all of them or none.
    if (rows.length > 0) {
      await this.#write('breaks', account, async (db) => {
        for (let i = 0; i < rows.length; i += 1_000) {
          await db
            .insertInto('recon_breaks')
            .values(rows.slice(i, i + 1_000))
            .execute()
        }
      })
    }
    return { findings: out, unacknowledged }
  }

  async #finish(s: AccountState, report: PassReport): Promise<PassReport> {
    const resolved = report.findings.filter((f) => f.resolution === 'auto_resolved').length
    const ticketed = report.findings.filter((f) => f.resolution === 'ticketed')
    const breaks = report.findings.filter((f) => f.resolution !== 'pending').length
    await this.#write('run', report.account, (db) =>
      db
        .updateTable('recon_runs')
        .set({
          status: report.status,
          finished_at: report.finishedAt,
          duration_ms: report.finishedAt - report.startedAt,
          pages_read: report.pagesRead,
          requests_spent: report.requestsSpent,
          breaks_found: breaks,
          breaks_resolved: resolved,
          tickets_opened: ticketed.length,
          error: report.error?.message ?? null,
        })
        .where('id', '=', report.runId)
        .execute(),
    )
    s.failedStreak = report.status === 'failed' ? s.failedStreak + 1 : 0
    if (report.status !== 'failed')
      s.ticketedStreak = report.unacknowledgedTickets > 0 ? s.ticketedStreak + 1 : 0
    if (report.error) {
      this.#emit({
        type: 'run_failed',
        runId: report.runId,
        account: report.account,
        error: report.error,
        durationMs: report.finishedAt - report.startedAt,
        at: report.finishedAt,
      })
      this.#emit({
        type: 'alarm',
        account: report.account,
        code: report.error.code,
        severity: 'warning',
        message: report.error.message,
        runId: report.runId,
        at: report.finishedAt,
      })
    } else {
      this.#emit({
        type: 'run_finished',
        runId: report.runId,
        account: report.account,
        status: report.status,
        durationMs: report.finishedAt - report.startedAt,
        pagesRead: report.pagesRead,
        requestsSpent: report.requestsSpent,
        breaksFound: breaks,
        breaksResolved: resolved,
        ticketsOpened: ticketed.length,
        at: report.finishedAt,
      })
    }
    await this.#applyPolicy(s, report)
    return report
  }

  async #applyPolicy(s: AccountState, report: PassReport): Promise<void> {
    if (!this.#o.killSwitch) return
    const decision = this.#policy({
      account: s.account,
      findings: report.findings,
      consecutiveTicketedPasses: s.ticketedStreak,
      consecutiveFailedPasses: s.failedStreak,
    })
    if (!decision) return
    const at = this.#clock.now()
    try {
      await this.#o.killSwitch.engage({
        ...decision,
        actor: this.#o.actor ?? 'reconcile',
        source: 'auto:reconcile',
      })
      this.#emit({ type: 'kill_switch_engaged', account: s.account, ...decision, at })
    } catch (error) {
      this.#emit({
        type: 'kill_switch_failed',
        account: s.account,
        reason: decision.reason,
        error: error instanceof Error ? error : new Error(String(error)),
        at,
      })
    }
  }

  /** A write to this package's tables, fenced by `fence` when set. */
  #write<T>(
    operation: string,
    account: string,
    write: (db: Kysely<ReconcileTables>) => Promise<T>,
  ): Promise<T> {
    return fencedWrite(this.#db, this.#o.fence, (r) => fencedError(operation, r, account), write)
  }

  /**
   * `cause` when it is not a fence refusal; else the `fenced` error, reported as an alarm. The
   * order store's refusal (its `FencedError`) becomes this package's `fenced`, with it as cause.
   */
  #fenced(account: string, runId: string | undefined, cause: unknown): unknown {
    let error: ReconcileError
    if (ReconcileError.isCode(cause, 'fenced')) error = cause
    else if (OrderFsmError.isInstance(cause) && cause.code === 'fenced')
      error = new ReconcileError(
        'fenced',
        `reconcile ${account}: the order store refused a resolution: ${cause.message}`,
        { cause, account },
      )
    else return cause
    this.#emit({
      type: 'alarm',
      account,
      code: 'fenced',
      severity: 'critical',
      message: error.message,
      ...(runId === undefined ? {} : { runId }),
      at: this.#clock.now(),
    })
    return error
  }

  /**
   * A pass nobody awaits (periodic, after a stream gap) that failed: never an unhandled rejection
   * in the host process. A fenced one was already reported; anything else (the database gone, a
   * bug) becomes a critical alarm. The barrier stays as the last finished pass left it.
   */
  #backgroundFailed(account: string, trigger: PassTrigger, error: unknown): void {
    if (ReconcileError.isCode(error, 'fenced')) return
    this.#emit({
      type: 'alarm',
      account,
      code: 'pass_failed',
      severity: 'critical',
      message: `${trigger} pass failed: ${(error as Error)?.message ?? String(error)}`,
      at: this.#clock.now(),
    })
  }

  #state(account: string): AccountState {
    const s = this.#accounts.get(account)
    if (!s)
      throw new ReconcileError('unknown_account', `reconcile: account ${account} is not configured`, {
        account,
      })
    return s
  }

  #emit(event: ReconcileEvent): void {
    try {
      this.#o.onEvent?.(event)
    } catch {
      // A faulty listener must not fail a pass (documented on ReconcileEvent).
    }
  }
}
