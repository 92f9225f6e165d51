import type { Clock } from '@vellab/broker-gateway'
import { systemClock } from '@vellab/broker-gateway'
import { z } from 'zod'
import type { ResolvedRiskGatewayOptions } from './config'
import type { EngagedKillSwitch, KillSwitchScope, KillSwitchView, RiskContext } from './context'
import { RiskError } from './errors'
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

/** Told when a switch engages, so the runner can cancel open orders in its scope. */
export type KillSwitchListener = (engaged: KillSwitchRecord) => void

/** Options of `KillSwitchBoard`. */
export interface KillSwitchBoardOptions {
  /** Where state and audit live (`PostgresKillSwitchStore`). */
  readonly store: KillSwitchPersistence
  /** Timestamps for engage/release. @default systemClock */
  readonly clock?: Clock
}

/**
 * Kill switches scoped global / account / strategy / symbol: an in-memory view the pure check
 * reads, backed by a persistent store.
 *
 * - Until `load()` has read the persisted state the view reports `loaded: false` and the check
 *   rejects new orders (a restart never silently re-arms trading).
 * - `engage` blocks in memory first (immediately), then persists; if persisting fails the switch
 *   stays engaged in memory and the error is thrown.
 * - `release` persists first and only then unblocks; it needs an actor and a reason.
 */
export class KillSwitchBoard implements KillSwitchView {
  readonly #store: KillSwitchPersistence
  readonly #clock: Clock
  readonly #byScope: Record<KillSwitchScope, Map<string, KillSwitchRecord>> = {
    global: new Map(),
    account: new Map(),
    strategy: new Map(),
    symbol: new Map(),
  }
  readonly #listeners = new Set<KillSwitchListener>()
  #loaded = false

  constructor(options: KillSwitchBoardOptions) {
    this.#store = options.store
    this.#clock = options.clock ?? systemClock
  }

  get loaded(): boolean {
    return this.#loaded
  }

  /** Read the engaged switches from the store. Switches engaged in memory before loading stay engaged. */
  async load(): Promise<void> {
    const records = await this.#store.loadEngaged()
    for (const r of records) if (!this.#byScope[r.scope].has(r.key)) this.#byScope[r.scope].set(r.key, r)
    this.#loaded = true
  }

  find(account: string, strategyId: string, symbol: string): EngagedKillSwitch | undefined {
    const s = this.#byScope
    if (s.global.size > 0) {
      const r = s.global.get('*')
      if (r) return r
    }
    return s.account.get(account) ?? s.strategy.get(strategyId) ?? s.symbol.get(symbol)
  }

  /** Whether a specific switch is engaged. */
  isEngaged(scope: KillSwitchScope, key = '*'): boolean {
    return this.#byScope[scope].has(key)
  }

  /** All engaged switches. */
  list(): KillSwitchRecord[] {
    return Object.values(this.#byScope).flatMap((m) => [...m.values()])
  }

  /** Listen for engagements (e.g. to cancel all open orders in scope). Returns an unsubscribe function. */
  onEngaged(listener: KillSwitchListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Engage a switch. Blocks new orders in scope at once, then persists and audits.
   * @throws RiskError `CONFIG_INVALID` for bad input, `KILL_SWITCH_STORE` when persisting failed (still engaged in memory).
   */
  async engage(input: EngageKillSwitch): Promise<KillSwitchRecord> {
    const parsed = EngageKillSwitchSchema.safeParse(input)
    if (!parsed.success) throw new RiskError('CONFIG_INVALID', `engage: ${z.prettifyError(parsed.error)}`)
    const v = parsed.data
    const existing = this.#byScope[v.scope].get(v.key)
    const record: KillSwitchRecord = existing ?? {
      scope: v.scope,
      key: v.key,
      reason: v.reason,
      actor: v.actor,
      source: v.source,
      cancelAll: v.cancelAll,
      engagedAt: this.#clock.now(),
    }
    this.#byScope[v.scope].set(v.key, record)
    const audited: KillSwitchRecord = {
      ...record,
      reason: v.reason,
      actor: v.actor,
      source: v.source,
      cancelAll: v.cancelAll,
      engagedAt: this.#clock.now(),
    }
    await this.#store.engage(existing ? audited : record)
    if (!existing || v.cancelAll) for (const l of this.#listeners) l(audited)
    return record
  }

  /**
   * Release a switch: persisted and audited first, then trading in scope resumes.
   * @throws RiskError `KILL_SWITCH_NOT_LOADED` before `load()`, `KILL_SWITCH_NOT_ENGAGED`, or `KILL_SWITCH_STORE`.
   */
  async release(input: ReleaseKillSwitch): Promise<void> {
    const parsed = ReleaseKillSwitchSchema.safeParse(input)
    if (!parsed.success) throw new RiskError('CONFIG_INVALID', `release: ${z.prettifyError(parsed.error)}`)
    const v = parsed.data
    if (!this.#loaded)
      throw new RiskError('KILL_SWITCH_NOT_LOADED', 'release before load(): the persisted state is unknown')
    if (!this.#byScope[v.scope].has(v.key)) {
      throw new RiskError('KILL_SWITCH_NOT_ENGAGED', `release: ${v.scope}:${v.key} is not engaged`)
    }
    await this.#store.release({
      scope: v.scope,
      key: v.key,
      actor: v.actor,
      reason: v.reason,
      at: this.#clock.now(),
    })
    this.#byScope[v.scope].delete(v.key)
  }

  /** The audit trail from the store. */
  audit(filter?: { scope?: KillSwitchScope; key?: string }): Promise<KillSwitchAuditEntry[]> {
    return this.#store.audit(filter)
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
  async onBrokerReject(account: string, at: number, detail = ''): Promise<KillSwitchRecord | undefined> {
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
  ): Promise<KillSwitchRecord | undefined> {
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
  ): Promise<KillSwitchRecord[]> {
    const engaged: KillSwitchRecord[] = []
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
  async onReconciliationBreak(account: string, detail: string): Promise<KillSwitchRecord | undefined> {
    if (this.#board.isEngaged('account', account)) return undefined
    return this.#engage('account', account, 'auto:reconciliation', detail)
  }

  #engage(scope: KillSwitchScope, key: string, source: string, reason: string): Promise<KillSwitchRecord> {
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
