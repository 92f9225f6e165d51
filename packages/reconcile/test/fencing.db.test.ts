import { createOrderStore, FencedError } from '@vellab/order-fsm'
import type { TestDatabase } from '@vellab/testkit/postgres'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReconcileError, type ReconcileEvent } from '../src'
import { type Db, setupDatabase, World } from './harness'

// The reconciler's own writes fenced by a lease epoch (`fence` option): once the lease has moved
// on, each write is refused in its own transaction, nothing of it is written, and the pass rejects
// with `fenced`. The lease table is @vellab/lease's; its shape is all this package relies on.

let tdb: TestDatabase
let db: Kysely<Db>
beforeAll(async () => {
  ;({ tdb, db } = await setupDatabase())
  await sql`CREATE TABLE vellab_leases (lease_key text PRIMARY KEY, epoch bigint NOT NULL)`.execute(db)
})
afterAll(async () => {
  await tdb.drop()
})

async function setEpoch(key: string, epoch: number): Promise<void> {
  await sql`INSERT INTO vellab_leases VALUES (${key}, ${epoch})
    ON CONFLICT (lease_key) DO UPDATE SET epoch = EXCLUDED.epoch`.execute(db)
}

/** Everything the reconciler wrote for an account, in a comparable form. */
async function rowsOf(account: string) {
  const runs = await db
    .selectFrom('recon_runs')
    .select(['id', 'status'])
    .where('account', '=', account)
    .orderBy('id')
    .execute()
  const tickets = await db
    .selectFrom('recon_tickets')
    .select(['id', 'state', 'seen_count', 'last_run_id', 'acknowledged_by', 'resolved_by'])
    .where('account', '=', account)
    .orderBy('id')
    .execute()
  const breaks = await db
    .selectFrom('recon_breaks')
    .select(['id', 'kind', 'resolution'])
    .where('account', '=', account)
    .orderBy('id')
    .execute()
  const baselines = await db
    .selectFrom('recon_baselines')
    .select(['broker_date', 'run_id'])
    .where('account', '=', account)
    .execute()
  return { runs, tickets, breaks, baselines }
}

/** A lost ack with two identical candidates: one pass takes the opening book, tickets, records breaks. */
async function ticketedWorld(fence?: () => { key: string; epoch: number }): Promise<World> {
  const w = new World(db, fence ? { fence } : {})
  const intent = w.intent()
  await w.send(intent, 'lost_ack')
  await w.broker.placeOrder({ ...intent, intentId: `${w.prefix}-from-the-app` })
  w.clock.advance(11_000)
  return w
}

function expectFenced(e: unknown, key: string, epoch: number, leaseEpoch: number | null): boolean {
  expect(ReconcileError.isCode(e, 'fenced')).toBe(true)
  expect((e as ReconcileError).fence).toEqual({ key, epoch, leaseEpoch })
  expect((e as Error).message).toMatch(
    new RegExp(
      `lease ${key} ${leaseEpoch === null ? 'has no row' : `is at epoch ${leaseEpoch}`}, this write carried epoch ${epoch}; nothing was written`,
    ),
  )
  return true
}

