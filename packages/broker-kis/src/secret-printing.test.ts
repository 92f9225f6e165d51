import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { describeKisConfig, loadKisConfigFromEnv, parseKisConfig } from './config'
import { createKisGateway } from './gateway'

const APP_KEY = 'PSk3yApPkEyForTesting0123456789abcd'
const APP_SECRET =
  'sEcReT+/AppSecretValueForTesting0123456789abcdefghijklmnopqrstuvwxyzABCDEF0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl='

/** Every way a person or a logger prints an object. */
function printings(value: unknown): string[] {
  const safeJson = (v: unknown) => {
    const seen = new WeakSet()
    return JSON.stringify(v, (_k, x) => {
      if (x && typeof x === 'object') {
        if (seen.has(x)) return '[cycle]'
        seen.add(x)
      }
      return x
    })
  }
  const out = [
    inspect(value),
    inspect(value, { depth: 12 }),
    inspect(value, { depth: 12, showHidden: true, getters: true }),
    String(value),
    safeJson(value) ?? '',
  ]
  try {
    out.push(safeJson(structuredClone(value)) ?? '')
  } catch {
    // not cloneable (functions, class instances with private state): nothing to print
  }
  return out
}

function expectNoSecret(value: unknown): void {
  for (const text of printings(value)) {
    expect(text).not.toContain(APP_KEY)
    expect(text).not.toContain(APP_SECRET)
  }
}

const input = {
  environment: 'paper' as const,
  appKey: APP_KEY,
  appSecret: APP_SECRET,
  account: '50123456-01',
}

describe('no public object reveals a secret, however it is printed', () => {
  it('the parsed configuration (still usable by the adapter)', () => {
    const config = parseKisConfig(input)
    expectNoSecret(config)
    expectNoSecret({ ...config })
    expect(config.appKey).toBe(APP_KEY)
    expect(config.appSecret).toBe(APP_SECRET)
    expect(JSON.parse(JSON.stringify(config))).toMatchObject({ environment: 'paper', account: '50123456-01' })
    expectNoSecret(describeKisConfig(config))
  })

  it('a configuration loaded from the environment', () => {
    const config = loadKisConfigFromEnv({
      env: { KIS_ENV: 'real', KIS_APP_KEY: APP_KEY, KIS_APP_SECRET: APP_SECRET, KIS_ACCOUNT: '50123456-01' },
    })
    expectNoSecret(config)
  })

  it('the gateway and every public member of it', async () => {
    const gateway = createKisGateway({ config: input })
    try {
      expectNoSecret(gateway)
      for (const key of Object.keys(gateway))
        expectNoSecret((gateway as unknown as Record<string, unknown>)[key])
      expectNoSecret(gateway.config)
      expectNoSecret(gateway.rest)
      expectNoSecret(gateway.tokens)
      expectNoSecret(gateway.approvals)
      expectNoSecret(gateway.stream)
    } finally {
      await gateway.close()
    }
  })
})
