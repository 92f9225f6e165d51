import { addKstDays, type Clock, kstInstant } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { leaseKeyOf } from '@vellab/lease'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { migrate, type RunnerDatabase } from '../src/database'
import { AppkeyLiveness, type LivenessAssessment } from '../src/liveness'

const DAY = 86_400_000
const TODAY = '2026-12-01'
const NOW = kstInstant(TODAY, '10:00')
// A made-up appkey: only its lease key may reach the database.
const APPKEY = 'PSliveness0test0appkey0000000000XYZ1'
const KEY = leaseKeyOf(APPKEY)

let tdb: TestDatabase
let db: Kysely<RunnerDatabase>
beforeAll(async () => {
  tdb = await createTestDatabase()
  db = tdb.db<RunnerDatabase>()
  expect(await migrate(db)).toContain('runner_0003_appkey_activity')
})
afterAll(async () => {
  await tdb?.drop()
})

const row = async (key: string) =>
  (
    await sql<{ service_started_on: string | null; last_used_at: string | null; checked_at: string | null }>`
      SELECT to_char(service_started_on, 'YYYY-MM-DD') AS service_started_on, last_used_at, checked_at
      FROM runner_appkey_activity WHERE lease_key = ${key}`.execute(db)
  ).rows[0]

describe('AppkeyLiveness', () => {
  it('configures, records uses and checks by lease key, never storing the appkey', async () => {
    const liveness = new AppkeyLiveness({ db })
    expect(liveness.current(KEY, NOW)).toMatchObject({
      level: 'unknown',
      messages: ['appkey liveness not checked yet'],
    })

    // Never configured, never used: unknown, and the check leaves its stamp.
    const first = await liveness.check(KEY, NOW)
    expect(first.level).toBe('unknown')
    expect(first.messages[0]).toMatch(/set VELLAB_APPKEY_SERVICE_STARTED_ON/)
    expect(await row(KEY)).toEqual({ service_started_on: null, last_used_at: null, checked_at: String(NOW) })

    await liveness.configure(KEY, addKstDays(TODAY, 20 - 365))
    await liveness.recordUse(KEY, NOW - 10 * DAY)
    await liveness.recordUse(KEY, NOW - 40 * DAY) // an older use never moves the last one back
    const second = await liveness.check(KEY, NOW + 60_000)
    expect(second).toMatchObject({
      level: 'warn',
      serviceEndsOn: '2026-12-21',
      daysToServiceEnd: 20,
      daysSinceUse: 10,
      deactivationOn: addKstDays(TODAY, 80),
    })
    expect(await row(KEY)).toEqual({
      service_started_on: '2025-12-21',
      last_used_at: String(NOW - 10 * DAY),
      checked_at: String(NOW + 60_000),
    })

    // A runner configured without the day keeps the stored one; a new day (renewed) replaces it.
    await liveness.configure(KEY, undefined)
    expect((await row(KEY))?.service_started_on).toBe('2025-12-21')
    await liveness.configure(KEY, TODAY)
    expect((await liveness.check(KEY, NOW)).level).toBe('ok')
    await expect(liveness.configure(KEY, '2026-02-30')).rejects.toThrow(RangeError)

    // Between checks, `current` reassesses the last reading at any time, without the database.
    expect(liveness.current(KEY, NOW + 355 * DAY)).toMatchObject({ level: 'critical', daysToServiceEnd: 10 })
    await liveness.recordUse(KEY, NOW + 300 * DAY)
    expect(liveness.current(KEY, NOW + 300 * DAY).daysSinceUse).toBe(0)

    const everything = await sql<{
      r: string
    }>`SELECT row_to_json(t)::text AS r FROM runner_appkey_activity t`.execute(db)
    expect(everything.rows.map((r) => r.r).join('\n')).not.toContain(APPKEY)
    expect(KEY).toMatch(/^appkey:[0-9a-f]{24}$/)
  })

  it('noteUse writes at most once an hour per key and reports failures instead of throwing', async () => {
    const key = leaseKeyOf('PSnote0use0appkey00000000000000000000')
    const errors: Error[] = []
    const liveness = new AppkeyLiveness({ db, onError: (e) => errors.push(e) })
    liveness.noteUse(key, NOW)
    await vi.waitFor(async () => expect((await row(key))?.last_used_at).toBe(String(NOW)))
    liveness.noteUse(key, NOW + 59 * 60_000) // within the hour: skipped
    liveness.noteUse(key, NOW + 61 * 60_000)
    await vi.waitFor(async () => expect((await row(key))?.last_used_at).toBe(String(NOW + 61 * 60_000)))
    expect(errors).toEqual([])
  })

  it('checks at start and then every period on the injected clock, in timers of at most a day', async () => {
    const key = leaseKeyOf('PSmonthly0appkey000000000000000000000')
    const manual = new ManualClock(NOW)
    const delays: number[] = []
    const clock: Clock = {
      now: () => manual.now(),
      setTimeout: (f, ms) => {
        delays.push(ms)
        return manual.setTimeout(f, ms)
      },
      clearTimeout: (h) => manual.clearTimeout(h),
    }
    const liveness = new AppkeyLiveness({ db })
    // Ends 45 days from now: ok at start, warn a month on.
    await liveness.configure(key, addKstDays(TODAY, 45 - 365))
    const results: LivenessAssessment[] = []
    const stop = liveness.startMonthly({ clock, leaseKey: key, onResult: (a) => results.push(a) })
    await vi.waitFor(() => expect(results).toHaveLength(1))
    expect(results[0]).toMatchObject({ level: 'ok', daysToServiceEnd: 45 })

    await manual.advanceAsync(30 * DAY - 1)
    expect(results).toHaveLength(1)
    await manual.advanceAsync(1)
    await vi.waitFor(() => expect(results).toHaveLength(2))
    expect(results[1]).toMatchObject({ level: 'warn', daysToServiceEnd: 15 })
    expect((await row(key))?.checked_at).toBe(String(NOW + 30 * DAY))
    // 2^31-1 ms is 24.8 days: a 30-day timer would fire at once in Node.
    expect(Math.max(...delays)).toBeLessThanOrEqual(DAY)

    stop()
    expect(manual.pendingTimers).toBe(0)
    await manual.advanceAsync(90 * DAY)
    expect(results).toHaveLength(2)
  })

  it('a dead database gives unknown, not a throw, and the schedule goes on', async () => {
    const pool = new pg.Pool({
      connectionString: 'postgres://nobody@127.0.0.1:1/none',
      connectionTimeoutMillis: 2_000,
    })
    pool.on('error', () => {})
    const dead = new Kysely<RunnerDatabase>({ dialect: new PostgresDialect({ pool }) })
    try {
      const liveness = new AppkeyLiveness({ db: dead })
      const a = await liveness.check(KEY, NOW)
      expect(a).toMatchObject({ level: 'unknown', serviceEndsOn: null, daysSinceUse: null })
      expect(a.messages[0]).toMatch(/^appkey liveness check failed: cannot read its record \(.+\)$/)

      const manual = new ManualClock(NOW)
      const results: LivenessAssessment[] = []
      const stop = liveness.startMonthly({
        clock: manual,
        leaseKey: KEY,
        every: DAY,
        onResult: (r) => results.push(r),
      })
      await vi.waitFor(() => expect(results).toHaveLength(1))
      await manual.advanceAsync(DAY)
      await vi.waitFor(() => expect(results).toHaveLength(2))
      expect(results.map((r) => r.level)).toEqual(['unknown', 'unknown'])
      stop()
    } finally {
      await dead.destroy()
    }
  })
})
