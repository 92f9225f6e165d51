import { describe, expect, it } from 'vitest'
import { describeKisConfig, loadKisConfigFromEnv, parseKisConfig } from './config'
import { KisError } from './errors'
import { fakeKisCredentials } from './testing'

describe('parseKisConfig', () => {
  it('applies environment defaults: hosts, 18/s real and 1/s paper, 41 registrations', () => {
    const c = fakeKisCredentials()
    const real = parseKisConfig({
      environment: 'real',
      appKey: c.appKey,
      appSecret: c.appSecret,
      account: c.account,
    })
    expect(real.restBaseUrl).toBe('https://openapi.koreainvestment.com:9443')
    expect(real.wsUrl).toBe('ws://ops.koreainvestment.com:21000/tryitout')
    expect(real.limits.restPerSecond).toBe(18)
    expect(real.limits.subscriptionBudget).toBe(41)
    expect(real.cano).toBe(c.account.slice(0, 8))
    expect(real.productCode).toBe('01')
    const paper = parseKisConfig({
      environment: 'paper',
      appKey: c.appKey,
      appSecret: c.appSecret,
      account: c.account,
    })
    expect(paper.limits.restPerSecond).toBe(1)
    expect(paper.restBaseUrl).toBe('https://openapivts.koreainvestment.com:29443')
    expect(paper.wsUrl).toBe('ws://ops.koreainvestment.com:31000/tryitout')
  })

  it('accepts overrides and strips a trailing slash from the base URL', () => {
    const c = fakeKisCredentials()
    const cfg = parseKisConfig({
      environment: 'paper',
      appKey: c.appKey,
      appSecret: c.appSecret,
      account: c.account,
      restBaseUrl: 'http://127.0.0.1:1234/',
      limits: { restPerSecond: 5, subscriptionBudget: 10 },
    })
    expect(cfg.restBaseUrl).toBe('http://127.0.0.1:1234')
    expect(cfg.limits.restPerSecond).toBe(5)
    expect(cfg.limits.subscriptionBudget).toBe(10)
    expect(cfg.limits.safetyMarginMs).toBe(5)
  })

  it.each([
    [{ environment: 'live' }, 'environment'],
    [{ account: '1234-01' }, 'account'],
    [{ limits: { subscriptionBudget: 42 } }, 'subscriptionBudget'],
    [{ appSecret: 'x' }, 'appSecret'],
  ])('rejects %o with a message naming %s and no secret', (patch, field) => {
    const c = fakeKisCredentials()
    const input = {
      environment: 'real',
      appKey: c.appKey,
      appSecret: c.appSecret,
      account: c.account,
      ...patch,
    }
    let err: unknown
    try {
      parseKisConfig(input)
    } catch (e) {
      err = e
    }
    expect(KisError.isInstance(err)).toBe(true)
    const e = err as KisError
    expect(e.code).toBe('KIS_CONFIG_INVALID')
    expect(e.message).toContain(field)
    expect(e.message).not.toContain(c.appKey)
    expect(e.message).not.toContain(c.appSecret)
  })
})

describe('loadKisConfigFromEnv', () => {
  it('reads secrets from files and trims them', () => {
    const c = fakeKisCredentials()
    const files: Record<string, string> = {
      '/run/secrets/key': `${c.appKey}\n`,
      '/run/secrets/secret': `  ${c.appSecret}\n`,
    }
    const cfg = loadKisConfigFromEnv({
      env: {
        KIS_ENV: 'paper',
        KIS_APP_KEY_FILE: '/run/secrets/key',
        KIS_APP_SECRET_FILE: '/run/secrets/secret',
        KIS_ACCOUNT: c.account,
        KIS_HTS_ID: c.htsId,
        KIS_REST_URL: 'http://127.0.0.1:9',
      },
      readFile: (p) => {
        const v = files[p]
        if (v === undefined) throw new Error(`ENOENT ${p}`)
        return v
      },
    })
    expect(cfg.appKey).toBe(c.appKey)
    expect(cfg.appSecret).toBe(c.appSecret)
    expect(cfg.htsId).toBe(c.htsId)
    expect(cfg.restBaseUrl).toBe('http://127.0.0.1:9')
  })

  it('reports an unreadable secret file as KIS_SECRET_UNAVAILABLE', () => {
    expect(() =>
      loadKisConfigFromEnv({
        env: {
          KIS_ENV: 'real',
          KIS_APP_SECRET_FILE: '/nope',
          KIS_APP_KEY: 'k'.repeat(36),
          KIS_ACCOUNT: '12345678-01',
        },
        readFile: () => {
          throw new Error('ENOENT')
        },
      }),
    ).toThrow(/KIS_SECRET_UNAVAILABLE/)
  })

  it('describes a config without its secrets', () => {
    const c = fakeKisCredentials()
    const cfg = parseKisConfig({
      environment: 'real',
      appKey: c.appKey,
      appSecret: c.appSecret,
      account: c.account,
    })
    const text = JSON.stringify(describeKisConfig(cfg))
    expect(text).not.toContain(c.appKey)
    expect(text).not.toContain(c.appSecret)
    expect(text).toContain('[REDACTED]')
  })
})

describe('KIS_CAPABILITIES', () => {
  const creds = fakeKisCredentials()
  const base = {
    KIS_ENV: 'paper',
    KIS_APP_KEY: creds.appKey,
    KIS_APP_SECRET: creds.appSecret,
    KIS_ACCOUNT: creds.account,
  }
  it('overrides the environment’s defaults, and refuses anything but name=true|false', () => {
    expect(loadKisConfigFromEnv({ env: base }).capabilities).toMatchObject({
      listOrders: false,
      listFills: false,
    })
    expect(
      loadKisConfigFromEnv({ env: { ...base, KIS_CAPABILITIES: 'listOrders=true, listFills=true' } })
        .capabilities,
    ).toMatchObject({ listOrders: true, listFills: true, cash: true })
    expect(() => loadKisConfigFromEnv({ env: { ...base, KIS_CAPABILITIES: 'listOrders' } })).toThrow(
      /KIS_CAPABILITIES: "listOrders" is not name=true\|false/,
    )
    expect(() => loadKisConfigFromEnv({ env: { ...base, KIS_CAPABILITIES: 'everything=true' } })).toThrow(
      /KIS_CAPABILITIES/,
    )
    expect(loadKisConfigFromEnv({ env: { ...base, KIS_REST_PER_SECOND: '5' } }).limits.restPerSecond).toBe(5)
    expect(() => loadKisConfigFromEnv({ env: { ...base, KIS_REST_PER_SECOND: 'lots' } })).toThrow(
      /restPerSecond/,
    )
  })
})
