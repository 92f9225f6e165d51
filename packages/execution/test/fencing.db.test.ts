import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ExecutionEngine, ExecutionFencedError, type ExecutionTables } from '../src'
import { MIN, type Rig, rig, SYMBOL, tdb, timed } from './rig'

// The engine's own writes fenced by a lease epoch (`fence` option): once the lease has moved on,
// each write is refused in its own transaction with ExecutionFencedError, and neither the tables
// nor the engine's view change. The lease table is @vellab/lease's; its shape is all this package
// relies on.

beforeAll(async () => {
  await rig()
  await sql`CREATE TABLE vellab_leases (lease_key text PRIMARY KEY, epoch bigint NOT NULL)`.execute(tdb.db())
})
afterAll(async () => tdb?.drop())

async function setEpoch(key: string, epoch: number): Promise<void> {
  await sql`INSERT INTO vellab_leases VALUES (${key}, ${epoch})
    ON CONFLICT (lease_key) DO UPDATE SET epoch = EXCLUDED.epoch`.execute(tdb.db())
}

/** A parent's rows, exactly as stored. */
async function rowsOf(parentId: string) {
  const db = tdb.db<ExecutionTables>()
  const parent = await db.selectFrom('exec_parents').selectAll().where('parent_id', '=', parentId).execute()
  const children = await db
    .selectFrom('exec_children')
    .selectAll()
    .where('parent_id', '=', parentId)
    .orderBy('seq')
    .execute()
  return { parent, children }
}

type Engine = ExecutionEngine<ExecutionTables>
interface WritePath {
  name: string
  /** The operation the error names. */
  operation: string
  /** Prepare at the current epoch; returns the parent the write concerns. */
  setup(r: Rig, engine: Engine): Promise<string>
  /** The write, after the takeover: its refusal (thrown, or reported by `step`). */
  act(r: Rig, engine: Engine, parentId: string): Promise<unknown>
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )
/** `step` never throws: a refused write is reported as `step.error`. */
const stepRefusal = async (r: Rig, engine: Engine, parentId: string) => {
  const before = r.events.length
  await engine.step()
  const e = r.events.slice(before).find((e) => e.type === 'step.error' && e.parentId === parentId)
  return e?.type === 'step.error' ? e.error : undefined
}

/** One step, and the market trades through the child (so nothing is left working to go stale). */
async function fill(r: Rig, engine: Engine): Promise<void> {
  await engine.step()
  r.broker.setPrice(SYMBOL, 70_000)
  await r.settle()
}

const PATHS: WritePath[] = [
  {
    name: 'submit: accepting a parent',
    operation: 'submit',
    setup: async (r) => timed(r).parentId,
    act: (r, engine, parentId) => refusal(engine.submit({ ...timed(r), parentId })),
  },
  {
    name: 'amend',
    operation: 'amend',
    setup: async (r, engine) => (await engine.submit(timed(r))).parent.parentId,
    act: (_r, engine, parentId) => refusal(engine.amend(parentId, { quantity: 50 })),
  },
  {
    name: 'cancel',
    operation: 'state canceling',
    setup: async (r, engine) => (await engine.submit(timed(r))).parent.parentId,
    act: (_r, engine, parentId) => refusal(engine.cancel(parentId)),
  },
  {
    name: 'resumeParent',
    operation: 'state active',
    setup: async (r, engine) => {
      const id = (await engine.submit(timed(r))).parent.parentId
      r.verdict.current = { outcome: 'review', reasons: [{ code: 'H7_FAR_FROM_MARKET' }] }
      await engine.step()
      r.verdict.current = { outcome: 'allow', reasons: [] }
      expect((await engine.get(id)).state).toBe('paused')
      return id
    },
    act: (_r, engine, parentId) => refusal(engine.resumeParent(parentId)),
  },
  {
    name: 'step: the arrival price',
    operation: 'arrival price',
    setup: async (r, engine) => (await engine.submit(timed(r))).parent.parentId,
    act: stepRefusal,
  },
  {
    name: 'step: a child (sequence bump and child row)',
    operation: 'child',
    setup: async (r, engine) => {
      const id = (await engine.submit(timed(r))).parent.parentId
      await fill(r, engine)
      r.clock.advance(MIN)
      return id
    },
    act: stepRefusal,
  },
  {
    name: 'step: a state change',
    operation: 'state paused',
    setup: async (r, engine) => {
      const id = (await engine.submit(timed(r))).parent.parentId
      await fill(r, engine)
      r.clock.advance(MIN)
      r.verdict.current = { outcome: 'review', reasons: [{ code: 'H7_FAR_FROM_MARKET' }] }
      return id
    },
    act: stepRefusal,
  },
]

