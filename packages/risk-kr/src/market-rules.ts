import type { TradingSession } from '@vellab/broker-gateway'
import { KstDateSchema } from '@vellab/broker-gateway'
import { z } from 'zod'
import type { ClosureEntry, CoverageStatus, CoverageYear } from './calendar-data'
import { KRX_CLOSURES, KRX_COVERAGE } from './calendar-data'
import { RiskError } from './errors'
import type { KstDay } from './kst'
import { addKstDays, formatKstDay, kstWeekday, parseClock, parseKstDate } from './kst'
import type { MatrixEntry, OrderDivisionCode } from './order-matrix'
import { ORDER_TYPE_MATRIX } from './order-matrix'
import type { RuleSource } from './provenance'
import { src } from './provenance'
import type { PhaseDefinition, PhaseId, SessionOverride, SessionRegime } from './sessions-data'
import { KRX_SESSION_OVERRIDES, KRX_SESSION_REGIMES } from './sessions-data'
import type { TickTable } from './ticks'
import { KRX_TICK_TABLES, TickRules } from './ticks'

/** All rule data the gateway reads. Every entry carries a `source`. */
export interface MarketRulesData {
  readonly coverage: readonly CoverageYear[]
  readonly closures: readonly ClosureEntry[]
  readonly regimes: readonly SessionRegime[]
  readonly overrides: readonly SessionOverride[]
  readonly matrix: readonly MatrixEntry[]
  readonly tickTables: readonly TickTable[]
}

/** The rule data shipped with this package, as reviewed against `reference/krx-market-rules.md`. */
export const KRX_RULES_DATA: MarketRulesData = {
  coverage: KRX_COVERAGE,
  closures: KRX_CLOSURES,
  regimes: KRX_SESSION_REGIMES,
  overrides: KRX_SESSION_OVERRIDES,
  matrix: ORDER_TYPE_MATRIX,
  tickTables: KRX_TICK_TABLES,
}

/** Whether a KST day trades, and how much we trust that answer. */
export type DayStatus =
  | { readonly kind: 'trading'; readonly coverage: CoverageStatus }
  | {
      readonly kind: 'closed'
      readonly coverage: CoverageStatus
      readonly reason: string
      readonly source?: RuleSource
    }
  | { readonly kind: 'uncovered' }

/** A phase placed on one day: absolute window in ms after KST midnight. */
export interface ScheduledPhase {
  readonly id: PhaseId
  readonly definition: PhaseDefinition
  readonly openMs: number
  readonly closeMs: number
  /** `unverified`: the day's schedule for this phase is not known; orders for it fail closed. */
  readonly status: 'scheduled' | 'unverified' | 'closed'
  readonly accepts: ReadonlySet<OrderDivisionCode>
  readonly overrideSource?: RuleSource
}

/** The phases of one trading day. */
export interface DaySchedule {
  readonly day: KstDay
  readonly regimeId: string
  readonly phases: readonly ScheduledPhase[]
}

/** Where an order for `(venue, session)` lands at a given time. */
export type PhaseResolution =
  | {
      readonly status: 'open'
      readonly phase: ScheduledPhase
      /** A call auction whose random end may still be running (§1.1 notes: "not before T"). */
      readonly possiblyStillOpen?: ScheduledPhase
      /** End of the last phase serving the session today (for entry cut-offs). */
      readonly sessionEndMs: number
    }
  | { readonly status: 'closed' | 'unverified' | 'not_in_regime' | 'uncovered' }

const RESOLVED_UNCOVERED: PhaseResolution = { status: 'uncovered' }
const RESOLVED_NOT_IN_REGIME: PhaseResolution = { status: 'not_in_regime' }
const RESOLVED_CLOSED: PhaseResolution = { status: 'closed' }
const RESOLVED_UNVERIFIED: PhaseResolution = { status: 'unverified' }

const RuleSourceSchema = z.object({
  section: z.string().min(1),
  confidence: z.enum(['V-PRIMARY', 'V-SECONDARY', 'PARTIAL', 'UNVERIFIED']),
  note: z.string().optional(),
})
const ClockSchema = z.string().regex(/^\d{2}:\d{2}(:\d{2})?$/, { error: 'times are HH:MM or HH:MM:SS (KST)' })
const PhaseIdSchema = z.enum([
  'krx_pre_close_price',
  'krx_opening_auction',
  'krx_continuous',
  'krx_closing_auction',
  'krx_post_close_price',
  'krx_single_price',
  'krx_after_market',
  'nxt_pre_market',
  'nxt_main',
  'nxt_after_market_call',
  'nxt_after_market',
  'nxt_closing_price',
])

