// A pending migration that rewrites a large table (order-fsm 0006 rewrites the order log under an
// exclusive lock) is not run at startup: the runner refuses to start and says to run `vellab
// migrate` outside trading hours. Below the limit, and through `vellab migrate`, it runs.
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
import {
  MigrationDeferredError,
  migrate,
  pendingRewrites,
  type RunnerDatabase,
  runnerMigrator,
} from '../src/database'
import { run } from '../src/run'

let tdb: TestDatabase
beforeAll(async () => {
  tdb = await createTestDatabase()
  const db = tdb.db<RunnerDatabase>()
  await migrate(db)
  // Back to before order-fsm 0006 (and everything that sorts after it), with an order log of 3,000
  // events whose statistics the planner knows.
  const down = await runnerMigrator(db).migrateTo('order_fsm_0005_checks_in_writes')
  expect(down.error).toBeUndefined()
  await sql`INSERT INTO order_events (intent_id, seq, type, source, actor, payload, occurred_at, recorded_at)
    SELECT 'o-' || g, 1, 'intent_created', 'command', 'test', '{}'::jsonb, 0, 0 FROM generate_series(1, 3000) g`.execute(
    db,
  )
  await sql`ANALYZE order_events`.execute(db)
})
afterAll(async () => {
  await tdb?.drop()
})

describe('migrations that rewrite tables', () => {
  it('are listed with their tables and estimated rows while pending', async () => {
    const rewrites = await pendingRewrites(tdb.db())
    expect(rewrites).toEqual([
      { migration: 'order_fsm_0006_json_documents', table: 'order_orders', rows: expect.any(Number) },
      { migration: 'order_fsm_0006_json_documents', table: 'order_events', rows: 3000 },
    ])
  })

  it('stop the runner before it migrates anything when over the limit, naming what to do', async () => {
    const config = { ...loadRunnerConfig({ VELLAB_MIGRATE_MAX_REWRITE_ROWS: '1000' }), databaseUrl: tdb.url }
    expect(config.migrateMaxRewriteRows).toBe(1000)
    const err = await run(config, { log: () => {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MigrationDeferredError)
    expect((err as Error).message).toMatch(
      /order_fsm_0006_json_documents would rewrite order_orders and order_events \(about 3,0\d\d rows.*vellab migrate/s,
    )
    // Nothing ran: the rewrite is still pending.
    expect((await pendingRewrites(tdb.db())).map((r) => r.table)).toEqual(['order_orders', 'order_events'])
  })

  it('run below the limit, and without one (vellab migrate)', async () => {
    await expect(migrate(tdb.db(), { maxRewriteRows: 2999 })).rejects.toBeInstanceOf(MigrationDeferredError)
    const applied = await migrate(tdb.db(), { maxRewriteRows: 3000 })
    expect(applied).toContain('order_fsm_0006_json_documents')
    expect(await pendingRewrites(tdb.db())).toEqual([])
    // Nothing left to rewrite: any limit passes.
    expect(await migrate(tdb.db(), { maxRewriteRows: 0 })).toEqual([])
  })
})
