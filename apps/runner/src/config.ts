import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { AppkeyLivenessConfigShape } from './liveness'

/** Profile names that would collide with the plain `KIS_*` variables' own prefixes. */
const RESERVED_PROFILES = ['APP', 'ACCOUNT', 'ENV', 'HTS', 'REST', 'WS', 'CAPABILITIES']

/**
 * The runner's configuration, from the environment. Secrets never come from here directly: the KIS
 * adapter reads them from the environment or a secret file itself (`loadKisConfigFromEnv`).
 */
export const RunnerConfigSchema = z.object({
  /** `sim` runs against the in-process KIS simulator; `paper`/`real` against KIS. @default 'sim' */
  mode: z.enum(['sim', 'paper', 'real']).default('sim'),
  /** A PostgreSQL URL; without one an embedded PostgreSQL is started in `dataDir`. */
  databaseUrl: z.string().url().optional(),
  /**
   * Where the embedded PostgreSQL keeps its data. In `sim` mode the default is a fresh temporary
   * directory per run, because the in-process simulator's books live in memory and start empty:
   * orders persisted by an earlier run would refer to a broker that no longer knows them.
   */
  dataDir: z.string().min(1).optional(),
  /**
   * At startup, pending migrations that would rewrite more rows than this (estimated, all tables
   * together; e.g. `@vellab/order-fsm` 0006 rewrites the order log) are refused and the runner does
   * not start: a rewrite holds an exclusive lock that stops every order write while it copies. Run
   * `vellab migrate` outside trading hours instead. @default 1000000
   */
  migrateMaxRewriteRows: z.coerce.number().int().nonnegative().default(1_000_000),
  /** How long the session runs before a graceful stop; 0 = until SIGINT/SIGTERM. @default 20 */
  runSeconds: z.coerce.number().int().nonnegative().default(20),
  /** Symbols the demo strategy quotes. @default ['005930', '000660'] */
  symbols: z
    .string()
    .default('005930,000660')
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.string().regex(/^[0-9A-Z]{6}$/)).min(1)),
  /** Pre-trade risk limit: orders per minute the strategy may send (`@vellab/risk-kr`). @default 120 */
  maxOrdersPerMinute: z.coerce.number().int().positive().default(120),
  /**
   * A symbol's quote is read again once this old (exchange time); decisions in between use the
   * last one, and so does the pricing of children. Risk refuses quotes older than 5 s. @default 1000
   */
  quoteRefreshMs: z.coerce.number().int().min(50).max(4_000).default(1_000),
  /**
   * Where a quote's price comes from between REST reads: `stream` prices it from the symbols' trade
   * prints (H0STCNT0, no REST budget) and reads REST every `quoteStateRefreshMs` for limits and
   * state (halt, VI), and every `quoteRefreshMs` for a symbol without a print for 3 s; `rest` reads
   * every symbol every `quoteRefreshMs`. @default 'stream'
   */
  quoteSource: z.enum(['stream', 'rest']).default('stream'),
  /**
   * With prints streaming, a symbol's REST quote is read again once this old. Risk refuses quotes
   * older than 5 s and sees the REST quotes only. @default 3000
   */
  quoteStateRefreshMs: z.coerce.number().int().min(50).max(4_000).default(3_000),
  /** The account's balance (sellable quantities) is read again once this old. @default 1000 */
  positionsRefreshMs: z.coerce.number().int().min(50).default(1_000),
  /** Shares per demo order. @default 1 */
  orderQuantity: z.coerce.number().int().positive().default(1),
  /** Milliseconds between strategy decisions. @default 1000 */
  decisionIntervalMs: z.coerce.number().int().positive().default(1_000),
  /**
   * Which environment of the in-process simulator `sim` mode trades: `real`, or `paper` as a paper
   * account was seen to behave (reference §7.10: 23-field notices that overtake the order answers,
   * no order listing, 1 request/s). @default 'real'
   */
  simEnvironment: z.enum(['real', 'paper']).default('real'),
  /**
   * With `mode: 'paper'`: the REST URL of a separately started kis-sim (point `KIS_REST_URL` and
   * `KIS_WS_URL` at it too). The session is then a rehearsal: it runs on the simulator's clock (a
   * trading morning whatever the hour here; the simulator's clock must run at real speed) and its
   * checks read the simulator's ledger and books. Refused in other modes.
   */
  rehearsalSimUrl: z.url().optional(),
  /** Simulator start (KST, `YYYY-MM-DD HH:MM:SS`): a trading day's morning, so the session is open. */
  simStart: z.string().default('2026-11-24 09:05:00'),
  /**
   * The strategy: `demo-quoter` (the built-in example) or an ES module (a path relative to the
   * working directory, or a `file:` URL) whose default export is a `StrategyFactory` (see
   * `src/strategy.ts`). @default 'demo-quoter'
   */
  strategy: z.string().min(1).default('demo-quoter'),
  /** Parameters handed to the strategy as given (`VELLAB_STRATEGY_PARAMS`: a JSON object). */
  strategyParams: z
    .preprocess(
      (v) => {
        if (typeof v !== 'string') return v
        try {
          return JSON.parse(v) as unknown
        } catch {
          return v
        }
      },
      z.record(z.string(), z.unknown(), { error: 'must be a JSON object, e.g. {"parentTtlMs": 60000}' }),
    )
    .default({}),
  /**
   * `real` mode's explicit confirmation: the account number(s) this runner may trade with real
   * money, comma-separated, exactly as configured (`VELLAB_REAL_CONFIRM`). Without it, or when it
   * names other accounts, `real` refuses to start. See {@link realModeRefusal} for the caps it needs.
   */
  realConfirm: z
    .string()
    .optional()
    .transform((s) =>
      s
        ? s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : [],
    ),
  /** Rollout phase (see `PhaseGate`): shadow sends nothing; pilot and ramp trade under hard caps. @default 'paper' */
  phase: z.enum(['shadow', 'paper', 'pilot', 'ramp']).default('paper'),
  /** Pilot/ramp caps. */
  caps: z
    .object({
      symbols: z
        .string()
        .optional()
        .transform((s) => (s ? s.split(',').map((x) => x.trim()) : []))
        .pipe(z.array(z.string().regex(/^[0-9A-Z]{6}$/))),
      maxOrderNotional: z.coerce.number().int().positive().optional(),
      maxDailyNotional: z.coerce.number().int().positive().optional(),
      maxDailyLoss: z.coerce.number().int().positive().optional(),
      rampFactor: z.coerce.number().min(1).default(2),
    })
    .prefault({}),
  /** Strategies a person approved for pilot/ramp (comma-separated ids). */
  approvedStrategies: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').map((x) => x.trim()) : [])),
  /**
   * How long after its submit an order may still be unreported by the broker; reconciliation never
   * declares an order missing before (see `@vellab/reconcile`). @default 15000
   */
  reconcileReportingDelayMs: z.coerce.number().int().nonnegative().default(15_000),
  /**
   * Mean time between reconciliation passes while trading (besides the passes at start, after
   * every stream gap and at the close): how long drift nobody reported can go unseen. @default 60000
   */
  reconcileIntervalMs: z.coerce.number().int().min(1_000).default(60_000),
  /**
   * The appkey lease (`@vellab/lease`): a leader silent this long (database clock) is taken over
   * by a standby; the leader itself stops sending after half of it without a heartbeat. @default 5000
   */
  leaseTtlMs: z.coerce.number().int().min(500).default(5_000),
  /**
   * How long the execution-notice subscription may take to come up before the session refuses to
   * trade blind. It must outlast the adapter's wait after an OPSP8996 (`slotHoldMs`, 20 s, plus
   * jitter): a standby taking over from a killed leader meets the dead session's slot at once, and
   * a shorter timeout made it give the lease up mid-wait, round after round (found by the chaos
   * soak). After a takeover from a frozen leader, KIS keeps the old WebSocket session until it
   * reaps it for not answering PINGPONG, reported at about 100 s: raise this further for a standby
   * there. @default 60000
   */
  noticesTimeoutMs: z.coerce.number().int().positive().default(60_000),
  /**
   * Sharding (`paper` mode): the account profiles this runner may lead, in order of preference. It
   * takes the lease of the first one no other runner leads and trades that account alone; N runners
   * given the same M profiles cover them with one leader each and N − M standbys for whichever
   * falls free. Profile `P` takes its credentials from `KIS_P_APP_KEY` (or `KIS_P_APP_KEY_FILE`),
   * `KIS_P_APP_SECRET` (or `_FILE`), `KIS_P_ACCOUNT` and `KIS_P_HTS_ID`, and may override any other
   * `KIS_*` variable the same way (`KIS_P_REST_URL`, …); see {@link profileEnv}. Empty: the one
   * account of the plain `KIS_*` variables.
   */
  accounts: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').map((x) => x.trim().toUpperCase()) : []))
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^[A-Z][A-Z0-9]*$/, 'a profile name is letters and digits, starting with a letter'),
        )
        .refine((a) => new Set(a).size === a.length, 'profiles must not repeat')
        .refine(
          (a) => !a.some((p) => RESERVED_PROFILES.includes(p)),
          `a profile may not be named ${RESERVED_PROFILES.join(', ')}: it would read another KIS_ variable`,
        ),
    ),
  /**
   * The appkey's service period and inactivity deactivation (a monthly check, warned 30 days
   * ahead; see `./liveness`): `kisServiceStartedOn` from `VELLAB_APPKEY_SERVICE_STARTED_ON`.
   */
  ...AppkeyLivenessConfigShape,
  /** Port of the operator HTTP server (health, metrics, dashboard, kill switches) on 127.0.0.1; 0 picks a free one. @default 0 */
  httpPort: z.coerce.number().int().min(0).max(65_535).default(0),
})
export type RunnerConfig = z.output<typeof RunnerConfigSchema>

