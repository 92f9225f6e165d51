import type { Generated, Kysely } from 'kysely'
import { sql } from 'kysely'
import type { Migration } from 'kysely/migration'

/** Row of `risk_kill_switches`: the current state of each switch ever engaged. */
export interface RiskKillSwitchTable {
  scope: string
  scope_key: string
  engaged: boolean
  reason: string
  actor: string
  source: string
  cancel_all: boolean
  /** Epoch ms (bigint in SQL, returned as string by pg). */
  engaged_at: string | number
  released_at: string | number | null
  version: number
}

/** Row of `risk_kill_switch_audit`: append-only history of engage/release actions. */
export interface RiskKillSwitchAuditTable {
  id: Generated<string>
  scope: string
  scope_key: string
  action: string
  actor: string
  reason: string
  source: string
  cancel_all: boolean
  at: string | number
}

/** The tables this package owns (all prefixed `risk_`). */
export interface RiskKrDatabase {
  risk_kill_switches: RiskKillSwitchTable
  risk_kill_switch_audit: RiskKillSwitchAuditTable
}

/**
 * Migrations of `@vellab/risk-kr`, keyed by name (prefixed `risk_kr_`, ordered by name). Combine
 * them with other packages' records in one Kysely `Migrator`. Plain SQL types only, so they run
 * unchanged on PostgreSQL 15 and 18.
 *
 * @example
 * ```ts
 * const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...orderFsmMigrations, ...riskKrMigrations }) } })
 * await migrator.migrateToLatest()
 * ```
 */
export const riskKrMigrations: Record<string, Migration> = {
  risk_kr_0001_kill_switches: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('risk_kill_switches')
        .addColumn('scope', 'text', (c) =>
          c.notNull().check(sql`scope in ('global', 'account', 'strategy', 'symbol')`),
        )
        .addColumn('scope_key', 'text', (c) => c.notNull())
        .addColumn('engaged', 'boolean', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('cancel_all', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('engaged_at', 'bigint', (c) => c.notNull())
        .addColumn('released_at', 'bigint')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addPrimaryKeyConstraint('risk_kill_switches_pk', ['scope', 'scope_key'])
        .execute()
      await db.schema
        .createTable('risk_kill_switch_audit')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_key', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('engage', 'release')`))
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('cancel_all', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('risk_kill_switch_audit_scope_idx')
        .on('risk_kill_switch_audit')
        .columns(['scope', 'scope_key', 'id'])
        .execute()
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('risk_kill_switch_audit').ifExists().execute()
      await db.schema.dropTable('risk_kill_switches').ifExists().execute()
    },
  },
}
