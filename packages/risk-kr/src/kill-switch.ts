import type { Clock, TimerHandle } from '@vellab/broker-gateway'
import { systemClock } from '@vellab/broker-gateway'
import { z } from 'zod'
import type { ResolvedRiskGatewayOptions } from './config'
import type { EngagedKillSwitch, KillSwitchScope, KillSwitchView, RiskContext } from './context'
import { RiskError } from './errors'
import type {
  KillSwitchBoardEvent,
  KillSwitchEventListener,
  KillSwitchRetryOptions,
  PendingKillSwitchWrite,
  ResolvedKillSwitchRetry,
} from './kill-switch-events'
import { killSwitchRetryDelay, resolveKillSwitchRetry } from './kill-switch-events'
import type { KillSwitchAuditEntry, KillSwitchPersistence, KillSwitchRecord } from './kill-switch-store'

const ScopeSchema = z.enum(['global', 'account', 'strategy', 'symbol'])

/** Input of `KillSwitchBoard.engage`. */
export const EngageKillSwitchSchema = z
  .object({
    scope: ScopeSchema,
    /** The account, strategy id or symbol; `*` (the default) for `global`. */
    key: z.string().min(1).default('*'),
    /** Who engaged it: an operator id, or the automation's name. */
    actor: z.string().min(1),
    reason: z.string().min(1),
    /** `operator` or `auto:<trigger>`. @default 'operator' */
    source: z.string().min(1).default('operator'),
    /** Ask listeners to cancel every open order in the scope. @default false */
    cancelAll: z.boolean().default(false),
  })
  .refine((v) => (v.scope === 'global') === (v.key === '*'), {
    error: 'global switches use key "*", others a real key',
  })
export type EngageKillSwitch = z.input<typeof EngageKillSwitchSchema>

/** Input of `KillSwitchBoard.release`: an explicit action with a reason, always audited. */
export const ReleaseKillSwitchSchema = z.object({
  scope: ScopeSchema,
  key: z.string().min(1).default('*'),
  actor: z.string().min(1),
  reason: z.string().min(1),
})
export type ReleaseKillSwitch = z.input<typeof ReleaseKillSwitchSchema>

/**
 * Told when a switch engages (in memory, before the store has it), so the runner can cancel open
 * orders in its scope at once.
 */
export type KillSwitchListener = (engaged: KillSwitchRecord) => void

/**
 * Called once for each engagement the store could not take on the first attempt (it blocks orders
 * in memory but would be lost if the process died now). A runner can append it to an fsync'd
 * journal and, after a restart, hand the journal to `KillSwitchBoard.restore`; the matching
 * `engage.persisted` event says when the entry can be dropped. Must not throw.
 */
export type UnpersistedKillSwitchHook = (write: PendingKillSwitchWrite) => void

/** What `engage` resolves to: the switch as held in memory, and whether this engagement reached the store. */
export interface KillSwitchEngagement extends KillSwitchRecord {
  /**
   * False when the store refused the first attempt (or it was queued behind a refused one): the
   * switch blocks orders anyway and the board keeps retrying (see `pendingWrites()`).
   */
  readonly persisted: boolean
}

/** A journaled engagement handed to `KillSwitchBoard.restore`. */
const KillSwitchRecordSchema = z
  .object({
    scope: ScopeSchema,
    key: z.string().min(1),
    reason: z.string().min(1),
    actor: z.string().min(1),
    source: z.string().min(1),
    cancelAll: z.boolean(),
    engagedAt: z.number().int().nonnegative(),
  })
  .refine((v) => (v.scope === 'global') === (v.key === '*'), {
    error: 'global switches use key "*", others a real key',
  })

/** Options of `KillSwitchBoard`. */
export interface KillSwitchBoardOptions {
  /** Where state and audit live (`PostgresKillSwitchStore`). */
  readonly store: KillSwitchPersistence
  /** Timestamps for engage/release, and the timers of the retries. @default systemClock */
  readonly clock?: Clock
  /** Backoff for retrying refused engagement writes and a failed `load()`. @default { initialDelayMs: 500, maxDelayMs: 30000 } */
  readonly retry?: KillSwitchRetryOptions
  /** Receives every persistence event (failures, successes, load retries). @default none */
  readonly onEvent?: KillSwitchEventListener
  /** Journal hook for engagements the store refused (see `UnpersistedKillSwitchHook`). @default none */
  readonly onUnpersisted?: UnpersistedKillSwitchHook
}

