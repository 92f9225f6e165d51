import { ManualClock } from '@vellab/broker-gateway/testing'
import type { TestDatabase } from '@vellab/testkit/postgres'
import { createTestDatabase } from '@vellab/testkit/postgres'
import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RiskKrDatabase } from '../src/index'
import {
  KillSwitchBoard,
  kstToEpochMs,
  PostgresKillSwitchStore,
  RiskError,
  riskKrMigrations,
} from '../src/index'

const NOW = kstToEpochMs('2026-11-24', '10:00')
let tdb: TestDatabase
let db: Kysely<RiskKrDatabase>

beforeAll(async () => {
  tdb = await createTestDatabase('risk')
  db = tdb.db<RiskKrDatabase>()
  const migrator = new Migrator({ db, provider: { getMigrations: async () => riskKrMigrations } })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  expect(results?.map((r) => [r.migrationName, r.status])).toEqual([
    ['risk_kr_0001_kill_switches', 'Success'],
  ])
})

afterAll(async () => {
  await tdb?.drop()
})

describe('kill switches on PostgreSQL', () => {
  it('migration names are prefixed and the tables are risk_*', async () => {
    expect(Object.keys(riskKrMigrations).every((n) => n.startsWith('risk_kr_'))).toBe(true)
    const tables = await db.introspection.getTables()
    expect(
      tables
        .map((t) => t.name)
        .filter((n) => n.startsWith('risk_'))
        .sort(),
    ).toEqual(['risk_kill_switch_audit', 'risk_kill_switches'])
  })

  it('survives a restart: an engaged switch is engaged again after load, never silently re-armed', async () => {
    const clock = new ManualClock(NOW)
    const first = new KillSwitchBoard({ store: new PostgresKillSwitchStore(db), clock })
    await first.load()
    await first.engage({
      scope: 'strategy',
      key: 'mom',
      actor: 'ops-kim',
      reason: 'runaway',
      cancelAll: true,
    })
    await first.engage({ scope: 'global', actor: 'auto', reason: 'clock skew', source: 'auto:clock_skew' })

    // "restart": a new board over the same database
    const second = new KillSwitchBoard({ store: new PostgresKillSwitchStore(db), clock })
    expect(second.loaded).toBe(false)
    expect(second.find('A1', 'mom', '005930')).toBeUndefined()
    await second.load()
    expect(second.loaded).toBe(true)
    expect(second.find('A1', 'other', '005930')).toMatchObject({ scope: 'global', reason: 'clock skew' })
    expect(second.isEngaged('strategy', 'mom')).toBe(true)

    clock.advance(1_000)
    await second.release({ scope: 'global', actor: 'ops-park', reason: 'clock fixed' })
    const third = new KillSwitchBoard({ store: new PostgresKillSwitchStore(db), clock })
    await third.load()
    expect(third.list().map((r) => `${r.scope}:${r.key}`)).toEqual(['strategy:mom'])
    expect(third.list()[0]).toMatchObject({
      actor: 'ops-kim',
      reason: 'runaway',
      cancelAll: true,
      engagedAt: NOW,
    })
  })

  it('audits every engage and release with actor, reason and time, in order', async () => {
    const store = new PostgresKillSwitchStore(db)
    const audit = await store.audit({ scope: 'global' })
    expect(audit).toEqual([
      {
        scope: 'global',
        key: '*',
        action: 'engage',
        actor: 'auto',
        reason: 'clock skew',
        source: 'auto:clock_skew',
        cancelAll: false,
        at: NOW,
      },
      {
        scope: 'global',
        key: '*',
        action: 'release',
        actor: 'ops-park',
        reason: 'clock fixed',
        source: 'operator',
        cancelAll: false,
        at: NOW + 1_000,
      },
    ])
  })

  it('re-engaging keeps the first engagement, audits the repeat; releasing twice fails typed', async () => {
    const store = new PostgresKillSwitchStore(db)
    await store.engage({
      scope: 'symbol',
      key: '005930',
      actor: 'a',
      reason: 'first',
      source: 'operator',
      cancelAll: false,
      engagedAt: NOW,
    })
    await store.engage({
      scope: 'symbol',
      key: '005930',
      actor: 'b',
      reason: 'second',
      source: 'operator',
      cancelAll: false,
      engagedAt: NOW + 5,
    })
    const engaged = (await store.loadEngaged()).filter((r) => r.scope === 'symbol')
    expect(engaged).toEqual([expect.objectContaining({ actor: 'a', reason: 'first', engagedAt: NOW })])
    expect((await store.audit({ scope: 'symbol' })).map((a) => a.reason)).toEqual(['first', 'second'])
    await store.release({ scope: 'symbol', key: '005930', actor: 'c', reason: 'ok', at: NOW + 10 })
    const err = await store
      .release({ scope: 'symbol', key: '005930', actor: 'c', reason: 'ok', at: NOW + 11 })
      .catch((e: unknown) => e)
    expect(RiskError.isInstance(err) && err.code).toBe('KILL_SWITCH_NOT_ENGAGED')
    // engaging again after a release is a fresh engagement
    await store.engage({
      scope: 'symbol',
      key: '005930',
      actor: 'd',
      reason: 'again',
      source: 'operator',
      cancelAll: true,
      engagedAt: NOW + 20,
    })
    expect((await store.loadEngaged()).find((r) => r.scope === 'symbol')).toMatchObject({
      actor: 'd',
      reason: 'again',
      engagedAt: NOW + 20,
    })
  })

  it('reports database failures as KILL_SWITCH_STORE with the cause chained', async () => {
    const broken = new PostgresKillSwitchStore(db.withSchema('no_such_schema'))
    const err = await broken.loadEngaged().catch((e: unknown) => e)
    expect(RiskError.isInstance(err) && err.code).toBe('KILL_SWITCH_STORE')
    expect((err as Error).cause).toBeDefined()
  })

  it('migrates down cleanly', async () => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => riskKrMigrations } })
    const down = await migrator.migrateDown()
    expect(down.error).toBeUndefined()
    expect((await db.introspection.getTables()).filter((t) => t.name.startsWith('risk_'))).toEqual([])
    expect((await migrator.migrateToLatest()).error).toBeUndefined()
  })
})
