import { describe, expect, it } from 'vitest'
import { loadOperatorToken, loadRunnerConfig, printableConfig, profileEnv } from './config'

describe('loadRunnerConfig', () => {
  it('defaults to a zero-setup sim session', () => {
    expect(loadRunnerConfig({})).toEqual({
      mode: 'sim',
      migrateMaxRewriteRows: 1_000_000,
      runSeconds: 20,
      symbols: ['005930', '000660'],
      orderQuantity: 1,
      maxOrdersPerMinute: 120,
      quoteRefreshMs: 1_000,
      quoteSource: 'stream',
      quoteStateRefreshMs: 3_000,
      positionsRefreshMs: 1_000,
      decisionIntervalMs: 1_000,
      simStart: '2026-11-24 09:05:00',
      simEnvironment: 'real',
      httpPort: 0,
      phase: 'paper',
      caps: { symbols: [], rampFactor: 2 },
      approvedStrategies: [],
      reconcileReportingDelayMs: 15_000,
      reconcileIntervalMs: 60_000,
      leaseTtlMs: 5_000,
      noticesTimeoutMs: 60_000,
      accounts: [],
      strategy: 'demo-quoter',
      strategyParams: {},
      realConfirm: [],
      kisServicePeriodDays: 365,
      kisInactivityDays: 90,
      kisLivenessWarnDays: 30,
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
    expect(loadRunnerConfig({ VELLAB_QUOTE_SOURCE: 'rest' }).quoteSource).toBe('rest')
    expect(() => loadRunnerConfig({ VELLAB_QUOTE_SOURCE: 'ws' })).toThrow(/quoteSource/)
    // Risk refuses quotes older than 5 s and sees REST quotes only.
    expect(() => loadRunnerConfig({ VELLAB_QUOTE_STATE_REFRESH_MS: '6000' })).toThrow(/quoteStateRefreshMs/)
  })

  it('reads the strategy and its parameters (a JSON object), and refuses anything else as parameters', () => {
    expect(
      loadRunnerConfig({
        VELLAB_STRATEGY: './my-strategy.mjs',
        VELLAB_STRATEGY_PARAMS: '{"parentTtlMs": 60000}',
      }),
    ).toMatchObject({ strategy: './my-strategy.mjs', strategyParams: { parentTtlMs: 60_000 } })
    expect(() => loadRunnerConfig({ VELLAB_STRATEGY_PARAMS: '[1]' })).toThrow(
      /strategyParams: must be a JSON object/,
    )
    expect(() => loadRunnerConfig({ VELLAB_STRATEGY_PARAMS: '{nope' })).toThrow(/strategyParams/)
    expect(loadRunnerConfig({ VELLAB_APPKEY_SERVICE_STARTED_ON: '2026-03-02' }).kisServiceStartedOn).toBe(
      '2026-03-02',
    )
    expect(() => loadRunnerConfig({ VELLAB_APPKEY_SERVICE_STARTED_ON: '2026-02-30' })).toThrow(
      /kisServiceStartedOn/,
    )
  })

  it('reads account profiles (sharding) and refuses repeats and names that shadow KIS_ variables', () => {
    expect(loadRunnerConfig({ VELLAB_ACCOUNTS: 'main, alt2' }).accounts).toEqual(['MAIN', 'ALT2'])
    expect(() => loadRunnerConfig({ VELLAB_ACCOUNTS: 'main,MAIN' })).toThrow(
      /accounts: profiles must not repeat/,
    )
    expect(() => loadRunnerConfig({ VELLAB_ACCOUNTS: 'rest' })).toThrow(/may not be named/)
    expect(() => loadRunnerConfig({ VELLAB_ACCOUNTS: '2nd' })).toThrow(/starting with a letter/)
  })

  it('gives a profile its own account and credentials, never the plain ones, and shares the rest', () => {
    const env = {
      KIS_APP_KEY: 'plain-key',
      KIS_APP_SECRET: 'plain-secret',
      KIS_ACCOUNT: '50000001-01',
      KIS_REST_URL: 'http://127.0.0.1:1',
      KIS_ALT_APP_KEY_FILE: '/run/secrets/alt-key',
      KIS_ALT_ACCOUNT: '50000002-01',
      KIS_ALT_WS_URL: 'ws://127.0.0.1:2',
    }
    const alt = profileEnv(env, 'ALT')
    expect(alt.KIS_APP_KEY).toBeUndefined()
    expect(alt.KIS_APP_SECRET).toBeUndefined()
    expect(alt).toMatchObject({
      KIS_APP_KEY_FILE: '/run/secrets/alt-key',
      KIS_ACCOUNT: '50000002-01',
      KIS_REST_URL: 'http://127.0.0.1:1',
      KIS_WS_URL: 'ws://127.0.0.1:2',
    })
    expect(env.KIS_APP_KEY).toBe('plain-key')
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

describe('a configuration file (VELLAB_CONFIG)', () => {
  const files: Record<string, string> = {
    '/etc/vellab/ok.json': JSON.stringify({
      runSeconds: 60,
      symbols: ['005930', '035720'],
      phase: 'pilot',
      caps: { symbols: ['005930'], maxOrderNotional: 1_000_000 },
      approvedStrategies: ['demo-mm'],
    }),
    '/etc/vellab/secret.json': JSON.stringify({ runSeconds: 5, kis: { appSecret: 'x' } }),
    '/etc/vellab/dbpass.json': JSON.stringify({ databaseUrl: 'postgres://u:hunter22@db/vellab' }),
    '/etc/vellab/typo.json': JSON.stringify({ runSecond: 5 }),
    '/etc/vellab/bad.json': '{ runSeconds: 5',
  }
  const read = (p: string) => {
    const text = files[p]
    if (text === undefined) throw new Error(`ENOENT: ${p}`)
    return text
  }

  it('supplies the settings, the environment overriding it key by key', () => {
    const c = loadRunnerConfig({ VELLAB_CONFIG: '/etc/vellab/ok.json', VELLAB_RUN_SECONDS: '30' }, read)
    expect(c).toMatchObject({
      runSeconds: 30,
      symbols: ['005930', '035720'],
      phase: 'pilot',
      approvedStrategies: ['demo-mm'],
      caps: { symbols: ['005930'], maxOrderNotional: 1_000_000, rampFactor: 2 },
    })
    const c2 = loadRunnerConfig(
      { VELLAB_CONFIG: '/etc/vellab/ok.json', VELLAB_MAX_ORDER_NOTIONAL: '5000' },
      read,
    )
    expect(c2.caps).toMatchObject({ symbols: ['005930'], maxOrderNotional: 5_000 })
  })

  it('refuses secrets, a database password, unknown keys and broken JSON, saying which', () => {
    expect(() => loadRunnerConfig({ VELLAB_CONFIG: '/etc/vellab/secret.json' }, read)).toThrow(
      /kis\.appSecret looks like a secret/,
    )
    const dbpass = (() => {
      try {
        loadRunnerConfig({ VELLAB_CONFIG: '/etc/vellab/dbpass.json' }, read)
      } catch (e) {
        return (e as Error).message
      }
      return ''
    })()
    expect(dbpass).toMatch(/databaseUrl carries a password/)
    expect(dbpass).not.toContain('hunter22')
    expect(() => loadRunnerConfig({ VELLAB_CONFIG: '/etc/vellab/typo.json' }, read)).toThrow(/runSecond/)
    expect(() => loadRunnerConfig({ VELLAB_CONFIG: '/etc/vellab/bad.json' }, read)).toThrow(
      /invalid runner configuration file \/etc\/vellab\/bad.json/,
    )
    expect(() => loadRunnerConfig({ VELLAB_CONFIG: '/etc/vellab/none.json' }, read)).toThrow(/ENOENT/)
  })
})