/**
 * A reviewed calendar update: a KRX notice (year-end list, temporary holiday, CSAT timetable)
 * checked by a person. Entries without their own `source` inherit one naming the notice and the
 * reviewer. Session overrides replace any existing override for the same date.
 */
export const ReviewedCalendarUpdateSchema = z.object({
  /** Who reviewed the notice. */
  reviewedBy: z.string().min(1),
  reviewedOn: KstDateSchema,
  /** The notice: URL or KIND id. */
  notice: z.string().min(1),
  coverage: z
    .array(
      z.object({ year: z.number().int().min(2000).max(2100), status: z.enum(['reviewed', 'provisional']) }),
    )
    .default([]),
  addClosures: z
    .array(z.object({ date: KstDateSchema, reason: z.string().min(1), source: RuleSourceSchema.optional() }))
    .default([]),
  /** Projected closures the notice does not confirm. */
  removeClosures: z.array(KstDateSchema).default([]),
  sessionOverrides: z
    .array(
      z.object({
        date: KstDateSchema,
        reason: z.string().min(1),
        phases: z.partialRecord(
          PhaseIdSchema,
          z.union([
            z.literal('closed'),
            z.literal('unverified'),
            z.object({ open: ClockSchema, close: ClockSchema }),
          ]),
        ),
        source: RuleSourceSchema.optional(),
      }),
    )
    .default([]),
})
/** Input of `KrxMarketRules.withReviewedUpdate`. */
export type ReviewedCalendarUpdate = z.input<typeof ReviewedCalendarUpdateSchema>

/** A disagreement between our calendar and the broker's holiday API (§5, §9 `chk-holiday`). */
export interface HolidayDisagreement {
  readonly date: string
  readonly ours: 'trading' | 'closed' | 'uncovered'
  readonly brokerOpen: boolean
}

/**
 * The effective-dated market rules: calendar with coverage, session regimes and special days,
 * the order-type matrix and tick tables. Immutable; updates return a new instance.
 *
 * @example
 * ```ts
 * const rules = createKrxMarketRules()
 * rules.dayStatus(parseKstDate('2026-06-03')) // { kind: 'closed', reason: '9th nationwide local election', … }
 * ```
 */
export class KrxMarketRules {
  readonly data: MarketRulesData
  readonly ticks: TickRules
  readonly #coverage = new Map<number, CoverageYear>()
  readonly #closures = new Map<KstDay, ClosureEntry>()
  readonly #overrides = new Map<KstDay, SessionOverride>()
  readonly #regimes: { from: KstDay; regime: SessionRegime }[]
  readonly #matrix = new Map<PhaseId, ReadonlySet<OrderDivisionCode>>()
  // Memoised per-day schedules: a pure function of immutable data, so caching is unobservable.
  readonly #schedules = new Map<KstDay, DaySchedule | null>()

  constructor(data: MarketRulesData = KRX_RULES_DATA) {
    this.data = data
    for (const c of data.coverage) this.#coverage.set(c.year, c)
    for (const c of data.closures) {
      const day = parseKstDate(c.date)
      const w = kstWeekday(day)
      if (w === 0 || w === 6) {
        throw new RiskError(
          'RULES_INVALID',
          `closure ${c.date} falls on a weekend; weekends are closed by rule`,
        )
      }
      this.#closures.set(day, c)
    }
    for (const o of data.overrides) {
      // Validate windows now: schedules are built lazily inside `check`, which must never throw.
      for (const [id, w] of Object.entries(o.phases)) {
        if (typeof w !== 'object') continue
        let open: number
        let close: number
        try {
          open = parseClock(w.open)
          close = parseClock(w.close)
        } catch (e) {
          throw new RiskError('RULES_INVALID', `override ${o.date} ${id}: ${(e as Error).message}`, {
            cause: e,
          })
        }
        if (open >= close) {
          throw new RiskError('RULES_INVALID', `override ${o.date} ${id} opens at or after it closes`)
        }
      }
      this.#overrides.set(parseKstDate(o.date), o)
    }
    this.#regimes = data.regimes
      .map((regime) => ({ from: parseKstDate(regime.from), regime }))
      .sort((a, b) => b.from - a.from)
    for (const m of data.matrix) this.#matrix.set(m.phase, new Set(m.accepts))
    for (const { regime } of this.#regimes) {
      for (const p of regime.phases) {
        if (!this.#matrix.has(p.id)) {
          throw new RiskError(
            'RULES_INVALID',
            `phase ${p.id} of regime ${regime.id} has no order-type matrix row`,
          )
        }
        if (parseClock(p.open) >= parseClock(p.close)) {
          throw new RiskError('RULES_INVALID', `phase ${p.id} of regime ${regime.id} opens after it closes`)
        }
      }
    }
    this.ticks = new TickRules(data.tickTables)
  }

