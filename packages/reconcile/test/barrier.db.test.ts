import type { TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil } from '@vellab/testkit/wait'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReconcileError } from '../src'
import { type Db, expectNothingSentTwice, setupDatabase, World } from './harness'

let tdb: TestDatabase
let db: Kysely<Db>
beforeAll(async () => {
  ;({ tdb, db } = await setupDatabase())
})
afterAll(async () => {
  await tdb.drop()
})

/** Wait for database round trips (real I/O, not timing: the clock is manual). */
const until = (done: () => boolean, w: World) =>
  waitUntil(`reconciler events (${w.events.map((e) => e.type).join(',')})`, done)

describe('barrier and schedule', () => {
  it('the barrier stays closed while an intent is pending and opens once the delay proves it absent', async () => {
    const w = new World(db)
    w.reconciler = w.makeReconciler({ barrierRetryMs: 4_000 })
    const intent = w.intent()
    await w.store.createIntent(intent)
    await w.store.beginSubmit(intent.intentId)
    await w.store.recover()
    let opened = false
    const barrier = w.reconciler.barrier(w.account).then((s) => {
      opened = true
      return s
    })
    await until(() => w.events.some((e) => e.type === 'run_finished'), w)
    expect(w.reconciler.barrierState(w.account)).toMatchObject({ open: false, status: 'pending' })
    expect(w.reconciler.barrierState(w.account).reasons.join()).toMatch(/reporting delay/)
    for (let i = 0; i < 4 && !opened; i++) {
      w.clock.advance(4_000)
      const runs = w.events.filter((e) => e.type === 'run_finished').length
      await until(() => opened || w.events.filter((e) => e.type === 'run_finished').length > runs, w)
    }
    const state = await barrier
    expect(state).toMatchObject({ open: true, status: 'clean' })
    expect((await w.order(intent.intentId)).state).toBe('REJECTED')
  })

  it('a stream gap closes the barrier until a pass that started after it', async () => {
    const w = new World(db)
    expect((await w.reconciler.barrier(w.account)).open).toBe(true)
    w.reconciler.invalidate(w.account, 'stream gap: WebSocket reconnected')
    expect(w.reconciler.barrierState(w.account).open).toBe(false)
    expect(w.reconciler.barrierState(w.account).reasons.join()).toMatch(/stream gap/)
    const state = await w.reconciler.barrier(w.account)
    expect(state.open).toBe(true)
    const triggers = w.events.flatMap((e) => (e.type === 'run_started' ? [e.trigger] : []))
    expect(triggers).toContain('stream_gap')
  })

  it('soon: a pass once the reporting delay has passed (an unknown outcome settled in seconds, not at the next periodic pass)', async () => {
    const w = new World(db) // reportingDelayMs 10 s
    // Every pass here is one `soon` asked for (run_finished carries no trigger).
    const started = () => w.events.filter((e) => e.type === 'run_started' && e.trigger === 'soon').length
    const finished = () => w.events.filter((e) => e.type === 'run_finished').length
    const lost = w.intent()
    expect((await w.send(lost, 'lost_ack')).state).toBe('RECONCILE_REQUIRED')
    w.reconciler.soon(w.account)
    w.clock.advance(5_000)
    // A second unknown outcome 5 s later (this request never reached the broker) asks for a pass
    // at 15.5 s.
    const lost2 = w.intent({ limitPrice: 69_900 })
    await w.send(lost2, 'lost_request')
    w.reconciler.soon(w.account)
    w.clock.advance(5_499)
    expect(started()).toBe(0)
    w.clock.advance(1)
    await until(() => finished() === 1, w)
    expect((await w.order(lost.intentId)).state).toBe('ACKED')
    // The second one is absent but inside its reporting delay: not declared absent yet…
    expect((await w.order(lost2.intentId)).state).toBe('RECONCILE_REQUIRED')
    // …the pass asked for at 15.5 s does.
    w.clock.advance(4_999)
    expect(started()).toBe(1)
    w.clock.advance(1)
    await until(() => finished() === 2, w)
    expect((await w.order(lost2.intentId)).state).toBe('REJECTED')
    expect(w.clock.pendingTimers).toBe(0)
    expectNothingSentTwice(w, [lost.intentId])
    // Stopping cancels a pass asked for and not yet started; asking once stopped does nothing.
    w.reconciler.soon(w.account)
    await w.reconciler.stop()
    w.reconciler.soon(w.account)
    w.clock.advance(60_000)
    expect(started()).toBe(2)
    expect(w.clock.pendingTimers).toBe(0)
  })

  it('runs periodically on a jittered schedule from the injected clock and random source', async () => {
    const w = new World(db)
    w.reconciler = w.makeReconciler({ intervalMs: 10_000, jitter: 0.2, random: () => 0 })
    w.reconciler.start()
    expect(w.clock.pendingTimers).toBe(1)
    w.clock.advance(7_999)
    // 10 s × (1 − 0.2): the timer has not fired yet.
    expect(w.clock.pendingTimers).toBe(1)
    w.clock.advance(1)
    expect(w.clock.pendingTimers).toBe(0)
    await until(() => w.events.some((e) => e.type === 'run_finished'), w)
    w.clock.advance(8_000)
    await until(() => w.events.filter((e) => e.type === 'run_finished').length === 2, w)
    await w.reconciler.stop()
    expect(w.clock.pendingTimers).toBe(0)
    w.clock.advance(100_000)
    expect(w.events.filter((e) => e.type === 'run_started')).toHaveLength(2)
    expect(
      w.events
        .filter((e) => e.type === 'run_started')
        .every((e) => e.type === 'run_started' && e.trigger === 'periodic'),
    ).toBe(true)
  })

  it('a periodic or stream-gap pass that fails (the database gone) is a critical alarm, never an unhandled rejection', async () => {
    const w = new World(db)
    // A database that is gone: every statement of the pass fails.
    const gone = new Kysely<Db>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none', connectionTimeoutMillis: 500 }),
      }),
    })
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      w.reconciler = w.makeReconciler({ db: gone, intervalMs: 1_000, jitter: 0 })
      w.reconciler.start()
      w.clock.advance(1_000)
      w.reconciler.invalidate(w.account, 'stream gap: test')
      await until(() => w.events.filter((e) => e.type === 'alarm' && e.code === 'pass_failed').length >= 2, w)
      const alarms = w.events.flatMap((e) => (e.type === 'alarm' && e.code === 'pass_failed' ? [e] : []))
      expect(alarms.map((a) => a.severity)).toEqual(['critical', 'critical'])
      expect(alarms.map((a) => a.message.split(' ')[0]).sort()).toEqual(['periodic', 'stream_gap'])
      // The barrier stays closed: no pass finished after the gap.
      expect(w.reconciler.barrierState(w.account).open).toBe(false)
      await w.reconciler.stop()
      await new Promise((r) => setImmediate(r))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await gone.destroy()
    }
  })

  it('joins concurrent on-demand calls: one running pass plus at most one queued', async () => {
    const w = new World(db)
    const all = await Promise.all([
      w.reconciler.run(w.account),
      w.reconciler.run(w.account),
      w.reconciler.run(w.account),
    ])
    expect(new Set(all.map((r) => r.runId)).size).toBe(2)
    const { count } = await db
      .selectFrom('recon_runs')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('account', '=', w.account)
      .executeTakeFirstOrThrow()
    expect(Number(count)).toBe(2)
  })

  it('a stopped reconciler fails barrier waiters with a typed error instead of opening', async () => {
    const w = new World(db)
    await w.reconciler.stop()
    await expect(w.reconciler.barrier(w.account)).rejects.toSatisfy((e) =>
      ReconcileError.isCode(e, 'stopped'),
    )
  })

  it('refuses an account it does not own with a typed error', async () => {
    const w = new World(db)
    expect(() => w.reconciler.barrierState('nobody')).toThrow(ReconcileError)
  })
})