interface QueuedWrite {
  readonly id: string
  readonly record: KillSwitchRecord
  readonly since: number
  attempts: number
  lastError: RiskError | undefined
  /** `onUnpersisted` has been told. */
  notified: boolean
  /** Resolves the `engage`/`restore` call that queued it, after its first attempt. */
  settle: ((persisted: boolean) => void) | undefined
}

const switchId = (scope: KillSwitchScope, key: string): string => `${scope}:${key}`

function snapshot(w: QueuedWrite): PendingKillSwitchWrite {
  return {
    scope: w.record.scope,
    key: w.record.key,
    record: w.record,
    attempts: w.attempts,
    since: w.since,
    lastError: w.lastError,
  }
}

function storeError(operation: string, e: unknown): RiskError {
  if (RiskError.isInstance(e)) return e
  return new RiskError(
    'KILL_SWITCH_STORE',
    `KillSwitchBoard: store.${operation} failed: ${e instanceof Error ? e.message : String(e)}`,
    { cause: e },
  )
}

/**
 * Kill switches scoped global / account / strategy / symbol: an in-memory view the pure check
 * reads, backed by a persistent store. Fail safe in both directions:
 *
 * - Until `load()` has read the persisted state the view reports `loaded: false` and the check
 *   rejects new orders (`KILL_SWITCH_STATE_UNKNOWN`). A failed load is retried with backoff; the
 *   board is never armed by default (a restart never silently re-arms trading).
 * - `engage` blocks in memory at once, tells `onEngaged` listeners, then persists. When the store
 *   refuses, the switch stays engaged, `engage` resolves with `persisted: false`, and the write is
 *   retried with backoff on the clock until the store takes it (`pendingWrites()` lists it;
 *   `onEvent` reports each failure and the success). Writes go to the store in engagement order.
 * - `release` needs an actor and a reason, is refused while an engagement of the same switch is
 *   unpersisted (`KILL_SWITCH_NOT_PERSISTED`), and persists before it unblocks.
 *
 * Not covered: a process that dies while an engagement is unpersisted loses it (the database never
 * saw it). `onUnpersisted` + `restore` let a runner close that gap with its own journal.
 */
