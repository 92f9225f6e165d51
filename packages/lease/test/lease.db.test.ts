import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil } from '@vellab/testkit/wait'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppKeyLease, LeaseLostError, leaseKeyOf, migrateLease, readLeases } from '../src'

// Each lease holds its own PostgreSQL connection, so two leases here contend exactly as two
// processes would at the database.

let tdb: TestDatabase
const held: AppKeyLease[] = []
beforeAll(async () => {
  tdb = await createTestDatabase('lease')
  await migrateLease(tdb.db())
})
afterAll(async () => {
  for (const l of held) await l.release()
  await tdb?.drop()
})

let n = 0
const opts = (
  holder: string,
  key: string,
  extra: Partial<Parameters<typeof AppKeyLease.acquire>[0]> = {},
) => ({
  connectionString: tdb.url,
  key,
  holder,
  ttlMs: 800,
  pollMs: 20,
  ...extra,
})
const freshKey = () => `test:${++n}`
const keep = (l: AppKeyLease) => {
  held.push(l)
  return l
}

describe('AppKeyLease', () => {
  it('is exclusive; a standby takes over at release with the next epoch', async () => {
    const key = freshKey()
    const a = keep(await AppKeyLease.acquire(opts('a', key)))
    expect(a.epoch).toBe(1)
    let waits = 0
    const b = AppKeyLease.acquire(opts('b', key, { onWait: () => void waits++ })).then(keep)
    await waitUntil('the standby waiting', () => waits >= 3)
    expect(a.held).toBe(true)
    await a.release()
    const lb = await b
    expect(lb.epoch).toBe(2)
    expect(a.held).toBe(false)
    expect(() => a.assertFresh()).toThrow(LeaseLostError)
    lb.assertFresh()
  })

  it('a holder that dies (its session ends) is replaced at once, and it knows it lost', async () => {
    const key = freshKey()
    const reasons: string[] = []
    const a = keep(await AppKeyLease.acquire(opts('a', key, { onLost: (r) => reasons.push(r) })))
    const b = AppKeyLease.acquire(opts('b', key)).then(keep)
    const admin = new pg.Client({ connectionString: tdb.url })
    await admin.connect()
    try {
      await admin.query(`SELECT pg_terminate_backend(backend_pid) FROM vellab_leases WHERE lease_key = $1`, [
        key,
      ])
    } finally {
      await admin.end()
    }
    expect((await b).epoch).toBe(a.epoch + 1)
    await waitUntil('the old holder noticing', () => !a.held)
    expect(reasons).toHaveLength(1)
  })

  it('a holder silent past the TTL is taken over; woken, it refuses to act and is fenced', async () => {
    const key = freshKey()
    const a = keep(await AppKeyLease.acquire(opts('a', key)))
    // Freeze the holder's heartbeats: a transaction holds its heartbeat row, so every beat blocks.
    const blocker = new pg.Client({ connectionString: tdb.url })
    await blocker.connect()
    await blocker.query('BEGIN')
    await blocker.query('SELECT 1 FROM vellab_lease_heartbeats WHERE lease_key = $1 FOR UPDATE', [key])
    const b = AppKeyLease.acquire(opts('b', key)).then(keep)
    // Before the TTL is over the holder itself stops acting (half the TTL without a beat).
    await waitUntil('the holder seeing itself stale', () => {
      try {
        a.assertFresh()
        return false
      } catch (e) {
        return e instanceof LeaseLostError
      }
    })
    await blocker.query('COMMIT')
    await blocker.end()
    const lb = await b
    expect(lb.epoch).toBe(a.epoch + 1)
    expect(a.held).toBe(false)
    const rows = await readLeases(tdb.pool)
    expect(rows.find((r) => r.key === key)).toMatchObject({ epoch: lb.epoch, holder: 'b', live: true })
  })

  it('a frozen holder (lock held, no heartbeat) has its lock session ended by the standby after the TTL', async () => {
    const key = freshKey()
    // A holder that took the lease and then froze: its session holds the lock, nothing beats.
    const frozen = new pg.Client({ connectionString: tdb.url })
    frozen.on('error', () => {})
    await frozen.connect()
    await frozen.query(`SELECT pg_advisory_lock(hashtextextended('vellab_lease|' || $1, 0))`, [key])
    await frozen.query(
      `INSERT INTO vellab_leases (lease_key, epoch, holder, backend_pid, acquired_at)
       VALUES ($1, 7, 'frozen', pg_backend_pid(), clock_timestamp())`,
      [key],
    )
    await frozen.query(
      `INSERT INTO vellab_lease_heartbeats (lease_key, epoch, heartbeat_at) VALUES ($1, 7, clock_timestamp())`,
      [key],
    )
    const t0 = Date.now()
    const b = keep(await AppKeyLease.acquire(opts('b', key)))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800)
    expect(b.epoch).toBe(8)
    // The frozen holder's session is gone: whatever it tries next fails.
    await expect(frozen.query('SELECT 1')).rejects.toThrow()
    await frozen.end().catch(() => {})
  })

  it('a standby outlives the database going away and takes the lease when it is back', async () => {
    const key = freshKey()
    const reasons: string[] = []
    const a = keep(await AppKeyLease.acquire(opts('a', key, { onLost: (r) => reasons.push(r) })))
    const errors: string[] = []
    let polls = 0
    const b = AppKeyLease.acquire(
      opts('b', key, { onWait: (w) => void (w.error ? errors.push(w.error) : polls++) }),
    ).then(keep)
    // The standby is connected and polling before the database goes (its first connection's
    // failure would be the caller's to see, by design).
    await waitUntil('the standby polling', () => polls > 0, 20_000)
    const admin = new pg.Client({ connectionString: process.env.VELLAB_TEST_DATABASE_URL })
    await admin.connect()
    try {
      await admin.query(`ALTER DATABASE ${tdb.name} WITH ALLOW_CONNECTIONS false`)
      await tdb.terminateConnections()
      await waitUntil('the holder losing it', () => !a.held, 20_000)
      await waitUntil('the standby failing to reach the database', () => errors.length >= 2, 20_000)
    } finally {
      await admin.query(`ALTER DATABASE ${tdb.name} WITH ALLOW_CONNECTIONS true`)
      await admin.end()
    }
    expect((await b).epoch).toBe(a.epoch + 1)
    expect(reasons).toHaveLength(1)
  })

  it('keeps the appkey out of the key, and stops a standby on abort', async () => {
    const appkey = 'PSAOdLmUyTlJRd6AwNz4iPduxJO8GvvjTr3L'
    const key = leaseKeyOf(appkey)
    expect(key).toMatch(/^appkey:[0-9a-f]{24}$/)
    expect(key).not.toContain(appkey.slice(0, 8))
    expect(leaseKeyOf(appkey)).toBe(key)
    const a = keep(await AppKeyLease.acquire(opts('a', key)))
    const stop = new AbortController()
    const b = AppKeyLease.acquire(opts('b', key, { signal: stop.signal }))
    stop.abort(new Error('shutting down'))
    await expect(b).rejects.toThrow(/shutting down/)
    expect(a.held).toBe(true)
  })

  it('sharding: three processes over two keys — each key led by exactly one, the third takes whichever falls free', async () => {
    const k1 = freshKey()
    const k2 = freshKey()
    const any = (holder: string, extra: Partial<Parameters<typeof AppKeyLease.acquireAny>[0]> = {}) =>
      AppKeyLease.acquireAny({
        connectionString: tdb.url,
        keys: [k1, k2],
        holder,
        ttlMs: 800,
        pollMs: 20,
        ...extra,
      })
    // All three race from the same instant.
    const waits: Record<string, number> = { a: 0, b: 0, c: 0 }
    const won: AppKeyLease[] = []
    const racing = ['a', 'b', 'c'].map((h) =>
      any(h, { onWait: () => void waits[h]!++ }).then((l) => {
        won.push(keep(l))
        return l
      }),
    )
    await waitUntil('two leaders', () => won.length >= 2)
    const leaders = [...won]
    // Whoever is left looks at both keys, twice, and takes neither.
    const standby = ['a', 'b', 'c'].find((h) => !leaders.some((l) => l.holder === h))!
    const w0 = waits[standby]!
    await waitUntil('the third standing by on both keys', () => waits[standby]! >= w0 + 4)
    expect(won).toHaveLength(2)
    expect(new Set(leaders.map((l) => l.key))).toEqual(new Set([k1, k2]))
    const rows = await readLeases(tdb.pool)
    for (const k of [k1, k2]) expect(rows.find((r) => r.key === k)).toMatchObject({ epoch: 1, live: true })
    // One leader leaves: the standby takes exactly that key, at the next epoch.
    const leaving = leaders[1]!
    await leaving.release()
    const third = (await Promise.all(racing)).find((l) => l.holder === standby)!
    expect(third.key).toBe(leaving.key)
    expect(third.epoch).toBe(2)
    expect(leaders[0]!.held).toBe(true)
  })

  it('acquireAny refuses an empty or repeating key list', async () => {
    const base = { connectionString: tdb.url, holder: 'x' }
    await expect(AppKeyLease.acquireAny({ ...base, keys: [] })).rejects.toThrow(TypeError)
    await expect(AppKeyLease.acquireAny({ ...base, keys: ['k', 'k'] })).rejects.toThrow(/distinct/)
  })

  it('a takeover that meets a fenced write still in flight gives the lock back and tries again, never hanging on it', async () => {
    const key = freshKey()
    const a = keep(await AppKeyLease.acquire(opts('a', key)))
    // A write of the holder's, in flight: it shares the lease row (what fenced writes do).
    const writer = new pg.Client({ connectionString: tdb.url })
    await writer.connect()
    await writer.query('BEGIN')
    await writer.query('SELECT epoch FROM vellab_leases WHERE lease_key = $1 FOR SHARE', [key])
    const errors: string[] = []
    const b = AppKeyLease.acquire(
      opts('b', key, { onWait: (w) => void (w.error && errors.push(w.error)) }),
    ).then(keep)
    await a.release()
    await waitUntil('the standby meeting the write in flight', () => errors.length >= 2)
    expect(errors[0]).toMatch(/held by a write of the previous holder still in flight/)
    await writer.query('COMMIT')
    await writer.end()
    expect((await b).epoch).toBe(2)
  })
})
