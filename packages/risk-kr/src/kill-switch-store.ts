import type { Kysely } from 'kysely'
import type { KillSwitchScope } from './context'
import { RiskError } from './errors'
import type { RiskKrDatabase } from './migrations'

/** A switch as persisted. */
export interface KillSwitchRecord {
  readonly scope: KillSwitchScope
  readonly key: string
  readonly reason: string
  readonly actor: string
  /** `operator`, or `auto:<trigger>` for automatic engagements. */
  readonly source: string
  readonly cancelAll: boolean
  readonly engagedAt: number
}

/** One audited engage/release action. */
export interface KillSwitchAuditEntry {
  readonly scope: KillSwitchScope
  readonly key: string
  readonly action: 'engage' | 'release'
  readonly actor: string
  readonly reason: string
  readonly source: string
  readonly cancelAll: boolean
  readonly at: number
}

/** Where kill-switch state lives. `PostgresKillSwitchStore` in production; an in-memory one in `./testing`. */
export interface KillSwitchPersistence {
  /** Every switch currently engaged. */
  loadEngaged(): Promise<KillSwitchRecord[]>
  /** Persist an engagement and its audit entry atomically. Engaging an engaged switch only audits. */
  engage(record: KillSwitchRecord): Promise<void>
  /**
   * Persist a release and its audit entry atomically.
   * @throws RiskError `KILL_SWITCH_NOT_ENGAGED` when the switch is not engaged.
   */
  release(release: {
    scope: KillSwitchScope
    key: string
    actor: string
    reason: string
    at: number
  }): Promise<void>
  /** Audit entries, oldest first. */
  audit(filter?: { scope?: KillSwitchScope; key?: string }): Promise<KillSwitchAuditEntry[]>
}

/**
 * Kill-switch persistence on PostgreSQL through Kysely (tables from `riskKrMigrations`). Every
 * change writes the state row and an audit row in one transaction.
 */
export class PostgresKillSwitchStore implements KillSwitchPersistence {
  readonly #db: Kysely<RiskKrDatabase>

  constructor(db: Kysely<RiskKrDatabase>) {
    this.#db = db
  }

  async loadEngaged(): Promise<KillSwitchRecord[]> {
    const rows = await this.#wrap('loadEngaged', () =>
      this.#db
        .selectFrom('risk_kill_switches')
        .selectAll()
        .where('engaged', '=', true)
        .orderBy('engaged_at')
        .execute(),
    )
    return rows.map((r) => ({
      scope: r.scope as KillSwitchScope,
      key: r.scope_key,
      reason: r.reason,
      actor: r.actor,
      source: r.source,
      cancelAll: r.cancel_all,
      engagedAt: Number(r.engaged_at),
    }))
  }

  async engage(record: KillSwitchRecord): Promise<void> {
    await this.#wrap('engage', () =>
      this.#db.transaction().execute(async (trx) => {
        // Keep the first engagement's facts while it stays engaged; a repeat engage is audited only.
        await trx
          .insertInto('risk_kill_switches')
          .values({
            scope: record.scope,
            scope_key: record.key,
            engaged: true,
            reason: record.reason,
            actor: record.actor,
            source: record.source,
            cancel_all: record.cancelAll,
            engaged_at: record.engagedAt,
            released_at: null,
            version: 1,
          })
          .onConflict((oc) =>
            oc
              .columns(['scope', 'scope_key'])
              .doUpdateSet((eb) => ({
                engaged: true,
                reason: eb.ref('excluded.reason'),
                actor: eb.ref('excluded.actor'),
                source: eb.ref('excluded.source'),
                cancel_all: eb.ref('excluded.cancel_all'),
                engaged_at: eb.ref('excluded.engaged_at'),
                released_at: null,
                version: eb('risk_kill_switches.version', '+', 1),
              }))
              .where('risk_kill_switches.engaged', '=', false),
          )
          .execute()
        await trx
          .insertInto('risk_kill_switch_audit')
          .values({
            scope: record.scope,
            scope_key: record.key,
            action: 'engage',
            actor: record.actor,
            reason: record.reason,
            source: record.source,
            cancel_all: record.cancelAll,
            at: record.engagedAt,
          })
          .execute()
      }),
    )
  }

  async release(release: {
    scope: KillSwitchScope
    key: string
    actor: string
    reason: string
    at: number
  }): Promise<void> {
    const released = await this.#wrap('release', () =>
      this.#db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('risk_kill_switches')
          .set((eb) => ({ engaged: false, released_at: release.at, version: eb('version', '+', 1) }))
          .where('scope', '=', release.scope)
          .where('scope_key', '=', release.key)
          .where('engaged', '=', true)
          .returning('scope')
          .execute()
        if (updated.length === 0) return false
        await trx
          .insertInto('risk_kill_switch_audit')
          .values({
            scope: release.scope,
            scope_key: release.key,
            action: 'release',
            actor: release.actor,
            reason: release.reason,
            source: 'operator',
            cancel_all: false,
            at: release.at,
          })
          .execute()
        return true
      }),
    )
    if (!released) {
      throw new RiskError(
        'KILL_SWITCH_NOT_ENGAGED',
        `release: ${release.scope}:${release.key} is not engaged`,
      )
    }
  }

  async audit(filter: { scope?: KillSwitchScope; key?: string } = {}): Promise<KillSwitchAuditEntry[]> {
    const rows = await this.#wrap('audit', () => {
      let q = this.#db.selectFrom('risk_kill_switch_audit').selectAll().orderBy('id')
      if (filter.scope !== undefined) q = q.where('scope', '=', filter.scope)
      if (filter.key !== undefined) q = q.where('scope_key', '=', filter.key)
      return q.execute()
    })
    return rows.map((r) => ({
      scope: r.scope as KillSwitchScope,
      key: r.scope_key,
      action: r.action as 'engage' | 'release',
      actor: r.actor,
      reason: r.reason,
      source: r.source,
      cancelAll: r.cancel_all,
      at: Number(r.at),
    }))
  }

  async #wrap<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      if (RiskError.isInstance(e)) throw e
      throw new RiskError(
        'KILL_SWITCH_STORE',
        `PostgresKillSwitchStore.${operation} failed: ${(e as Error).message}`,
        {
          cause: e,
        },
      )
    }
  }
}
