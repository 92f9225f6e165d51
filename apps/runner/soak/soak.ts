// The chaos soak (issue #16): the real runner processes — a leader and a standby, separate OS
// processes under a small supervisor that restarts whatever exits — trade against a separately
// started kis-sim with its fault plan on, on a real PostgreSQL that is restarted mid-run. At the end
// the simulator's ledger and books are held against our tables. Exit 0 only when every assertion
// holds; a machine-readable report is written either way.
//
//   pnpm soak              the full soak (50 minutes, a fault cycle every 12)
//   pnpm soak --ci         the short variant CI runs (every fault kind at least once)
//   pnpm soak --seed 7 --minutes 10 --report soak.json
//
// Everything random (fault draws in the simulator, price nudges, the schedule's jitter) derives from
// the seed: a failing seed reproduces the same schedule (process timing still varies).

import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { type EmbeddedCluster, freePort, startEmbeddedPostgres } from '../src/embedded-postgres'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const RUNNER_CLI = join(root, 'apps/runner/dist/cli.js')
const SIM_CLI = join(root, 'packages/kis-sim/dist/cli.js')

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    ci: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string' },
    report: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'dead-session-hold-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (args.help) {
  process.stdout.write(`pnpm soak [--ci] [--seed N] [--minutes M] [--report FILE] [--verbose]

  --ci         the short variant (about 3 minutes; every fault kind at least once)
  --seed N     seed of the fault draws and the schedule (default 1)
  --minutes M  trading time (default 50, or 2.5 with --ci)
  --report F   where the JSON report goes (default soak-report.json in the working directory)
  --verbose    echo every process's output
  --dead-session-hold-ms N  the simulator's slot hold after an unclean WebSocket end (default 3000,
               0 with --ci)
  DATABASE_URL a PostgreSQL server instead of the embedded one (the restart fault then closes the
               database to connections and ends every session instead of restarting the server)
`)
  process.exit(0)
}
const seed = Number(args.seed)
if (!Number.isSafeInteger(seed) || seed < 0) die(`--seed must be a whole number, got "${args.seed}"`)
const minutes = args.minutes !== undefined ? Number(args.minutes) : args.ci ? 2.5 : 50
if (!(minutes > 0 && minutes <= 600)) die(`--minutes must be in (0, 600], got "${args.minutes}"`)
const reportPath = resolve(args.report ?? 'soak-report.json')
// How long the simulator keeps a WebSocket slot after a session ends without a close frame (a
// kill -9): KIS's own figure is UNVERIFIED. Every OPSP8996 costs the adapter a 20 s wait, so the
// short variant keeps failovers quick (0) and the full soak meets the hold on every kill.
const deadSessionHoldMs = Number(args['dead-session-hold-ms'] ?? (args.ci ? 0 : 3_000))
if (!Number.isSafeInteger(deadSessionHoldMs) || deadSessionHoldMs < 0) {
  die('--dead-session-hold-ms must be a whole number')
}

function die(line: string): never {
  process.stderr.write(`soak: ${line}\n`)
  process.exit(2)
}

// A small seeded generator (mulberry32) for the schedule's jitter and the price nudges.
function rng(s: number) {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
const random = rng(seed ^ 0x5eed)

// ---------------------------------------------------------------------------------------------
// Output

const t0 = Date.now()
const since = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(6)
const say = (line: string) => process.stdout.write(`[${since()} s] ${line}\n`)

/** Every fault the soak applied, with its time (ms since start). */
const faultLog: { at: number; kind: string; detail: string }[] = []
function fault(kind: string, detail = '') {
  faultLog.push({ at: Date.now() - t0, kind, detail })
  say(`fault  ${kind}${detail ? `: ${detail}` : ''}`)
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Line {
  at: number
  text: string
}

/** One OS process with its output kept line by line, each line stamped with its arrival time. */
class Proc {
  readonly lines: Line[] = []
  /** The epoch of its latest lease acquisition, once it has led. */
  epoch: number | undefined
  readonly child: ChildProcess
  readonly exit: Promise<{ code: number | null; signal: string | null }>
  exited: { code: number | null; signal: string | null } | undefined
  constructor(
    readonly name: string,
    file: string,
    argv: string[],
    env: NodeJS.ProcessEnv,
    cwd?: string,
  ) {
    this.child = spawn(process.execPath, [file, ...argv], {
      env: { ...process.env, ...env },
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = ''
      stream?.setEncoding('utf8').on('data', (d: string) => {
        const parts = (rest + d).split('\n')
        rest = parts.pop() ?? ''
        for (const text of parts) {
          this.lines.push({ at: Date.now(), text })
          const acquired = /acquired: epoch (\d+)/.exec(text)
          if (acquired) this.epoch = Number(acquired[1])
          if (args.verbose) process.stdout.write(`  ${this.name} | ${text}\n`)
        }
      })
    }
    this.exit = new Promise((r) =>
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal }
        r(this.exited)
      }),
    )
  }
  text(): string {
    return this.lines.map((l) => l.text).join('\n')
  }
  /** The first line at or after `after` matching `re`. */
  find(re: RegExp, after = 0): Line | undefined {
    return this.lines.find((l) => l.at >= after && re.test(l.text))
  }
}

async function until<T>(what: string, probe: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// Database

let cluster: EmbeddedCluster | undefined
let dataDir: string | undefined
let pgPort = 0
let adminUrl: string
const DB = `vellab_soak_${seed}_${process.pid}`
if (process.env.DATABASE_URL) {
  adminUrl = process.env.DATABASE_URL
} else {
  dataDir = mkdtempSync(join(tmpdir(), 'vellab-soak-pg-'))
  // As root, the server runs as the "postgres" user, which must traverse this directory.
  chmodSync(dataDir, 0o755)
  pgPort = await freePort()
  say('starting the embedded PostgreSQL')
  cluster = await startEmbeddedPostgres({ dataDir: join(dataDir, 'data'), port: pgPort })
  adminUrl = cluster.adminUrl
}
const dbUrl = (() => {
  const u = new URL(adminUrl)
  u.pathname = `/${DB}`
  return u.toString()
})()
{
  const c = new pg.Client({ connectionString: adminUrl })
  await c.connect()
  await c.query(`DROP DATABASE IF EXISTS ${DB}`)
  await c.query(`CREATE DATABASE ${DB}`)
  await c.end()
}

async function query<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: dbUrl })
  await c.connect()
  try {
    return (await c.query(text, params)).rows as T[]
  } finally {
    await c.end()
  }
}

