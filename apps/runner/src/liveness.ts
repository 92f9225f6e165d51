// Appkey service liveness (issue #14, seed §1.4): a KIS Open API appkey is issued for a service
// period (one year from the application; the user renews it on the KIS site), and an appkey left
// unused for long is deactivated. Neither is in reference/kis-openapi.md and neither is announced
// by the API before it bites, so the runner counts down to both from what it knows: the service
// start the operator configured and the last use it recorded.
import { addKstDays, type Clock, kstDate, type TimerHandle } from '@vellab/broker-gateway'
import { type Kysely, sql } from 'kysely'
import { z } from 'zod'
import type { RunnerDatabase } from './database'

/** How long an appkey's service period lasts, in days. @default 365 (one year from the application) */
export const APPKEY_SERVICE_PERIOD_DAYS = 365
/**
 * Days without use after which KIS deactivates an appkey. UNVERIFIED: KIS states that a long-unused
 * appkey is deactivated but the period used here is an assumption; configure it when KIS names one.
 */
export const APPKEY_INACTIVITY_DAYS = 90
/** Warn this many days (or fewer) before either deadline. */
export const LIVENESS_WARN_DAYS = 30
/** Critical this many days (or fewer) before either deadline, and past it. */
export const LIVENESS_CRITICAL_DAYS = 7
/** How often {@link AppkeyLiveness.startMonthly} checks: 30 days. */
export const LIVENESS_CHECK_EVERY_MS = 30 * 86_400_000
/** The setting that names the service start (said in the `unknown` message). */
export const SERVICE_START_SETTING = 'VELLAB_APPKEY_SERVICE_STARTED_ON'

// Timers wait at most a day at a time: Node turns a delay above 2^31-1 ms (24.8 days) into 1 ms,
// which would check in a tight loop instead of monthly.
const MAX_TIMER_MS = 86_400_000
const DAY_MS = 86_400_000
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/

/** A real calendar day written `YYYY-MM-DD` (not `2026-02-30`). */
export function isCalendarDate(value: string): boolean {
  return DATE_RE.test(value) && addKstDays(value, 0) === value
}

/** The configured service start: a real KST day, `YYYY-MM-DD`. */
export const ServiceStartedOnSchema = z
  .string()
  .refine(isCalendarDate, { error: 'the appkey service start is a real day, YYYY-MM-DD (KST)' })

/**
 * The liveness settings as runner configuration keys, to spread into `RunnerConfigSchema`. Not
 * named `appkey…`: the configuration file refuses any key that looks like a secret (`/appkey/i`).
 */
export const AppkeyLivenessConfigShape = {
  /** The KST day the appkey's service period began (`YYYY-MM-DD`, shown on the KIS Open API site). */
  kisServiceStartedOn: ServiceStartedOnSchema.optional(),
  /** @default 365 */
  kisServicePeriodDays: z.coerce.number().int().positive().default(APPKEY_SERVICE_PERIOD_DAYS),
  /** UNVERIFIED period. @default 90 */
  kisInactivityDays: z.coerce.number().int().positive().default(APPKEY_INACTIVITY_DAYS),
  /** @default 30 */
  kisLivenessWarnDays: z.coerce.number().int().positive().default(LIVENESS_WARN_DAYS),
}

export type LivenessLevel = 'ok' | 'warn' | 'critical' | 'unknown'

export interface LivenessInput {
  /** Epoch ms of the assessment. */
  now: number
  /** KST day (`YYYY-MM-DD`) the service period began; absent when never configured. */
  serviceStartedOn?: string | undefined
  /** Epoch ms of the last recorded successful use; absent when none was recorded. */
  lastUsedAt?: number | undefined
  /** @default 365 */
  servicePeriodDays?: number | undefined
  /** UNVERIFIED period. @default 90 */
  inactivityDays?: number | undefined
  /** @default 30 */
  warnDays?: number | undefined
  /** @default 7 */
  criticalDays?: number | undefined
}