  /** Coverage of the year containing `day`, if any. */
  coverageOf(day: KstDay): CoverageYear | undefined {
    return this.#coverage.get(Math.floor(day / 10_000))
  }

  /** Whether `day` trades: weekends and listed closures are closed; days outside coverage are `uncovered`. */
  dayStatus(day: KstDay): DayStatus {
    const coverage = this.coverageOf(day)
    if (!coverage) return { kind: 'uncovered' }
    const w = kstWeekday(day)
    if (w === 0 || w === 6) return { kind: 'closed', coverage: coverage.status, reason: 'weekend' }
    const closure = this.#closures.get(day)
    if (closure)
      return { kind: 'closed', coverage: coverage.status, reason: closure.reason, source: closure.source }
    return { kind: 'trading', coverage: coverage.status }
  }

  /** `dayStatus` for a `YYYY-MM-DD` date; true only for covered trading days. */
  isTradingDay(date: string): boolean {
    return this.dayStatus(parseKstDate(date)).kind === 'trading'
  }

  /** The next covered trading day after `date`, or `undefined` when coverage runs out first. */
  nextTradingDay(date: string): string | undefined {
    let day = parseKstDate(date)
    for (let i = 0; i < 400; i++) {
      day = addKstDays(day, 1)
      const s = this.dayStatus(day)
      if (s.kind === 'uncovered') return undefined
      if (s.kind === 'trading') return formatKstDay(day)
    }
    return undefined
  }

  /**
   * Compare with the broker's holiday API (`chk-holiday.opnd_yn`, §2.4/§5): pass KIS's `'Y'`/`'N'`
   * as it came, or a boolean (open). Returns the disagreement, or `undefined` when both agree.
   * §5: refuse to trade if the two disagree. Anything else throws `CONFIG_INVALID`.
   */
  crossCheckHoliday(date: string, opndYn: BrokerOpenFlag): HolidayDisagreement | undefined {
    const brokerOpen = brokerOpenFlag(opndYn)
    const s = this.dayStatus(parseKstDate(date))
    if (s.kind === 'trading' && brokerOpen) return undefined
    if (s.kind === 'closed' && !brokerOpen) return undefined
    return { date, ours: s.kind, brokerOpen }
  }

