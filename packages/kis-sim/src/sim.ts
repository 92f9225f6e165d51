import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { AuthRegistry, generateCredentials, type SimApp, type TokenPolicy } from './auth'
import { createSessionCalendar, type SessionCalendarOptions } from './calendar'
import { createSimClock, type HostTimers, realHostTimers, type SimClock, type SimClockOptions } from './clock'
import { createControl, createControlHttp, type SimControl } from './control'
import {
  DOCUMENTED_PAPER_PROFILE,
  type PaperProfile,
  type PerEnv,
  REPORTED_PAPER_PROFILE,
  type ResolvedPaperProfile,
  type SimCore,
  type SimEvent,
} from './core'
import { type AccountConfig, Exchange, type ExchangeOptions, type SimEnv } from './exchange'
import { FaultPlan, type FaultRule } from './faults'
import { kstDate } from './kst'
import { Ledger } from './ledger'
import type { SymbolConfig } from './market'
import { DEFAULT_MESSAGES, type MessageKey, type MessageTable, type SimMessage } from './messages'
import { createRandom, hashString } from './random'
import { SlidingWindowLimiter } from './rate-window'
import { RestFrontend } from './rest'
import { WsHub, type WsOptions } from './ws'

/** An app (appkey) to register. Missing credentials are generated from the seed. */
export interface AppConfig {
  env: SimEnv
  /** 36 chars. @default generated (`PS…`) */
  appkey?: string
  /** 180 chars. @default generated */
  appsecret?: string
  /** HTS ID for execution notices. @default `SIMUSER<n>` */
  htsId?: string
  /** KRX_FWDG_ORD_ORGNO. Paper is always `00950` (reference §9). @default '06010' real */
  branch?: string
  /** @default one account with 100,000,000 KRW */
  accounts?: readonly AccountConfig[]
}

/** Options of {@link createKisSim}. Every field is optional. */
export interface KisSimOptions {
  /** Interface to bind. Loopback only by default. @default '127.0.0.1' */
  host?: string
  /** @default 0 (ephemeral) */
  restPort?: number
  /** @default 0 (ephemeral) */
  wsPort?: number
  /** Seed of every random choice (price paths, keys, latency draws). @default 1 */
  seed?: number
  /** The virtual clock, or options for one. @default real speed from host now */
  clock?: SimClock | SimClockOptions
  /** Host time and timers (for the real/accelerated clock, host-timebase limits and latency). @default real */
  hostTimers?: HostTimers
  /** @default one `real` and one `paper` app (see README) */
  apps?: readonly AppConfig[]
  /** @default {@link DEFAULT_SYMBOLS} */
  symbols?: readonly SymbolConfig[]
  limits?: {
    /**
     * `2026-04-20` (reference §8: real 18/s, paper 1/s) or `legacy` (20/s, 2/s).
     * @default '2026-04-20'
     */
    preset?: '2026-04-20' | 'legacy'
    /** Overrides the preset per environment. */
    restPerSecond?: Partial<PerEnv<number>>
    /** reference §8: approval key 1/s. @default 1 */
    approvalPerSecond?: number
    /**
     * Which clock the per-second windows, dead-session holds and reconnect counting use.
     * @default 'sim' for a manual clock, else 'host'
     */
    timebase?: 'sim' | 'host'
  }
  /** Token rules (reference §2.1). */
  token?: Partial<TokenPolicy>
  /** Matching/market options. */
  market?: ExchangeOptions
  /** Holidays and per-date session overrides. */
  calendar?: SessionCalendarOptions
  ws?: WsOptions
  /** HTTP status codes. reference §3.4: gateway 500, tokenP/Approval 403, business 200 (UNVERIFIED). */
  status?: Partial<{ gateway: number; business: number; auth: number }>
  pageSizes?: Partial<{
    /** reference §3.3: 50 real / 20 paper */
    balance: Partial<PerEnv<number>>
    /** reference §3.3: 100 real / 15 paper */
    dailyCcld: Partial<PerEnv<number>>
    /** reference §3.3: 50 */
    psblRvsecncl: number
    /** chk-holiday rows per call (UNVERIFIED). @default 20 */
    holidays: number
  }>
  /** Check the `hashkey` header when present (sha256 hex of the body). @default false */
  validateHashkey?: boolean
  /**
   * The paper environment's behaviour where a paper account was seen to differ from the
   * documentation (reference §7.10). `'reported'` (the default) is every behaviour as reported;
   * `'documented'` is paper as the documentation describes it; an object overrides single options
   * on top of `'reported'`.
   * @default 'reported'
   */
  paper?: 'reported' | 'documented' | PaperProfile
  /** Override message texts/codes. */
  messages?: Partial<Record<MessageKey, SimMessage>>
  /** Fault rules active from the start. */
  faults?: readonly FaultRule[]
  /** Host-ms interval of the market pump for real/accelerated clocks. @default 50 */
  pumpIntervalMs?: number
  /** Observability hook; events never carry secrets. */
  onEvent?: (event: SimEvent) => void
}