/** The database URL parsed, or undefined when there is none (or it does not parse). */
function databaseUrlOf(config: RunnerConfig): URL | undefined {
  if (!config.databaseUrl) return undefined
  try {
    return new URL(config.databaseUrl)
  } catch {
    return undefined
  }
}

/** The database URL's password (a secret the logs must scrub), if it has one. */
export function databasePassword(config: RunnerConfig): string | undefined {
  const u = databaseUrlOf(config)
  return u?.password ? decodeURIComponent(u.password) : undefined
}

/** The configuration as it may be printed: a database URL's password replaced by `***`. */
export function printableConfig(config: RunnerConfig): Record<string, unknown> {
  if (!config.databaseUrl) return { ...config }
  const u = databaseUrlOf(config)
  if (u?.password) u.password = '***'
  return { ...config, databaseUrl: u ? u.toString() : '[unparseable URL]' }
}

/** Keys a configuration file may not hold: secrets come from the environment or secret files. */
const SECRET_KEY = /secret|token|password|passwd|appkey|app_key|credential/i

/**
 * Read a configuration file (JSON, the keys of {@link RunnerConfigSchema}; lists may be arrays).
 * Refuses anything that looks like a secret (a key named like one, or a database URL with a
 * password) with a message naming it: secrets stay in the environment or secret files.
 */
