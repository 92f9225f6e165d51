import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration'

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    // One row per leased key. `epoch` only grows: it is the fencing token writes are checked
    // against (they lock the row FOR SHARE, so a takeover waits for writes already under way and
    // every later write sees the new epoch). `backend_pid` is the holder's lock session, ended by a
    // standby when the holder has been silent past the TTL. The appkey itself is never stored (the
    // key is its hash).
    await sql`
      CREATE TABLE vellab_leases (
        lease_key text PRIMARY KEY,
        epoch bigint NOT NULL CHECK (epoch >= 1),
        holder text NOT NULL,
        backend_pid integer,
        acquired_at timestamptz NOT NULL
      )`.execute(db)
    // Heartbeats apart from the epoch row, so a beat never waits on (or delays) a fenced write.
    await sql`
      CREATE TABLE vellab_lease_heartbeats (
        lease_key text PRIMARY KEY,
        epoch bigint NOT NULL,
        heartbeat_at timestamptz NOT NULL
      )`.execute(db)
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE IF EXISTS vellab_lease_heartbeats`.execute(db)
    await sql`DROP TABLE IF EXISTS vellab_leases`.execute(db)
  },
}

/**
 * This package's migrations (`lease_<nnnn>_<what>`), to combine with the other packages' in one
 * `Migrator`. The table is `vellab_leases`; order-fsm's fenced writes read it by that name.
 */
export const leaseMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  lease_0001_initial: initial,
})

/** Bring this package's table up to date on its own (tests, tools). */
export async function migrateLease<DB>(db: Kysely<DB>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...leaseMigrations }) },
    migrationTableName: 'lease_migration',
    migrationLockTableName: 'lease_migration_lock',
  })
  const result = await migrator.migrateToLatest()
  if (result.error)
    throw new Error(`lease migration failed: ${String(result.error)}`, { cause: result.error })
  return result
}
