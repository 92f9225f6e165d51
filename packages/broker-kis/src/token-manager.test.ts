import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BrokerError } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { describe, expect, it } from 'vitest'
import type { KisEvent } from './events'
import { ApprovalKeyManager, TokenManager } from './token-manager'
import { type AccessToken, FileTokenStore, MemoryTokenStore, tokenStoreKey } from './token-store'

const H = 3_600_000
const T0 = Date.parse('2026-11-24T00:00:00Z')

function fakeIssuer(clock: ManualClock, opts: { lifetimeMs?: number; gate?: Promise<void> } = {}) {
  let n = 0
  const calls: number[] = []
  const issue = async (): Promise<AccessToken> => {
    calls.push(clock.now())
    await opts.gate
    n++
    return {
      value: `tok-${n}-${'x'.repeat(20)}`,
      issuedAt: clock.now(),
      expiresAt: clock.now() + (opts.lifetimeMs ?? 24 * H),
    }
  }
  return { issue, calls }
}

describe('TokenManager', () => {
  it('process-wide singleflight: managers of different gateways on one app key share one tokenP call', async () => {
    const clock = new ManualClock(T0)
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const { issue, calls } = fakeIssuer(clock, { gate })
    const key = tokenStoreKey('real', 'shared-appkey-sf')
    // Two gateways, two stores (or none shared): still one issuance for the app key.
    const a = new TokenManager({ issue, storeKey: key, clock, store: new MemoryTokenStore() })
    const b = new TokenManager({ issue, storeKey: key, clock, store: new MemoryTokenStore() })
    const both = Promise.all([a.get(), b.get(), a.get(), b.get()])
    release()
    const tokens = await both
    expect(calls).toHaveLength(1)
    expect(new Set(tokens).size).toBe(1)
    expect(a.issuedCount + b.issuedCount).toBe(1)
  })

  it('a store with issueExclusively runs load-issue-save inside it', async () => {
    const clock = new ManualClock(T0)
    const { issue } = fakeIssuer(clock)
    const inner = new MemoryTokenStore()
    const locked: string[] = []
    const store = {
      load: (k: string) => inner.load(k),
      save: (k: string, t: AccessToken) => inner.save(k, t),
      issueExclusively: async <T>(k: string, fn: () => Promise<T>): Promise<T> => {
        locked.push(k)
        return fn()
      },
    }
    const tm = new TokenManager({ issue, storeKey: 'real:locked', clock, store })
    await tm.get()
    expect(locked).toEqual(['real:locked'])
    expect((await inner.load('real:locked'))?.value).toMatch(/^tok-1-/)
  })

  it('singleflight: 100 concurrent callers cause exactly one tokenP call', async () => {
    const clock = new ManualClock(T0)
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const { issue, calls } = fakeIssuer(clock, { gate })
    const tm = new TokenManager({ issue, storeKey: 'k', clock })
    const all = Promise.all(Array.from({ length: 100 }, () => tm.get()))
    release()
    const tokens = await all
    expect(calls).toHaveLength(1)
    expect(new Set(tokens).size).toBe(1)
  })

  it('refreshes proactively before the absolute expiry, not before the 6-hour same-token window', async () => {
    const clock = new ManualClock(T0)
    const { issue, calls } = fakeIssuer(clock)
    const tm = new TokenManager({ issue, storeKey: 'k', clock, refreshBeforeMs: 20 * H })
    const first = await tm.get()
    clock.setTime(T0 + 5 * H) // inside the refresh window (expiry-20h = +4h) but younger than 6 h
    expect(await tm.get()).toBe(first)
    expect(calls).toHaveLength(1)
    clock.setTime(T0 + 6 * H + 1)
    const second = await tm.get()
    expect(second).not.toBe(first)
    expect(calls).toHaveLength(2)
  })

  it('never issues twice within the throttle interval and keeps serving a still-valid token', async () => {
    const clock = new ManualClock(T0)
    const { issue, calls } = fakeIssuer(clock, { lifetimeMs: 2 * H })
    const events: KisEvent[] = []
    const tm = new TokenManager({
      issue,
      storeKey: 'k',
      clock,
      refreshBeforeMs: H,
      onEvent: (e) => events.push(e),
    })
    const first = await tm.get()
    tm.invalidate(first, 'EGW00123')
    // Token rejected, throttle still closed (0 s since last issuance): rate_limited, nothing sent.
    const err = await tm.get().catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'rate_limited')).toBe(true)
    expect((err as BrokerError).retryAfterMs).toBe(60_000)
    expect(calls).toHaveLength(1)
    clock.setTime(T0 + 60_000)
    expect(await tm.get()).not.toBe(first)
    expect(calls).toHaveLength(2)
    expect(events.map((e) => e.type)).toContain('token.throttled')
  })

  it('a refused tokenP (bad credentials) is reported as auth with what to fix while its slot is spent, never as rate_limited', async () => {
    const clock = new ManualClock(T0)
    let calls = 0
    let refuse = true
    const issue = async (): Promise<AccessToken> => {
      calls++
      if (refuse) {
        throw new BrokerError('auth', '유효하지 않은 AppKey입니다. (EGW00103): check KIS_APP_KEY', {
          brokerCode: 'EGW00103',
          httpStatus: 403,
        })
      }
      return { value: `tok-ok-${'y'.repeat(20)}`, issuedAt: clock.now(), expiresAt: clock.now() + 24 * H }
    }
    const m = new TokenManager({ issue, storeKey: tokenStoreKey('real', 'refused-appkey'), clock })
    const first = await m.get().catch((e: unknown) => e)
    expect(first).toMatchObject({ kind: 'auth', brokerCode: 'EGW00103' })
    clock.advance(10_000)
    const second = await m.get().catch((e: unknown) => e)
    expect(BrokerError.isKind(second, 'auth')).toBe(true)
    expect(second).toMatchObject({ brokerCode: 'EGW00103', retryAfterMs: 50_000 })
    expect(String((second as Error).message)).toMatch(/KIS_APP_KEY.*refused 10 s ago.*allowed in 50000 ms/)
    expect(calls).toBe(1)
    // Fixed credentials: the next slot issues, and the refusal is forgotten.
    refuse = false
    clock.advance(50_000)
    await expect(m.get()).resolves.toMatch(/^tok-ok-/)
    expect(calls).toBe(2)
  })

  it('after EGW00133 from the broker, uses a token another process stored meanwhile', async () => {
    const clock = new ManualClock(T0)
    const store = new MemoryTokenStore()
    const other: AccessToken = { value: 'from-other-process-xxxx', issuedAt: T0, expiresAt: T0 + 24 * H }
    const tm = new TokenManager({
      storeKey: 'k',
      store,
      clock,
      issue: async () => {
        await store.save('k', other)
        throw new BrokerError('rate_limited', 'EGW00133', { brokerCode: 'EGW00133' })
      },
    })
    expect(await tm.get()).toBe(other.value)
  })

  it('reuses a stored token after a restart instead of burning an issuance', async () => {
    const clock = new ManualClock(T0)
    const store = new MemoryTokenStore()
    const a = fakeIssuer(clock)
    const tm1 = new TokenManager({ issue: a.issue, storeKey: 'k', store, clock })
    const t = await tm1.get()
    const b = fakeIssuer(clock)
    const tm2 = new TokenManager({ issue: b.issue, storeKey: 'k', store, clock })
    expect(await tm2.get()).toBe(t)
    expect(b.calls).toHaveLength(0)
  })

  it('ignores a stored token that the broker rejected', async () => {
    const clock = new ManualClock(T0)
    const store = new MemoryTokenStore()
    const a = fakeIssuer(clock)
    const tm = new TokenManager({ issue: a.issue, storeKey: 'k', store, clock, minIssueIntervalMs: 0 })
    const t = await tm.get()
    tm.invalidate(t, 'EGW00121')
    const t2 = await tm.get()
    expect(t2).not.toBe(t)
    expect(a.calls).toHaveLength(2)
  })
})