/** The database goes away and comes back: a real restart of the embedded server, or on a server
 * the soak does not own, connections refused and every session ended for `downMs`. */
async function restartDatabase(downMs: number) {
  if (cluster && dataDir) {
    fault('database restart', `server stopped for ${downMs} ms`)
    await cluster.stop()
    await sleep(downMs)
    cluster = await startEmbeddedPostgres({ dataDir: join(dataDir, 'data'), port: pgPort })
    return
  }
  fault('database restart', `connections refused and sessions ended for ${downMs} ms`)
  const c = new pg.Client({ connectionString: adminUrl })
  await c.connect()
  try {
    await c.query(`ALTER DATABASE ${DB} WITH ALLOW_CONNECTIONS false`)
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [DB],
    )
    await sleep(downMs)
  } finally {
    await c.query(`ALTER DATABASE ${DB} WITH ALLOW_CONNECTIONS true`).catch(() => {})
    await c.end()
  }
}

// ---------------------------------------------------------------------------------------------
// The simulator

say('starting kis-sim')
const sim = new Proc(
  'kis-sim',
  SIM_CLI,
  [
    '--rest-port',
    '0',
    '--ws-port',
    '0',
    '--clock',
    'real',
    '--start',
    '2026-11-24 09:05:00',
    '--seed',
    String(seed),
    '--paper',
    'documented',
    // reference §8: a session that ends uncleanly keeps its slot a while (OPSP8996 on reconnect).
    '--dead-session-hold-ms',
    String(deadSessionHoldMs),
  ],
  {},
  join(root, 'packages/kis-sim'),
)
const banner = await until(
  'the kis-sim banner',
  () => {
    const t = sim.text()
    const rest = /REST\s+(http:\/\/\S+)/.exec(t)?.[1]
    const ws = /WebSocket\s+(ws:\/\/\S+)/.exec(t)?.[1]
    return rest && ws ? { rest, ws } : undefined
  },
  30_000,
).catch((err) => {
  process.stderr.write(`${sim.text()}\n`)
  throw err
})
const restUrl = banner.rest.replace(/\/$/, '')
const wsUrl = banner.ws.replace(/\/$/, '')

