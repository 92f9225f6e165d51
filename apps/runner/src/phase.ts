import type { OrderIntent } from '@vellab/broker-gateway'
import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { RunnerDatabase } from './database'

/**
 * Rollout phases (ARCHITECTURE.md "Runner"): `shadow` decides, risk-checks and logs, and sends
 * nothing; `paper` trades a paper account only; `pilot` trades under hard caps (symbol allowlist,
 * per-order and daily notional, daily loss) with the strategy explicitly approved; `ramp` raises the
 * pilot caps by a factor. Enforced in code before every send, after risk.
 */
export const PHASES = ['shadow', 'paper', 'pilot', 'ramp'] as const
export type Phase = (typeof PHASES)[number]

export const PhaseCapsSchema = z.object({
  /** Symbols the strategy may trade (empty: refused in pilot/ramp, which need an allowlist). */
  symbols: z.array(z.string().regex(/^[0-9A-Z]{6}$/)).default([]),
  /** Most KRW one order may be worth (quantity × limit price). */
  maxOrderNotional: z.number().int().positive().optional(),
  /** Most KRW sent in orders per KST day by this process. */
  maxDailyNotional: z.number().int().positive().optional(),
  /** Stop sending when the day's marked-to-market loss reaches this many KRW. */
  maxDailyLoss: z.number().int().positive().optional(),
  /** `ramp` multiplies the three caps above by this. */
  rampFactor: z.number().min(1).default(2),
})
export type PhaseCaps = z.output<typeof PhaseCapsSchema>

/** Why the phase stopped an order before it was sent. */
export type PhaseRefusal =
  | 'SHADOW_NOT_SENT'
  | 'PILOT_SYMBOL_NOT_ALLOWED'
  | 'PILOT_ORDER_NOTIONAL'
  | 'PILOT_DAILY_NOTIONAL'
  | 'PILOT_DAILY_LOSS'

/** The phase's hard caps, checked before every send. Keeps the day's notional and P&L itself. */
export class PhaseGate {
  readonly phase: Phase
  readonly caps: PhaseCaps
  #sentNotional = 0
  readonly #counted = new Set<string>()
  /** Per symbol: net shares and cash flow of today's fills, and the last price seen. */
  readonly #book = new Map<string, { shares: number; cash: number; last: number }>()

  constructor(phase: Phase, caps: PhaseCaps) {
    this.phase = phase
    this.caps = caps
  }

  #cap(v: number | undefined): number | undefined {
    return v === undefined ? undefined : this.phase === 'ramp' ? v * this.caps.rampFactor : v
  }

  /** Marked-to-market P&L of today's fills at the last prices seen (negative: a loss). */
  get pnl(): number {
    let total = 0
    for (const b of this.#book.values()) total += b.cash + b.shares * b.last
    return total
  }

  /** `undefined` when the order may be sent; else why not. Counts the notional of what it lets through. */
  admit(intent: OrderIntent): PhaseRefusal | undefined {
    if (this.phase === 'shadow') return 'SHADOW_NOT_SENT'
    if (this.phase === 'pilot' || this.phase === 'ramp') {
      if (!this.caps.symbols.includes(intent.symbol)) return 'PILOT_SYMBOL_NOT_ALLOWED'
      const notional = intent.quantity * (intent.limitPrice ?? 0)
      const perOrder = this.#cap(this.caps.maxOrderNotional)
      if (perOrder !== undefined && notional > perOrder) return 'PILOT_ORDER_NOTIONAL'
      // An intent asked about again (the execution engine checks a held child at every step)
      // counts once.
      const counted = this.#counted.has(intent.intentId)
      const daily = this.#cap(this.caps.maxDailyNotional)
      if (daily !== undefined && this.#sentNotional + (counted ? 0 : notional) > daily)
        return 'PILOT_DAILY_NOTIONAL'
      const loss = this.#cap(this.caps.maxDailyLoss)
      if (loss !== undefined && -this.pnl >= loss) return 'PILOT_DAILY_LOSS'
      if (!counted) {
        this.#counted.add(intent.intentId)
        this.#sentNotional += notional
      }
    }
    return undefined
  }

  /** A fill of today (from the order events). */
  onFill(symbol: string, side: 'buy' | 'sell', quantity: number, price: number): void {
    const b = this.#book.get(symbol) ?? { shares: 0, cash: 0, last: price }
    b.shares += side === 'buy' ? quantity : -quantity
    b.cash += side === 'buy' ? -quantity * price : quantity * price
    b.last = price
    this.#book.set(symbol, b)
  }

  /** The last price of a symbol (marks open positions). */
  mark(symbol: string, last: number): void {
    const b = this.#book.get(symbol)
    if (b) b.last = last
  }
}

/**
 * Check that the phase fits the mode and the configuration, and record a change of phase in
 * `runner_phase_audit` (who, when, the caps). Returns the previous phase, if any.
 */
export async function enterPhase(
  db: Kysely<RunnerDatabase>,
  o: {
    phase: Phase
    caps: PhaseCaps
    mode: 'sim' | 'paper' | 'real'
    strategyId: string
    approvedStrategies: readonly string[]
    actor: string
    at: number
  },
): Promise<{ previous: string | null; changed: boolean }> {
  if (o.phase === 'paper' && o.mode === 'real') {
    throw new Error('phase paper trades a paper account only: use VELLAB_MODE=paper or sim, or phase pilot')
  }
  if ((o.phase === 'pilot' || o.phase === 'ramp') && o.caps.symbols.length === 0) {
    throw new Error(`phase ${o.phase} needs a symbol allowlist (VELLAB_PILOT_SYMBOLS)`)
  }
  if ((o.phase === 'pilot' || o.phase === 'ramp') && !o.approvedStrategies.includes(o.strategyId)) {
    throw new Error(
      `phase ${o.phase}: strategy ${o.strategyId} is not approved for it (VELLAB_APPROVED_STRATEGIES, a manual approval)`,
    )
  }
  const last = await db
    .selectFrom('runner_phase_audit')
    .select(['phase'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  const previous = last?.phase ?? null
  if (previous === o.phase) return { previous, changed: false }
  await db
    .insertInto('runner_phase_audit')
    .values({ phase: o.phase, previous, changed_at: o.at, actor: o.actor, caps: JSON.stringify(o.caps) })
    .execute()
  return { previous, changed: true }
}
