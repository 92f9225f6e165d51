import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
import type { RunnerDatabase } from '../src/database'
import { run } from '../src/run'

// The main job end to end: real PostgreSQL, the in-process simulator over real HTTP and WebSocket,
// the KIS adapter, risk and the order store. The report's checks compare our books with the
// simulator's own ledger and books.
describe('runner session (sim mode)', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db.drop()
  })

  it('trades, drains and ends with books that match the broker and nothing sent twice', async () => {
    const lines: string[] = []
    const config = { ...loadRunnerConfig({}), databaseUrl: db.url, runSeconds: 4, decisionIntervalMs: 250 }
    const report = await run(config, { log: (l) => lines.push(l) })
    expect(report.stats.sent).toBeGreaterThan(0)
    expect(report.stats.acked).toBe(report.stats.sent)
    expect(report.drift).toEqual([])
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    // Nothing is left working after the drain.
    expect(
      Object.keys(report.ordersByState).every((s) => ['FILLED', 'CANCELED', 'REJECTED'].includes(s)),
    ).toBe(true)
    expect(lines.some((l) => l.startsWith('execution notices live'))).toBe(true)
    // Reference data came from the simulator's master files, every traded symbol listed.
    expect(lines).toContain('reference data: 9 symbols from the master files')
  })

  it('paper as reported (23-field notices that overtake the answers, no order listing): loses no notice, states what it cannot do', async () => {
    const lines: string[] = []
    const config = {
      ...loadRunnerConfig({ VELLAB_SIM_ENV: 'paper' }),
      databaseUrl: db.url,
      runSeconds: 6,
      decisionIntervalMs: 500,
    }
    expect(config.simEnvironment).toBe('paper')
    const report = await run(config, { log: (l) => lines.push(l) })
    expect(lines).toContain("environment paper (simulated): cannot list today's orders, cannot list fills")
    expect(report.stats.sent).toBeGreaterThan(0)
    expect(report.stats.acked).toBe(report.stats.sent)
    // Books from the simulator's side, since the environment cannot list them: every fill and
    // cancel reached the order store through notices alone.
    expect(report.drift).toEqual([])
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    expect(
      Object.keys(report.ordersByState).every((s) => ['FILLED', 'CANCELED', 'REJECTED'].includes(s)),
    ).toBe(true)
  }, 60_000)

  it('phase shadow: decides and risk-checks, sends nothing; the phase change is audited', async () => {
    const lines: string[] = []
    const config = {
      ...loadRunnerConfig({ VELLAB_PHASE: 'shadow' }),
      databaseUrl: db.url,
      runSeconds: 3,
      decisionIntervalMs: 250,
    }
    const report = await run(config, { log: (l) => lines.push(l) })
    expect(report.stats.phaseStops.SHADOW_NOT_SENT).toBeGreaterThan(0)
    expect(report.stats.sent).toBe(0)
    expect(report.brokerOrdersReceived).toBe(0)
    expect(lines.some((l) => l.startsWith('shadow  would buy'))).toBe(true)
    expect(lines.some((l) => /^phase shadow \(changed from .*; audited\)/.test(l))).toBe(true)
  })

  it('phase pilot: a per-order notional cap stops an order before it is sent; an unapproved strategy does not start', async () => {
    const env = {
      VELLAB_PHASE: 'pilot',
      VELLAB_PILOT_SYMBOLS: '005930,000660',
      // One share of 005930 (~70,000) fits; one of 000660 (~180,000) does not.
      VELLAB_MAX_ORDER_NOTIONAL: '100000',
    }
    // A database of its own: the in-process simulator numbers orders the same way every run, so a
    // second session on one account and one database would meet the first one's numbers.
    const own = await createTestDatabase()
    await expect(run({ ...loadRunnerConfig(env), databaseUrl: own.url }, { log: () => {} })).rejects.toThrow(
      /not approved for it/,
    )
    const lines: string[] = []
    const config = {
      ...loadRunnerConfig({ ...env, VELLAB_APPROVED_STRATEGIES: 'demo-quoter' }),
      databaseUrl: own.url,
      runSeconds: 3,
      decisionIntervalMs: 250,
    }
    const report = await run(config, { log: (l) => lines.push(l) })
    expect(report.stats.phaseStops.PILOT_ORDER_NOTIONAL).toBeGreaterThan(0)
    expect(lines.some((l) => l.startsWith('order   buy 000660'))).toBe(false)
    expect(lines.some((l) => l.startsWith('order   buy 005930'))).toBe(true)
    expect(report.brokerOrdersReceived).toBe(report.stats.sent + report.stats.cancelsSent)
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    // The refused start recorded nothing; the run recorded its phase once.
    const audit = await own
      .db<RunnerDatabase>()
      .selectFrom('runner_phase_audit')
      .select(['phase', 'previous'])
      .orderBy('id')
      .execute()
    expect(audit).toEqual([{ previous: null, phase: 'pilot' }])
    await own.drop()
  })

  it('a stop signal mid-run (what SIGTERM/SIGINT do): no new intents, in-flight answered, drained, nothing SUBMITTED left', async () => {
    const own = await createTestDatabase()
    const controller = new AbortController()
    const lines: string[] = []
    const config = {
      ...loadRunnerConfig({ VELLAB_RUN_SECONDS: '0' }),
      databaseUrl: own.url,
      decisionIntervalMs: 200,
    }
    const running = run(config, { log: (l) => lines.push(l), signal: controller.signal })
    // Stop while orders are in flight: as soon as the first one was sent.
    const deadline = Date.now() + 20_000
    while (!lines.some((l) => l.startsWith('order   ')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    controller.abort()
    const report = await running
    expect(report.stats.sent).toBeGreaterThan(0)
    expect(report.ordersByState.SUBMITTED ?? 0).toBe(0)
    expect(report.ordersByState.INTENT_CREATED ?? 0).toBe(0)
    expect(
      Object.keys(report.ordersByState).every((s) => ['FILLED', 'CANCELED', 'REJECTED'].includes(s)),
    ).toBe(true)
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    await own.drop()
  })

  it('refuses real money until it has been exercised against KIS real under supervision', async () => {
    await expect(run({ ...loadRunnerConfig({}), mode: 'real' }, { log: () => {} })).rejects.toThrow(
      /mode real is not enabled/,
    )
  })
})
