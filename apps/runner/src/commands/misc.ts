import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { createKisGateway, PostgresListingStore, PostgresTokenStore } from '@vellab/broker-kis'
import { AppKeyLease, leaseKeyOf } from '@vellab/lease'
import { createOrderStore } from '@vellab/order-fsm'
import { createReconciler } from '@vellab/reconcile'
import { connectBroker } from '../broker'
import { loadRunnerConfig } from '../config'
import { migrate, openDatabase, pendingRewrites, type RunnerDatabase } from '../database'

export const MIGRATE_HELP = `vellab migrate — bring the state database's tables up to date (every package's migrations)

Usage: vellab migrate   (DATABASE_URL, or the embedded PostgreSQL in VELLAB_DATA_DIR)
Runs every pending migration whatever its size; says first which ones rewrite a table (an
exclusive lock on it while it copies, a few seconds per million rows: run those outside trading
hours). vellab start leaves such a rewrite to this command above VELLAB_MIGRATE_MAX_REWRITE_ROWS.
`

/** `vellab migrate`. */
export async function migrateCommand(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(MIGRATE_HELP)
    return 0
  }
  const config = loadRunnerConfig()
  if (!config.databaseUrl && !config.dataDir) {
    throw new Error('nothing to migrate: set DATABASE_URL, or VELLAB_DATA_DIR for the embedded PostgreSQL')
  }
  const database = await openDatabase({
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.dataDir ? { dataDir: config.dataDir } : {}),
    log: (l) => console.log(l),
  })
  try {
    for (const r of await pendingRewrites(database.db)) {
      console.log(
        `${r.migration} rewrites ${r.table} (about ${r.rows.toLocaleString('en-US')} rows) under an exclusive lock`,
      )
    }
    const applied = await migrate(database.db)
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema up to date')
  } finally {
    await database.close()
  }
  return 0
}

export const SIM_HELP = `vellab sim — start the KIS simulator on its own, for a paper-like rehearsal

Usage: vellab sim [kis-sim options]   (see vellab sim --help for the simulator's own options)
Point a runner at it with the URLs it prints (KIS_REST_URL, KIS_WS_URL).
`

/** `vellab sim`: runs `@vellab/kis-sim`'s own command in this terminal. */
export async function simCommand(args: readonly string[]): Promise<number> {
  const require = createRequire(import.meta.url)
  const cli = join(dirname(require.resolve('@vellab/kis-sim/package.json')), 'dist', 'cli.js')
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' })
  const forward = (signal: NodeJS.Signals) => child.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)))
}

export const RECONCILE_HELP = `vellab reconcile — one reconciliation pass: the local books against the broker's

Usage: vellab reconcile [--mode paper] [--json]

Reads every page of the broker's orders, fills, positions and cash for the configured account,
resolves what is provably safe through the order store, tickets the rest, and prints what it found.
Needs the runner's persistent state database (DATABASE_URL, or VELLAB_DATA_DIR for the embedded
PostgreSQL) and a broker: --mode paper (KIS_* credentials; VELLAB_REHEARSAL_SIM for a kis-sim
process). Sim mode has no books outside a running session. Exit code 0 when the pass is clean.
`

/** \`vellab reconcile\`: one pass, its findings printed; exit 0 when clean. */
export async function reconcileCommand(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(RECONCILE_HELP)
    return 0
  }
  const modeAt = args.indexOf('--mode')
  const mode = modeAt >= 0 ? args[modeAt + 1] : undefined
  const config = loadRunnerConfig(mode ? { ...process.env, VELLAB_MODE: mode } : process.env)
  if (config.mode === 'sim') {
    throw new Error(
      'vellab reconcile needs a broker with books: --mode paper (the in-process simulator lives only inside a session)',
    )
  }
  if (!config.databaseUrl && !config.dataDir) {
    throw new Error(
      'vellab reconcile needs the state database: set DATABASE_URL, or VELLAB_DATA_DIR for the embedded PostgreSQL',
    )
  }
  const json = args.includes('--json')
  const log = (l: string) => (json ? console.error : console.log)(l)
  const database = await openDatabase({
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.dataDir ? { dataDir: config.dataDir } : {}),
    log,
  })
  const broker = await connectBroker(config, log)
  let lease: AppKeyLease | undefined
  let gateway: ReturnType<typeof createKisGateway> | undefined
  try {
    await migrate(database.db)
    // One writer per appkey: a pass runs under the lease or not at all. A leader already running
    // reconciles continuously; this command is for when none is.
    const key = leaseKeyOf(broker.appkey)
    const busy = new AbortController()
    let leader = ''
    lease = await AppKeyLease.acquire({
      connectionString: database.url,
      key,
      holder: `${hostname()}:${process.pid} vellab-reconcile`,
      ttlMs: config.leaseTtlMs,
      signal: busy.signal,
      onWait: (w) => {
        leader = `${w.holder ?? 'another process'} (epoch ${w.epoch})`
        busy.abort(new Error('busy'))
      },
    }).catch((err: unknown) => {
      if (!busy.signal.aborted) throw err
      throw new Error(
        `a runner leads this appkey (${key}): ${leader}; it reconciles continuously, see vellab status. Run vellab reconcile when no runner leads it.`,
      )
    })
    const held = lease
    gateway = createKisGateway({
      config: broker.kisConfig,
      clock: broker.clock,
      tokenStore: new PostgresTokenStore(database.pool),
      listingStore: new PostgresListingStore(database.pool),
      beforeRequest: () => held.assertFresh(),
    })
    const store = createOrderStore({
      db: database.db,
      pool: database.pool,
      clock: broker.clock,
      actor: 'vellab-reconcile',
      fence: () => held.fence(),
    })
    const reconciler = createReconciler<RunnerDatabase>({
      db: database.db,
      store,
      broker: gateway,
      accounts: [broker.account],
      clock: broker.clock,
      actor: 'vellab-reconcile',
      fence: () => held.fence(),
    })
    const report = await reconciler.run(broker.account, 'on_demand')
    await reconciler.stop()
    if (json) {
      console.log(JSON.stringify(report, (_k, v) => (v instanceof Error ? v.message : v), 2))
    } else {
      console.log(
        `reconcile ${broker.account}: ${report.status}, ${report.findings.length} breaks (${report.pagesRead} pages read)`,
      )
      for (const f of report.findings) {
        console.log(`  ${f.resolution.padEnd(13)} ${f.kind.padEnd(28)} ${f.summary}`)
      }
      for (const l of report.limits) console.log(`  environment: ${l}`)
      if (report.error) console.log(`  failed: ${report.error.message}`)
    }
    return report.status === 'clean' ? 0 : 1
  } finally {
    await gateway?.close()
    await lease?.release()
    await broker.close()
    await database.close()
  }
}
