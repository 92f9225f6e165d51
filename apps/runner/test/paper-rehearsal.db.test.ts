import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { reconcileCommand } from '../src/commands/misc'
import { loadRunnerConfig } from '../src/config'
import { run } from '../src/run'
import { startPaperRehearsal } from './sim-process'

// `vellab start --mode paper` against a separately started kis-sim process, the way a desk
// rehearses before pointing the same configuration at KIS: credentials and URLs from KIS_*
// variables, the simulator's paper environment as a paper account was seen to behave (23-field
// notices that overtake the answers, no order listing), its ledger and books the judge.
describe('runner, paper mode against a kis-sim process (rehearsal)', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db.drop()
  })

  it('completes a session whose books equal the simulator’s, nothing sent twice, no secret printed', async () => {
    const r = await startPaperRehearsal()
    const { restUrl, app } = r
    const env = r.env
    try {
      const config = {
        ...loadRunnerConfig(env),
        databaseUrl: db.url,
        runSeconds: 6,
        decisionIntervalMs: 500,
      }
      const lines: string[] = []
      const report = await run(config, { log: (l) => lines.push(l), env })
      expect(lines.some((l) => l.startsWith('KIS paper rehearsal against kis-sim'))).toBe(true)
      expect(lines).toContain(
        `environment paper (kis-sim rehearsal at ${restUrl}): cannot list today's orders, cannot list fills`,
      )
      expect(report.stats.sent).toBeGreaterThan(0)
      expect(report.stats.acked).toBe(report.stats.sent)
      expect(report.drift).toEqual([])
      for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
      expect(report.checks.find((c) => c.name === 'local books match the broker')?.detail).toMatch(
        /broker orders agree/,
      )
      // The simulator's ledger, read over its control route: every order it received is ours, once.
      const ledger = (await (await fetch(`${restUrl}/__sim/ledger`)).json()) as {
        orders: { appkey: string; kind: string }[]
        rateViolations: unknown[]
      }
      const ours = ledger.orders.filter((o) => o.appkey === app.appkey && o.kind === 'new')
      expect(ours).toHaveLength(report.stats.sent)
      expect(ledger.rateViolations).toEqual([])
      // `vellab reconcile` against the same books afterwards: one clean pass, exit code 0.
      const saved = { ...process.env }
      Object.assign(process.env, env, { VELLAB_REHEARSAL_SIM: restUrl, DATABASE_URL: db.url })
      const out: string[] = []
      const spy = vi.spyOn(console, 'log').mockImplementation((l: string) => void out.push(l))
      try {
        expect(await reconcileCommand(['--mode', 'paper'])).toBe(0)
      } finally {
        spy.mockRestore()
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
        Object.assign(process.env, saved)
      }
      expect(out.join('\n')).toMatch(/reconcile \d{8}-\d{2}: clean, 0 breaks/)
      expect(out.join('\n')).toContain("environment: cannot list today's orders")
      // No secret in anything the run printed.
      const printed = `${lines.join('\n')}\n${JSON.stringify(report)}\n${out.join('\n')}`
      expect(printed).not.toContain(app.appkey)
      expect(printed).not.toContain(app.appsecret)
    } finally {
      expect(await r.sim.stop()).toBe(0)
    }
  }, 90_000)

  it('refuses a rehearsal URL outside paper mode, and KIS_ENV disagreeing with the mode', async () => {
    await expect(
      run({ ...loadRunnerConfig({ VELLAB_REHEARSAL_SIM: 'http://127.0.0.1:1' }) }, { log: () => {} }),
    ).rejects.toThrow(/VELLAB_REHEARSAL_SIM applies to VELLAB_MODE=paper or real only/)
    await expect(
      run(
        { ...loadRunnerConfig({ VELLAB_MODE: 'paper' }), databaseUrl: db.url },
        { log: () => {}, env: { KIS_ENV: 'real' } },
      ),
    ).rejects.toThrow(/KIS_ENV=real: they must agree/)
  })

  it('real mode, confirmed, in phase pilot with every cap: trades the real environment within the caps', async () => {
    const r = await startPaperRehearsal()
    try {
      const real = r.realApp
      const account = real.account
      const env = {
        ...r.env,
        VELLAB_MODE: 'real',
        KIS_APP_KEY: real.appkey,
        KIS_APP_SECRET: real.appsecret,
        KIS_ACCOUNT: account,
        KIS_HTS_ID: real.htsId,
        KIS_WS_URL: r.env.KIS_WS_URL!.replace('/tryitout', ''),
        VELLAB_PHASE: 'pilot',
        VELLAB_PILOT_SYMBOLS: '005930',
        VELLAB_MAX_ORDER_NOTIONAL: '100000',
        VELLAB_MAX_DAILY_NOTIONAL: '1000000',
        VELLAB_MAX_DAILY_LOSS: '50000',
        VELLAB_APPROVED_STRATEGIES: 'demo-quoter',
      }
      // Confirming another account is no confirmation.
      await expect(
        run(
          { ...loadRunnerConfig({ ...env, VELLAB_REAL_CONFIRM: '99999999-01' }), databaseUrl: db.url },
          { log: () => {}, env },
        ),
      ).rejects.toThrow(new RegExp(`VELLAB_REAL_CONFIRM does not name ${account}`))
      const lines: string[] = []
      const config = {
        ...loadRunnerConfig({ ...env, VELLAB_REAL_CONFIRM: account }),
        databaseUrl: db.url,
        runSeconds: 5,
        decisionIntervalMs: 500,
      }
      const report = await run(config, { log: (l) => lines.push(l), env })
      expect(lines).toContain(`REAL MONEY: accounts ${account}, phase pilot`)
      expect(lines.some((l) => l.startsWith('KIS real rehearsal against kis-sim'))).toBe(true)
      expect(report.stats.sent).toBeGreaterThan(0)
      // Only the allowlisted symbol reached the broker; the other was stopped by the phase.
      const ledger = await r.get<{
        orders: { appkey: string; kind: string; pdno?: string; symbol?: string }[]
      }>('/__sim/ledger')
      const ours = ledger.orders.filter((o) => o.appkey === real.appkey && o.kind === 'new')
      expect(ours).toHaveLength(report.stats.sent)
      expect(report.stats.phaseStops.PILOT_SYMBOL_NOT_ALLOWED ?? 0).toBeGreaterThan(0)
      for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    } finally {
      expect(await r.sim.stop()).toBe(0)
    }
  }, 90_000)
})
