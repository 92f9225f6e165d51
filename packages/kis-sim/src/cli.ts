/**
 * `kis-sim`: starts one simulator on fixed ports and prints its URLs and app keys.
 * Secrets are not printed; read them from `GET <rest>/__sim/apps` (loopback only).
 */
import { parseArgs } from 'node:util'
import { createKisSim, type KisSimOptions } from './sim'

const HELP = `kis-sim — a local KIS Open API simulator

Usage: kis-sim [options]

Options:
  --host <ip>               bind address (default 127.0.0.1)
  --rest-port <n>           REST port, 0 for any free one (default 29443)
  --ws-port <n>             WebSocket port, 0 for any free one (default 31000)
  --seed <n>                random seed (default 1)
  --clock <mode>            real | accelerated | manual (default real)
  --start <time>            virtual start, e.g. "2026-11-24 09:00:00" (KST)
  --speed <n>               virtual ms per real ms when accelerated (default 60)
  --limits <preset>         2026-04-20 (18/s real, 1/s paper) | legacy (20/2)
  --paper-apps <n>          paper apps (appkeys), each with one account (default 1)
  --paper <profile>         reported | documented: paper as a paper account was seen to behave
                            (23-field notices, no order rows, answers after notices; reference
                            §7.10) or as documented (default reported)
  --ping-interval-ms <n>    PINGPONG interval in virtual ms, 0 for none (default 10000)
  --ping-idle-only          send PINGPONG only on a socket idle for the interval (default: always)
  --pong-timeout-ms <n>     close a session that leaves a PINGPONG unanswered this long (default: never)
  --dead-session-hold-ms <n> keep an appkey's slot taken this long after an unclean close (default 0)
  -h, --help                this text

Control routes: <rest>/__sim/ (loopback only). SIGINT/SIGTERM stop it.
`

/** A bad command line: one line on stderr, exit code 2. */
class UsageError extends Error {}

function integer(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number >= ${min}, got "${raw}"`)
  }
  return n
}

function options(argv: string[]): KisSimOptions | 'help' {
  let values: ReturnType<typeof parse>['values']
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        'rest-port': { type: 'string' },
        'ws-port': { type: 'string' },
        seed: { type: 'string' },
        clock: { type: 'string', default: 'real' },
        start: { type: 'string' },
        speed: { type: 'string' },
        limits: { type: 'string', default: '2026-04-20' },
        paper: { type: 'string', default: 'reported' },
        'paper-apps': { type: 'string' },
        'ping-interval-ms': { type: 'string' },
        'ping-idle-only': { type: 'boolean', default: false },
        'pong-timeout-ms': { type: 'string' },
        'dead-session-hold-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  try {
    values = parse(argv).values
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  if (values.help) return 'help'
  const clock = values.clock
  if (clock !== 'real' && clock !== 'accelerated' && clock !== 'manual') {
    throw new UsageError(`--clock must be real, accelerated or manual, got "${clock}"`)
  }
  if (values.limits !== '2026-04-20' && values.limits !== 'legacy') {
    throw new UsageError(`--limits must be 2026-04-20 or legacy, got "${values.limits}"`)
  }
  if (values.paper !== 'reported' && values.paper !== 'documented') {
    throw new UsageError(`--paper must be reported or documented, got "${values.paper}"`)
  }
  if (values.start !== undefined && !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(values.start)) {
    throw new UsageError(`--start must look like "2026-11-24 09:00:00" (KST), got "${values.start}"`)
  }
  const speed = values.speed === undefined ? 60 : Number(values.speed)
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new UsageError(`--speed must be a positive number, got "${values.speed}"`)
  }
  const pong = values['pong-timeout-ms']
  const paperApps = integer('paper-apps', values['paper-apps'], 1, 1)
  return {
    apps: [{ env: 'real' }, ...Array.from({ length: paperApps }, () => ({ env: 'paper' as const }))],
    host: values.host,
    restPort: integer('rest-port', values['rest-port'], 29443),
    wsPort: integer('ws-port', values['ws-port'], 31000),
    seed: integer('seed', values.seed, 1),
    clock: { mode: clock, speed, ...(values.start ? { start: values.start } : {}) },
    limits: { preset: values.limits },
    paper: values.paper,
    ws: {
      pingIntervalMs: integer('ping-interval-ms', values['ping-interval-ms'], 10_000),
      pingWhenIdleOnly: values['ping-idle-only'],
      ...(pong === undefined ? {} : { pongTimeoutMs: integer('pong-timeout-ms', pong, 0, 1) }),
      deadSessionHoldMs: integer('dead-session-hold-ms', values['dead-session-hold-ms'], 0),
    },
  }
}

async function main(): Promise<void> {
  let opts: KisSimOptions | 'help'
  try {
    opts = options(process.argv.slice(2))
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    process.stderr.write(`kis-sim: ${e.message} (see kis-sim --help)\n`)
    process.exit(2)
  }
  if (opts === 'help') {
    process.stdout.write(HELP)
    return
  }
  let sim: Awaited<ReturnType<typeof createKisSim>>
  try {
    sim = await createKisSim(opts)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const why =
      err.code === 'EADDRINUSE'
        ? `a port is already in use (${err.message}); pick others with --rest-port/--ws-port, or 0 for free ones`
        : err.message
    process.stderr.write(`kis-sim: cannot start: ${why}\n`)
    process.exit(1)
  }
  const ws = opts.ws ?? {}
  const lines = [
    `kis-sim REST      ${sim.restUrl}`,
    `kis-sim WebSocket ${sim.wsUrl}`,
    `kis-sim control   ${sim.restUrl}/__sim/ (apps with secrets: GET /__sim/apps)`,
    `kis-sim paper     ${typeof opts.paper === 'string' ? opts.paper : JSON.stringify(opts.paper)}`,
    `kis-sim PINGPONG  every ${ws.pingIntervalMs} ms${ws.pingWhenIdleOnly ? ' when idle' : ''}, pong timeout ${ws.pongTimeoutMs === undefined ? 'none' : `${ws.pongTimeoutMs} ms`}`,
    ...sim.apps.map(
      (a) =>
        `  ${a.env.padEnd(5)} appkey ${a.appkey}  hts ${a.htsId}  accounts ${a.accounts.map((x) => `${x.cano}-${x.productCode}`).join(', ')}`,
    ),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) process.exit(1)
    stopping = true
    process.stdout.write(`kis-sim: ${signal}, stopping\n`)
    void sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

await main()
