import { describe, expect, it } from 'vitest'
import { loadOperatorToken, loadRunnerConfig, printableConfig } from './config'

describe('loadRunnerConfig', () => {
  it('defaults to a zero-setup sim session', () => {
    expect(loadRunnerConfig({})).toEqual({
      mode: 'sim',
      runSeconds: 20,
      symbols: ['005930', '000660'],
      orderQuantity: 1,
      decisionIntervalMs: 1_000,
      simStart: '2026-11-24 09:05:00',
      simEnvironment: 'real',
      httpPort: 0,
      phase: 'paper',
      caps: { symbols: [], rampFactor: 2 },
      approvedStrategies: [],
      reconcileReportingDelayMs: 15_000,
    })
    expect(
      loadRunnerConfig({
        VELLAB_PHASE: 'pilot',
        VELLAB_PILOT_SYMBOLS: '005930, 000660',
        VELLAB_MAX_ORDER_NOTIONAL: '100000',
        VELLAB_APPROVED_STRATEGIES: 'demo-quoter',
      }),
    ).toMatchObject({
      phase: 'pilot',
      caps: { symbols: ['005930', '000660'], maxOrderNotional: 100_000 },
      approvedStrategies: ['demo-quoter'],
    })
    expect(() => loadRunnerConfig({ VELLAB_PHASE: 'yolo' })).toThrow(/phase/)
    expect(() => loadRunnerConfig({ VELLAB_MAX_ORDER_NOTIONAL: '-5' })).toThrow(/caps.maxOrderNotional/)
    expect(loadRunnerConfig({ VELLAB_SIM_ENV: 'paper' }).simEnvironment).toBe('paper')
    expect(() => loadRunnerConfig({ VELLAB_SIM_ENV: 'vts' })).toThrow(/simEnvironment/)
  })

  it('reads the operator token from the environment or a file, and refuses a short one', () => {
    expect(loadOperatorToken({})).toBeUndefined()
    expect(loadOperatorToken({ VELLAB_OPERATOR_TOKEN: 'a-long-enough-operator-token' })).toBe(
      'a-long-enough-operator-token',
    )
    expect(
      loadOperatorToken({ VELLAB_OPERATOR_TOKEN_FILE: '/run/secrets/op' }, (p) =>
        p === '/run/secrets/op' ? '  from-a-secret-file-0123\n' : '',
      ),
    ).toBe('from-a-secret-file-0123')
    expect(() => loadOperatorToken({ VELLAB_OPERATOR_TOKEN: 'short' })).toThrow(/at least 16/)
  })

  it('reads the environment and coerces numbers', () => {
    const c = loadRunnerConfig({
      VELLAB_MODE: 'sim',
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/x',
      VELLAB_RUN_SECONDS: '0',
      VELLAB_SYMBOLS: '005930, 035720',
    })
    expect(c).toMatchObject({
      databaseUrl: 'postgres://u@127.0.0.1:5432/x',
      runSeconds: 0,
      symbols: ['005930', '035720'],
    })
  })

  it('names every invalid setting in one error', () => {
    expect(() =>
      loadRunnerConfig({ VELLAB_MODE: 'yolo', VELLAB_RUN_SECONDS: '-1', VELLAB_SYMBOLS: 'abc' }),
    ).toThrow(/invalid runner configuration:\n {2}mode: .*\n {2}runSeconds: .*\n {2}symbols/s)
  })
})

describe('printableConfig', () => {
  it('hides the database password and nothing else', () => {
    const c = loadRunnerConfig({ DATABASE_URL: 'postgres://trader:s3cr3t-pw@db.internal:5432/vellab' })
    const printed = JSON.stringify(printableConfig(c))
    expect(printed).not.toContain('s3cr3t-pw')
    expect(printed).toContain('postgres://trader:***@db.internal:5432/vellab')
    expect(printableConfig(loadRunnerConfig({}))).toEqual(loadRunnerConfig({}))
  })
})