export interface LivenessAssessment {
  /**
   * The worse of the two deadlines: `warn` within `warnDays` of either, `critical` within
   * `criticalDays` or past it. `unknown` when the service start was never configured (and the
   * inactivity deadline is not near), or the check could not read its record.
   */
  level: LivenessLevel
  /**
   * The first KST day the service period no longer covers (start + period). UNVERIFIED whether
   * KIS counts the anniversary day in: this errs a day early, never late.
   */
  serviceEndsOn: string | null
  /** KST calendar days from today to `serviceEndsOn`; 0 on the day, negative once past. */
  daysToServiceEnd: number | null
  /** KST calendar days since the last recorded use. */
  daysSinceUse: number | null
  /** The KST day the appkey would be deactivated if not used again (last use + inactivity period). */
  deactivationOn: string | null
  /** KST calendar days from today to `deactivationOn`; negative once past. */
  daysToDeactivation: number | null
  /** For people: what each deadline stands at and what to do; the most pressing first. */
  messages: string[]
}

const RANK: Record<LivenessLevel, number> = { ok: 0, unknown: 1, warn: 2, critical: 3 }

/** Order of severity (`ok` < `unknown` < `warn` < `critical`), for comparing and sorting levels. */
export function livenessRank(level: LivenessLevel): number {
  return RANK[level]
}

function dayNumber(date: string): number {
  const m = DATE_RE.exec(date)
  if (!m) throw new RangeError(`not a YYYY-MM-DD day: "${date}"`)
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS
}

/** Calendar days from KST day `from` to KST day `to` (negative when `to` is earlier). */
function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from)
}

function wholeDays(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`assessLiveness: ${name} ${value} is not a whole number of days`)
  return value
}

const plural = (n: number) => `${n} day${n === 1 ? '' : 's'}`

/**
 * Where an appkey stands against its two deadlines: the end of its service period and deactivation
 * for inactivity. Pure: the time comes in as `now`, days are KST calendar days.
 *
 * @example
 * ```ts
 * assessLiveness({ now: Date.parse('2026-12-10T00:00:00Z'), serviceStartedOn: '2026-01-01' })
 * // { level: 'warn', serviceEndsOn: '2027-01-01', daysToServiceEnd: 22, … }
 * ```
 * @throws RangeError when `serviceStartedOn` is not a real `YYYY-MM-DD` day or a day count is not a
 *   whole number
 */