async function control<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${restUrl}${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  })
  const json = (await res.json()) as T
  if (!res.ok) throw new Error(`kis-sim ${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

const apps = await control<
  {
    env: string
    appkey: string
    appsecret: string
    htsId: string
    accounts: { cano: string; productCode: string }[]
  }[]
>('GET', '/__sim/apps')
const app = apps.find((a) => a.env === 'paper')
if (!app) die('kis-sim lists no paper app')
const { cano, productCode } = app.accounts[0]!
const INITIAL_CASH = 500_000_000
await control('POST', '/__sim/account', { cano, productCode, cash: INITIAL_CASH })
// The documented real-account budget (reference §2: 18 requests/s) for this paper rehearsal, so the
// soak has volume; the runner is told 15/s.
await control('POST', '/__sim/limits', { env: 'paper', perSecond: 18 })

// The second client's token, taken before the runners start (the token endpoint allows about one
// issue a minute per appkey; reference §3): later it spends the appkey's request budget.
const intruderToken = await (async () => {
  const r = await fetch(`${restUrl}/oauth2/tokenP`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', appkey: app.appkey, appsecret: app.appsecret }),
  })
  return ((await r.json()) as { access_token?: string }).access_token
})()

const SYMBOLS = ['005930', '000660', '035720', '003490', '069500', '000020']
// Background faults, each at a stated rate (the simulator draws them from its seed).
const RATES = {
  orderResponseLost: 0.02,
  orderAmbiguous5xx: 0.01,
  quote5xx: 0.01,
  noticeDuplicate: 0.05,
  noticeDelay: 0.03,
  noticeReorder: 0.02,
}
await control('POST', '/__sim/faults', [
  {
    id: 'order-response-lost',
    on: 'rest',
    appkey: app.appkey,
    path: 'order-cash',
    probability: RATES.orderResponseLost,
    effect: { type: 'drop-response', mode: 'reset' },
  },
  {
    id: 'order-5xx-committed',
    on: 'rest',
    appkey: app.appkey,
    path: 'order-cash',
    probability: RATES.orderAmbiguous5xx,
    effect: { type: 'http-error', status: 500, commit: true },
  },
  {
    id: 'quote-5xx',
    on: 'rest',
    appkey: app.appkey,
    path: 'inquire-price',
    probability: RATES.quote5xx,
    effect: { type: 'http-error', status: 502 },
  },
  { id: 'notice-dup', on: 'notice', probability: RATES.noticeDuplicate, effect: { type: 'duplicate' } },
  { id: 'notice-delay', on: 'notice', probability: RATES.noticeDelay, effect: { type: 'delay', ms: 1500 } },
  {
    id: 'notice-reorder',
    on: 'notice',
    probability: RATES.noticeReorder,
    effect: { type: 'reorder', window: 3 },
  },
])

let onceRound = 0
/** Each background fault once for sure (the random draws may miss one in a short run). */
async function backgroundOnce() {
  onceRound += 1
  const once = (what: string) => ({ id: `once-${what}-${onceRound}`, count: 1 })
  const appkey = app!.appkey
  await control('POST', '/__sim/faults', [
    {
      ...once('order-response-lost'),
      appkey,
      on: 'rest',
      path: 'order-cash',
      effect: { type: 'drop-response', mode: 'reset' },
    },
    {
      ...once('order-5xx-committed'),
      appkey,
      on: 'rest',
      path: 'order-cash',
      skip: 2,
      effect: { type: 'http-error', status: 500, commit: true },
    },
    {
      ...once('quote-5xx'),
      appkey,
      on: 'rest',
      path: 'inquire-price',
      effect: { type: 'http-error', status: 502 },
    },
    { ...once('notice-dup'), on: 'notice', effect: { type: 'duplicate' } },
    { ...once('notice-delay'), on: 'notice', skip: 3, effect: { type: 'delay', ms: 1500 } },
    { ...once('notice-reorder'), on: 'notice', skip: 6, effect: { type: 'reorder', window: 3 } },
  ])
  fault(
    'one of each background fault',
    'order response lost, order 5xx after commit, quote 5xx, notice duplicated / delayed / reordered',
  )
}

// ---------------------------------------------------------------------------------------------
// The runners: two slots, each restarted by the supervisor whenever its process ends (as systemd's
// Restart=always would), until the soak stops them.

const runnerEnv: NodeJS.ProcessEnv = {
  VELLAB_MODE: 'paper',
  VELLAB_REHEARSAL_SIM: restUrl,
  KIS_APP_KEY: app.appkey,
  KIS_APP_SECRET: app.appsecret,
  KIS_ACCOUNT: `${cano}-${productCode}`,
  KIS_HTS_ID: app.htsId,
  KIS_REST_URL: restUrl,
  KIS_WS_URL: `${wsUrl}/tryitout`,
  KIS_CAPABILITIES: 'listOrders=true,listFills=true',
  KIS_REST_PER_SECOND: '15',
  DATABASE_URL: dbUrl,
  VELLAB_RUN_SECONDS: '0',
  VELLAB_SYMBOLS: SYMBOLS.join(','),
  VELLAB_DECISION_INTERVAL_MS: '150',
  // The full soak's volume (5,000 orders in a session) is above the default risk limit of 120 a minute.
  VELLAB_MAX_ORDERS_PER_MINUTE: '400',
  // Volume from the symbols that cross the spread, resting orders from the others.
  VELLAB_STRATEGY: fileURLToPath(new URL('./soak-strategy.mjs', import.meta.url)),
  VELLAB_STRATEGY_PARAMS: JSON.stringify({ cross: ['005930', '000660', '035720'] }),
  VELLAB_RECONCILE_REPORTING_DELAY_MS: '2000',
  VELLAB_LEASE_TTL_MS: '3000',
  // The machine's own clock formats only; no colour codes in captured logs.
  NO_COLOR: '1',
}

interface Incarnation {
  slot: string
  proc: Proc
  startedAt: number
}
const incarnations: Incarnation[] = []
const slots = new Map<string, Incarnation>()
let stopping = false
/** Exits that are not a fault the soak caused and not a clean stop: each is a failure. */
const unexpectedExits: string[] = []
/** Processes the soak itself killed (-9) or froze, so their exits are expected. */
const killedByUs = new Set<Proc>()
const frozenByUs = new Set<Proc>()

function launch(slot: string) {
  const proc = new Proc(
    `${slot}#${incarnations.filter((i) => i.slot === slot).length + 1}`,
    RUNNER_CLI,
    ['start'],
    runnerEnv,
  )
  const inc = { slot, proc, startedAt: Date.now() }
  incarnations.push(inc)
  slots.set(slot, inc)
  void proc.exit.then(async ({ code, signal }) => {
    const how = signal ? `signal ${signal}` : `exit ${code}`
    // 3: the database went away (fail closed); 4: the lease was lost (fenced, stepped down).
    // 1 at the end of the day: the summary's checks failed; expected only when the one failure is
    // the reconciliation's open ticket (the order placed outside the system is ticketed on purpose).
    const failedChecks = proc.lines.filter((l) => /^\s+✗ /.test(l.text))
    const onlyTicketed =
      code === 1 &&
      stopping &&
      failedChecks.length === 1 &&
      /✗ reconciliation\s+ticketed/.test(failedChecks[0]!.text)
    const expected =
      killedByUs.has(proc) ||
      (code === 0 && stopping) ||
      onlyTicketed ||
      code === 3 ||
      (code === 4 && frozenByUs.has(proc))
    if (!expected)
      unexpectedExits.push(`${proc.name}: ${how}\n${proc.text().split('\n').slice(-15).join('\n')}`)
    say(`runner ${proc.name} ended (${how})${expected ? '' : ' — UNEXPECTED'}`)
    if (stopping) return
    await sleep(1_000)
    if (!stopping) launch(slot)
  })
}

/** The incarnation that leads now: the live process whose last acquisition carries the highest epoch. */
function leader(): { inc: Incarnation; epoch: number } | undefined {
  let best: { inc: Incarnation; epoch: number } | undefined
  for (const inc of slots.values()) {
    if (inc.proc.exited || frozenByUs.has(inc.proc)) continue
    const epoch = inc.proc.epoch
    if (epoch === undefined) continue
    if (!best || epoch > best.epoch) best = { inc, epoch }
  }
  return best
}
const trading = (inc: Incarnation, after = 0) => inc.proc.find(/execution notices live: trading/, after)

// ---------------------------------------------------------------------------------------------
// The chaos schedule

const failovers: { kill: number; acquiredMs: number; tradingMs: number }[] = []

async function killLeader(n: number) {
  const l = await until(
    'a leader trading',
    () => {
      const x = leader()
      return x && trading(x.inc) ? x : undefined
    },
    90_000,
  )
  const at = Date.now()
  killedByUs.add(l.inc.proc)
  l.inc.proc.child.kill('SIGKILL')
  fault('kill -9 leader', `${l.inc.proc.name} at epoch ${l.epoch} (#${n})`)
  const next = await until(
    'the standby taking over',
    () => {
      const x = leader()
      return x && x.epoch > l.epoch ? x : undefined
    },
    60_000,
  )
  const acquired = next.inc.proc.find(new RegExp(`acquired: epoch ${next.epoch}\\b`))!
  const live = await until('the new leader trading', () => trading(next.inc, acquired.at), 120_000)
  failovers.push({ kill: n, acquiredMs: acquired.at - at, tradingMs: live.at - at })
  say(`failover #${n}: lease taken ${acquired.at - at} ms, trading again ${live.at - at} ms after the kill`)
}

