import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil } from '@vellab/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AccessToken, PostgresTokenStore } from '../src/token-store'

describe('PostgresTokenStore (real PostgreSQL)', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase('kis')
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('creates its table idempotently, round-trips a token and never replaces a newer one', async () => {
    const store = new PostgresTokenStore(db.pool)
    await store.ensureSchema()
    await store.ensureSchema()
    expect(await store.load('paper:abc')).toBeUndefined()
    await store.save('paper:abc', { value: 'tok-new-000000', issuedAt: 1_000, expiresAt: 90_000_000 })
    expect(await store.load('paper:abc')).toEqual({
      value: 'tok-new-000000',
      issuedAt: 1_000,
      expiresAt: 90_000_000,
    })
    // A slower process finishing an older refresh must not clobber the newer token.
    await store.save('paper:abc', { value: 'tok-old-000000', issuedAt: 500, expiresAt: 80_000_000 })
    expect((await store.load('paper:abc'))?.value).toBe('tok-new-000000')
    await store.save('paper:abc', { value: 'tok-newer-0000', issuedAt: 2_000, expiresAt: 95_000_000 })
    expect((await store.load('paper:abc'))?.value).toBe('tok-newer-0000')
  })

  it('is shared by two stores (two processes) on the same database', async () => {
    const a = new PostgresTokenStore(db.pool)
    const b = new PostgresTokenStore(db.pool)
    await a.ensureSchema()
    await a.save('real:k', { value: 'shared-token-00', issuedAt: 1, expiresAt: 2 })
    expect((await b.load('real:k'))?.value).toBe('shared-token-00')
  })

  it('issueExclusively: two processes on one database never both issue (advisory lock)', async () => {
    const a = new PostgresTokenStore(db.pool)
    const b = new PostgresTokenStore(db.pool)
    await a.ensureSchema()
    const key = 'real:locked-key'
    let issued = 0
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const refresh = (store: PostgresTokenStore, wait: boolean) => () =>
      store.issueExclusively(key, async (): Promise<AccessToken> => {
        const found = await store.load(key)
        if (found) return found
        if (wait) await gate
        issued++
        const t = { value: `issued-${issued}-token`, issuedAt: 1, expiresAt: 10_000_000 }
        await store.save(key, t)
        return t
      })
    const first = refresh(a, true)()
    // The first holds the lock (waiting on the gate); the second must wait for it, not issue.
    await waitUntil('first holds the lock', async () => {
      const r = await db.pool.query(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted",
      )
      return (r.rows[0] as { n: number }).n >= 1
    })
    const second = refresh(b, false)()
    await waitUntil('second waits for the lock', async () => {
      const r = await db.pool.query(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      )
      return (r.rows[0] as { n: number }).n >= 1
    })
    release()
    const [t1, t2] = await Promise.all([first, second])
    expect(issued).toBe(1)
    expect(t2.value).toBe(t1.value)
  })
})