export function assessLiveness(input: LivenessInput): LivenessAssessment {
  const servicePeriodDays = wholeDays(
    'servicePeriodDays',
    input.servicePeriodDays ?? APPKEY_SERVICE_PERIOD_DAYS,
  )
  const inactivityDays = wholeDays('inactivityDays', input.inactivityDays ?? APPKEY_INACTIVITY_DAYS)
  const warnDays = wholeDays('warnDays', input.warnDays ?? LIVENESS_WARN_DAYS)
  const criticalDays = wholeDays('criticalDays', input.criticalDays ?? LIVENESS_CRITICAL_DAYS)
  const levelOf = (daysLeft: number): LivenessLevel =>
    daysLeft <= criticalDays ? 'critical' : daysLeft <= warnDays ? 'warn' : 'ok'
  const today = kstDate(input.now)
  const found: { level: LivenessLevel; message: string }[] = []

  let serviceEndsOn: string | null = null
  let daysToServiceEnd: number | null = null
  if (input.serviceStartedOn === undefined) {
    found.push({
      level: 'unknown',
      message: `appkey service period unknown: set ${SERVICE_START_SETTING} to the day it began (YYYY-MM-DD, KST, as the KIS Open API site shows it) to be warned before it ends`,
    })
  } else {
    if (!isCalendarDate(input.serviceStartedOn))
      throw new RangeError(
        `assessLiveness: serviceStartedOn "${input.serviceStartedOn}" is not a real YYYY-MM-DD day`,
      )
    serviceEndsOn = addKstDays(input.serviceStartedOn, servicePeriodDays)
    daysToServiceEnd = daysBetween(today, serviceEndsOn)
    const level = levelOf(daysToServiceEnd)
    const when =
      daysToServiceEnd > 0
        ? `ends ${serviceEndsOn}, in ${plural(daysToServiceEnd)}`
        : daysToServiceEnd === 0
          ? `ends today (${serviceEndsOn})`
          : `ended ${serviceEndsOn}, ${plural(-daysToServiceEnd)} ago`
    found.push({
      level,
      message:
        level === 'ok'
          ? `appkey service period ${when}`
          : `appkey service period ${when}: renew it on the KIS Open API site, then set ${SERVICE_START_SETTING} to the new start`,
    })
    if (daysBetween(today, input.serviceStartedOn) > 0)
      found.push({
        level: 'ok',
        message: `${SERVICE_START_SETTING} ${input.serviceStartedOn} is in the future: check the date`,
      })
  }

  let daysSinceUse: number | null = null
  let deactivationOn: string | null = null
  let daysToDeactivation: number | null = null
  if (input.lastUsedAt === undefined) {
    found.push({ level: 'ok', message: 'no use of this appkey recorded yet' })
  } else {
    const usedOn = kstDate(input.lastUsedAt)
    daysSinceUse = daysBetween(usedOn, today)
    deactivationOn = addKstDays(usedOn, inactivityDays)
    daysToDeactivation = daysBetween(today, deactivationOn)
    const level = levelOf(daysToDeactivation)
    const rule = `KIS deactivates an appkey unused for ${plural(inactivityDays)} (period UNVERIFIED)`
    found.push({
      level,
      message:
        level === 'ok'
          ? `appkey last used ${usedOn} (${plural(daysSinceUse)} ago); ${rule}`
          : `appkey unused for ${plural(daysSinceUse)} (last ${usedOn}): ${rule}, ${
              daysToDeactivation >= 0 ? `on ${deactivationOn}` : `so since ${deactivationOn}`
            }; use it (issue a token) before then, or reactivate it on the KIS Open API site`,
    })
  }

  // The worse known deadline decides; `unknown` (no service start) only when neither is near, so a
  // missing setting never hides an inactivity deadline that is.
  const level = found.reduce<LivenessLevel>(
    (worst, f) => (RANK[f.level] > RANK[worst] ? f.level : worst),
    'ok',
  )
  const messages = found
    .map((f, i) => ({ ...f, i }))
    .sort((a, b) => RANK[b.level] - RANK[a.level] || a.i - b.i)
    .map((f) => f.message)
  return {
    level,
    serviceEndsOn,
    daysToServiceEnd,
    daysSinceUse,
    deactivationOn,
    daysToDeactivation,
    messages,
  }
}

/** An assessment that could not be made (the record could not be read): `unknown`, with why. */
export function unknownLiveness(reason: string): LivenessAssessment {
  return {
    level: 'unknown',
    serviceEndsOn: null,
    daysToServiceEnd: null,
    daysSinceUse: null,
    deactivationOn: null,
    daysToDeactivation: null,
    messages: [reason],
  }
}

/**
 * The assessment as a `/readyz` check. Always `ok: true`: the deadlines are reminders computed from
 * an operator-entered day and an UNVERIFIED period, and a failing readiness check stops new orders;
 * an appkey KIS actually refuses already stops trading through the broker. The level leads the
 * detail so `vellab status` and the dashboard show it.
 */
export function livenessCheck(assessment: LivenessAssessment): { ok: boolean; detail: string } {
  const head = assessment.level === 'ok' ? 'ok' : assessment.level.toUpperCase()
  return { ok: true, detail: `${head}: ${assessment.messages.join('; ')}` }
}

/** What the record holds for one appkey. */
export interface AppkeyActivity {
  serviceStartedOn: string | undefined
  lastUsedAt: number | undefined
}