async function freezeLeader() {
  const l = await until(
    'a leader trading',
    () => {
      const x = leader()
      return x && trading(x.inc) ? x : undefined
    },
    90_000,
  )
  frozenByUs.add(l.inc.proc)
  l.inc.proc.child.kill('SIGSTOP')
  fault('SIGSTOP leader', `${l.inc.proc.name} at epoch ${l.epoch}`)
  await until(
    'the standby taking over from the frozen leader',
    () => {
      const x = leader()
      return x && x.epoch > l.epoch ? x : undefined
    },
    60_000,
  )
  const woke = Date.now()
  l.inc.proc.child.kill('SIGCONT')
  fault('SIGCONT old leader', l.inc.proc.name)
  const { code } = await l.inc.proc.exit
  const fenced = code === 4 || code === 3
  frozenResults.push({ name: l.inc.proc.name, exitCode: code, stepDownMs: Date.now() - woke, fenced })
}
const frozenResults: { name: string; exitCode: number | null; stepDownMs: number; fenced: boolean }[] = []

/** A second client on the same appkey spends its budget: our own requests meet EGW00201 meanwhile. */
const intruderWindows: [number, number][] = []
/** Requests the second client got an answer to (the simulator counts them under the same appkey). */
let intruderRequests = 0
async function intruderBurst(ms: number) {
  const token = intruderToken
  if (!token) {
    fault('second client on the appkey', 'no token: skipped')
    return
  }
  const start = Date.now()
  fault('second client on the appkey', `${ms} ms of back-to-back price requests (EGW00201 burst)`)
  const headers = {
    'Content-Type': 'application/json',
    authorization: `Bearer ${token}`,
    appkey: app!.appkey,
    appsecret: app!.appsecret,
    tr_id: 'FHKST01010100',
    custtype: 'P',
  }
  let refused = 0
  while (Date.now() - start < ms) {
    const r = await fetch(
      `${restUrl}/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=000020`,
      { headers },
    ).catch(() => undefined)
    if (r) intruderRequests += 1
    if (r && r.status >= 500) refused += 1
    await r?.arrayBuffer().catch(() => {})
  }
  intruderWindows.push([start, Date.now() + 1_000])
  say(`second client: ${refused} of its requests refused`)
}

async function externalOrder() {
  const q = await control<{ price?: number; last?: number }>('GET', '/__sim/quote?symbol=003490')
  const price = q.price ?? q.last ?? 19_990
  const r = await control<{ odno: string }>('POST', '/__sim/external-order', {
    cano,
    productCode,
    symbol: '003490',
    side: 'buy',
    qty: 3,
    price,
  })
  externalOrders.push(r.odno)
  fault('order placed outside the system', `HTS buy 003490 3 @ ${price} → ${r.odno}`)
}
const externalOrders: string[] = []

/**
 * A fill racing a cancel: one of our resting orders has the market walk away from it (the runner
 * cancels an order more than a tick off the market) and, a moment later, fills anyway.
 */
async function fillRacingCancel() {
  // Most quotes fill at once; wait (up to 15 s) for one that rests.
  type Row = { odno: string; kind: string; status: string; symbol: string; side: string; remaining: number }
  let o: Row | undefined
  for (const end = Date.now() + 15_000; !o && Date.now() < end; await sleep(100)) {
    const open = (
      await control<Row[]>('GET', `/__sim/orders?status=open&appkey=${encodeURIComponent(app!.appkey)}`)
    ).filter((r) => r.kind === 'new' && r.status === 'open' && r.remaining > 0)
    o = open[Math.floor(random() * open.length)]
  }
  if (!o) {
    fault('fill racing a cancel', 'no resting order: skipped')
    return
  }
  await control('POST', '/__sim/price', { symbol: o.symbol, ticks: o.side === 'buy' ? 3 : -3 }).catch(
    () => {},
  )
  await sleep(20 + random() * 60)
  // The fill's notice is held back 2 s, so the runner, not yet knowing, cancels what has filled.
  await control('POST', '/__sim/faults', { on: 'notice', count: 2, effect: { type: 'delay', ms: 2_000 } })
  const filled = await control('POST', '/__sim/fill', { odno: o.odno }).then(
    () => true,
    () => false,
  )
  fault(
    'fill racing a cancel',
    `${o.odno} (${o.side} ${o.symbol}) moved 3 ticks away, then ${filled ? 'filled' : 'already gone'}`,
  )
}

async function wsDrop() {
  await control('POST', '/__sim/ws/disconnect', { appkey: app!.appkey, clean: false })
  // The dead session holds the slot (--dead-session-hold-ms); the next attempts meet OPSP8996.
  await control('POST', '/__sim/faults', {
    on: 'ws-connect',
    appkey: app!.appkey,
    count: 2,
    effect: { type: 'in-use' },
  })
  fault('WebSocket dropped uncleanly', 'then two OPSP8996 refusals (dead-session storm)')
}

async function wsStall(ms: number) {
  await control('POST', '/__sim/ws/stall', { appkey: app!.appkey, stalled: true })
  fault('silent stale stream', `${ms} ms without a frame on a live socket`)
  await sleep(ms)
  await control('POST', '/__sim/ws/stall', { appkey: app!.appkey, stalled: false })
}

