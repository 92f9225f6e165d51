import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EngageKillSwitchSchema, type KillSwitchBoard, ReleaseKillSwitchSchema } from '@vellab/risk-kr'
import { z } from 'zod'
import { dashboardPage } from './dashboard'
import type { RunnerMetrics } from './metrics'

/** What `/readyz` reports: every check must pass for the runner to take new orders. */
export interface Readiness {
  ok: boolean
  checks: Record<string, { ok: boolean; detail: string }>
  /**
   * Who leads what across the deployment (every runner on this database), for `vellab status`:
   * lease key (a hash of the appkey), epoch, holder, heartbeat age, and whether the holder's lock
   * session is alive. Absent when the database cannot say.
   */
  leases?: {
    key: string
    epoch: number
    holder: string
    heartbeatAgeMs: number
    live: boolean
    mine: boolean
  }[]
}

export interface OperatorHttpOptions {
  /** TCP port on `host`; 0 picks a free one. */
  port: number
  /** @default '127.0.0.1' */
  host?: string
  metrics: RunnerMetrics
  board: KillSwitchBoard
  readiness(): Promise<Readiness>
  /** Bearer token for the kill-switch endpoints; without one they answer 503. */
  operatorToken?: string
  /** Audit line for every operator action (the board audits the switch itself). */
  log: (line: string) => void
}

export interface OperatorHttp {
  readonly url: string
  close(): Promise<void>
}

const MAX_BODY = 16 * 1024
const ScopeBody = z.object({
  scope: z.enum(['global', 'account', 'strategy', 'symbol']),
  key: z.string().min(1).optional(),
})
const EngageBody = ScopeBody.extend({
  reason: z.string().min(1).max(500),
  operator: z.string().min(1).max(64),
})

/**
 * The operator's HTTP face: `/healthz`, `/readyz`, `/metrics` (Prometheus text), the reliability
 * dashboard (`/`), and authenticated kill-switch endpoints (`GET /kill-switches`,
 * `POST /kill-switches/engage`, `POST /kill-switches/release`; `Authorization: Bearer <token>`).
 * An engagement takes effect on the board at once (risk checks read it in memory) and is audited.
 */
export async function startOperatorHttp(options: OperatorHttpOptions): Promise<OperatorHttp> {
  const { metrics, board, log } = options
  const token = options.operatorToken ? Buffer.from(options.operatorToken) : undefined
  const authorized = (req: IncomingMessage): boolean => {
    if (!token) return false
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    return given.length === token.length && timingSafeEqual(given, token)
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: (err as Error).message }))
  })
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true })
    if (req.method === 'GET' && path === '/readyz') {
      const r = await options.readiness()
      return send(res, r.ok ? 200 : 503, r)
    }
    if (req.method === 'GET' && path === '/metrics') {
      const text = await metrics.registry.metrics()
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType })
      res.end(text)
      return
    }
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(dashboardPage())
      return
    }
    if (path === '/kill-switches' || path.startsWith('/kill-switches/')) {
      if (!token) return send(res, 503, { error: 'no operator token configured (VELLAB_OPERATOR_TOKEN)' })
      if (!authorized(req)) return send(res, 401, { error: 'operator token required' })
      if (req.method === 'GET' && path === '/kill-switches') return send(res, 200, { switches: board.list() })
      if (req.method === 'POST' && (path === '/kill-switches/engage' || path === '/kill-switches/release')) {
        const parsed = EngageBody.safeParse(await readJson(req))
        if (!parsed.success)
          return send(res, 400, { error: parsed.error.issues.map((i) => i.message).join('; ') })
        const { scope, reason, operator } = parsed.data
        const key = parsed.data.key ?? '*'
        const actor = `operator:${operator}`
        if (path.endsWith('/engage')) {
          const input = EngageKillSwitchSchema.safeParse({ scope, key, reason, actor, source: 'operator' })
          if (!input.success)
            return send(res, 400, { error: input.error.issues.map((i) => i.message).join('; ') })
          const engaged = await board.engage(input.data)
          log(`kill-switch engaged over HTTP by ${actor}: ${scope}/${key}: ${reason}`)
          return send(res, 200, { engaged })
        }
        const input = ReleaseKillSwitchSchema.safeParse({ scope, key, reason, actor })
        if (!input.success)
          return send(res, 400, { error: input.error.issues.map((i) => i.message).join('; ') })
        await board.release(input.data)
        log(`kill-switch released over HTTP by ${actor}: ${scope}/${key}: ${reason}`)
        return send(res, 200, { released: { scope, key } })
      }
    }
    return send(res, 404, { error: `no route ${req.method} ${path}` })
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(text)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
  } catch {
    return undefined
  }
}