describe('FileTokenStore', () => {
  it('writes mode 0600, survives a new instance, and ignores a corrupt file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kis-token-'))
    const path = join(dir, 'nested', 'tokens.json')
    const key = tokenStoreKey('paper', 'PSappkey-for-test-000000000000000000')
    const token = { value: 'tok-value-abcdef', issuedAt: 1, expiresAt: 2 }
    await new FileTokenStore(path).save(key, token)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await new FileTokenStore(path).load(key)).toEqual(token)
    // The app key itself is not written next to the token.
    expect(await readFile(path, 'utf8')).not.toContain('PSappkey')
    await writeFile(path, '{not json')
    expect(await new FileTokenStore(path).load(key)).toBeUndefined()
  })
})

describe('ApprovalKeyManager', () => {
  it('issues once for concurrent callers, reuses the key, and fetches a fresh one after invalidate', async () => {
    const clock = new ManualClock(T0)
    let n = 0
    const am = new ApprovalKeyManager({ clock, issue: async () => `approval-${++n}-0000` })
    const keys = await Promise.all(Array.from({ length: 20 }, () => am.get()))
    expect(new Set(keys)).toEqual(new Set(['approval-1-0000']))
    am.invalidate('OPSP0011')
    expect(await am.get()).toBe('approval-2-0000')
    expect(am.issuedCount).toBe(2)
  })
})
