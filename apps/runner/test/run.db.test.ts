import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
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

  it('refuses live modes rather than trading half-armed', async () => {
    await expect(run({ ...loadRunnerConfig({}), mode: 'real' }, { log: () => {} })).rejects.toThrow(
      /not supported/,
    )
  })
})
