import { readFileSync } from 'node:fs'
import { type BrokerCapabilities, describeIssues } from '@vellab/broker-gateway'
import { z } from 'zod'
import { KisError } from './errors'

/** Trading environment: the real account (실전) or the paper account (모의, "VTS"). */
export type KisEnvironment = 'real' | 'paper'

// reference/kis-openapi.md §1: default hosts per environment (WebSocket is plain ws://, path /tryitout).
/**
 * What each environment can answer, by default.
 *
 * KIS reports fills per order (cumulative quantity and average price in inquire-daily-ccld,
 * reference §4.4), never per execution, in both environments.
 *
 * Paper: UNVERIFIED, one source (reference §7.10): paper `inquire-daily-ccld` returned no order rows
 * at all (old TR id VTTC8001R; the current VTTC0081R was not tested) and `inquire-psbl-rvsecncl`
 * answered 90000000, so by default the paper environment is taken to list neither orders nor fills,
 * and `getOrders`/`getOpenOrders`/`getFills` refuse with `notSupportedInEnvironment` instead of
 * answering an empty list. If your paper account does list them, set
 * `capabilities: { listOrders: true, listFills: true }`.
 */
export const KIS_DEFAULT_CAPABILITIES: Readonly<Record<KisEnvironment, BrokerCapabilities>> = Object.freeze({
  real: Object.freeze({
    listOrders: true,
    listFills: true,
    perExecutionFills: false,
    positions: true,
    cash: true,
  }),
  paper: Object.freeze({
    listOrders: false,
    listFills: false,
    perExecutionFills: false,
    positions: true,
    cash: true,
  }),
})

/** Official endpoints per environment. */
export const KIS_DEFAULT_URLS: Readonly<Record<KisEnvironment, { rest: string; ws: string }>> = {
  real: {
    rest: 'https://openapi.koreainvestment.com:9443',
    ws: 'ws://ops.koreainvestment.com:21000/tryitout',
  },
  paper: {
    rest: 'https://openapivts.koreainvestment.com:29443',
    ws: 'ws://ops.koreainvestment.com:31000/tryitout',
  },
}

// reference/kis-openapi.md §8 (NOTICE-LIMITS, 2026-04-20): REST 18/s real, 1/s paper per appkey.
/** Documented REST request limits per second, per app key. */
export const KIS_DEFAULT_REST_LIMIT: Readonly<Record<KisEnvironment, number>> = { real: 18, paper: 1 }

// reference/kis-openapi.md §8: 41 registrations per session, summed over all TRs.
/** The broker's WebSocket registration cap per session. */
export const KIS_MAX_SUBSCRIPTIONS = 41

const secret = (what: string) =>
  z.string({ error: `${what} is required` }).min(6, { error: `${what} is too short` })

/** Overrides of `BrokerCapabilities`, any subset. */
const CapabilitiesSchema = z
  .object({
    listOrders: z.boolean(),
    listFills: z.boolean(),
    perExecutionFills: z.boolean(),
    positions: z.boolean(),
    cash: z.boolean(),
  })
  .partial()
const CAPABILITY_NAMES = Object.keys(CapabilitiesSchema.shape)

const LimitsSchema = z.object({
  /** REST requests per second per app key. @default 18 (real) / 1 (paper) */
  restPerSecond: z.number().positive().optional(),
  /**
   * Extra milliseconds added to the one-second window on top of the limiter's latency-jitter
   * compensation (which already bounds arrival times; see `SlidingWindowLimiter`): covers clock
   * granularity at the broker. @default 5
   */
  safetyMarginMs: z.number().int().nonnegative().default(5),
  /**
   * Treat the REST window before this gateway existed as spent: the first request waits one
   * window. A process restarted within a second of its predecessor's last request cannot know what
   * that one sent, and the broker counts both against the same appkey (EGW00201). Worth one second
   * per start for a long-running process; off by default for short-lived tools and tests.
   * @default false
   */
  holdFirstWindow: z.boolean().default(false),
  /** Access-token issuance requests per second (reference §8 "1 req/s"). @default 1 */
  tokenPerSecond: z.number().positive().default(1),
  /**
   * Minimum time between two token issuances (reference §2.1: EGW00133 "1분당 1회"). @default 60000
   */
  tokenMinIntervalMs: z.number().int().nonnegative().default(60_000),
  /** Approval-key issuance requests per second (reference §2.3). @default 1 */
  approvalPerSecond: z.number().positive().default(1),
  /**
   * Largest REST response body read, in bytes. A longer one is abandoned as soon as it is seen
   * (`Content-Length` or while streaming, never buffered whole): a query fails with `protocol`,
   * an order with `unknown_outcome` (it may have been placed). A full page of KIS's largest
   * inquiry is tens of kilobytes. @default 4194304 (4 MiB)
   */
  maxResponseBytes: z
    .number()
    .int()
    .min(1_024)
    .default(4 * 1_024 * 1_024),
  /** WebSocket registrations allowed in the session, at most 41. @default 41 */
  subscriptionBudget: z.number().int().min(1).max(KIS_MAX_SUBSCRIPTIONS).default(KIS_MAX_SUBSCRIPTIONS),
})