describe('a reconciler fenced by a lease epoch', () => {
  it('writes while its epoch is current; after a takeover every write is refused and nothing changes', async () => {
    const key = 'appkey:takeover'
    await setEpoch(key, 1)
    const w = await ticketedWorld(() => ({ key, epoch: 1 }))
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('ticketed')
    const written = await rowsOf(w.account)
    expect(written.runs).toMatchObject([{ status: 'ticketed' }])
    expect(written.tickets).toMatchObject([{ state: 'open', seen_count: 1 }])
    expect(written.breaks.length).toBeGreaterThan(0)
    expect(written.baselines).toHaveLength(1)

    // The standby takes over: the epoch moves on.
    await setEpoch(key, 2)
    await expect(w.reconciler.run(w.account)).rejects.toSatisfy((e) => expectFenced(e, key, 1, 2))
    await expect(w.reconciler.runAll()).rejects.toSatisfy((e) => ReconcileError.isCode(e, 'fenced'))
    w.reconciler.invalidate(w.account, 'stream gap')
    await expect(w.reconciler.barrier(w.account)).rejects.toSatisfy((e) => ReconcileError.isCode(e, 'fenced'))
    const ticketId = written.tickets[0]!.id
    await expect(w.reconciler.tickets.acknowledge(ticketId, 'operator:kim', 'looking', 0)).rejects.toSatisfy(
      (e) => ReconcileError.isCode(e, 'fenced'),
    )
    await expect(w.reconciler.tickets.resolve(ticketId, 'operator:kim', 'done', 0)).rejects.toSatisfy((e) =>
      ReconcileError.isCode(e, 'fenced'),
    )
    expect(await rowsOf(w.account)).toEqual(written)
    const alarms = w.events.filter((e) => e.type === 'alarm' && e.code === 'fenced')
    expect(alarms.length).toBeGreaterThanOrEqual(1)
    expect(alarms[0]).toMatchObject({ severity: 'critical', account: w.account })

    // The new holder, fenced by the current epoch, carries on with the same account.
    const current = w.makeReconciler({ fence: () => ({ key, epoch: 2 }) })
    expect((await current.run(w.account)).status).toBe('ticketed')
    const after = await rowsOf(w.account)
    expect(after.runs).toHaveLength(2)
    expect(after.tickets).toMatchObject([{ id: ticketId, seen_count: 2 }])
    expect((await current.tickets.acknowledge(ticketId, 'operator:kim', 'looking', 0)).state).toBe(
      'acknowledged',
    )
  })

  // A takeover just before each write of one pass, in order: that write and every later one are
  // refused, the earlier ones stay, and the pass rejects.
  const WRITES = ['run', 'baseline', 'tickets.upsert', 'breaks', 'run (finish)'] as const
  it.each(WRITES.map((w, i) => [w, i] as const))(
    'a takeover before the pass writes %s: refused there, nothing after it written',
    async (name, index) => {
      const key = `appkey:write-${index}`
      await setEpoch(key, 2)
      let calls = 0
      // Read at each write: current (2) for the writes before `index`, stale (1) from it on.
      const w = await ticketedWorld(() => ({ key, epoch: calls++ < index ? 2 : 1 }))
      const refused = await w.reconciler.run(w.account).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(refused, name).toSatisfy((e) => expectFenced(e, key, 1, 2))
      expect((refused as Error).message).toMatch(
        new RegExp(`^reconcile ${name === 'run (finish)' ? 'run' : name}: fenced`),
      )
      expect(calls).toBe(index + 1)
      const rows = await rowsOf(w.account)
      expect(rows.runs).toEqual(index === 0 ? [] : [{ id: expect.any(String), status: 'running' }])
      expect(rows.baselines).toHaveLength(index > 1 ? 1 : 0)
      expect(rows.tickets).toHaveLength(index > 2 ? 1 : 0)
      if (index > 3) expect(rows.breaks.length).toBeGreaterThan(0)
      else expect(rows.breaks).toEqual([])
      expect(w.events.some((e) => e.type === 'run_finished' || e.type === 'run_failed')).toBe(false)
    },
  )

  it('a resolution the fenced order store refuses fails the pass as fenced, before anything is recorded', async () => {
    const key = 'appkey:store'
    await setEpoch(key, 2)
    const events: ReconcileEvent[] = []
    const w = new World(db)
    const intent = w.intent()
    await w.send(intent, 'lost_ack')
    w.clock.advance(1_000)
    const before = await w.order(intent.intentId)
    // The reconciler's own writes carry the current epoch; the store's a stale one.
    const stale = createOrderStore({ db, clock: w.clock, fence: () => ({ key, epoch: 1 }) })
    const reconciler = w.makeReconciler({
      store: stale,
      fence: () => ({ key, epoch: 2 }),
      onEvent: (e) => events.push(e),
    })
    const refused = await reconciler.run(w.account).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(ReconcileError.isCode(refused, 'fenced')).toBe(true)
    expect((refused as Error).cause).toBeInstanceOf(FencedError)
    expect(events).toContainEqual(expect.objectContaining({ type: 'alarm', code: 'fenced' }))
    expect(await w.order(intent.intentId)).toEqual(before)
    const rows = await rowsOf(w.account)
    expect(rows).toMatchObject({ runs: [{ status: 'running' }], tickets: [], breaks: [], baselines: [] })
  })

  it('refuses a key the lease table does not have', async () => {
    const key = 'appkey:none'
    const w = await ticketedWorld(() => ({ key, epoch: 1 }))
    await expect(w.reconciler.run(w.account)).rejects.toSatisfy((e) => expectFenced(e, key, 1, null))
    expect((await rowsOf(w.account)).runs).toEqual([])
  })

  it('without the option, nothing reads the lease table: a reconciler works where it does not exist', async () => {
    const key = 'appkey:gone'
    await setEpoch(key, 1)
    const unfenced = await ticketedWorld()
    const fenced = await ticketedWorld(() => ({ key, epoch: 1 }))
    await sql`ALTER TABLE vellab_leases RENAME TO vellab_leases_away`.execute(db)
    try {
      expect((await unfenced.reconciler.run(unfenced.account)).status).toBe('ticketed')
      // With it, the write fails with the driver's error, as order-fsm's fenced writes do, and writes nothing.
      const error = await fenced.reconciler.run(fenced.account).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect((error as { code?: string }).code).toBe('42P01')
      const storeError = await createOrderStore({ db, fence: () => ({ key, epoch: 1 }) })
        .createIntent(fenced.intent())
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect((storeError as { code?: string }).code).toBe('42P01')
      expect((await rowsOf(fenced.account)).runs).toEqual([])
    } finally {
      await sql`ALTER TABLE vellab_leases_away RENAME TO vellab_leases`.execute(db)
    }
  })
})