export class KillSwitchBoard implements KillSwitchView {
  readonly #store: KillSwitchPersistence
  readonly #clock: Clock
  readonly #retry: ResolvedKillSwitchRetry
  readonly #onUnpersisted: UnpersistedKillSwitchHook | undefined
  readonly #byScope: Record<KillSwitchScope, Map<string, KillSwitchRecord>> = {
    global: new Map(),
    account: new Map(),
    strategy: new Map(),
    symbol: new Map(),
  }
  readonly #listeners = new Set<KillSwitchListener>()
  readonly #eventListeners = new Set<KillSwitchEventListener>()
  /** Unpersisted engagement writes, oldest first. */
  readonly #queue: QueuedWrite[] = []
  /** Switches with a release in flight (count of concurrent releases). */
  readonly #releasing = new Map<string, number>()
  #draining: Promise<void> | undefined
  #writeFailures = 0
  #writeTimer: TimerHandle | undefined
  #loaded = false
  #loading: Promise<void> | undefined
  #loadFailures = 0
  #loadTimer: TimerHandle | undefined
  #closed = false

  constructor(options: KillSwitchBoardOptions) {
    this.#store = options.store
    this.#clock = options.clock ?? systemClock
    this.#retry = resolveKillSwitchRetry(options.retry)
    this.#onUnpersisted = options.onUnpersisted
    if (options.onEvent) this.#eventListeners.add(options.onEvent)
  }

  get loaded(): boolean {
    return this.#loaded
  }

  /**
   * Read the engaged switches from the store. Switches engaged in memory before loading stay
   * engaged. On failure the board stays unloaded (every new order rejected), a retry is scheduled
   * with backoff (reported as `load.failed` / `load.succeeded`), and the error is thrown.
   * @throws RiskError `KILL_SWITCH_STORE` when the store could not be read.
   */
  load(): Promise<void> {
    if (!this.#loading) {
      this.#clearLoadTimer()
      this.#loading = this.#loadOnce().finally(() => {
        this.#loading = undefined
      })
    }
    return this.#loading
  }

  async #loadOnce(): Promise<void> {
    let records: KillSwitchRecord[]
    try {
      records = await this.#store.loadEngaged()
    } catch (e) {
      const error = storeError('loadEngaged', e)
      this.#loadFailures++
      // A board that is already loaded keeps its state; only an unknown state needs the retries.
      const retryInMs =
        this.#closed || this.#loaded ? undefined : killSwitchRetryDelay(this.#retry, this.#loadFailures)
      if (retryInMs !== undefined) {
        this.#loadTimer = this.#clock.setTimeout(() => {
          this.#loadTimer = undefined
          // The failure is reported through `load.failed`; nobody awaits a background retry.
          this.load().catch(() => {})
        }, retryInMs)
      }
      this.#emit({ type: 'load.failed', attempt: this.#loadFailures, error, retryInMs })
      throw error
    }
    for (const r of records) if (!this.#byScope[r.scope].has(r.key)) this.#byScope[r.scope].set(r.key, r)
    const attempt = this.#loadFailures + 1
    this.#loadFailures = 0
    this.#clearLoadTimer()
    this.#loaded = true
    this.#emit({ type: 'load.succeeded', attempt, engaged: records.length })
  }

  find(account: string, strategyId: string, symbol: string): EngagedKillSwitch | undefined {
    const s = this.#byScope
    if (s.global.size > 0) {
      const r = s.global.get('*')
      if (r) return r
    }
    return s.account.get(account) ?? s.strategy.get(strategyId) ?? s.symbol.get(symbol)
  }

  /** Whether a specific switch is engaged (persisted or not). */
  isEngaged(scope: KillSwitchScope, key = '*'): boolean {
    return this.#byScope[scope].has(key)
  }

  /** All engaged switches. */
  list(): KillSwitchRecord[] {
    return Object.values(this.#byScope).flatMap((m) => [...m.values()])
  }

  /**
   * Engagement writes the store has not confirmed, oldest first. Non-empty means "kill switch
   * engaged but not yet persisted": report it on the health endpoint and alert.
   */
  pendingWrites(): PendingKillSwitchWrite[] {
    return this.#queue.map(snapshot)
  }

  /** Listen for engagements (e.g. to cancel all open orders in scope). Returns an unsubscribe function. */
  onEngaged(listener: KillSwitchListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Listen for persistence events (alerts, metrics). Returns an unsubscribe function. */
  onEvent(listener: KillSwitchEventListener): () => void {
    this.#eventListeners.add(listener)
    return () => this.#eventListeners.delete(listener)
  }

  /**
   * Engage a switch. Blocks new orders in scope at once (even when the store is down), tells
   * `onEngaged` listeners, then persists state + audit. Resolves after the first write attempt;
   * `persisted: false` means the board is still retrying.
   * @throws RiskError `CONFIG_INVALID` for bad input (nothing is engaged then).
   */
  async engage(input: EngageKillSwitch): Promise<KillSwitchEngagement> {
    const parsed = EngageKillSwitchSchema.safeParse(input)
    if (!parsed.success) throw new RiskError('CONFIG_INVALID', `engage: ${z.prettifyError(parsed.error)}`)
    const v = parsed.data
    const id = switchId(v.scope, v.key)
    const map = this.#byScope[v.scope]
    // A release in flight is about to drop the current record: this engagement must stand alone.
    const existing = this.#releasing.has(id) ? undefined : map.get(v.key)
    const facts: KillSwitchRecord = {
      scope: v.scope,
      key: v.key,
      reason: v.reason,
      actor: v.actor,
      source: v.source,
      cancelAll: v.cancelAll,
      engagedAt: this.#clock.now(),
    }
    const record = existing ?? facts
    map.set(v.key, record)
    if (!existing || v.cancelAll) this.#notifyEngaged(facts)
    // A repeat engagement keeps the first one's facts; its write only adds an audit entry.
    const persisted = await this.#enqueue(id, facts)
    return { ...record, persisted }
  }

  /**
   * Re-engage switches journaled through `onUnpersisted` by a process that died before the store
   * had them (call it at startup, before or after `load()`). Each blocks at once, keeps its
   * original facts and time, and is written like any engagement; `onEngaged` is not told (as for
   * switches read by `load()`). A journaled engagement the store did take in the end is audited
   * twice; it is never lost.
   * @throws RiskError `CONFIG_INVALID` for a malformed record (nothing is restored then).
   */
  async restore(records: readonly KillSwitchRecord[]): Promise<KillSwitchEngagement[]> {
    const valid = records.map((r, i) => {
      const parsed = KillSwitchRecordSchema.safeParse(r)
      if (!parsed.success) {
        throw new RiskError('CONFIG_INVALID', `restore: record ${i}: ${z.prettifyError(parsed.error)}`)
      }
      return parsed.data
    })
    return Promise.all(
      valid.map(async (r) => {
        const id = switchId(r.scope, r.key)
        const map = this.#byScope[r.scope]
        const existing = this.#releasing.has(id) ? undefined : map.get(r.key)
        if (!existing) map.set(r.key, r)
        const persisted = await this.#enqueue(id, r)
        return { ...(existing ?? r), persisted }
      }),
    )
  }

  /**
   * Release a switch: persisted and audited first, then trading in scope resumes.
   * @throws RiskError `CONFIG_INVALID` for bad input, `KILL_SWITCH_NOT_LOADED` before `load()`,
   * `KILL_SWITCH_NOT_ENGAGED`, `KILL_SWITCH_NOT_PERSISTED` while its engagement is not yet in the
   * store, or `KILL_SWITCH_STORE` (the switch stays engaged).
   */
  async release(input: ReleaseKillSwitch): Promise<void> {
    const parsed = ReleaseKillSwitchSchema.safeParse(input)
    if (!parsed.success) throw new RiskError('CONFIG_INVALID', `release: ${z.prettifyError(parsed.error)}`)
    const v = parsed.data
    if (!this.#loaded)
      throw new RiskError('KILL_SWITCH_NOT_LOADED', 'release before load(): the persisted state is unknown')
    const map = this.#byScope[v.scope]
    const current = map.get(v.key)
    if (!current)
      throw new RiskError('KILL_SWITCH_NOT_ENGAGED', `release: ${v.scope}:${v.key} is not engaged`)
    const id = switchId(v.scope, v.key)
    const pending = this.#queue.find((w) => w.id === id)
    if (pending) {
      // Releasing a switch the database never saw would leave no durable trace of either action.
      throw new RiskError(
        'KILL_SWITCH_NOT_PERSISTED',
        `release: ${v.scope}:${v.key} is engaged but not yet persisted ` +
          `(${pending.attempts} failed attempts since ${new Date(pending.since).toISOString()}); ` +
          `retry once the store has it`,
        pending.lastError === undefined ? {} : { cause: pending.lastError },
      )
    }
    this.#releasing.set(id, (this.#releasing.get(id) ?? 0) + 1)
    try {
      await this.#store.release({
        scope: v.scope,
        key: v.key,
        actor: v.actor,
        reason: v.reason,
        at: this.#clock.now(),
      })
    } catch (e) {
      throw storeError('release', e)
    } finally {
      const left = (this.#releasing.get(id) ?? 1) - 1
      if (left > 0) this.#releasing.set(id, left)
      else this.#releasing.delete(id)
      // Engagements of this switch queued during the release can be written now, after it.
      void this.#kick()
    }
    // Only drop the record the release was about: an engagement made meanwhile stands.
    if (map.get(v.key) === current) map.delete(v.key)
  }

  /**
   * Try every unpersisted write now, without waiting for the backoff. Resolves `true` when none
   * are left (e.g. before a graceful shutdown).
   */
  async flush(): Promise<boolean> {
    await this.#kick()
    return this.#queue.length === 0
  }

  /**
   * Stop the background retries (call on shutdown). Unpersisted writes stay in `pendingWrites()`
   * and in memory; `flush()`, `engage` and `load()` still make one attempt each.
   */
  close(): void {
    this.#closed = true
    this.#clearWriteTimer()
    this.#clearLoadTimer()
  }

  /** The audit trail from the store. */
  audit(filter?: { scope?: KillSwitchScope; key?: string }): Promise<KillSwitchAuditEntry[]> {
    return this.#store.audit(filter)
  }

  #enqueue(id: string, record: KillSwitchRecord): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.#queue.push({
        id,
        record,
        since: this.#clock.now(),
        attempts: 0,
        lastError: undefined,
        notified: false,
        settle: resolve,
      })
      void this.#kick()
    })
  }

  /** The oldest write not held back by a release of the same switch. */
  #nextWrite(): QueuedWrite | undefined {
    return this.#queue.find((w) => !this.#releasing.has(w.id))
  }

  /** Start writing now unless a drain is running; never rejects. */
  #kick(): Promise<void> {
    if (this.#draining) return this.#draining
    if (!this.#nextWrite()) return Promise.resolve()
    this.#clearWriteTimer()
    const run = this.#drain().then((outcome): Promise<void> | undefined => {
      this.#draining = undefined
      // Writes queued while the last one finished, or a retry timer that fired mid-drain.
      const again = outcome === 'idle' || (this.#writeTimer === undefined && !this.#closed)
      return again && this.#nextWrite() ? this.#kick() : undefined
    })
    this.#draining = run
    return run
  }

  /** Write the queue in order, one at a time; stop at the first refusal and schedule a retry. */
  async #drain(): Promise<'idle' | 'failed'> {
    for (let w = this.#nextWrite(); w; w = this.#nextWrite()) {
      try {
        await this.#store.engage(w.record)
      } catch (e) {
        const error = storeError('engage', e)
        w.attempts++
        w.lastError = error
        this.#writeFailures++
        const retryInMs = this.#closed ? undefined : killSwitchRetryDelay(this.#retry, this.#writeFailures)
        if (retryInMs !== undefined) {
          this.#writeTimer = this.#clock.setTimeout(() => {
            this.#writeTimer = undefined
            void this.#kick()
          }, retryInMs)
        }
        // Everything still queued is now known to be unpersisted, not only the write that failed.
        for (const q of this.#queue) {
          q.settle?.(false)
          q.settle = undefined
          if (!q.notified) {
            q.notified = true
            this.#callUnpersisted(q)
          }
        }
        this.#emit({
          type: 'engage.persist_failed',
          write: snapshot(w),
          error,
          retryInMs,
          pending: this.#queue.length,
        })
        return 'failed'
      }
      this.#queue.splice(this.#queue.indexOf(w), 1)
      this.#writeFailures = 0
      w.settle?.(true)
      w.settle = undefined
      this.#emit({
        type: 'engage.persisted',
        record: w.record,
        attempts: w.attempts + 1,
        unpersistedMs: this.#clock.now() - w.since,
        pending: this.#queue.length,
      })
    }
    return 'idle'
  }

  #clearWriteTimer(): void {
    if (this.#writeTimer !== undefined) this.#clock.clearTimeout(this.#writeTimer)
    this.#writeTimer = undefined
  }

  #clearLoadTimer(): void {
    if (this.#loadTimer !== undefined) this.#clock.clearTimeout(this.#loadTimer)
    this.#loadTimer = undefined
  }

  #notifyEngaged(record: KillSwitchRecord): void {
    for (const l of this.#listeners) {
      try {
        l(record)
      } catch (error) {
        // A failing cancel-all hook must not undo or delay the engagement itself.
        this.#emit({ type: 'listener.failed', listener: 'onEngaged', error })
      }
    }
  }

  #callUnpersisted(w: QueuedWrite): void {
    if (!this.#onUnpersisted) return
    try {
      this.#onUnpersisted(snapshot(w))
    } catch (error) {
      this.#emit({ type: 'listener.failed', listener: 'onUnpersisted', error })
    }
  }

  #emit(event: KillSwitchBoardEvent): void {
    for (const l of this.#eventListeners) {
      try {
        l(event)
      } catch {
        // Dropped on purpose: an alerting hook that throws must not stop the retries.
      }
    }
  }
}