describe('an engine fenced by a lease epoch', () => {
  it.each(PATHS.map((p, i) => [p.name, p, i] as const))(
    '%s: written at the current epoch, refused after a takeover with nothing changed',
    async (_name, path, i) => {
      const key = `appkey:path-${i}`
      await setEpoch(key, 1)
      const r = await rig()
      const engine = r.newEngine({ fence: () => ({ key, epoch: 1 }) })
      const parentId = await path.setup(r, engine)
      const rows = await rowsOf(parentId)
      const view = await engine.get(parentId).catch(() => undefined)

      await setEpoch(key, 2)
      const error = await path.act(r, engine, parentId)
      expect(error).toBeInstanceOf(ExecutionFencedError)
      expect(ExecutionFencedError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ code: 'fenced', operation: path.operation, key, epoch: 1, leaseEpoch: 2 })
      expect((error as Error).message).toBe(
        `execution ${path.operation}: fenced, lease ${key} is at epoch 2, this write carried epoch 1; nothing was written`,
      )
      expect(await rowsOf(parentId)).toEqual(rows)
      if (view) expect(await engine.get(parentId)).toEqual(view)
    },
  )

  it('the new holder carries on with the parent the old one was refused on', async () => {
    const key = 'appkey:handover'
    await setEpoch(key, 1)
    const r = await rig()
    const old = r.newEngine({ fence: () => ({ key, epoch: 1 }) })
    const id = (await old.submit(timed(r, { urgency: 'low' }))).parent.parentId
    await old.step()
    await r.settle()
    r.clock.advance(MIN)
    await setEpoch(key, 2)
    await old.step()
    expect((await rowsOf(id)).children).toHaveLength(1)
    const current = r.newEngine({ fence: () => ({ key, epoch: 2 }) })
    await current.resume()
    await current.step()
    await r.settle()
    const rows = await rowsOf(id)
    expect(rows.children.map((c) => c.seq)).toEqual([0, 1])
    expect(rows.parent[0]?.next_seq).toBe(2)
  })

  it('refuses a key the lease table does not have', async () => {
    const r = await rig()
    const engine = r.newEngine({ fence: () => ({ key: 'appkey:none', epoch: 1 }) })
    const p = timed(r)
    await expect(engine.submit(p)).rejects.toMatchObject({ code: 'fenced', leaseEpoch: null })
    expect((await rowsOf(p.parentId)).parent).toEqual([])
  })

  it('without the option nothing reads the lease table; with it, a missing table fails as in order-fsm', async () => {
    const r = await rig()
    const db = tdb.db()
    await sql`ALTER TABLE vellab_leases RENAME TO vellab_leases_away`.execute(db)
    try {
      const p = timed(r)
      expect((await r.engine.submit(p)).state).toBe('active')
      const fenced = r.newEngine({ fence: () => ({ key: 'appkey:gone', epoch: 1 }) })
      const q = timed(r)
      await expect(fenced.submit(q)).rejects.toMatchObject({ code: '42P01' })
      expect((await rowsOf(q.parentId)).parent).toEqual([])
    } finally {
      await sql`ALTER TABLE vellab_leases_away RENAME TO vellab_leases`.execute(db)
    }
  })
})