let lastTokenFault = 0
async function tokenExpiry() {
  const r = await control<{ count: number }>('POST', '/__sim/tokens/invalidate', {
    appkey: app!.appkey,
    how: 'expired',
  })
  // The next token request meets the endpoint's throttle once (EGW00133).
  await control('POST', '/__sim/faults', {
    on: 'rest',
    appkey: app!.appkey,
    path: 'tokenP',
    count: 1,
    effect: {
      type: 'http-error',
      status: 403,
      msgCd: 'EGW00133',
      msg1: '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)',
    },
  })
  lastTokenFault = Date.now()
  fault('token expired + token endpoint throttled', `${r.count} token(s) expired, next tokenP refused once`)
}

async function priceNudges(untilAt: number) {
  while (Date.now() < untilAt && !stopping) {
    const symbol = SYMBOLS[Math.floor(random() * SYMBOLS.length)]!
    const ticks = Math.floor(random() * 5) - 2
    if (ticks !== 0) await control('POST', '/__sim/price', { symbol, ticks }).catch(() => {})
    await sleep(400 + random() * 400)
  }
}

// ---------------------------------------------------------------------------------------------
// Run

const deadline = t0 + minutes * 60_000
let failure: unknown
let kills = 0
// The full soak spaces its cycles out so most of the day is trading between the faults.
const cycleMs = (args.ci ? 180 : 720) * 1_000
say(
  `soak: seed ${seed}, ${minutes} minutes, runners ${RUNNER_CLI}, database ${cluster ? 'embedded (restartable)' : 'server'}`,
)
launch('A')
await until('runner A leading', () => leader(), 120_000)
launch('B')
await until('runner B waiting', () => slots.get('B')?.proc.find(/standby: lease/), 120_000)
const nudging = priceNudges(deadline)
try {
  let cycle = 0
  // One cycle holds every fault kind once; the full soak repeats it until the time is up.
  while (Date.now() + 30_000 < deadline) {
    cycle += 1
    const c0 = Date.now()
    const at = async (s: number, what: () => Promise<unknown>) => {
      const wait = c0 + s * 1_000 + random() * 2_000 - Date.now()
      if (wait > 0) await sleep(wait)
      if (Date.now() + 10_000 > deadline) return
      await what()
    }
    await at(4, backgroundOnce)
    await at(8, () => killLeader(++kills))
    await at(14, externalOrder)
    await at(17, fillRacingCancel)
    await at(20, () => intruderBurst(2_500))
    await at(28, () => killLeader(++kills))
    await at(40, () => wsStall(12_000))
    await at(56, freezeLeader)
    await at(70, () => restartDatabase(4_000))
    await at(86, () => killLeader(++kills))
    // Late in the cycle: a token refused for a minute (KIS issues one a minute) and the
    // dead-session storm each keep the leader from trading for a while.
    await at(98, tokenExpiry)
    await at(110, wsDrop)
    const rest = Math.min(c0 + cycleMs, deadline - 10_000) - Date.now()
    if (rest > 0) await sleep(rest)
    say(`cycle ${cycle} done`)
  }
  if (Date.now() < deadline) await sleep(deadline - Date.now())
} catch (err) {
  failure = err
  say(`soak aborted: ${(err as Error).message}`)
}

// The end of the day. A token refused late in the run stays refused for the issuer's minute; the
// drain and the closing pass need the broker, so the day ends once that minute is over.
const tokenClears = lastTokenFault + 70_000 - Date.now()
if (failure === undefined && tokenClears > 0) {
  say(`waiting ${Math.round(tokenClears / 1000)} s for the token issuer's minute to pass before the close`)
  await sleep(tokenClears)
}
// Both runners stop cleanly (SIGTERM: drain, cancel what rests), faults off.
stopping = true
await nudging
type SimFault = { rule: { id?: string; effect: { type: string } }; matched: number; applied: number }
const simFaults = await control<SimFault[]>('GET', '/__sim/faults').catch(() => [] as SimFault[])
await control('DELETE', '/__sim/faults').catch(() => {})
say('stopping the runners (SIGTERM: drain and cancel)')
for (const inc of slots.values()) {
  if (frozenByUs.has(inc.proc) && !inc.proc.exited) inc.proc.child.kill('SIGCONT')
  if (!inc.proc.exited) inc.proc.child.kill('SIGTERM')
}
// A stop at the end of a busy day drains, then runs the closing reconciliation and reads the
// broker's books for the summary; on paper each pages the whole day (15 rows a page), which took
// more than 60 s at 2,132 orders before fills came from the orders listing (29 s at 2,651 after).
// 150 s, as a unit file would give it (TimeoutStopSec).
await Promise.race([Promise.all([...slots.values()].map((i) => i.proc.exit)), sleep(150_000)])
for (const inc of slots.values()) if (!inc.proc.exited) inc.proc.child.kill('SIGKILL')

// The closing reconciliation, as an operator would run it.
await sleep(1_500)
const closing = new Proc('reconcile', RUNNER_CLI, ['reconcile', '--mode', 'paper', '--json'], runnerEnv)
await closing.exit
let closingReport: { status?: string; findings?: { kind: string; resolution: string; ticketId?: string }[] } =
  {}
try {
  const out = closing.lines.map((l) => l.text)
  const first = out.findIndex((t) => t.startsWith('{'))
  closingReport = first < 0 ? {} : JSON.parse(out.slice(first).join('\n'))
} catch {
  closingReport = {}
}

// ---------------------------------------------------------------------------------------------
// The verdict: the simulator's ledger and books against our tables.

type SimOrder = {
  odno: string
  origOdno: string
  date: string
  kind: 'new' | 'modify' | 'cancel'
  appkey: string
  symbol: string
  side: 'buy' | 'sell'
  qty: number
  filledQty: number
  status: string
}
const simOrders = await control<SimOrder[]>('GET', `/__sim/orders?appkey=${encodeURIComponent(app.appkey)}`)
type LedgerView = {
  rateViolations: {
    at: number
    appkey: string
    channel: string
    path: string
    trId: string
    forced: boolean
  }[]
  wsConnects: { at: number; appkey: string; outcome: string }[]
  orders: { at: number; appkey: string; kind: string; outcome: string; responseLost: boolean }[]
  requestsByAppkey: Record<string, number>
  requestsByTrId: Record<string, Record<string, number>>
}
const ledger = await control<LedgerView>('GET', '/__sim/ledger')
const account = await control<{
  settledCash: number
  d2Cash: number
  positions: { symbol: string; qty: number }[]
}>('GET', `/__sim/account?cano=${cano}&productcode=${productCode}`)