/** Thresholds for automatic engagement. */
export interface KillSwitchAutomationOptions {
  /** Engage the account's switch after this many broker rejects in `rejectWindowMs`. @default 5 */
  readonly maxRejects?: number
  /** @default 60000 */
  readonly rejectWindowMs?: number
  /** Request cancel-all when engaging automatically. @default true */
  readonly cancelAll?: boolean
}

/**
 * Engages switches automatically on a loss-cap breach, repeated broker rejects, or a
 * reconciliation break (§7.3 H15: "mass cancel on risk breach"). Never releases: that is a human
 * decision. Each call resolves to the engaged record, or `undefined` when nothing tripped.
 */
export class KillSwitchAutomation {
  readonly #board: KillSwitchBoard
  readonly #maxRejects: number
  readonly #windowMs: number
  readonly #cancelAll: boolean
  readonly #rejects = new Map<string, number[]>()

  constructor(board: KillSwitchBoard, options: KillSwitchAutomationOptions = {}) {
    this.#board = board
    this.#maxRejects = options.maxRejects ?? 5
    this.#windowMs = options.rejectWindowMs ?? 60_000
    this.#cancelAll = options.cancelAll ?? true
  }

  /** A broker reject on `account` at `at` (epoch ms). */
  async onBrokerReject(account: string, at: number, detail = ''): Promise<KillSwitchEngagement | undefined> {
    const list = (this.#rejects.get(account) ?? []).filter((t) => t > at - this.#windowMs)
    list.push(at)
    this.#rejects.set(account, list)
    if (list.length < this.#maxRejects || this.#board.isEngaged('account', account)) return undefined
    return this.#engage(
      'account',
      account,
      'auto:repeated_rejects',
      `${list.length} broker rejects in ${this.#windowMs} ms ${detail}`.trim(),
    )
  }

  /** Today's P&L of a scope against its cap (KRW, positive). */
  async onDailyPnl(
    scope: Exclude<KillSwitchScope, 'global'> | 'global',
    key: string,
    pnl: number,
    maxLoss: number,
  ): Promise<KillSwitchEngagement | undefined> {
    if (pnl > -maxLoss || this.#board.isEngaged(scope, key)) return undefined
    return this.#engage(scope, key, 'auto:loss_cap', `daily P&L ${Math.round(pnl)} ≤ −${maxLoss}`)
  }

  /**
   * Check every scope with a configured `maxDailyLoss` against the context's P&L and engage the
   * breached ones (call it after fills and mark updates, e.g. once a second).
   */
  async evaluateLossCaps(
    context: RiskContext,
    limits: ResolvedRiskGatewayOptions['limits'],
  ): Promise<KillSwitchEngagement[]> {
    const engaged: KillSwitchEngagement[] = []
    const consider = async (
      scope: KillSwitchScope,
      key: string,
      pnl: number | undefined,
      cap: number | undefined,
    ) => {
      if (pnl === undefined || cap === undefined) return
      const r = await this.onDailyPnl(scope, key, pnl, cap)
      if (r) engaged.push(r)
    }
    await consider('global', '*', context.globalExposure().dailyPnl, limits.global?.maxDailyLoss)
    for (const [k, l] of Object.entries(limits.accounts))
      await consider('account', k, context.accountExposure(k)?.dailyPnl, l.maxDailyLoss)
    for (const [k, l] of Object.entries(limits.strategies))
      await consider('strategy', k, context.strategyExposure(k)?.dailyPnl, l.maxDailyLoss)
    for (const [k, l] of Object.entries(limits.symbols))
      await consider('symbol', k, context.symbolExposure(k)?.dailyPnl, l.maxDailyLoss)
    return engaged
  }

  /** A reconciliation break that could not be resolved automatically. */
  async onReconciliationBreak(account: string, detail: string): Promise<KillSwitchEngagement | undefined> {
    if (this.#board.isEngaged('account', account)) return undefined
    return this.#engage('account', account, 'auto:reconciliation', detail)
  }

  #engage(
    scope: KillSwitchScope,
    key: string,
    source: string,
    reason: string,
  ): Promise<KillSwitchEngagement> {
    return this.#board.engage({
      scope,
      key,
      actor: 'risk-kr/automation',
      reason,
      source,
      cancelAll: this.#cancelAll,
    })
  }
}