export interface AppkeyLivenessOptions {
  db: Kysely<RunnerDatabase>
  /** @default 365 */
  servicePeriodDays?: number | undefined
  /** UNVERIFIED period. @default 90 */
  inactivityDays?: number | undefined
  /** @default 30 */
  warnDays?: number | undefined
  /** @default 7 */
  criticalDays?: number | undefined
  /**
   * How often {@link AppkeyLiveness.noteUse} writes a use per lease key at most; the deadlines count
   * days, so an hour loses nothing. @default 3_600_000
   */
  noteUseEveryMs?: number | undefined
  /** Where {@link AppkeyLiveness.noteUse} reports a failed write (it never throws). */
  onError?: ((error: Error) => void) | undefined
}

export interface MonthlyLivenessOptions {
  clock: Clock
  leaseKey: string
  /** Time between checks. @default 30 days */
  every?: number | undefined
  /** Every check's result, the first at start. Never given a rejection: failures come as `unknown`. */
  onResult: (assessment: LivenessAssessment) => void
}

/**
 * The appkey liveness record (`runner_appkey_activity`, keyed by lease key: the appkey itself is
 * never stored) and the monthly check over it.
 *
 * @example
 * ```ts
 * const liveness = new AppkeyLiveness({ db, inactivityDays: config.kisInactivityDays })
 * await liveness.configure(lease.key, config.kisServiceStartedOn)
 * const stop = liveness.startMonthly({ clock, leaseKey: lease.key, onResult: (a) => log(a.messages[0]) })
 * liveness.noteUse(lease.key, clock.now()) // on every token issued
 * ```
 */
export class AppkeyLiveness {
  readonly #o: AppkeyLivenessOptions
  readonly #noted = new Map<string, number>()
  // The last reading per lease key, so `current` assesses at any time without the database.
  readonly #readings = new Map<string, AppkeyActivity>()

  constructor(options: AppkeyLivenessOptions) {
    this.#o = options
  }

  /** Record a successful use at `at` (epoch ms). The stored last use never moves back. */
  async recordUse(leaseKey: string, at: number): Promise<void> {
    await sql`
      INSERT INTO runner_appkey_activity (lease_key, last_used_at) VALUES (${leaseKey}, ${at})
      ON CONFLICT (lease_key) DO UPDATE
        SET last_used_at = GREATEST(runner_appkey_activity.last_used_at, excluded.last_used_at)`.execute(
      this.#o.db,
    )
    const r = this.#readings.get(leaseKey)
    if (r && (r.lastUsedAt === undefined || r.lastUsedAt < at)) r.lastUsedAt = at
  }

