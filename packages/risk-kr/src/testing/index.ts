// Test helpers for code that uses @vellab/risk-kr: an in-memory kill-switch store with fault
// injection, reference-data and quote builders, and a ready-wired fixture.
import type { Clock, OrderIntent, OrderIntentInput, Quote, SymbolState } from '@vellab/broker-gateway'
import { OrderIntentSchema } from '@vellab/broker-gateway'
import type { RiskGatewayOptions } from '../config'
import type { AccountProfile, KillSwitchScope, SymbolReference } from '../context'
import { RiskError } from '../errors'
import { KillSwitchBoard } from '../kill-switch'
import type { KillSwitchAuditEntry, KillSwitchPersistence, KillSwitchRecord } from '../kill-switch-store'
import { kstDay } from '../kst'
import type { KrxMarketRules } from '../market-rules'
import { createKrxMarketRules } from '../market-rules'
import { dailyLimits } from '../price-limits'
import type { RiskGateway } from '../risk-gateway'
import { createRiskGateway } from '../risk-gateway'
import { RiskState } from '../risk-state'

/** An operation of `KillSwitchPersistence`, for fault injection in `InMemoryKillSwitchStore`. */
export type KillSwitchStoreOperation = 'loadEngaged' | 'engage' | 'release' | 'audit'

/**
 * A `KillSwitchPersistence` in memory, for unit tests, with fault injection to test what happens
 * when Postgres is down: `failNext(n)` makes the next `n` calls throw `KILL_SWITCH_STORE`,
 * `down()`/`up()` fail every call in between, `holdNext(op)` parks the next call of `op` until
 * released (to interleave actions deterministically), and `calls(op)` counts attempts.
 */
export class InMemoryKillSwitchStore implements KillSwitchPersistence {
  readonly #engaged = new Map<string, KillSwitchRecord>()
  readonly #audit: KillSwitchAuditEntry[] = []
  readonly #calls: Record<KillSwitchStoreOperation, number> = {
    loadEngaged: 0,
    engage: 0,
    release: 0,
    audit: 0,
  }
  readonly #holds = new Map<KillSwitchStoreOperation, Promise<void>>()
  #failures = 0
  #failOnly: KillSwitchStoreOperation | undefined
  #down = false

  /** Make the next `count` calls (of `operation` only, when given) throw `KILL_SWITCH_STORE`. */
  failNext(count = 1, operation?: KillSwitchStoreOperation): void {
    this.#failures = count
    this.#failOnly = operation
  }

  /** Fail every call until `up()`, like a database that went away. */
  down(): void {
    this.#down = true
  }

  /** Serve calls again after `down()`. */
  up(): void {
    this.#down = false
  }

  /**
   * Park the next call of `operation` (before it reads or writes anything) until the returned
   * function is called.
   */
  holdNext(operation: KillSwitchStoreOperation): () => void {
    let release!: () => void
    this.#holds.set(operation, new Promise<void>((r) => (release = r)))
    return () => release()
  }

  /** How many times `operation` was called (failed attempts included). */
  calls(operation: KillSwitchStoreOperation): number {
    return this.#calls[operation]
  }

  /** The switches this store holds as engaged (what a restarted process would load). */
  engagedKeys(): string[] {
    return [...this.#engaged.keys()]
  }

  async #enter(op: KillSwitchStoreOperation): Promise<void> {
    this.#calls[op]++
    const hold = this.#holds.get(op)
    if (hold) {
      this.#holds.delete(op)
      await hold
    }
    if (this.#down) throw new RiskError('KILL_SWITCH_STORE', `InMemoryKillSwitchStore.${op}: store is down`)
    if (this.#failures > 0 && (this.#failOnly === undefined || this.#failOnly === op)) {
      this.#failures--
      throw new RiskError('KILL_SWITCH_STORE', `InMemoryKillSwitchStore.${op}: injected failure`)
    }
  }

  async loadEngaged(): Promise<KillSwitchRecord[]> {
    await this.#enter('loadEngaged')
    return [...this.#engaged.values()]
  }

  async engage(record: KillSwitchRecord): Promise<void> {
    await this.#enter('engage')
    const k = `${record.scope}:${record.key}`
    if (!this.#engaged.has(k)) this.#engaged.set(k, record)
    this.#audit.push({ ...record, action: 'engage', at: record.engagedAt })
  }

  async release(r: {
    scope: KillSwitchScope
    key: string
    actor: string
    reason: string
    at: number
  }): Promise<void> {
    await this.#enter('release')
    const k = `${r.scope}:${r.key}`
    if (!this.#engaged.delete(k)) throw new RiskError('KILL_SWITCH_NOT_ENGAGED', `${k} is not engaged`)
    this.#audit.push({
      scope: r.scope,
      key: r.key,
      action: 'release',
      actor: r.actor,
      reason: r.reason,
      source: 'operator',
      cancelAll: false,
      at: r.at,
    })
  }

  async audit(filter: { scope?: KillSwitchScope; key?: string } = {}): Promise<KillSwitchAuditEntry[]> {
    await this.#enter('audit')
    return this.#audit.filter(
      (a) =>
        (filter.scope === undefined || a.scope === filter.scope) &&
        (filter.key === undefined || a.key === filter.key),
    )
  }
}

