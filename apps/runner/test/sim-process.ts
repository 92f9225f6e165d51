import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type KisSimProcess, spawnKisSim } from '@vellab/testkit/kis-sim-process'

const here = dirname(fileURLToPath(import.meta.url))
const cli = join(here, '../src/cli.ts')
const register = join(here, '../../../tooling/testkit/src/ts-hooks.mjs')

/** A runner CLI process (`vellab <args>`) straight from the sources, its output collected. */
export function runnerProcess(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--experimental-transform-types', '--no-warnings', '--import', register, cli, ...args],
    { env: { ...process.env, ...env } },
  )
  const out: string[] = []
  const err: string[] = []
  child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => err.push(d))
  const exit = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(signal ? -1 : code)))
  return { child, out, err, exit }
}

/** A kis-sim process on a trading morning, its paper app's account funded, and the KIS_* variables for it. */
export interface PaperRehearsal {
  sim: KisSimProcess
  restUrl: string
  app: { appkey: string; appsecret: string; htsId: string }
  /** Every paper app (`--paper-apps n`), the first being `app`, each with its funded account. */
  paperApps: { appkey: string; appsecret: string; htsId: string; account: string }[]
  /** The real-environment app, its account funded too (real-mode rehearsals). */
  realApp: { appkey: string; appsecret: string; htsId: string; account: string }
  /** `KIS_*` (credentials and URLs) plus `VELLAB_MODE=paper` and `VELLAB_REHEARSAL_SIM`. */
  env: Record<string, string>
  post(path: string, body: unknown): Promise<Response>
  get<T>(path: string): Promise<T>
}

/** Start `kis-sim` as its own process (extra CLI flags appended) and prepare a paper rehearsal against it. */
export async function startPaperRehearsal(extraArgs: string[] = []): Promise<PaperRehearsal> {
  const sim = await spawnKisSim([
    '--rest-port',
    '0',
    '--ws-port',
    '0',
    '--clock',
    'real',
    '--start',
    '2026-11-24 09:05:00',
    ...extraArgs,
  ])
  const { restUrl, wsUrl } = await sim.urls()
  const post = (path: string, body: unknown) =>
    fetch(`${restUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
  const get = async <T>(path: string) => (await (await fetch(`${restUrl}${path}`)).json()) as T
  const apps =
    await get<
      {
        env: string
        appkey: string
        appsecret: string
        htsId: string
        accounts: { cano: string; productCode: string }[]
      }[]
    >('/__sim/apps')
  const paperApps = apps.filter((a) => a.env === 'paper')
  const app = paperApps[0]
  const real = apps.find((a) => a.env === 'real')
  if (!app || !real) throw new Error('kis-sim has no paper or no real app')
  for (const a of [...paperApps, real]) {
    const acct = a.accounts[0]!
    await post('/__sim/account', { cano: acct.cano, productCode: acct.productCode, cash: 100_000_000 })
  }
  const { cano, productCode } = app.accounts[0]!
  return {
    sim,
    restUrl,
    app,
    paperApps: paperApps.map((a) => ({
      ...a,
      account: `${a.accounts[0]!.cano}-${a.accounts[0]!.productCode}`,
    })),
    realApp: { ...real, account: `${real.accounts[0]!.cano}-${real.accounts[0]!.productCode}` },
    post,
    get,
    env: {
      VELLAB_MODE: 'paper',
      VELLAB_REHEARSAL_SIM: restUrl,
      KIS_APP_KEY: app.appkey,
      KIS_APP_SECRET: app.appsecret,
      KIS_ACCOUNT: `${cano}-${productCode}`,
      KIS_HTS_ID: app.htsId,
      KIS_REST_URL: restUrl,
      KIS_WS_URL: `${wsUrl}/tryitout`,
    },
  }
}