  /** The regime in force on `day`, or `undefined` before the first one. */
  regimeOn(day: KstDay): SessionRegime | undefined {
    for (const r of this.#regimes) if (r.from <= day) return r.regime
    return undefined
  }

  /** The phases of `day` with special-day overrides applied, or `undefined` outside regime coverage. */
  scheduleFor(day: KstDay): DaySchedule | undefined {
    const cached = this.#schedules.get(day)
    if (cached !== undefined) return cached ?? undefined
    const regime = this.regimeOn(day)
    if (!regime) {
      this.#schedules.set(day, null)
      return undefined
    }
    const override = this.#overrides.get(day)
    const phases: ScheduledPhase[] = regime.phases.map((def) => {
      const o = override?.phases[def.id]
      const accepts = this.#matrix.get(def.id) ?? new Set<OrderDivisionCode>()
      const base = { id: def.id, definition: def, accepts }
      if (o === undefined) {
        return {
          ...base,
          openMs: parseClock(def.open),
          closeMs: parseClock(def.close),
          status: 'scheduled' as const,
        }
      }
      const extra = override ? { overrideSource: override.source } : {}
      if (o === 'closed' || o === 'unverified') {
        return { ...base, ...extra, openMs: parseClock(def.open), closeMs: parseClock(def.close), status: o }
      }
      return {
        ...base,
        ...extra,
        openMs: parseClock(o.open),
        closeMs: parseClock(o.close),
        status: 'scheduled' as const,
      }
    })
    const schedule: DaySchedule = { day, regimeId: regime.id, phases }
    this.#schedules.set(day, schedule)
    return schedule
  }

  /**
   * The phase an order for `(venue, session)` enters at `msOfDay` on `day`. SOR orders use the
   * KRX timetable (§2.4: SOR takes regular-session codes only).
   *
   * @param randomEndGraceMs how long after a random-end auction's nominal close it may still run (§1.1 notes)
   */
  resolvePhase(
    venue: 'KRX' | 'NXT',
    session: TradingSession,
    day: KstDay,
    msOfDay: number,
    randomEndGraceMs: number,
  ): PhaseResolution {
    const schedule = this.scheduleFor(day)
    if (!schedule) return RESOLVED_UNCOVERED
    let any = false
    let unverified = false
    let found: ScheduledPhase | undefined
    let sessionEndMs = 0
    let possiblyStillOpen: ScheduledPhase | undefined
    const phases = schedule.phases
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i]!
      const def = p.definition
      if (def.venue !== venue) continue
      if (
        def.randomEnd &&
        p.status === 'scheduled' &&
        msOfDay >= p.closeMs &&
        msOfDay < p.closeMs + randomEndGraceMs
      ) {
        possiblyStillOpen = p
      }
      if (def.session !== session) continue
      any = true
      if (p.status === 'unverified') {
        unverified = true
        continue
      }
      if (p.status === 'closed') continue
      if (p.closeMs > sessionEndMs) sessionEndMs = p.closeMs
      if (msOfDay >= p.openMs && msOfDay < p.closeMs && !found) found = p
    }
    if (!any) return RESOLVED_NOT_IN_REGIME
    if (found) {
      return possiblyStillOpen && possiblyStillOpen !== found
        ? { status: 'open', phase: found, possiblyStillOpen, sessionEndMs }
        : { status: 'open', phase: found, sessionEndMs }
    }
    return unverified ? RESOLVED_UNVERIFIED : RESOLVED_CLOSED
  }

  /**
   * A new rule set with a reviewed calendar update applied (validated with zod). Loading from
   * reviewed notices is the only way dates change; nothing is inferred (§1.3 "Implementation").
   *
   * @throws RiskError `RULES_INVALID` when the update does not parse or contradicts the rules.
   */
  withReviewedUpdate(update: ReviewedCalendarUpdate): KrxMarketRules {
    const parsed = ReviewedCalendarUpdateSchema.safeParse(update)
    if (!parsed.success) {
      throw new RiskError('RULES_INVALID', `reviewed calendar update: ${z.prettifyError(parsed.error)}`, {
        cause: parsed.error,
      })
    }
    const u = parsed.data
    const inherited = src(
      'reviewed update',
      'V-PRIMARY',
      `${u.notice} (reviewed by ${u.reviewedBy} on ${u.reviewedOn})`,
    )
    const removed = new Set(u.removeClosures)
    const added = new Map(u.addClosures.map((c) => [c.date, c]))
    const closures: ClosureEntry[] = this.data.closures.filter(
      (c) => !removed.has(c.date) && !added.has(c.date),
    )
    for (const c of u.addClosures) {
      closures.push({
        date: c.date,
        reason: c.reason,
        source: (c.source as RuleSource | undefined) ?? inherited,
      })
    }
    const coverage = new Map(this.data.coverage.map((c) => [c.year, c]))
    for (const c of u.coverage) coverage.set(c.year, { year: c.year, status: c.status, source: inherited })
    const overrideDates = new Set(u.sessionOverrides.map((o) => o.date))
    const overrides: SessionOverride[] = this.data.overrides.filter((o) => !overrideDates.has(o.date))
    for (const o of u.sessionOverrides) {
      overrides.push({
        date: o.date,
        reason: o.reason,
        phases: o.phases as SessionOverride['phases'],
        source: (o.source as RuleSource | undefined) ?? inherited,
      })
    }
    return new KrxMarketRules({
      ...this.data,
      closures,
      coverage: [...coverage.values()].sort((a, b) => a.year - b.year),
      overrides,
    })
  }
}

/**
 * The shipped rules, optionally with reviewed updates applied in order.
 *
 * @example
 * ```ts
 * const rules = createKrxMarketRules([{ reviewedBy: 'ops-kim', reviewedOn: '2026-12-16',
 *   notice: 'https://kind.krx.co.kr/…', coverage: [{ year: 2027, status: 'reviewed' }] }])
 * ```
 */
export function createKrxMarketRules(updates: readonly ReviewedCalendarUpdate[] = []): KrxMarketRules {
  let rules = new KrxMarketRules(KRX_RULES_DATA)
  for (const u of updates) rules = rules.withReviewedUpdate(u)
  return rules
}

/** KIS's `chk-holiday.opnd_yn` (`'Y'` open, `'N'` closed) or the same as a boolean. */
export type BrokerOpenFlag = boolean | 'Y' | 'N'

/** `opnd_yn` as a boolean; a value that is neither a boolean nor `'Y'`/`'N'` is refused, never guessed. */
export function brokerOpenFlag(value: BrokerOpenFlag): boolean {
  if (value === true || value === 'Y') return true
  if (value === false || value === 'N') return false
  throw new RiskError('CONFIG_INVALID', `opnd_yn must be 'Y', 'N' or a boolean, got ${JSON.stringify(value)}`)
}
