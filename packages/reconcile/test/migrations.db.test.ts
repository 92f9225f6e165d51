import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateReconcile, type ReconcileTables } from '../src'

describe('reconcile migrations', () => {
  let tdb: TestDatabase
  beforeAll(async () => {
    tdb = await createTestDatabase('recon')
  })
  afterAll(async () => {
    await tdb.drop()
  })

  it('create the recon_* tables once and are idempotent', async () => {
    const db = tdb.db<ReconcileTables>()
    const first = await migrateReconcile(db)
    expect(first.results?.map((r) => r.status)).toEqual(['Success'])
    const again = await migrateReconcile(db)
    expect(again.results).toEqual([])
    const { rows } = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'recon\\_%' ESCAPE '\\'
      AND table_name NOT LIKE 'recon\\_migration%' ESCAPE '\\' ORDER BY table_name`.execute(db)
    expect(rows.map((r) => r.table_name)).toEqual([
      'recon_baselines',
      'recon_breaks',
      'recon_runs',
      'recon_tickets',
    ])
  })

  it('keeps one live ticket per dedup key but allows a new one after resolution', async () => {
    const db = tdb.db<ReconcileTables>()
    const run = await db
      .insertInto('recon_runs')
      .values({
        account: 'A1',
        broker_date: '2026-11-24',
        trigger: 'test',
        status: 'running',
        started_at: 1,
        finished_at: null,
        duration_ms: null,
        error: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const ticket = {
      dedup_key: 'k1',
      account: 'A1',
      kind: 'cash_mismatch',
      severity: 'critical' as const,
      state: 'open' as const,
      intent_id: null,
      broker_order_id: null,
      symbol: null,
      summary: 's',
      evidence: '{}',
      opened_at: 1,
      first_run_id: run.id,
      last_run_id: run.id,
      last_seen_at: 1,
      acknowledged_at: null,
      acknowledged_by: null,
      acknowledged_why: null,
      resolved_at: null,
      resolved_by: null,
      resolved_why: null,
    }
    await db.insertInto('recon_tickets').values(ticket).execute()
    await expect(db.insertInto('recon_tickets').values(ticket).execute()).rejects.toThrow(
      /recon_tickets_live_key/,
    )
    await db.updateTable('recon_tickets').set({ state: 'resolved' }).where('dedup_key', '=', 'k1').execute()
    await db.insertInto('recon_tickets').values(ticket).execute()
  })
})