const owners = await query<{ broker_order_id: string; broker_date: string; intent_id: string; role: string }>(
  'SELECT broker_order_id, broker_date, intent_id, role FROM order_broker_ids',
)
// KIS numbers orders per day; the simulator's date is YYYYMMDD, ours may carry dashes.
const day = (d: string) => d.replaceAll('-', '')
const ownerOf = new Map(owners.map((o) => [`${day(o.broker_date)}:${o.broker_order_id}`, o]))
const fills = await query<{ broker_order_id: string; broker_date: string; qty: string }>(
  'SELECT broker_order_id, broker_date, sum(quantity)::text AS qty FROM order_fills GROUP BY 1, 2',
)
const recordedFill = new Map(fills.map((f) => [`${day(f.broker_date)}:${f.broker_order_id}`, Number(f.qty)]))
const intents = await query<{ state: string; n: string }>(
  'SELECT state, count(*)::text AS n FROM order_orders GROUP BY state ORDER BY state',
)
const breaks = await query<{
  kind: string
  resolution: string
  found_at: string
  resolved_at: string | null
  occurred_at: string | null
}>('SELECT kind, resolution, found_at::text, resolved_at::text, occurred_at::text FROM recon_breaks')
const tickets = await query<{
  kind: string
  state: string
  evidence: unknown
  broker_order_id: string | null
}>('SELECT kind, state, evidence, broker_order_id FROM recon_tickets')
const tokens = await query<{ token: string }>('SELECT token FROM kis_access_tokens').catch(() => [])

const checks: { name: string; ok: boolean; detail: string }[] = []
const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail })

// 1. Nothing sent twice: every new order the broker took for our appkey belongs to exactly one intent.
const ours = simOrders.filter((o) => !externalOrders.includes(o.odno))
const news = ours.filter((o) => o.kind === 'new')
const unowned = news.filter((o) => !ownerOf.has(`${o.date}:${o.odno}`))
const perIntent = new Map<string, number>()
for (const o of news) {
  const owner = ownerOf.get(`${o.date}:${o.odno}`)
  if (owner) perIntent.set(owner.intent_id, (perIntent.get(owner.intent_id) ?? 0) + 1)
}
const twice = [...perIntent.entries()].filter(([, n]) => n > 1)
check(
  'orders intended vs received: 0 sent twice, 0 unexplained',
  twice.length === 0 && unowned.length === 0,
  `${news.length} new orders at the broker (${owners.length} broker numbers linked in our tables), ${perIntent.size} intents own them; sent twice ${twice.length}; without an owner ${unowned.length}${
    unowned.length
      ? ` (${unowned
          .slice(0, 5)
          .map((o) => o.odno)
          .join(', ')})`
      : ''
  }`,
)

// 2. Fills: per broker order number, what the broker filled = what we recorded.
let brokerFilled = 0
let recorded = 0
const fillDiffs: string[] = []
for (const o of ours) {
  if (o.kind === 'cancel') continue
  const key = `${o.date}:${o.odno}`
  const mine = recordedFill.get(key) ?? 0
  brokerFilled += o.filledQty
  recorded += mine
  if (mine !== o.filledQty) fillDiffs.push(`${o.odno}: broker ${o.filledQty}, recorded ${mine}`)
}
check(
  'fills at the broker vs recorded: 0 lost, 0 double-counted',
  fillDiffs.length === 0,
  `${brokerFilled} shares filled at the broker, ${recorded} recorded${fillDiffs.length ? `; ${fillDiffs.slice(0, 5).join('; ')}` : ''}`,
)

// 3. Books: the closing reconciliation's verdict on positions and cash, and no break left unexplained.
const findings = closingReport.findings ?? []
const bookBreaks = findings.filter((f) => f.kind === 'position_mismatch' || f.kind === 'cash_mismatch')
const unexplainedBook = bookBreaks.filter(
  (f) => f.resolution === 'pending' || (f.resolution === 'ticketed' && !f.ticketId),
)
check(
  'final positions and cash equal (or the difference ticketed with evidence)',
  closing.exited?.code !== null && closingReport.status !== undefined && unexplainedBook.length === 0,
  `closing reconciliation: ${closingReport.status ?? `no report (exit ${closing.exited?.code})`}, ${findings.length} findings (${bookBreaks.length} on positions/cash); broker: D+2 cash ${account.d2Cash}, ${account.positions.filter((p) => p.qty > 0).length} positions`,
)
const pending = breaks.filter((b) => b.resolution === 'pending' && b.resolved_at === null)
const ticketsWithoutEvidence = tickets.filter((t) => !t.evidence || JSON.stringify(t.evidence) === '{}')
check(
  'every break auto-resolved or ticketed with evidence: 0 unexplained',
  ticketsWithoutEvidence.length === 0 &&
    (closingReport.status === 'clean' || closingReport.status === 'ticketed'),
  `${breaks.length} breaks found over the run (${breaks.filter((b) => b.resolution === 'auto_resolved').length} auto-resolved, ${breaks.filter((b) => b.resolution === 'ticketed').length} ticketed, ${pending.length} pending at some pass); ${tickets.length} tickets (${tickets.filter((t) => t.state !== 'resolved').length} open)`,
)
const externalTicketed = externalOrders.every((odno) =>
  tickets.some((t) => t.broker_order_id === odno || JSON.stringify(t.evidence).includes(odno)),
)
check(
  'orders placed outside the system are found and ticketed',
  externalTicketed,
  `${externalOrders.length} placed outside; ${externalOrders.filter((odno) => tickets.some((t) => t.broker_order_id === odno || JSON.stringify(t.evidence).includes(odno))).length} ticketed`,
)

