import { databasePassword, loadOperatorToken, loadRunnerConfig, printableConfig } from '../config'
import { MigrationDeferredError } from '../database'
import { createRunnerLog } from '../logger'
import { DatabaseUnavailableError, LeaseLostStopError, run, StoppedAsStandbyError } from '../run'
import { formatSummary } from '../summary'

export const START_HELP = `vellab start — run a trading session (sim mode by default) and print its summary

Usage: vellab start [--mode sim|paper|real] [--config <file>] [--json]

  --mode     sim (default): the in-process simulator; paper: KIS's paper environment with the
             KIS_* credentials (KIS_APP_KEY[_FILE], KIS_APP_SECRET[_FILE], KIS_ACCOUNT, KIS_HTS_ID;
             KIS_REST_URL/KIS_WS_URL to point elsewhere); real: KIS's real environment, real money,
             only with VELLAB_REAL_CONFIRM naming the account(s) and phase shadow, or pilot/ramp
             with every cap set. Same as VELLAB_MODE.
  --config   a JSON file with the settings below by name (runSeconds, symbols, phase, caps, …);
             the environment overrides it, and it may not hold secrets. Same as VELLAB_CONFIG.
  --json     print the report as JSON on stdout (progress goes to stderr)

Settings (environment): VELLAB_MODE (sim), VELLAB_RUN_SECONDS (20; 0 = until Ctrl-C),
VELLAB_SIM_ENV (real; paper: the simulator's paper environment), VELLAB_PHASE (paper; shadow:
decide and log, send nothing; pilot/ramp: hard caps VELLAB_PILOT_SYMBOLS, VELLAB_MAX_ORDER_NOTIONAL,
VELLAB_MAX_DAILY_NOTIONAL, VELLAB_MAX_DAILY_LOSS, VELLAB_RAMP_FACTOR, and the strategy approved in
VELLAB_APPROVED_STRATEGIES; every phase change is audited), VELLAB_REHEARSAL_SIM (paper mode
against a separately started kis-sim: its REST URL; takes its clock and checks against its ledger),
VELLAB_SYMBOLS, VELLAB_ORDER_QUANTITY, VELLAB_MAX_ORDERS_PER_MINUTE (120, a risk limit),
VELLAB_RECONCILE_INTERVAL_MS (60000: a pass while trading),
VELLAB_DECISION_INTERVAL_MS, VELLAB_QUOTE_REFRESH_MS and VELLAB_POSITIONS_REFRESH_MS (1000 each:
how old a quote or the balance may get before it is read again), VELLAB_QUOTE_SOURCE (stream:
trade prints price the quotes and REST is read every VELLAB_QUOTE_STATE_REFRESH_MS, 3000, for
limits and halts; rest: every quote from REST), VELLAB_SIM_START,
VELLAB_HTTP_PORT (0 = a free port), DATABASE_URL (else an embedded PostgreSQL), VELLAB_DATA_DIR,
VELLAB_MIGRATE_MAX_REWRITE_ROWS (1000000: a pending migration that would rewrite more rows is left
to vellab migrate and the runner does not start),
VELLAB_OPERATOR_TOKEN or VELLAB_OPERATOR_TOKEN_FILE (guards the kill-switch endpoints),
VELLAB_LOG_FORMAT (text; json: one pino record per line, secrets redacted), VELLAB_STRATEGY
(demo-quoter, or a module path: see the README's "Strategies") and VELLAB_STRATEGY_PARAMS (JSON),
VELLAB_APPKEY_SERVICE_STARTED_ON (YYYY-MM-DD: the appkey's one-year service period is watched,
and its inactivity; warnings in the log, vellab status and the dashboard).
The first Ctrl-C (or SIGTERM) drains and reports; a second one exits at once.
Exit codes: 0 every check passed, 1 a check failed (or an error), 2 bad usage, 3 the database went
away mid-session (trading stopped at once; start again when it is back), 4 the appkey lease was
lost to another runner (this one stopped at once and sent nothing more), 5 a pending migration
would rewrite large tables under an exclusive lock (run vellab migrate outside trading hours).
One runner leads each appkey: a second one started with the same appkey and database waits as a
standby and takes over within seconds when the leader dies or falls silent (VELLAB_LEASE_TTL_MS,
5000). Sharding (paper mode): VELLAB_ACCOUNTS=alpha,beta names account profiles, each with its own
KIS_ALPHA_APP_KEY, KIS_ALPHA_APP_SECRET, KIS_ALPHA_ACCOUNT, … (or _FILE); the runner leads the first
profile no other runner leads and stands by for all of them otherwise.
`

/** `vellab start`: one session, then the summary; the exit code says whether every check passed. */
export async function startCommand(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(START_HELP)
    return 0
  }
  const json = args.includes('--json')
  const modeAt = args.indexOf('--mode')
  const mode = modeAt >= 0 ? args[modeAt + 1] : undefined
  if (modeAt >= 0 && (mode === undefined || mode.startsWith('-'))) {
    console.error('vellab start: --mode needs a value: sim, paper or real')
    return 2
  }
  const configAt = args.indexOf('--config')
  const configFile = configAt >= 0 ? args[configAt + 1] : undefined
  if (configAt >= 0 && (configFile === undefined || configFile.startsWith('-'))) {
    console.error('vellab start: --config needs a file')
    return 2
  }
  // With --json, progress goes to stderr so stdout holds the report alone.
  const log = createRunnerLog({
    format: process.env.VELLAB_LOG_FORMAT === 'json' ? 'json' : 'text',
    toStderr: json,
  })
  const controller = new AbortController()
  const stop = () => {
    if (controller.signal.aborted) {
      log('second stop signal: exiting now')
      process.exit(130)
    }
    log('stop requested: draining (send the signal again to exit at once)')
    controller.abort()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const config = loadRunnerConfig({
    ...process.env,
    ...(mode ? { VELLAB_MODE: mode } : {}),
    ...(configFile ? { VELLAB_CONFIG: configFile } : {}),
  })
  const password = databasePassword(config)
  if (password) log.secret(password)
  const source = process.env.VELLAB_CONFIG || configFile
  log(
    `config${source ? ` (${source}, then the environment)` : ''}: ${JSON.stringify(printableConfig(config))}`,
  )
  const operatorToken = loadOperatorToken()
  if (operatorToken) log.secret(operatorToken)
  let report: Awaited<ReturnType<typeof run>>
  try {
    report = await run(config, {
      log,
      secret: (v) => log.secret(v),
      signal: controller.signal,
      ...(operatorToken ? { operatorToken } : {}),
    })
  } catch (err) {
    if (err instanceof StoppedAsStandbyError) {
      log(err.message)
      return 0
    }
    if (err instanceof LeaseLostStopError) {
      console.error(`vellab start: ${err.message}`)
      return 4
    }
    if (err instanceof MigrationDeferredError) {
      console.error(`vellab start: ${err.message}`)
      return 5
    }
    if (!(err instanceof DatabaseUnavailableError)) throw err
    // Fail closed, loudly: no summary can be read from a database that is gone.
    console.error(`vellab start: ${err.message}`)
    return 3
  }
  console.log(json ? JSON.stringify(report, null, 2) : formatSummary(report))
  return report.checks.every((c) => c.ok) ? 0 : 1
}
