import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil } from '@vellab/testkit/wait'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
import { run } from '../src/run'

// The operator's HTTP face during a real sim session: health, readiness, Prometheus metrics parsed
// by a text-format parser, the dashboard page, and a kill switch engaged over HTTP that stops new
// orders at once. Nothing printed anywhere carries a secret.
const OPERATOR_TOKEN = 'op-token-for-tests-0123456789'

describe('operator HTTP (sim session)', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())

  it('serves health, metrics and the dashboard, and a kill switch over HTTP stops new orders', async () => {
    const lines: string[] = []
    let url = ''
    let secrets: string[] = [OPERATOR_TOKEN]
    const outputs: string[] = []
    const config = { ...loadRunnerConfig({}), databaseUrl: db.url, runSeconds: 6, decisionIntervalMs: 200 }
    const session = run(config, {
      log: (l) => lines.push(l),
      operatorToken: OPERATOR_TOKEN,
      onHttp: (u) => {
        url = u
      },
      onSimulator: (apps) => {
        secrets = [...secrets, ...apps.flatMap((a) => [a.appkey, a.appsecret])]
      },
    })
    const sent = async () => {
      const text = await (await fetch(`${url}/metrics`)).text()
      outputs.push(text)
      const family = parsePrometheusTextFormat(text).find((f) => f.name === 'vellab_orders_sent_total')
      return Number(family?.metrics[0]?.value ?? 0)
    }
    await waitUntil('orders sent', async () => url !== '' && (await sent()) > 0, 15_000)

    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${url}/readyz`)
    const readyBody = await ready.text()
    outputs.push(readyBody)
    expect(ready.status).toBe(200)
    expect(JSON.parse(readyBody).checks.database.ok).toBe(true)
    // Who leads the appkey, with the epoch (the key is a hash: no appkey in the page).
    expect(JSON.parse(readyBody).checks['appkey lease']).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^leads appkey:[0-9a-f]{24} \(account \d{8}-\d{2}\) at epoch 1$/),
    })
    expect(JSON.parse(readyBody).checks.reconciliation).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^barrier open \(clean\)/),
    })
    const page = await (await fetch(`${url}/`)).text()
    outputs.push(page)
    expect(page).toContain('Vellab runner')

    const families = parsePrometheusTextFormat(outputs.at(-3) ?? '')
    const names = families.map((f) => f.name)
    for (const n of [
      'vellab_order_ack_latency_seconds',
      'vellab_orders',
      'vellab_orders_sent_total',
      'vellab_limiter_wait_seconds',
      'vellab_reconcile_open_tickets',
      'vellab_reconcile_breaks_total',
    ]) {
      expect(names).toContain(n)
    }
    const ack = families.find((f) => f.name === 'vellab_order_ack_latency_seconds')
    expect(ack?.type).toBe('HISTOGRAM')

    // Kill switch: unauthenticated is refused; with the token it engages at once.
    const body = JSON.stringify({ scope: 'global', reason: 'test halt', operator: 'tester' })
    const denied = await fetch(`${url}/kill-switches/engage`, { method: 'POST', body })
    expect(denied.status).toBe(401)
    const engaged = await fetch(`${url}/kill-switches/engage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      body,
    })
    expect(engaged.status).toBe(200)
    const atEngage = await sent()
    const report = await session
    // At most one decision round that had already passed its risk check (one order per symbol).
    expect(report.stats.sent - atEngage).toBeLessThanOrEqual(config.symbols.length)
    expect(report.stats.riskRejects.KILL_SWITCH_ENGAGED ?? 0).toBeGreaterThan(0)
    expect(lines.some((l) => l.includes('kill-switch engaged over HTTP by operator:tester'))).toBe(true)

    for (const text of [...outputs, ...lines]) for (const s of secrets) expect(text).not.toContain(s)
  }, 60_000)
})