export function readRunnerConfigFile(
  path: string,
  readFile: (path: string) => string,
): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFile(path))
  } catch (cause) {
    throw new Error(`invalid runner configuration file ${path}: ${(cause as Error).message}`, { cause })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`invalid runner configuration file ${path}: expected a JSON object`)
  }
  const visit = (value: unknown, at: string) => {
    if (typeof value !== 'object' || value === null) return
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k)) {
        throw new Error(
          `runner configuration file ${path}: ${at}${k} looks like a secret; secrets come from the environment or a secret file, never the configuration file`,
        )
      }
      visit(v, `${at}${k}.`)
    }
  }
  visit(parsed, '')
  const db = (parsed as { databaseUrl?: unknown }).databaseUrl
  if (typeof db === 'string' && URL.canParse(db) && new URL(db).password) {
    throw new Error(
      `runner configuration file ${path}: databaseUrl carries a password; give the URL in DATABASE_URL (or use a .pgpass file) instead`,
    )
  }
  const list = (v: unknown) => (Array.isArray(v) ? v.join(',') : v)
  const out: Record<string, unknown> = { ...(parsed as Record<string, unknown>) }
  for (const k of ['symbols', 'approvedStrategies', 'accounts']) if (k in out) out[k] = list(out[k])
  if (typeof out.caps === 'object' && out.caps !== null) {
    const caps = { ...(out.caps as Record<string, unknown>) }
    if ('symbols' in caps) caps.symbols = list(caps.symbols)
    out.caps = caps
  }
  return out
}

