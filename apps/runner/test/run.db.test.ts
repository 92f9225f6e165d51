import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOrderStore } from '@vellab/order-fsm'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
import type { RunnerDatabase } from '../src/database'
import { run } from '../src/run'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

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

  it.each([
    [{ VELLAB_MODE: 'real' }, /phase paper trades paper accounts/],
    [
      { VELLAB_MODE: 'real', VELLAB_PHASE: 'pilot', VELLAB_PILOT_SYMBOLS: '005930' },
      /set VELLAB_MAX_ORDER_NOTIONAL, VELLAB_MAX_DAILY_NOTIONAL, VELLAB_MAX_DAILY_LOSS/,
    ],
    [{ VELLAB_MODE: 'real', VELLAB_PHASE: 'shadow' }, /set VELLAB_REAL_CONFIRM to the account number/],
  ])('refuses real money without every cap and an explicit confirmation (%j)', async (env, message) => {
    const lines: string[] = []
    await expect(run(loadRunnerConfig(env), { log: (l) => lines.push(l) })).rejects.toThrow(message)
    // Refused before anything started: no database, no broker.
    expect(lines.filter((l) => !l.startsWith('strategy '))).toEqual([])
  })

  it('runs a user strategy module: its parent is sliced into children through the whole order path', async () => {
    const lines: string[] = []
    const own = await createTestDatabase()
    const config = {
      ...loadRunnerConfig({
        VELLAB_STRATEGY: fixture('twap-once.mjs'),
        VELLAB_STRATEGY_PARAMS: JSON.stringify({ shares: 3, slices: 3, windowMs: 2_000 }),
      }),
      databaseUrl: own.url,
      runSeconds: 5,
      decisionIntervalMs: 250,
    }
    const report = await run(config, { log: (l) => lines.push(l) })
    expect(lines.some((l) => /strategy twap-once from .*twap-once\.mjs/.test(l))).toBe(true)
    expect(lines.some((l) => l.includes('twap-once submitted 3 shares in 3 slices'))).toBe(true)
    expect(report.stats.parents).toBe(1)
    // Three slices, each a child order of the strategy, every one acknowledged and filled.
    expect(report.stats.sent).toBe(3)
    expect(report.ordersByState).toEqual({ FILLED: 3 })
    const children = await own
      .db<RunnerDatabase>()
      .selectFrom('exec_children')
      .select(['intent_id'])
      .execute()
    expect(children).toHaveLength(3)
    const store = createOrderStore({ db: own.db<RunnerDatabase>() })
    for (const c of children) expect((await store.get(c.intent_id))?.intent.strategyId).toBe('twap-once')
    expect(lines.some((l) => l.includes('twap-once parent completed'))).toBe(true)
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    await own.drop()
  })

  it("the README's strategy example runs as written", async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
    const source = /### Strategies[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(source).toBeDefined()
    const dir = mkdtempSync(join(tmpdir(), 'vellab-readme-strategy-'))
    writeFileSync(join(dir, 'twap-once.mjs'), source!)
    const lines: string[] = []
    // A database of its own: the in-process simulator numbers its orders from 1001 every run.
    const own = await createTestDatabase()
    const report = await run(
      {
        ...loadRunnerConfig({ VELLAB_STRATEGY: join(dir, 'twap-once.mjs') }),
        databaseUrl: own.url,
        runSeconds: 3,
        decisionIntervalMs: 250,
      },
      { log: (l) => lines.push(l) },
    )
    // The first of three slices goes at once (the others are due minutes later); the stop cancels the parent.
    expect(report.stats.parents).toBe(1)
    expect(report.stats.sent).toBe(1)
    expect(lines.some((l) => /^order {3}buy 005930 10 @ \d+ → \d+$/.test(l))).toBe(true)
    expect(lines.some((l) => l.includes('twap-once parent canceled'))).toBe(true)
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    await own.drop()
  })

  it('a strategy that throws is logged and counted; the session goes on and ends clean', async () => {
    const lines: string[] = []
    const own = await createTestDatabase()
    const config = {
      ...loadRunnerConfig({ VELLAB_STRATEGY: fixture('throws.mjs') }),
      databaseUrl: own.url,
      runSeconds: 2,
      decisionIntervalMs: 250,
    }
    const report = await run(config, { log: (l) => lines.push(l) })
    expect(report.stats.strategyErrors).toBeGreaterThan(2)
    expect(report.stats.sent).toBe(0)
    expect(lines.some((l) => l.includes('strategy throws.onDecision failed (error): strategy bug'))).toBe(
      true,
    )
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
  })

  it('refuses a strategy module it cannot use in its first second, before any database starts', async () => {
    const lines: string[] = []
    const started = Date.now()
    await expect(
      run(
        { ...loadRunnerConfig({ VELLAB_STRATEGY: './no/such/strategy.mjs' }) },
        { log: (l) => lines.push(l) },
      ),
    ).rejects.toThrow(
      /strategy module \.\/no\/such\/strategy\.mjs could not be loaded: .* \(built in: demo-quoter\)/,
    )
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(lines.some((l) => l.includes('database'))).toBe(false)
  })
})