// 4. Rate budget: no EGW00201 from our own flow (outside the second client's bursts).
const inIntruder = (at: number) => intruderWindows.some(([a, b]) => at >= a && at <= b)
const ownViolations = ledger.rateViolations.filter(
  (v) => v.appkey === app.appkey && v.channel === 'rest' && !v.forced && !inIntruder(v.at),
)
// Token requests inside the issuer's one-a-minute window (EGW00133): reported, not counted above.
const tokenRefusals = ledger.rateViolations.filter((v) => v.appkey === app.appkey && v.channel !== 'rest')
check(
  '0 EGW00201 caused by our own flow',
  ownViolations.length === 0,
  `${ownViolations.length} outside the second client's ${intruderWindows.length} bursts; ${ledger.rateViolations.filter((v) => v.appkey === app.appkey && inIntruder(v.at)).length} during them${
    ownViolations.length
      ? `: ${ownViolations
          .slice(0, 5)
          .map((v) => `${v.channel} ${v.trId || v.path} at ${((v.at - t0) / 1000).toFixed(1)} s`)
          .join(', ')}`
      : ''
  }`,
)

// 5. Reconnects: per process the adapter allows itself 3 connection attempts a minute (broker-kis
// `connectsPerMinute`); a window may hold one more process after a failover.
const connects = ledger.wsConnects
  .filter((c) => c.appkey === app.appkey)
  .map((c) => c.at)
  .sort((a, b) => a - b)
let maxPerMinute = 0
for (let i = 0, j = 0; i < connects.length; i++) {
  while (connects[i]! - connects[j]! >= 60_000) j++
  maxPerMinute = Math.max(maxPerMinute, i - j + 1)
}
const leadersPerMinute = (() => {
  // Incarnations whose lifetime touches a minute: the most that could connect in one window.
  let most = 1
  for (const inc of incarnations) {
    const end = inc.proc.exited ? (inc.proc.lines.at(-1)?.at ?? Date.now()) : Date.now()
    const overlapping = incarnations.filter((o) => {
      const oEnd = o.proc.exited ? (o.proc.lines.at(-1)?.at ?? Date.now()) : Date.now()
      return o.startedAt < end + 60_000 && oEnd > inc.startedAt - 60_000
    }).length
    most = Math.max(most, overlapping)
  }
  return most
})()
check(
  "reconnects per minute within the breaker's bound",
  maxPerMinute <= 3 * leadersPerMinute,
  `at most ${maxPerMinute} connection attempts in any minute (${connects.length} in all; bound 3 per process × ${leadersPerMinute} processes that could overlap a minute)`,
)

// 6. No secret in any captured log line.
const secrets = [app.appsecret, app.appkey, ...tokens.map((t) => t.token)].filter((s) => s && s.length >= 8)
const leaks: string[] = []
for (const inc of incarnations) {
  for (const l of inc.proc.lines)
    if (secrets.some((s) => l.text.includes(s))) leaks.push(`${inc.proc.name}: ${l.text.slice(0, 80)}`)
}
for (const l of closing.lines)
  if (secrets.some((s) => l.text.includes(s))) leaks.push(`reconcile: ${l.text.slice(0, 80)}`)
check(
  'no secret in any captured log line',
  leaks.length === 0,
  `${incarnations.reduce((n, i) => n + i.proc.lines.length, 0) + closing.lines.length} lines scanned for the app key, app secret and ${tokens.length} token(s); ${leaks.length} leaks`,
)

// 7. Processes: every exit explained; the frozen leader stepped down when it woke.
check(
  'no process ended unexpectedly',
  unexpectedExits.length === 0,
  unexpectedExits.length
    ? unexpectedExits.join('\n---\n').slice(0, 3_000)
    : `${incarnations.length} runner processes`,
)
check(
  'a frozen leader, woken, is fenced and steps down',
  frozenResults.length > 0 && frozenResults.every((f) => f.fenced),
  frozenResults.map((f) => `${f.name}: exit ${f.exitCode} ${f.stepDownMs} ms after SIGCONT`).join('; ') ||
    'no freeze ran',
)
check(
  'the soak ran its schedule',
  failure === undefined && failovers.length >= 3,
  failure ? `aborted: ${(failure as Error).message}` : `${failovers.length} failovers`,
)
const kinds = new Set(faultLog.map((f) => f.kind))
const REQUIRED_KINDS = [
  'one of each background fault',
  'order placed outside the system',
  'fill racing a cancel',
  'WebSocket dropped uncleanly',
  'kill -9 leader',
  'token expired + token endpoint throttled',
  'second client on the appkey',
  'silent stale stream',
  'SIGSTOP leader',
  'database restart',
]
const missingKinds = REQUIRED_KINDS.filter((k) => !kinds.has(k))
// The rules that must have fired: the once-per-cycle ones (the random ones may draw nothing).
const onceRules = simFaults.filter((f) => f.rule.id?.startsWith('once-'))
const unspent = onceRules.filter((f) => f.applied === 0).map((f) => f.rule.id)
const randomRules = simFaults.filter((f) => !f.rule.id?.startsWith('once-'))
check(
  'every fault kind at least once',
  missingKinds.length === 0 && kills >= 3 && unspent.length === 0,
  `scheduled: ${[...kinds].join(', ')}${missingKinds.length ? `; MISSING ${missingKinds.join(', ')}` : ''}; kill -9 ×${kills}; random rules applied: ${randomRules.map((f) => `${f.rule.id ?? f.rule.effect.type} ${f.applied}`).join(', ')}; once-per-cycle rules applied ${onceRules.length - unspent.length} of ${onceRules.length}${unspent.length ? `; NEVER APPLIED ${unspent.join(', ')}` : ''}`,
)