/**
 * Read the configuration: the file named by `VELLAB_CONFIG` (JSON, see
 * {@link readRunnerConfigFile}) if any, overridden by the environment (`VELLAB_*`, `DATABASE_URL`).
 */
export function loadRunnerConfig(
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): RunnerConfig {
  const file = env.VELLAB_CONFIG ? readRunnerConfigFile(env.VELLAB_CONFIG, readFile) : {}
  const fromEnv = {
    mode: env.VELLAB_MODE,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.VELLAB_DATA_DIR,
    migrateMaxRewriteRows: env.VELLAB_MIGRATE_MAX_REWRITE_ROWS,
    runSeconds: env.VELLAB_RUN_SECONDS,
    symbols: env.VELLAB_SYMBOLS,
    orderQuantity: env.VELLAB_ORDER_QUANTITY,
    maxOrdersPerMinute: env.VELLAB_MAX_ORDERS_PER_MINUTE,
    quoteRefreshMs: env.VELLAB_QUOTE_REFRESH_MS,
    quoteSource: env.VELLAB_QUOTE_SOURCE,
    quoteStateRefreshMs: env.VELLAB_QUOTE_STATE_REFRESH_MS,
    positionsRefreshMs: env.VELLAB_POSITIONS_REFRESH_MS,
    decisionIntervalMs: env.VELLAB_DECISION_INTERVAL_MS,
    simStart: env.VELLAB_SIM_START,
    simEnvironment: env.VELLAB_SIM_ENV,
    rehearsalSimUrl: env.VELLAB_REHEARSAL_SIM || undefined,
    httpPort: env.VELLAB_HTTP_PORT,
    leaseTtlMs: env.VELLAB_LEASE_TTL_MS,
    noticesTimeoutMs: env.VELLAB_NOTICES_TIMEOUT_MS,
    reconcileReportingDelayMs: env.VELLAB_RECONCILE_REPORTING_DELAY_MS,
    reconcileIntervalMs: env.VELLAB_RECONCILE_INTERVAL_MS,
    phase: env.VELLAB_PHASE,
    caps: {
      symbols: env.VELLAB_PILOT_SYMBOLS,
      maxOrderNotional: env.VELLAB_MAX_ORDER_NOTIONAL,
      maxDailyNotional: env.VELLAB_MAX_DAILY_NOTIONAL,
      maxDailyLoss: env.VELLAB_MAX_DAILY_LOSS,
      rampFactor: env.VELLAB_RAMP_FACTOR,
    },
    approvedStrategies: env.VELLAB_APPROVED_STRATEGIES,
    accounts: env.VELLAB_ACCOUNTS,
    strategy: env.VELLAB_STRATEGY,
    realConfirm: env.VELLAB_REAL_CONFIRM,
    kisServiceStartedOn: env.VELLAB_APPKEY_SERVICE_STARTED_ON,
    kisServicePeriodDays: env.VELLAB_APPKEY_SERVICE_PERIOD_DAYS,
    kisInactivityDays: env.VELLAB_APPKEY_INACTIVITY_DAYS,
    kisLivenessWarnDays: env.VELLAB_APPKEY_WARN_DAYS,
    strategyParams: env.VELLAB_STRATEGY_PARAMS,
  }
  // The environment wins over the file, key by key (empty values count as unset).
  const merge = (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...base }
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined || v === '') continue
      out[k] =
        typeof v === 'object' && v !== null && typeof base[k] === 'object' && base[k] !== null
          ? merge(base[k] as Record<string, unknown>, v as Record<string, unknown>)
          : v
    }
    return out
  }
  const r = RunnerConfigSchema.strict().safeParse(merge(file, fromEnv))
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new Error(`invalid runner configuration:\n${lines.join('\n')}`)
  }
  return r.data
}