/** A plain KOSPI stock's reference data (100 M shares, 10 tn KRW cap, NXT-eligible), with overrides. */
export function stockReference(symbol: string, overrides: Partial<SymbolReference> = {}): SymbolReference {
  return {
    symbol,
    kind: 'stock',
    market: 'KOSPI',
    listedShares: 100_000_000,
    marketCap: 10_000_000_000_000,
    nxtEligible: true,
    ...overrides,
  }
}

/** An individual, live, NSDS-ready account owned by `owner` (default: the account id). */
export function accountProfile(account: string, overrides: Partial<AccountProfile> = {}): AccountProfile {
  return {
    account,
    paper: false,
    beneficialOwner: account,
    holderType: 'individual',
    nsdsReady: true,
    ...overrides,
  }
}

/**
 * A broker quote whose limits and tick agree with the KRX computation for `basePrice`
 * (`lastPrice` defaults to the base). Override fields to simulate broker disagreements.
 */
export function brokerQuote(
  symbol: string,
  basePrice: number,
  at: number,
  overrides: Partial<Omit<Quote, 'state'>> & { state?: Partial<SymbolState> } = {},
  rules: KrxMarketRules = createKrxMarketRules(),
): Quote {
  const grid = rules.ticks.gridFor('stock', kstDay(at))
  if (!grid) throw new RangeError(`no stock tick table on ${new Date(at).toISOString()}`)
  const band = dailyLimits(grid, { basePrice })!
  const lastPrice = overrides.lastPrice ?? basePrice
  const { state, ...rest } = overrides
  return {
    symbol,
    lastPrice,
    basePrice,
    upperLimit: band.upper,
    lowerLimit: band.lower,
    tickSize: grid.tickAt(lastPrice),
    at,
    ...rest,
    state: {
      halted: false,
      viActive: false,
      marketWarning: 'none',
      shortTermOverheated: false,
      shortSaleOverheated: false,
      administrative: false,
      ...state,
    },
  }
}

/** Options of `createRiskFixture`. */
export interface RiskFixtureOptions {
  /** The fixture's time (epoch ms). */
  readonly now: number
  /** Gateway options. @default one strategy `s1` allowed in every session on every venue */
  readonly gateway?: RiskGatewayOptions
  /** Symbols with their base prices. @default { '005930': 70_000 } */
  readonly symbols?: Readonly<Record<string, number>>
  /** Accounts. @default ['A1'] */
  readonly accounts?: readonly string[]
  readonly rules?: KrxMarketRules
  /** The kill-switch board's clock (pass a `ManualClock` to drive its retries). @default frozen at `now`, timers never fire */
  readonly clock?: Clock
  /** The kill-switch board's store. @default a new `InMemoryKillSwitchStore` */
  readonly store?: InMemoryKillSwitchStore
}

/** A gateway, a `RiskState` with reference data and fresh quotes, and a loaded kill-switch board. */
export interface RiskFixture {
  readonly gateway: RiskGateway
  readonly state: RiskState
  readonly board: KillSwitchBoard
  readonly store: InMemoryKillSwitchStore
  /** A parsed intent with defaults (`A1`, `s1`, `005930`, buy 10 limit at the base price). */
  intent(overrides?: Partial<OrderIntentInput>): OrderIntent
}

let fixtureSeq = 0

/** Build a ready-to-check fixture. */
export async function createRiskFixture(options: RiskFixtureOptions): Promise<RiskFixture> {
  const rules = options.rules ?? createKrxMarketRules()
  const store = options.store ?? new InMemoryKillSwitchStore()
  const board = new KillSwitchBoard({
    store,
    clock: options.clock ?? { now: () => options.now, setTimeout: () => ({}), clearTimeout: () => {} },
  })
  await board.load()
  const gateway = createRiskGateway(
    options.gateway ?? {
      strategies: {
        s1: {
          sessions: [
            'regular',
            'pre_close_price',
            'post_close_price',
            'after_hours_single_price',
            'after_market',
            'pre_market',
          ],
          venues: ['KRX', 'NXT', 'SOR'],
        },
      },
    },
    rules,
  )
  const state = new RiskState({ killSwitches: board, rules, guards: gateway.options.guards })
  state.advanceTo(options.now)
  const symbols = options.symbols ?? { '005930': 70_000 }
  for (const [symbol, base] of Object.entries(symbols)) {
    state.upsertSymbol(stockReference(symbol))
    state.applyQuote(brokerQuote(symbol, base, options.now, {}, rules))
  }
  for (const a of options.accounts ?? ['A1']) state.upsertAccount(accountProfile(a))
  const firstSymbol = Object.keys(symbols)[0] ?? '005930'
  return {
    gateway,
    state,
    board,
    store,
    intent(overrides = {}) {
      fixtureSeq++
      return OrderIntentSchema.parse({
        intentId: `t-${fixtureSeq}`,
        account: 'A1',
        strategyId: 's1',
        symbol: firstSymbol,
        side: 'buy',
        quantity: 10,
        orderType: 'limit',
        limitPrice: symbols[overrides.symbol ?? firstSymbol],
        ...overrides,
      })
    },
  }
}
