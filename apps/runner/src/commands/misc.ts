import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { loadRunnerConfig } from '../config'
import { migrate, openDatabase } from '../database'

export const MIGRATE_HELP = `vellab migrate — bring the state database's tables up to date (every package's migrations)

Usage: vellab migrate   (DATABASE_URL, or the embedded PostgreSQL in VELLAB_DATA_DIR)
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

export const RECONCILE_HELP = `vellab reconcile — compare the local books with the broker's and resolve drift

Not available yet: it arrives with @vellab/reconcile.
`