const TimeoutsSchema = z.object({
  /** Per-attempt timeout of a query. @default 5000 */
  queryMs: z.number().int().positive().default(5_000),
  /** Timeout of an order, cancel or replace request (never retried). @default 5000 */
  orderMs: z.number().int().positive().default(5_000),
  /** Timeout of token and approval-key requests. @default 10000 */
  authMs: z.number().int().positive().default(10_000),
})

const RetrySchema = z.object({
  /** Retries of an idempotent query after a transient failure or EGW00201. @default 3 */
  maxQueryRetries: z.number().int().nonnegative().default(3),
  /** Base of the exponential backoff (full jitter). @default 200 */
  baseDelayMs: z.number().int().positive().default(200),
  /** Cap of one backoff delay. @default 5000 */
  maxDelayMs: z.number().int().positive().default(5_000),
})

const WebSocketSchema = z.object({
  /** First reconnect delay cap (full jitter below it). @default 1000 */
  reconnectBaseMs: z.number().int().positive().default(1_000),
  /** Largest reconnect delay. @default 60000 */
  reconnectMaxMs: z.number().int().positive().default(60_000),
  /**
   * Minimum delay after OPSP8996 "ALREADY IN USE appkey". Reference §8: ~1 s retries kept the slot
   * locked; an ~18 s back-off recovered. @default 20000
   */
  appKeyInUseBackoffMs: z.number().int().positive().default(20_000),
  /**
   * How long KIS may keep the slot of a session that ended without a close handshake: the first
   * retry after an unclean close waits at least this (plus jitter). reference §8 reports "tens of
   * seconds to hours" and an ~18 s back-off that recovered; UNVERIFIED. @default 20000
   */
  slotHoldMs: z.number().int().nonnegative().default(20_000),
  /**
   * A session must stay up this long to reset the reconnect backoff; sessions that end sooner
   * count as consecutive failures. @default 60000
   */
  stableSessionMs: z.number().int().nonnegative().default(60_000),
  /**
   * Connection attempts per rolling minute the adapter allows itself, kept below KIS's reconnect
   * limit (UNVERIFIED; a 5-per-minute block was assumed as the worst case). A connection that would
   * exceed it waits, reported as a `ws.connect_budget` event. @default 3
   */
  connectsPerMinute: z.number().int().min(1).default(3),
  /**
   * Added to the budget's minute, because KIS counts a session when its first frame arrives, and
   * that delay (approval key, handshake, latency) varies between attempts. @default 5000
   */
  connectBudgetMarginMs: z.number().int().nonnegative().default(5_000),
  /**
   * A silent market-data stream on a live socket is re-subscribed after `streamIdleMs`, then after
   * doubling silences up to this cap; it never causes a reconnect. @default 600000
   */
  streamResubscribeMaxMs: z.number().int().positive().default(600_000),
  /** Connection failures within `circuitWindowMs` that open the circuit. @default 5 */
  circuitFailureThreshold: z.number().int().positive().default(5),
  /** @default 60000 */
  circuitWindowMs: z.number().int().positive().default(60_000),
  /** How long an open circuit waits before one half-open probe. @default 60000 */
  circuitOpenMs: z.number().int().positive().default(60_000),
  /**
   * Socket-level silence (no frame at all, PINGPONG included) after which the socket is closed
   * cleanly (close frame) and reconnected. @default 150000
   */
  socketIdleMs: z.number().int().positive().default(150_000),
  /**
   * Silence of one market-data stream during the regular session after which that stream (only)
   * is re-subscribed. @default 120000
   */
  streamIdleMs: z.number().int().positive().default(120_000),
  /** How often the idle watchdog looks. @default 5000 */
  watchdogIntervalMs: z.number().int().positive().default(5_000),
  /** Time allowed for the socket to open. @default 10000 */
  connectTimeoutMs: z.number().int().positive().default(10_000),
})

/**
 * The adapter's configuration, validated with zod. Secrets (`appKey`, `appSecret`) are never
 * logged or put in errors; see `SecretRegistry`.
 */
