import { loadOperatorToken } from '../config'
import type { Readiness } from '../http'

/** Where a running runner's operator HTTP listens: `VELLAB_RUNNER_URL`, else 127.0.0.1:`VELLAB_HTTP_PORT`. */
export function runnerUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VELLAB_RUNNER_URL) return env.VELLAB_RUNNER_URL.replace(/\/+$/, '')
  if (env.VELLAB_HTTP_PORT && env.VELLAB_HTTP_PORT !== '0') return `http://127.0.0.1:${env.VELLAB_HTTP_PORT}`
  throw new Error('which runner? set VELLAB_RUNNER_URL (or VELLAB_HTTP_PORT) to its operator HTTP address')
}

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const url = `${runnerUrl()}${path}`
  let res: Response
  try {
    res = await fetch(url, init)
  } catch (cause) {
    throw new Error(`no runner answers at ${url} (${(cause as Error).message})`)
  }
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON (metrics text)
  }
  return { status: res.status, body }
}

export const KILL_SWITCH_HELP = `vellab kill-switch — engage, release or list kill switches of a running runner

Usage: vellab kill-switch engage|release --reason <text> [--scope global|account|strategy|symbol] [--key <k>] [--operator <name>]
       vellab kill-switch list

Takes effect at once in the running runner (its risk check reads the switch in memory) and is
audited with the operator's name. Needs VELLAB_RUNNER_URL (or VELLAB_HTTP_PORT) and the operator
token (VELLAB_OPERATOR_TOKEN or VELLAB_OPERATOR_TOKEN_FILE).
`

/** `vellab kill-switch …` through the runner's authenticated endpoints. */
export async function killSwitchCommand(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args
  if (!action || action === '--help' || action === '-h' || !['engage', 'release', 'list'].includes(action)) {
    process.stdout.write(KILL_SWITCH_HELP)
    return action && action !== '--help' && action !== '-h' ? 2 : 0
  }
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`)
    return i >= 0 ? rest[i + 1] : undefined
  }
  const token = loadOperatorToken()
  if (!token) throw new Error('no operator token: set VELLAB_OPERATOR_TOKEN or VELLAB_OPERATOR_TOKEN_FILE')
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  if (action === 'list') {
    const r = await call('/kill-switches', { headers })
    if (r.status !== 200) throw new Error(`runner answered ${r.status}: ${JSON.stringify(r.body)}`)
    const switches = (r.body as { switches: { scope: string; key: string; reason: string; actor: string }[] })
      .switches
    if (!switches.length) console.log('no kill switch engaged')
    for (const s of switches)
      console.log(`ENGAGED  ${s.scope.padEnd(8)} ${s.key.padEnd(14)} by ${s.actor}: ${s.reason}`)
    return 0
  }
  const reason = flag('reason')
  if (!reason) throw new Error(`kill-switch ${action} needs --reason "<why>"`)
  const scope = flag('scope') ?? 'global'
  const key = flag('key')
  const operator = flag('operator') ?? process.env.USER ?? 'cli'
  const r = await call(`/kill-switches/${action}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ scope, ...(key ? { key } : {}), reason, operator }),
  })
  if (r.status !== 200) throw new Error(`runner refused (${r.status}): ${JSON.stringify(r.body)}`)
  console.log(`${action === 'engage' ? 'engaged' : 'released'} ${scope}${key ? ` ${key}` : ''}`)
  return 0
}

export const STATUS_HELP = `vellab status — readiness and key numbers of a running runner

Usage: vellab status [--json]   (needs VELLAB_RUNNER_URL or VELLAB_HTTP_PORT)
`

/** `vellab status`: the runner's /readyz checks and a few metrics. */
export async function statusCommand(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(STATUS_HELP)
    return 0
  }
  const ready = await call('/readyz')
  const metrics = await call('/metrics')
  const body = ready.body as Readiness
  if (args.includes('--json')) {
    console.log(JSON.stringify(body, null, 2))
    return body.ok ? 0 : 1
  }
  console.log(body.ok ? 'READY' : 'NOT READY')
  for (const [name, c] of Object.entries(body.checks))
    console.log(`  ${c.ok ? '✓' : '✗'} ${name.padEnd(20)} ${c.detail}`)
  if (body.leases?.length) {
    console.log('leases (who leads what, every runner on this database):')
    for (const l of body.leases) {
      const state = l.live ? `heartbeat ${l.heartbeatAgeMs} ms ago` : 'holder gone'
      console.log(`  ${l.key}  epoch ${l.epoch}  ${l.holder}${l.mine ? ' (this runner)' : ''}  ${state}`)
    }
  }
  const pick = (name: string) =>
    String(metrics.body)
      .split('\n')
      .filter((l) => l.startsWith(name))
      .map((l) => `  ${l}`)
  const lines = [
    ...pick('vellab_orders{'),
    ...pick('vellab_orders_sent_total'),
    ...pick('vellab_kill_switch_engaged{'),
  ]
  if (lines.length) console.log(lines.join('\n'))
  return body.ok ? 0 : 1
}
