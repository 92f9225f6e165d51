import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration'

// Plain SQL that runs unchanged on PostgreSQL 15 and 18 (ARCHITECTURE.md "Dependency direction").
// The two hot tables (order_events, order_fills) carry no foreign key: their rows are only ever
// inserted from the version-checked `UPDATE order_orders … RETURNING` of the same statement, so the
// parent exists by construction, and each transition saves the referential checks.
const initial: Migration = {
  async up(db: Kysely<unknown>) {
    // One sequence orders every decision across the event log and the audit table, so the audit
    // trail of an order reads as one history.
    await sql`CREATE SEQUENCE order_decision_seq`.execute(db)
    await sql`
      CREATE TABLE order_orders (
        intent_id text PRIMARY KEY,
        account text NOT NULL,
        strategy_id text NOT NULL,
        symbol text NOT NULL,
        side text NOT NULL CHECK (side IN ('buy', 'sell')),
        state text NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        fingerprint text NOT NULL,
        intent_hash text NOT NULL,
        broker_order_id text,
        submitted_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        doc jsonb NOT NULL
      ) WITH (fillfactor = 80)`.execute(db)
    await sql`CREATE INDEX order_orders_state_idx ON order_orders (state, account, symbol)`.execute(db)
    await sql`CREATE INDEX order_orders_strategy_idx ON order_orders (strategy_id, state)`.execute(db)
    await sql`CREATE INDEX order_orders_fingerprint_idx ON order_orders (fingerprint, submitted_at)`.execute(
      db,
    )
    await sql`
      CREATE TABLE order_events (
        intent_id text NOT NULL,
        seq integer NOT NULL CHECK (seq >= 1),
        type text NOT NULL,
        event_key text CONSTRAINT order_events_event_key_key UNIQUE,
        source text NOT NULL,
        actor text NOT NULL,
        reason text,
        payload jsonb NOT NULL,
        occurred_at bigint NOT NULL,
        recorded_at bigint NOT NULL,
        decision_id bigint NOT NULL DEFAULT nextval('order_decision_seq'),
        PRIMARY KEY (intent_id, seq)
      )`.execute(db)
    await sql`
      CREATE TABLE order_broker_ids (
        account text NOT NULL,
        broker_date text NOT NULL,
        broker_order_id text NOT NULL,
        intent_id text NOT NULL REFERENCES order_orders (intent_id),
        role text NOT NULL CHECK (role IN ('order', 'replacement', 'cancel')),
        predecessor_id text,
        linked_at bigint NOT NULL,
        CONSTRAINT order_broker_ids_pkey PRIMARY KEY (account, broker_date, broker_order_id)
      )`.execute(db)
    await sql`CREATE INDEX order_broker_ids_intent_idx ON order_broker_ids (intent_id)`.execute(db)
    await sql`
      CREATE TABLE order_fills (
        account text NOT NULL,
        broker_date text NOT NULL,
        broker_order_id text NOT NULL,
        cumulative_quantity integer NOT NULL CHECK (cumulative_quantity > 0),
        intent_id text NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        price bigint NOT NULL,
        inferred boolean NOT NULL,
        event_seq integer NOT NULL,
        occurred_at bigint NOT NULL,
        PRIMARY KEY (account, broker_date, broker_order_id, cumulative_quantity)
      )`.execute(db)
    await sql`CREATE INDEX order_fills_intent_idx ON order_fills (intent_id)`.execute(db)
    await sql`
      CREATE TABLE order_audit (
        id bigint PRIMARY KEY DEFAULT nextval('order_decision_seq'),
        intent_id text,
        decision text NOT NULL,
        event_type text,
        event_seq integer,
        source text NOT NULL,
        actor text NOT NULL,
        reason text,
        code text,
        detail jsonb,
        at bigint NOT NULL
      )`.execute(db)
    await sql`CREATE INDEX order_audit_intent_idx ON order_audit (intent_id, id)`.execute(db)
    await sql`
      CREATE TABLE order_unmatched (
        event_key text PRIMARY KEY,
        account text NOT NULL,
        broker_date text NOT NULL,
        broker_order_id text NOT NULL,
        payload jsonb NOT NULL,
        received_at bigint NOT NULL
      )`.execute(db)
    await sql`CREATE INDEX order_unmatched_broker_idx ON order_unmatched (account, broker_date, broker_order_id)`.execute(
      db,
    )
    // The log and the audit trail are history: the database itself refuses to rewrite them.
    await sql`
      CREATE FUNCTION order_fsm_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
      END
      $$`.execute(db)
    await sql`
      CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON order_events
      FOR EACH ROW EXECUTE FUNCTION order_fsm_refuse_rewrite()`.execute(db)
    await sql`
      CREATE TRIGGER order_audit_append_only BEFORE UPDATE OR DELETE ON order_audit
      FOR EACH ROW EXECUTE FUNCTION order_fsm_refuse_rewrite()`.execute(db)
  },
  async down(db: Kysely<unknown>) {
    for (const t of [
      'order_unmatched',
      'order_audit',
      'order_fills',
      'order_broker_ids',
      'order_events',
      'order_orders',
    ]) {
      await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db)
    }
    await sql`DROP FUNCTION IF EXISTS order_fsm_refuse_rewrite()`.execute(db)
    await sql`DROP SEQUENCE IF EXISTS order_decision_seq`.execute(db)
  },
}

/**
 * This package's migrations, named `order_fsm_<nnnn>_<what>` so they sort together and never clash
 * with another package's. Give them to the runner's single `Migrator` together with the others':
 *
 * @example
 * ```ts
 * const migrator = new Migrator({ db, provider: { getMigrations: async () => ({
 *   ...orderFsmMigrations, ...riskKrMigrations, ...reconcileMigrations }) } })
 * await migrator.migrateToLatest()
 * ```
 */
export const orderFsmMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  order_fsm_0001_initial: initial,
})

/** Options of {@link migrateOrderFsm}. */
export interface MigrateOrderFsmOptions {
  /**
   * Kysely's bookkeeping table. Its own by default, so running this never trips over the
   * migrations of packages it does not know; do not mix with a shared `Migrator` on one database.
   * @default 'order_fsm_migration'
   */
  migrationTableName?: string
  /** @default 'order_fsm_migration_lock' */
  migrationLockTableName?: string
}

/**
 * Bring this package's tables up to date on their own (tests, tools, single-package apps). Throws
 * with the failing migration's error when one fails.
 */
export async function migrateOrderFsm<DB>(
  db: Kysely<DB>,
  options: MigrateOrderFsmOptions = {},
): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...orderFsmMigrations }) },
    migrationTableName: options.migrationTableName ?? 'order_fsm_migration',
    migrationLockTableName: options.migrationLockTableName ?? 'order_fsm_migration_lock',
  })
  const result = await migrator.migrateToLatest()
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`order-fsm migration ${failed} failed: ${String(result.error)}`, { cause: result.error })
  }
  return result
}