// Distributions.
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}
const dist = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 50), p90: pct(xs, 90), max: pct(xs, 100) })
const mttr = breaks
  .filter((b) => b.resolved_at !== null)
  .map((b) => Number(b.resolved_at) - Number(b.occurred_at ?? b.found_at))
  .filter((x) => Number.isFinite(x) && x >= 0)
// Per kind: how long a break went unseen (occurred → found) and unrepaired (found → resolved).
const byKind = new Map<string, { found: number[]; repaired: number[]; mttr: number[] }>()
for (const b of breaks) {
  const k = byKind.get(b.kind) ?? { found: [], repaired: [], mttr: [] }
  byKind.set(b.kind, k)
  const occurred = Number(b.occurred_at ?? b.found_at)
  k.found.push(Number(b.found_at) - occurred)
  if (b.resolved_at !== null) {
    k.repaired.push(Number(b.resolved_at) - Number(b.found_at))
    k.mttr.push(Number(b.resolved_at) - occurred)
  }
}
const mttrP90 = pct(mttr, 90)
check(
  'drift MTTR under 5 minutes (p90, auto-resolved breaks)',
  mttrP90 === null || mttrP90 < 300_000,
  `p90 ${mttrP90 ?? '-'} ms over ${mttr.length} breaks; by kind: ${[...byKind.entries()]
    .map(
      ([kind, k]) =>
        `${kind} n=${k.found.length} unseen p50 ${pct(k.found, 50)} max ${pct(k.found, 100)} ms, unrepaired p50 ${pct(k.repaired, 50) ?? '-'} max ${pct(k.repaired, 100) ?? '-'} ms`,
    )
    .join('; ')}`,
)
// Fills racing cancels: a cancel the runner sent for an order that (partly) filled meanwhile.
const byOdno = new Map(ours.map((o) => [`${o.date}:${o.odno}`, o]))
const racing = ours.filter(
  (c) => c.kind === 'cancel' && (byOdno.get(`${c.date}:${c.origOdno}`)?.filledQty ?? 0) > 0,
).length
const stats = {
  fillsRacingCancels: racing,
  tokenRequestsRefused: tokenRefusals.length,
  ordersAtBroker: news.length,
  brokerOrdersAll: ours.length,
  intentsByState: Object.fromEntries(intents.map((i) => [i.state, Number(i.n)])),
  sharesFilled: brokerFilled,
  responsesLost: ledger.orders.filter((o) => o.appkey === app.appkey && o.responseLost).length,
  runnerProcesses: incarnations.length,
  failoverMs: dist(failovers.map((f) => f.acquiredMs)),
  recoveryMs: dist(failovers.map((f) => f.tradingMs)),
  driftMttrMs: dist(mttr),
  wsConnects: connects.length,
  // Where the runners' REST budget went: the appkey's requests less the second client's (all of
  // them price requests, FHKST01010100).
  restRequests: {
    total: (ledger.requestsByAppkey[app.appkey] ?? 0) - intruderRequests,
    byTrId: Object.fromEntries(
      Object.entries(ledger.requestsByTrId[app.appkey] ?? {})
        .map(([tr, n]) => [tr, tr === 'FHKST01010100' ? n - intruderRequests : n] as const)
        .sort(([, a], [, b]) => b - a),
    ),
    secondClient: intruderRequests,
  },
}

const ok = checks.every((c) => c.ok)
const report = {
  ok,
  seed,
  minutes,
  variant: args.ci ? 'ci' : 'full',
  startedAt: new Date(t0).toISOString(),
  durationS: Math.round((Date.now() - t0) / 1000),
  database: cluster ? 'embedded PostgreSQL (restarted for real)' : 'PostgreSQL server (connections cut)',
  rates: RATES,
  faults: faultLog,
  checks,
  stats,
  failovers,
  frozen: frozenResults,
}
writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`)

/** The TR ids the runner sends in paper, by what they do (KIS's paper ids start with V). */
const TR_NAMES: Record<string, string> = {
  FHKST01010100: 'quotes',
  VTTC8434R: 'balance',
  VTTC0012U: 'buys',
  VTTC0011U: 'sells',
  VTTC0013U: 'cancels/modifies',
  VTTC0081R: 'order listings (daily-ccld)',
  VTTC8908R: 'buying power',
  CTCA0903R: 'holiday check',
}
const fmt = (d: { n: number; p50: number | null; p90: number | null; max: number | null }) =>
  d.n === 0 ? 'none' : `p50 ${d.p50} ms, p90 ${d.p90} ms, max ${d.max} ms (n=${d.n})`
process.stdout.write(`
Chaos soak — seed ${seed}, ${report.variant}, ${report.durationS} s, ${report.database}
  orders at the broker  ${stats.ordersAtBroker} new (${stats.brokerOrdersAll} incl. modifies/cancels), ${stats.sharesFilled} shares filled
  intents by state      ${Object.entries(stats.intentsByState)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}
  faults applied        ${faultLog.length} scheduled (${[...kinds].length} kinds), responses lost ${stats.responsesLost}, token requests refused ${stats.tokenRequestsRefused}, cancels that met a fill ${stats.fillsRacingCancels}
  failover (lease)      ${fmt(stats.failoverMs)}
  trading again         ${fmt(stats.recoveryMs)}
  drift MTTR            ${fmt(stats.driftMttrMs)}
  REST requests         ${stats.restRequests.total} (${(stats.restRequests.total / Math.max(1, stats.ordersAtBroker)).toFixed(1)} per new order): ${Object.entries(
    stats.restRequests.byTrId,
  )
    .map(([tr, n]) => `${TR_NAMES[tr] ?? tr} ${n}`)
    .join(', ')}

${checks.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.name}\n      ${c.detail.split('\n').join('\n      ')}`).join('\n')}

${ok ? 'PASS' : 'FAIL'} — report: ${reportPath}
`)

await sim.child.kill('SIGTERM')
await sim.exit
if (cluster) await cluster.stop()
if (dataDir) rmSync(dataDir, { recursive: true, force: true })
process.exit(ok ? 0 : 1)