  /**
   * {@link recordUse} for synchronous callers (adapter events): at most once per `noteUseEveryMs`
   * per lease key, and a failed write goes to `onError`, never thrown.
   */
  noteUse(leaseKey: string, at: number): void {
    const last = this.#noted.get(leaseKey)
    if (last !== undefined && at - last < (this.#o.noteUseEveryMs ?? 3_600_000)) return
    this.#noted.set(leaseKey, at)
    this.recordUse(leaseKey, at).catch((e: unknown) => {
      // Try again on the next use rather than an hour later.
      if (this.#noted.get(leaseKey) === at) this.#noted.delete(leaseKey)
      this.#o.onError?.(e instanceof Error ? e : new Error(String(e)))
    })
  }

  /**
   * Store the configured service start. `undefined` keeps what is stored: a runner configured
   * without it (a standby, an older config) does not erase another's setting; a new day replaces it.
   *
   * @throws RangeError when `serviceStartedOn` is not a real `YYYY-MM-DD` day
   */
  async configure(leaseKey: string, serviceStartedOn: string | undefined): Promise<void> {
    if (serviceStartedOn !== undefined && !isCalendarDate(serviceStartedOn))
      throw new RangeError(`AppkeyLiveness.configure: "${serviceStartedOn}" is not a real YYYY-MM-DD day`)
    await sql`
      INSERT INTO runner_appkey_activity (lease_key, service_started_on)
      VALUES (${leaseKey}, ${serviceStartedOn ?? null}::date)
      ON CONFLICT (lease_key) DO UPDATE
        SET service_started_on = COALESCE(excluded.service_started_on, runner_appkey_activity.service_started_on)`.execute(
      this.#o.db,
    )
  }

  /**
   * Read the record, stamp `checked_at`, and assess at `now`. Never rejects for the database: a
   * failed read is an `unknown` assessment naming the reason.
   */
  async check(leaseKey: string, now: number): Promise<LivenessAssessment> {
    let activity: AppkeyActivity
    try {
      // One statement: the row is created if missing, stamped, and read back.
      const { rows } = await sql<{ service_started_on: string | null; last_used_at: string | null }>`
        INSERT INTO runner_appkey_activity (lease_key, checked_at) VALUES (${leaseKey}, ${now})
        ON CONFLICT (lease_key) DO UPDATE SET checked_at = excluded.checked_at
        RETURNING to_char(service_started_on, 'YYYY-MM-DD') AS service_started_on, last_used_at`.execute(
        this.#o.db,
      )
      const row = rows[0]
      activity = {
        serviceStartedOn: row?.service_started_on ?? undefined,
        lastUsedAt: row?.last_used_at == null ? undefined : Number(row.last_used_at),
      }
    } catch (e) {
      return unknownLiveness(`appkey liveness check failed: cannot read its record (${(e as Error).message})`)
    }
    this.#readings.set(leaseKey, activity)
    return this.#assess(activity, now)
  }

  /**
   * Assess the last reading (of {@link check}, with uses recorded since) at `now`, without the
   * database: for `/readyz`, so a deadline crossed between monthly checks shows the day it is
   * crossed. `unknown` before the first successful check.
   */
  current(leaseKey: string, now: number): LivenessAssessment {
    const r = this.#readings.get(leaseKey)
    if (!r) return unknownLiveness('appkey liveness not checked yet')
    return this.#assess(r, now)
  }

  #assess(activity: AppkeyActivity, now: number): LivenessAssessment {
    try {
      return assessLiveness({
        now,
        serviceStartedOn: activity.serviceStartedOn,
        lastUsedAt: activity.lastUsedAt,
        servicePeriodDays: this.#o.servicePeriodDays,
        inactivityDays: this.#o.inactivityDays,
        warnDays: this.#o.warnDays,
        criticalDays: this.#o.criticalDays,
      })
    } catch (e) {
      return unknownLiveness(`appkey liveness cannot be assessed: ${(e as Error).message}`)
    }
  }

  /**
   * Check at once, then every `every` ms on `clock`, giving each result to `onResult`. Returns a
   * function that stops it (a check in flight then reports nothing).
   */
  startMonthly(options: MonthlyLivenessOptions): () => void {
    const { clock, leaseKey, onResult } = options
    const every = options.every ?? LIVENESS_CHECK_EVERY_MS
    if (!(every > 0)) throw new RangeError(`AppkeyLiveness.startMonthly: every ${every} ms is not positive`)
    let stopped = false
    let timer: TimerHandle | undefined
    let due = clock.now()
    const arm = () => {
      if (stopped) return
      timer = clock.setTimeout(tick, Math.min(Math.max(0, due - clock.now()), MAX_TIMER_MS))
    }
    const tick = () => {
      timer = undefined
      if (stopped) return
      if (clock.now() < due) return arm()
      due += every
      // A machine that slept through several periods checks once, not once per missed period.
      if (due <= clock.now()) due = clock.now() + every
      void this.check(leaseKey, clock.now()).then((a) => {
        if (stopped) return
        try {
          onResult(a)
        } catch {
          // The caller's own failure: the schedule goes on.
        }
        arm()
      })
    }
    tick()
    return () => {
      stopped = true
      if (timer !== undefined) clock.clearTimeout(timer)
    }
  }
}