/** Credentials and accounts of a registered app (what a test needs to log in). */
export interface SimAppInfo {
  appkey: string
  appsecret: string
  env: SimEnv
  htsId: string
  branch: string
  accounts: { cano: string; productCode: string }[]
}

/** A running simulator. */
export interface KisSim {
  /** e.g. `http://127.0.0.1:41234` */
  readonly restUrl: string
  /** e.g. `ws://127.0.0.1:41235` (any path is accepted, e.g. `/tryitout`). */
  readonly wsUrl: string
  readonly apps: readonly SimAppInfo[]
  readonly control: SimControl
  /** Registers another app at runtime. */
  addApp(config: AppConfig): SimAppInfo
  /**
   * A clock for a client under test that must agree with the simulator on "now" — and so on
   * today's KST date and on token expiries: the simulator's virtual time, with host timers scaled
   * by the clock's speed (as is for `real`, `ms / speed` for `accelerated`). Structurally a
   * `Clock` of `@vellab/broker-gateway`. A `manual` clock has no host-time speed: drive such a
   * client with its own manual clock instead.
   */
  clientClock(): SimClientClock
  /** Stops both servers and all timers. */
  close(): Promise<void>
}

/** See {@link KisSim.clientClock}. */
export interface SimClientClock {
  now(): number
  setTimeout(fn: () => void, ms: number): object
  clearTimeout(handle: object): void
}

/**
 * The symbols listed by default (the CLI's universe too). Prices are on the KRX grid; `kospi200`
 * marks the 3 % dynamic VI; `nxt` marks the large caps Nextrade lists (reference/krx-market-rules.md
 * §2.2: mostly KOSPI200 / KOSDAQ150 names). The ETF and the small cap are KRX-only, so both cases
 * are there to try.
 */
export const DEFAULT_SYMBOLS: readonly SymbolConfig[] = [
  { code: '005930', name: '삼성전자', basePrice: 70_000, kospi200: true, nxt: true },
  { code: '000660', name: 'SK하이닉스', basePrice: 180_000, kospi200: true, nxt: true },
  { code: '035720', name: '카카오', basePrice: 45_000, kospi200: true, nxt: true },
  { code: '005380', name: '현대차', basePrice: 250_000, kospi200: true, nxt: true },
  { code: '373220', name: 'LG에너지솔루션', basePrice: 400_000, kospi200: true, nxt: true },
  { code: '247540', name: '에코프로비엠', basePrice: 150_000, market: 'KOSDAQ', nxt: true },
  { code: '069500', name: 'KODEX 200', basePrice: 35_000, kind: 'etf', kospi200: true },
  { code: '003490', name: '대한항공', basePrice: 19_990, kospi200: true, nxt: true },
  { code: '000020', name: '동화약품', basePrice: 1_999 },
]

const listen = (server: Server, host: string, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })

/**
 * Starts a KIS Open API simulator: a REST server (plus `/__sim/*` control routes) and a WebSocket
 * server on loopback.
 *
 * @example
 * ```ts
 * const sim = await createKisSim({ clock: { mode: 'manual', start: '2026-11-24 09:30:00' } })
 * const app = sim.apps[0]!
 * const r = await fetch(`${sim.restUrl}/oauth2/tokenP`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ grant_type: 'client_credentials', appkey: app.appkey, appsecret: app.appsecret }),
 * })
 * const { access_token } = await r.json()
 * await sim.close()
 * ```
 */
