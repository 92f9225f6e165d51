import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'tsup'

// The `kis-sim` bin as a separate OS process, bundled from the source under test (not a stale
// dist/), next to the simulator's node_modules so its runtime dependencies resolve.

const simPackage = resolve(dirname(fileURLToPath(import.meta.url)), '../../../packages/kis-sim')
const outDir = join(simPackage, 'node_modules', '.cache', 'kis-sim-bin-test')
let built: Promise<string> | undefined

/** Bundle `packages/kis-sim/src/cli.ts` once per test process; resolves to the bundle's path. */
export function buildKisSimCli(): Promise<string> {
  built ??= (async () => {
    mkdirSync(outDir, { recursive: true })
    await build({
      entry: { cli: join(simPackage, 'src/cli.ts') },
      outDir,
      format: ['esm'],
      target: 'node22',
      dts: false,
      sourcemap: false,
      clean: false,
      silent: true,
      config: false,
      skipNodeModulesBundle: true,
    })
    return join(outDir, 'cli.js')
  })()
  return built
}

/** A running (or finished) `kis-sim` process. */
export interface KisSimProcess {
  child: ChildProcessWithoutNullStreams
  /** Everything it printed on stdout / stderr so far. */
  out: string[]
  err: string[]
  exit: Promise<number | null>
  /** Resolves with the URLs once the banner is printed (rejects after `timeoutMs`). */
  urls(timeoutMs?: number): Promise<{ restUrl: string; wsUrl: string }>
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>
}

/** Start `kis-sim <args>` as its own process. */
export async function spawnKisSim(args: readonly string[]): Promise<KisSimProcess> {
  const cli = await buildKisSimCli()
  const child = spawn(process.execPath, [cli, ...args], { cwd: simPackage })
  const out: string[] = []
  const err: string[] = []
  child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => err.push(d))
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  return {
    child,
    out,
    err,
    exit,
    async urls(timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const text = out.join('')
        const rest = /kis-sim REST\s+(\S+)/.exec(text)?.[1]
        const ws = /kis-sim WebSocket\s+(\S+)/.exec(text)?.[1]
        if (rest && ws) return { restUrl: rest, wsUrl: ws }
        if (child.exitCode !== null) throw new Error(`kis-sim exited (${child.exitCode}): ${err.join('')}`)
        if (Date.now() > end) throw new Error('kis-sim printed no URLs in time')
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exit
    },
  }
}