/**
 * Why `real` mode may not start with this configuration, or undefined when it may. Real money
 * trades only under a phase with hard caps: `shadow` (sends nothing), or `pilot`/`ramp` with a
 * symbol allowlist and every notional and loss cap set; and only with `realConfirm` naming the
 * accounts. Checked before anything starts (the accounts themselves once they are known).
 */
export function realModeRefusal(config: RunnerConfig): string | undefined {
  if (config.mode !== 'real') return undefined
  if (config.phase === 'paper') {
    return 'mode real with phase paper: phase paper trades paper accounts; use phase shadow (sends nothing) or pilot/ramp with caps'
  }
  if (config.phase === 'pilot' || config.phase === 'ramp') {
    const missing = [
      ...(config.caps.symbols.length ? [] : ['VELLAB_PILOT_SYMBOLS']),
      ...(config.caps.maxOrderNotional ? [] : ['VELLAB_MAX_ORDER_NOTIONAL']),
      ...(config.caps.maxDailyNotional ? [] : ['VELLAB_MAX_DAILY_NOTIONAL']),
      ...(config.caps.maxDailyLoss ? [] : ['VELLAB_MAX_DAILY_LOSS']),
    ]
    if (missing.length) return `mode real needs every cap of phase ${config.phase}; set ${missing.join(', ')}`
  }
  if (config.realConfirm.length === 0) {
    return 'mode real trades real money: set VELLAB_REAL_CONFIRM to the account number(s) to trade (e.g. 50123456-01) to confirm'
  }
  return undefined
}

/** The variables that name an account and its credentials: a profile never inherits these. */
const ACCOUNT_VARIABLES = ['APP_KEY', 'APP_KEY_FILE', 'APP_SECRET', 'APP_SECRET_FILE', 'ACCOUNT', 'HTS_ID']

/**
 * The environment one account profile sees (see `accounts`): every `KIS_<PROFILE>_X` becomes
 * `KIS_X`. The account and its credentials come from the profile alone (the plain ones are dropped,
 * so a profile that forgot its appkey fails as missing instead of trading another account); other
 * `KIS_*` settings (URLs, limits, capabilities) are shared unless the profile overrides them.
 */
export function profileEnv(env: NodeJS.ProcessEnv, profile: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env }
  for (const v of ACCOUNT_VARIABLES) delete out[`KIS_${v}`]
  const prefix = `KIS_${profile}_`
  for (const [k, v] of Object.entries(env)) if (k.startsWith(prefix)) out[`KIS_${k.slice(prefix.length)}`] = v
  return out
}

/**
 * The operator token that guards the kill-switch endpoints: `VELLAB_OPERATOR_TOKEN`, or the file
 * named by `VELLAB_OPERATOR_TOKEN_FILE` (trimmed). A secret: kept out of the configuration object,
 * which is printed.
 */
export function loadOperatorToken(
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string | undefined {
  const file = env.VELLAB_OPERATOR_TOKEN_FILE
  const token = file ? readFile(file).trim() : env.VELLAB_OPERATOR_TOKEN
  if (token !== undefined && token.length < 16)
    throw new Error('the operator token must have at least 16 characters')
  return token || undefined
}
