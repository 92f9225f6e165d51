import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../src/postgres'

// Self-test of the shared fixture: a real server, a private database per file, clean teardown.
describe('createTestDatabase', () => {
  let a: TestDatabase
  let b: TestDatabase
  beforeAll(async () => {
    ;[a, b] = await Promise.all([createTestDatabase(), createTestDatabase()])
  })
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()])
  })

  it('gives each caller its own database on a real PostgreSQL', async () => {
    expect(a.name).not.toBe(b.name)
    const { rows } = await a.pool.query<{ db: string; v: string }>(
      'select current_database() as db, version() as v',
    )
    expect(rows[0]?.db).toBe(a.name)
    expect(rows[0]?.v).toMatch(/^PostgreSQL \d+/)
    expect(a.serverVersion).toBeGreaterThanOrEqual(15)
    if (a.kind === 'embedded') expect(a.serverVersion).toBe(18)
  })

  it('isolates rows between databases', async () => {
    await a.pool.query('create table t (id int primary key)')
    await a.pool.query('insert into t values (1), (2)')
    const { rows } = await a.pool.query<{ n: string }>('select count(*) as n from t')
    expect(Number(rows[0]?.n)).toBe(2)
    await expect(b.pool.query('select * from t')).rejects.toThrow(/relation "t" does not exist/)
  })

  it('works through Kysely and commits transactions', async () => {
    interface DB {
      k: { id: number; note: string }
    }
    const db = b.db<DB>()
    await db.schema
      .createTable('k')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('note', 'text')
      .execute()
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('k').values({ id: 1, note: 'one' }).execute()
    })
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('k').values({ id: 2, note: 'two' }).execute()
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    const rows = await db.selectFrom('k').selectAll().execute()
    expect(rows).toEqual([{ id: 1, note: 'one' }])
  })

  it('drops the database and is safe to call twice', async () => {
    const c = await createTestDatabase()
    await c.drop()
    await c.drop()
    const { rows } = await a.pool.query('select 1 from pg_database where datname = $1', [c.name])
    expect(rows).toHaveLength(0)
  })
})

describe('terminateConnections', () => {
  it('kills live connections; the pool recovers on the next query', async () => {
    const d = await createTestDatabase()
    try {
      const held = await d.pool.connect()
      // A checked-out client reports the kill as an 'error' event; without a listener it would crash
      // the process (the pool's own listener covers idle clients only).
      const errors: Error[] = []
      const told = new Promise<void>((resolve) => {
        held.on('error', (e) => {
          errors.push(e)
          resolve()
        })
      })
      const killed = await d.terminateConnections()
      expect(killed).toBeGreaterThanOrEqual(1)
      // A query sent while the client is still reading the kill can wait forever in pg's queue (a
      // 30-s timeout here, once, with four files at once): ask only once the client has been told.
      await told
      expect(errors.length).toBeGreaterThanOrEqual(1)
      await expect(held.query('select 1')).rejects.toThrow()
      held.release(true)
      const { rows } = await d.pool.query<{ one: number }>('select 1 as one')
      expect(rows[0]?.one).toBe(1)
    } finally {
      await d.drop()
    }
  })
})