export async function createKisSim(options: KisSimOptions = {}): Promise<KisSim> {
  const host = options.host ?? '127.0.0.1'
  const seed = options.seed ?? 1
  const hostTimers = options.hostTimers ?? realHostTimers
  const clock =
    options.clock && 'now' in options.clock
      ? options.clock
      : createSimClock({ host: hostTimers, ...(options.clock as SimClockOptions | undefined) })
  const rng = createRandom(hashString('kis-sim', seed))
  const calendar = createSessionCalendar(options.calendar)
  const exchange = new Exchange(clock, calendar, seed, options.market)
  const preset = options.limits?.preset ?? '2026-04-20'
  const messages = { ...DEFAULT_MESSAGES, ...options.messages } as MessageTable
  const timebase = options.limits?.timebase ?? (clock.mode === 'manual' ? 'sim' : 'host')
  const core: SimCore = {
    clock,
    host: hostTimers,
    exchange,
    auth: new AuthRegistry(
      rng,
      {
        ttlMs: options.token?.ttlMs ?? 86_400_000,
        reuseWindowMs: options.token?.reuseWindowMs ?? 6 * 3_600_000,
        minIssueIntervalMs: options.token?.minIssueIntervalMs ?? 60_000,
        approvalTtlMs: options.token?.approvalTtlMs ?? 86_400_000,
      },
      `kis-sim-${seed}`,
    ),
    ledger: new Ledger({ dayOf: (at) => kstDate(at) }),
    faults: new FaultPlan(rng),
    rng,
    limiter: new SlidingWindowLimiter(1000),
    limits: {
      // reference §8 / NOTICE-LIMITS 2026-04-20: real 18/s, paper 1/s (previously 20/2).
      restPerSecond: {
        real: options.limits?.restPerSecond?.real ?? (preset === 'legacy' ? 20 : 18),
        paper: options.limits?.restPerSecond?.paper ?? (preset === 'legacy' ? 2 : 1),
      },
      approvalPerSecond: options.limits?.approvalPerSecond ?? 1,
      timebase,
    },
    messages,
    status: { gateway: 500, business: 200, auth: 403, ...options.status },
    pageSizes: {
      balance: { real: 50, paper: 20, ...options.pageSizes?.balance },
      dailyCcld: { real: 100, paper: 15, ...options.pageSizes?.dailyCcld },
      psblRvsecncl: options.pageSizes?.psblRvsecncl ?? 50,
      holidays: options.pageSizes?.holidays ?? 20,
    },
    validateHashkey: options.validateHashkey ?? false,
    paper: resolvePaperProfile(options.paper),
    limitNow: () => (core.limits.timebase === 'sim' ? clock.now() : hostTimers.now()),
    msg(key, env) {
      const m = messages[key]
      return {
        msgCd: env === 'paper' ? (m.paperMsgCd ?? m.msgCd) : m.msgCd,
        msg1: env === 'paper' ? m.paper : m.real,
      }
    },
    log: options.onEvent ?? (() => {}),
  }

  for (const s of options.symbols ?? DEFAULT_SYMBOLS) exchange.addSymbol(s)
  const appInfos: SimAppInfo[] = []
  const credRng = createRandom(hashString('kis-sim-credentials', seed))
  let appCount = 0
  let accountCount = 0
  const addApp = (config: AppConfig): SimAppInfo => {
    appCount++
    const gen = generateCredentials(credRng)
    const env = config.env
    const app: SimApp = {
      appkey: config.appkey ?? gen.appkey,
      appsecret: config.appsecret ?? gen.appsecret,
      env,
      htsId: config.htsId ?? `SIMUSER${appCount}`,
      // reference §9: paper branch is always 00950.
      branch: env === 'paper' ? '00950' : (config.branch ?? '06010'),
      accounts: [],
    }
    core.auth.addApp(app)
    const accounts = config.accounts ?? [{ cano: String(50_000_000 + ++accountCount + appCount * 100) }]
    const info: SimAppInfo = { ...app, accounts: [] }
    for (const a of accounts) {
      const acct = exchange.addAccount(a, app)
      app.accounts.push(acct.cano)
      info.accounts.push({ cano: acct.cano, productCode: acct.productCode })
    }
    appInfos.push(info)
    return info
  }
  for (const a of options.apps ?? [{ env: 'real' }, { env: 'paper' }]) addApp(a)
  for (const f of options.faults ?? []) core.faults.add(f)

  const restServer = createServer()
  const wsHttp = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' })
    res.end('kis-sim: WebSocket only')
  })
  // Control frames are a few hundred bytes; cap inbound frames at 1 MiB (ws closes with 1009).
  const wss = new WebSocketServer({ server: wsHttp, perMessageDeflate: false, maxPayload: 1_048_576 })
  const hub = new WsHub(core, options.ws ?? {})
  wss.on('connection', (socket, req) => hub.attach(socket, req))
  const control = createControl(core, hub, () => hub.flush())
  const controlHttp = createControlHttp(control, () => appInfos)
  const rest = new RestFrontend(core, controlHttp)
  restServer.on('request', (req, res) => rest.handle(req, res))
  restServer.keepAliveTimeout = 5_000

  // In manual mode the market moves when the clock does; otherwise a host-timer pump drives it.
  const offTime = clock.onTime((t) => exchange.syncTo(t))
  let pump: unknown
  let closed = false
  const pumpMs = options.pumpIntervalMs ?? 50
  const tick = (): void => {
    if (closed) return
    if (clock.mode !== 'manual') exchange.syncTo(clock.now())
    pump = hostTimers.setTimeout(tick, pumpMs)
  }
  pump = hostTimers.setTimeout(tick, pumpMs)

  const restPort = await listen(restServer, host, options.restPort ?? 0)
  const wsPort = await listen(wsHttp, host, options.wsPort ?? 0)

  return {
    restUrl: `http://${host}:${restPort}`,
    wsUrl: `ws://${host}:${wsPort}`,
    apps: appInfos,
    control,
    addApp,
    clientClock() {
      if (clock.mode === 'manual') {
        throw new Error(
          'kis-sim: clientClock() needs a real or accelerated clock; drive a manual one yourself',
        )
      }
      // Host timers (the injected ones), wrapped so the handle is an object whatever the host returns.
      return {
        now: () => clock.now(),
        setTimeout: (fn, ms) => ({
          handle: hostTimers.setTimeout(fn, clock.mode === 'accelerated' ? ms / clock.speed : ms),
        }),
        clearTimeout: (h) => hostTimers.clearTimeout((h as { handle: unknown }).handle),
      }
    },
    async close() {
      if (closed) return
      closed = true
      hostTimers.clearTimeout(pump)
      offTime()
      hub.closeAll()
      rest.closeHanging()
      wss.close()
      restServer.closeAllConnections()
      wsHttp.closeAllConnections()
      await Promise.all([
        new Promise<void>((r) => restServer.close(() => r())),
        new Promise<void>((r) => wsHttp.close(() => r())),
      ])
      if (!(options.clock && 'now' in options.clock)) clock.dispose()
    },
  }
}

/** The paper profile an option names (see {@link KisSimOptions.paper}). */
export function resolvePaperProfile(p: KisSimOptions['paper']): ResolvedPaperProfile {
  if (p === undefined || p === 'reported') return REPORTED_PAPER_PROFILE
  if (p === 'documented') return DOCUMENTED_PAPER_PROFILE
  const r: ResolvedPaperProfile = { ...REPORTED_PAPER_PROFILE, ...p }
  const [lo, hi] = r.answerAfterNoticeMs
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && hi >= lo)) {
    throw new RangeError(
      `paper.answerAfterNoticeMs must be [min, max] with 0 <= min <= max, got [${lo}, ${hi}]`,
    )
  }
  if (r.noticeFields !== 23 && r.noticeFields !== 26) {
    throw new RangeError(`paper.noticeFields must be 23 or 26, got ${r.noticeFields}`)
  }
  return Object.freeze(r)
}