export const KisConfigSchema = z.object({
  environment: z.enum(['real', 'paper']),
  appKey: secret('appKey'),
  appSecret: secret('appSecret'),
  /** `CANO-ACNT_PRDT_CD`, e.g. `50123456-01` (reference §4.1: CANO 8 digits, product code 2). */
  account: z
    .string()
    .regex(/^\d{8}-\d{2}$/, { error: 'account must be CANO-ACNT_PRDT_CD, e.g. "50123456-01"' }),
  /** HTS id, the `tr_key` of the execution-notice subscription (reference §7.2). */
  htsId: z.string().min(1).max(16).optional(),
  /** REST base URL. @default the official host of the environment */
  restBaseUrl: z.url().optional(),
  /** WebSocket URL. @default the official host of the environment + `/tryitout` */
  wsUrl: z
    .string()
    .regex(/^wss?:\/\//, { error: 'wsUrl must start with ws:// or wss://' })
    .optional(),
  /** `custtype` header: `P` individual, `B` corporate (reference §3.1). @default "P" */
  custType: z.enum(['P', 'B']).default('P'),
  /** Use the old TR ids (reference §4.0) instead of the current ones. @default false */
  legacyTrIds: z.boolean().default(false),
  /**
   * What the environment can answer (see `BrokerCapabilities` in `@vellab/broker-gateway`);
   * fields given here override the environment's defaults ({@link KIS_DEFAULT_CAPABILITIES}).
   */
  capabilities: CapabilitiesSchema.optional(),
  /**
   * Opt-in local check of limit prices for callers that use the adapter without `@vellab/risk-kr`
   * (which owns the full KRX price rules): `'quote'` reads `getQuote` for the symbol (at most once
   * per `priceCheckQuoteMaxAgeMs`) and refuses, as `invalid_request` with nothing sent, a limit
   * price outside today's upper/lower limit or, within the price band of the last trade, off the
   * quote's tick size. Prices in another band are checked against the limits only. @default 'off'
   */
  priceCheck: z.enum(['off', 'quote']).default('off'),
  /** How long a quote read for `priceCheck` is reused. @default 60000 */
  priceCheckQuoteMaxAgeMs: z.number().int().nonnegative().default(60_000),
  /**
   * Today's unfiltered order listing (inquire-daily-ccld, every side and symbol, newest first) is
   * read incrementally: a listing pages only down to the oldest order that was not settled when
   * last read (settled: nothing remaining, and filled + cancel-confirmed + rejected make up its
   * quantity) and takes the older, settled rows from the last listing, since such a row does not
   * change any more (KIS reference §4.4 does not say so: UNVERIFIED; kis-sim's rows behave so).
   * The whole day is read again once the last whole read is this old; `0` reads the whole day
   * every time. On paper (15 rows a page) a busy day's reconciliation otherwise costs a request
   * per 15 orders of the day at every pass. @default 300000
   */
  listingFullRefreshMs: z.number().int().nonnegative().default(300_000),
  limits: LimitsSchema.prefault({}),
  timeouts: TimeoutsSchema.prefault({}),
  retry: RetrySchema.prefault({}),
  websocket: WebSocketSchema.prefault({}),
})

/** The configuration as the caller writes it (defaults optional). */
export type KisConfigInput = z.input<typeof KisConfigSchema>
/** The validated configuration with defaults applied and URLs and limits resolved. */
export type KisConfig = Omit<z.output<typeof KisConfigSchema>, 'capabilities'> & {
  capabilities: BrokerCapabilities
  restBaseUrl: string
  wsUrl: string
  limits: { restPerSecond: number }
  cano: string
  productCode: string
}

/** Validate a configuration, apply defaults and resolve environment-dependent values. */
export function parseKisConfig(input: unknown): KisConfig {
  const r = KisConfigSchema.safeParse(input)
  if (!r.success) {
    // The zod messages never echo input values, so no secret can leak from here.
    throw new KisError('KIS_CONFIG_INVALID', describeIssues(r.error))
  }
  const { appKey, appSecret, ...c } = r.data
  const [cano, productCode] = c.account.split('-') as [string, string]
  const config = {
    ...c,
    restBaseUrl: (c.restBaseUrl ?? KIS_DEFAULT_URLS[c.environment].rest).replace(/\/+$/, ''),
    wsUrl: c.wsUrl ?? KIS_DEFAULT_URLS[c.environment].ws,
    limits: { ...c.limits, restPerSecond: c.limits.restPerSecond ?? KIS_DEFAULT_REST_LIMIT[c.environment] },
    capabilities: Object.freeze({ ...KIS_DEFAULT_CAPABILITIES[c.environment], ...c.capabilities }),
    cano,
    productCode,
  } as KisConfig
  return hideSecrets(config, appKey, appSecret)
}

/**
 * Attach the secrets so the adapter can read them (`config.appKey`) but nothing prints them: they
 * are non-enumerable (skipped by `JSON.stringify`, spreads, `Object.entries` and `structuredClone`),
 * and `util.inspect` (even with `showHidden`) and `toJSON` print the redacted description instead.
 */
function hideSecrets(config: KisConfig, appKey: string, appSecret: string): KisConfig {
  const printable = () => describeKisConfig(config)
  return Object.defineProperties(config, {
    appKey: { value: appKey, enumerable: false },
    appSecret: { value: appSecret, enumerable: false },
    toJSON: { value: printable, enumerable: false },
    [Symbol.for('nodejs.util.inspect.custom')]: { value: printable, enumerable: false },
  })
}

/** Options of {@link loadKisConfigFromEnv}. */
export interface LoadKisConfigOptions {
  /** Variables to read. @default process.env */
  env?: Record<string, string | undefined>
  /** Reads a secret file. @default fs.readFileSync(path, 'utf8') */
  readFile?: (path: string) => string
  /** Values that override the environment (URLs, capabilities…; `limits` merge key by key). */
  overrides?: Partial<KisConfigInput>
}

/**
 * Build a configuration from environment variables: `KIS_ENV` (`real`|`paper`), `KIS_APP_KEY` or
 * `KIS_APP_KEY_FILE`, `KIS_APP_SECRET` or `KIS_APP_SECRET_FILE`, `KIS_ACCOUNT` (`CANO-PRDT`),
 * `KIS_HTS_ID`, `KIS_REST_URL`, `KIS_WS_URL`, `KIS_CAPABILITIES` (e.g. `listOrders=true,listFills=true`),
 * `KIS_REST_PER_SECOND` (the app key's REST limit, when KIS granted another than the published one).
 * Secret files are trimmed.
 */
export function loadKisConfigFromEnv(options: LoadKisConfigOptions = {}): KisConfig {
  const env = options.env ?? process.env
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  const fromFile = (name: string): string | undefined => {
    const path = env[`${name}_FILE`]
    if (!path) return env[name]
    try {
      return readFile(path).trim()
    } catch (cause) {
      throw new KisError('KIS_SECRET_UNAVAILABLE', `cannot read ${name}_FILE (${path})`, { cause })
    }
  }
  const input: Record<string, unknown> = {
    environment: env.KIS_ENV,
    appKey: fromFile('KIS_APP_KEY'),
    appSecret: fromFile('KIS_APP_SECRET'),
    account: env.KIS_ACCOUNT,
    ...(env.KIS_HTS_ID ? { htsId: env.KIS_HTS_ID } : {}),
    ...(env.KIS_REST_URL ? { restBaseUrl: env.KIS_REST_URL } : {}),
    ...(env.KIS_WS_URL ? { wsUrl: env.KIS_WS_URL } : {}),
    ...(env.KIS_CAPABILITIES ? { capabilities: parseCapabilities(env.KIS_CAPABILITIES) } : {}),
    ...options.overrides,
  }
  // Limits merge key by key: an override of one limit keeps the environment's others.
  const limits = {
    ...(env.KIS_REST_PER_SECOND ? { restPerSecond: Number(env.KIS_REST_PER_SECOND) } : {}),
    ...options.overrides?.limits,
  }
  if (Object.keys(limits).length > 0) input.limits = limits
  return parseKisConfig(input)
}

/**
 * `KIS_CAPABILITIES`: `name=true|false` pairs, comma-separated, over the environment's defaults —
 * e.g. `listOrders=true,listFills=true` for a paper account that does list its orders.
 */
function parseCapabilities(text: string): Record<string, boolean> {
  const out: Record<string, boolean> = {}
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, value] = part.split('=').map((x) => x.trim())
    if (name === undefined || !CAPABILITY_NAMES.includes(name) || (value !== 'true' && value !== 'false')) {
      throw new KisError(
        'KIS_CONFIG_INVALID',
        `KIS_CAPABILITIES: "${part}" is not name=true|false with name one of ${CAPABILITY_NAMES.join(', ')}`,
      )
    }
    out[name] = value === 'true'
  }
  return out
}

/** A copy of the configuration safe to log or snapshot: secrets replaced by `[REDACTED]`. */
export function describeKisConfig(config: KisConfig): Record<string, unknown> {
  // A spread copies enumerable properties only, so the secrets and the printing hooks stay behind.
  return { ...config, appKey: '[REDACTED]', appSecret: '[REDACTED]' }
}
