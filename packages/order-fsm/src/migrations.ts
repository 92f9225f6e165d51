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

// The hot writes as migration 0002 installed them (0004 replaces them, and its `down` puts these back).
const ORDER_FSM_CREATE_0002 = sql`
      CREATE FUNCTION order_fsm_create(
        p_intent_id text, p_account text, p_strategy_id text, p_symbol text, p_side text, p_state text,
        p_version integer, p_fingerprint text, p_intent_hash text, p_submitted_at bigint, p_created_at bigint,
        p_updated_at bigint, p_doc jsonb, p_actor text, p_reason text, p_created jsonb,
        p_submit_reason text, p_submit jsonb, p_fence_key text, p_fence_epoch bigint
      ) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM order_fsm_check_fence(p_fence_key, p_fence_epoch);
        INSERT INTO order_orders (intent_id, account, strategy_id, symbol, side, state, version, fingerprint,
          intent_hash, broker_order_id, submitted_at, created_at, updated_at, doc)
        VALUES (p_intent_id, p_account, p_strategy_id, p_symbol, p_side, p_state, p_version, p_fingerprint,
          p_intent_hash, NULL, p_submitted_at, p_created_at, p_updated_at, p_doc)
        ON CONFLICT (intent_id) DO NOTHING;
        IF NOT FOUND THEN
          RETURN false;
        END IF;
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        VALUES (p_intent_id, 1, 'intent_created', NULL, 'command', p_actor, p_reason, p_created, p_created_at, p_created_at);
        IF p_submit IS NOT NULL THEN
          INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
          VALUES (p_intent_id, 2, 'submit_started', NULL, 'command', p_actor, p_submit_reason, p_submit,
            p_created_at, p_created_at);
        END IF;
        RETURN true;
      END
      $$`

const ORDER_FSM_WRITE_0002 = sql`
      CREATE FUNCTION order_fsm_write(
        p_intent_id text, p_expected integer, p_state text, p_version integer, p_doc jsonb,
        p_broker_order_id text, p_submitted_at bigint, p_updated_at bigint, p_type text, p_event_key text,
        p_source text, p_actor text, p_reason text, p_payload jsonb, p_occurred_at bigint, p_now bigint,
        p_account text,
        l_date text[], l_number text[], l_role text[], l_predecessor text[],
        f_date text[], f_number text[], f_cumulative integer[], f_quantity integer[], f_price bigint[],
        f_inferred boolean[], f_at bigint[],
        p_unpark text, p_fence_key text, p_fence_epoch bigint
      ) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        parked boolean := false;
        k integer;
      BEGIN
        PERFORM order_fsm_check_fence(p_fence_key, p_fence_epoch);
        -- Links arrive sorted by (date, number), so two writers lock in the same order.
        FOR k IN 1 .. coalesce(cardinality(l_number), 0) LOOP
          PERFORM pg_advisory_xact_lock(hashtextextended('order_fsm_number|' || p_account || '|' || l_date[k] || '|' || l_number[k], 0));
        END LOOP;
        UPDATE order_orders SET state = p_state, version = p_version, doc = p_doc, broker_order_id = p_broker_order_id,
          submitted_at = p_submitted_at, updated_at = p_updated_at
        WHERE intent_id = p_intent_id AND version = p_expected;
        IF NOT FOUND THEN
          RETURN 0;
        END IF;
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        VALUES (p_intent_id, p_version, p_type, p_event_key, p_source, p_actor, p_reason, p_payload, p_occurred_at, p_now);
        FOR k IN 1 .. coalesce(cardinality(l_number), 0) LOOP
          INSERT INTO order_broker_ids (account, broker_date, broker_order_id, intent_id, role, predecessor_id, linked_at)
          VALUES (p_account, l_date[k], l_number[k], p_intent_id, l_role[k], l_predecessor[k], p_now);
          IF NOT parked THEN
            parked := EXISTS (SELECT 1 FROM order_unmatched
              WHERE account = p_account AND broker_date = l_date[k] AND broker_order_id = l_number[k]);
          END IF;
        END LOOP;
        FOR k IN 1 .. coalesce(cardinality(f_number), 0) LOOP
          INSERT INTO order_fills (account, broker_date, broker_order_id, cumulative_quantity, intent_id, quantity, price,
            inferred, event_seq, occurred_at)
          VALUES (p_account, f_date[k], f_number[k], f_cumulative[k], p_intent_id, f_quantity[k], f_price[k],
            f_inferred[k], p_version, f_at[k])
          ON CONFLICT (account, broker_date, broker_order_id, cumulative_quantity) DO UPDATE SET
            quantity = EXCLUDED.quantity, price = EXCLUDED.price, inferred = EXCLUDED.inferred,
            event_seq = EXCLUDED.event_seq, occurred_at = EXCLUDED.occurred_at;
        END LOOP;
        IF p_unpark IS NOT NULL THEN
          DELETE FROM order_unmatched WHERE event_key = p_unpark;
        END IF;
        RETURN CASE WHEN parked THEN 2 ELSE 1 END;
      END
      $$`

// The hot writes as PL/pgSQL functions. One call is still one statement and one commit, but the
// server keeps each inner statement's plan for the session (an inline multi-CTE statement is parsed
// and planned on every call, which cost more than the writes themselves), and each inner statement
// takes a fresh snapshot: the lock taken first is what lets a link and a park of the same broker
// number see each other (see order_fsm_park).
const writeFunctions: Migration = {
  async up(db: Kysely<unknown>) {
    // Like order_events and order_fills, a broker-number row is only ever inserted by
    // order_fsm_write right after the version-checked update of its order in the same transaction,
    // so the parent exists by construction; the foreign key's check cost every link a trigger call.
    await sql`ALTER TABLE order_broker_ids DROP CONSTRAINT order_broker_ids_intent_id_fkey`.execute(db)
    // The lease fence of a write (see @vellab/lease): with a key, the lease row must still carry
    // the epoch. FOR SHARE: a takeover (which updates the lease row) waits for this write's
    // transaction, and a write that starts after it sees the new epoch and is refused.
    await sql`
      CREATE FUNCTION order_fsm_check_fence(p_fence_key text, p_fence_epoch bigint) RETURNS void
      LANGUAGE plpgsql AS $$
      BEGIN
        IF p_fence_key IS NOT NULL THEN
          PERFORM 1 FROM vellab_leases WHERE lease_key = p_fence_key AND epoch = p_fence_epoch FOR SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'fenced: lease % is past epoch %', p_fence_key, p_fence_epoch USING ERRCODE = 'VL001';
          END IF;
        END IF;
      END
      $$`.execute(db)
    // Create an order: the projection row and the first events of its log (intent_created, and
    // submit_started when the caller claims the submit in the same statement). Returns false when
    // the intent id exists (nothing written).
    await ORDER_FSM_CREATE_0002.execute(db)
    // One transition: the version-checked projection update, its event, the broker numbers it links,
    // the fill rows it records and (when draining) the parked event it consumes. Returns 0 when the
    // version check lost (nothing written), 1 when written, 2 when written and events are parked
    // under a number it linked (the caller drains them). Links take the number's lock before
    // anything else, so a park of the same number is either seen here or sees this link.
    await ORDER_FSM_WRITE_0002.execute(db)
    // Park a broker event under a number nobody owns yet, unless one of its numbers is linked by
    // now. Under the number's lock, and with a fresh snapshot after it: a link committed before the
    // lock is seen here (returns false, nothing parked: route the event), and a link that takes the
    // lock after us sees the parked row (its write returns 2 and it drains). No event is stranded.
    await sql`
      CREATE FUNCTION order_fsm_park(
        p_event_key text, p_account text, p_broker_date text, p_ids text[], p_payload jsonb, p_now bigint
      ) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('order_fsm_number|' || p_account || '|' || p_broker_date || '|' || p_ids[1], 0));
        IF EXISTS (SELECT 1 FROM order_broker_ids
            WHERE account = p_account AND broker_date = p_broker_date AND broker_order_id = ANY (p_ids)) THEN
          RETURN false;
        END IF;
        INSERT INTO order_unmatched (event_key, account, broker_date, broker_order_id, payload, received_at)
        VALUES (p_event_key, p_account, p_broker_date, p_ids[1], p_payload, p_now)
        ON CONFLICT (event_key) DO NOTHING;
        RETURN true;
      END
      $$`.execute(db)
  },
  async down(db: Kysely<unknown>) {
    await sql`ALTER TABLE order_broker_ids ADD CONSTRAINT order_broker_ids_intent_id_fkey
      FOREIGN KEY (intent_id) REFERENCES order_orders (intent_id)`.execute(db)
    await sql`DROP FUNCTION IF EXISTS order_fsm_park(text, text, text, text[], jsonb, bigint)`.execute(db)
    await sql`DROP FUNCTION IF EXISTS order_fsm_check_fence(text, bigint)`.execute(db)
    await sql`DROP FUNCTION IF EXISTS order_fsm_write(text, integer, text, integer, jsonb, text, bigint, bigint, text, text, text, text, text, jsonb, bigint, bigint, text, text[], text[], text[], text[], text[], text[], integer[], integer[], bigint[], boolean[], bigint[], text, text, bigint)`.execute(
      db,
    )
    await sql`DROP FUNCTION IF EXISTS order_fsm_create(text, text, text, text, text, text, integer, text, text, bigint, bigint, bigint, jsonb, text, text, jsonb, text, jsonb, text, bigint)`.execute(
      db,
    )
  },
}

// The projection's `doc` narrows to what is neither a column nor the intent (src/store/projection.ts):
// a transition no longer rewrites the intent (~0.25 KB; it is the payload of the order's first
// event, seq 1, which every order has had since 0001) nor the fields the row keeps as columns.
// No row is rewritten here, so this takes no lock on order_orders and lasts the same whatever the
// table's size: the package reads both formats (the columns and the first event's intent win over a
// whole doc, and they were written by the same statement), and a row narrows on its next
// transition. It is a migration because it changes what the package writes: `down` widens every
// narrow doc back to the whole Order that the package before 0003 reads (one UPDATE of the narrow
// rows, in the migration's transaction).
const narrowProjection: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`COMMENT ON COLUMN order_orders.doc IS
      'The Order minus its intent (order_events seq 1) and the fields kept as columns; a row not written since order_fsm_0003 holds the whole Order'`.execute(
      db,
    )
  },
  async down(db: Kysely<unknown>) {
    await sql`
      UPDATE order_orders o SET doc = o.doc || jsonb_build_object(
        'intentId', o.intent_id, 'intent', i.payload -> 'intent', 'state', o.state, 'version', o.version,
        'brokerOrderId', o.broker_order_id, 'submittedAt', o.submitted_at, 'createdAt', o.created_at,
        'updatedAt', o.updated_at)
      FROM order_events i
      WHERE i.intent_id = o.intent_id AND i.seq = 1 AND NOT (o.doc ? 'intent')`.execute(db)
    await sql`COMMENT ON COLUMN order_orders.doc IS NULL`.execute(db)
  },
}

// The hot writes as migration 0004 installed them (0005 replaces them, and its `down` puts these back).
const ORDER_FSM_CREATE_0004 = sql`
      CREATE OR REPLACE FUNCTION order_fsm_create(
        p_intent_id text, p_account text, p_strategy_id text, p_symbol text, p_side text, p_state text,
        p_version integer, p_fingerprint text, p_intent_hash text, p_submitted_at bigint, p_created_at bigint,
        p_updated_at bigint, p_doc jsonb, p_actor text, p_reason text, p_created jsonb,
        p_submit_reason text, p_submit jsonb, p_fence_key text, p_fence_epoch bigint
      ) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        IF p_fence_key IS NOT NULL THEN
          PERFORM 1 FROM vellab_leases WHERE lease_key = p_fence_key AND epoch = p_fence_epoch FOR SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'fenced: lease % is past epoch %', p_fence_key, p_fence_epoch USING ERRCODE = 'VL001';
          END IF;
        END IF;
        INSERT INTO order_orders (intent_id, account, strategy_id, symbol, side, state, version, fingerprint,
          intent_hash, broker_order_id, submitted_at, created_at, updated_at, doc)
        VALUES (p_intent_id, p_account, p_strategy_id, p_symbol, p_side, p_state, p_version, p_fingerprint,
          p_intent_hash, NULL, p_submitted_at, p_created_at, p_updated_at, p_doc)
        ON CONFLICT (intent_id) DO NOTHING;
        IF NOT FOUND THEN
          RETURN false;
        END IF;
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        SELECT p_intent_id, e.seq, e.type, NULL, 'command', p_actor, e.reason, e.payload, p_created_at, p_created_at
        FROM (VALUES (1, 'intent_created', p_reason, p_created),
          (2, 'submit_started', p_submit_reason, p_submit)) AS e (seq, type, reason, payload)
        WHERE e.payload IS NOT NULL
        ORDER BY e.seq;
        RETURN true;
      END
      $$`

const ORDER_FSM_WRITE_0004 = sql`
      CREATE OR REPLACE FUNCTION order_fsm_write(
        p_intent_id text, p_expected integer, p_state text, p_version integer, p_doc jsonb,
        p_broker_order_id text, p_submitted_at bigint, p_updated_at bigint, p_type text, p_event_key text,
        p_source text, p_actor text, p_reason text, p_payload jsonb, p_occurred_at bigint, p_now bigint,
        p_account text,
        l_date text[], l_number text[], l_role text[], l_predecessor text[],
        f_date text[], f_number text[], f_cumulative integer[], f_quantity integer[], f_price bigint[],
        f_inferred boolean[], f_at bigint[],
        p_unpark text, p_fence_key text, p_fence_epoch bigint
      ) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        parked boolean := false;
        k integer;
      BEGIN
        IF p_fence_key IS NOT NULL THEN
          PERFORM 1 FROM vellab_leases WHERE lease_key = p_fence_key AND epoch = p_fence_epoch FOR SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'fenced: lease % is past epoch %', p_fence_key, p_fence_epoch USING ERRCODE = 'VL001';
          END IF;
        END IF;
        -- Links arrive sorted by (date, number), so two writers lock in the same order.
        FOR k IN 1 .. coalesce(cardinality(l_number), 0) LOOP
          PERFORM pg_advisory_xact_lock(hashtextextended('order_fsm_number|' || p_account || '|' || l_date[k] || '|' || l_number[k], 0));
        END LOOP;
        UPDATE order_orders SET state = p_state, version = p_version, doc = p_doc, broker_order_id = p_broker_order_id,
          submitted_at = p_submitted_at, updated_at = p_updated_at
        WHERE intent_id = p_intent_id AND version = p_expected;
        IF NOT FOUND THEN
          RETURN 0;
        END IF;
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        VALUES (p_intent_id, p_version, p_type, p_event_key, p_source, p_actor, p_reason, p_payload, p_occurred_at, p_now);
        IF NOT FOUND THEN
          RETURN 0;
        END IF;
        FOR k IN 1 .. coalesce(cardinality(l_number), 0) LOOP
          INSERT INTO order_broker_ids (account, broker_date, broker_order_id, intent_id, role, predecessor_id, linked_at)
          VALUES (p_account, l_date[k], l_number[k], p_intent_id, l_role[k], l_predecessor[k], p_now);
          IF NOT parked THEN
            parked := EXISTS (SELECT 1 FROM order_unmatched
              WHERE account = p_account AND broker_date = l_date[k] AND broker_order_id = l_number[k]);
          END IF;
        END LOOP;
        FOR k IN 1 .. coalesce(cardinality(f_number), 0) LOOP
          INSERT INTO order_fills (account, broker_date, broker_order_id, cumulative_quantity, intent_id, quantity, price,
            inferred, event_seq, occurred_at)
          VALUES (p_account, f_date[k], f_number[k], f_cumulative[k], p_intent_id, f_quantity[k], f_price[k],
            f_inferred[k], p_version, f_at[k])
          ON CONFLICT (account, broker_date, broker_order_id, cumulative_quantity) DO UPDATE SET
            quantity = EXCLUDED.quantity, price = EXCLUDED.price, inferred = EXCLUDED.inferred,
            event_seq = EXCLUDED.event_seq, occurred_at = EXCLUDED.occurred_at;
        END LOOP;
        IF p_unpark IS NOT NULL THEN
          DELETE FROM order_unmatched WHERE event_key = p_unpark;
        END IF;
        RETURN CASE WHEN parked THEN 2 ELSE 1 END;
      END
      $$`

// Leaner hot writes (#11, order path): fewer index entries and fewer inner statements per
// transition, the same guarantees. Each index entry a transition writes costs its btree descent, its
// WAL record and its share of the flush:
// - `order_events.event_key` becomes a partial unique index (same name, so a duplicate still reports
//   `order_events_event_key_key`): command events (no key) no longer enter it. A lookup by key
//   (`event_key = $1` implies NOT NULL) still uses it.
// - `order_orders_strategy_idx` goes: a strategy filter always comes with a state filter, which
//   `order_orders_state_idx` (state, account, symbol) serves; every non-HOT update paid an entry.
// - `order_orders_fingerprint_idx` keeps only what `findReconcileCandidates` reads (RECONCILE_REQUIRED
//   without a broker number): other rows, nearly all of them, pay no entry.
// - `order_broker_ids_intent_idx` goes: it served the foreign key that 0002 dropped; no query reads
//   broker numbers by intent.
// - `order_fsm_create` / `order_fsm_write` (same signatures, so a package before 0004 runs on them
//   unchanged): the fence check inline and only with a key (no nested PL/pgSQL call), and the first
//   events of an order in one INSERT.
// The index changes lock `order_orders`, `order_events` and `order_broker_ids` for the migration's
// transaction, and the partial unique index is built by reading `order_events`: run it off-hours on
// a large log.
const leanWrites: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE order_events DROP CONSTRAINT order_events_event_key_key`.execute(db)
    await sql`CREATE UNIQUE INDEX order_events_event_key_key ON order_events (event_key) WHERE event_key IS NOT NULL`.execute(
      db,
    )
    await sql`DROP INDEX order_orders_strategy_idx`.execute(db)
    await sql`DROP INDEX order_orders_fingerprint_idx`.execute(db)
    await sql`CREATE INDEX order_orders_fingerprint_idx ON order_orders (fingerprint, submitted_at)
      WHERE state = 'RECONCILE_REQUIRED' AND broker_order_id IS NULL`.execute(db)
    await sql`DROP INDEX order_broker_ids_intent_idx`.execute(db)
    await ORDER_FSM_CREATE_0004.execute(db)
    await ORDER_FSM_WRITE_0004.execute(db)
  },
  async down(db: Kysely<unknown>) {
    // Back to the bodies of 0002 (dropped and created again: CREATE OR REPLACE cannot take them
    // from a constant that says CREATE FUNCTION).
    await sql`DROP FUNCTION order_fsm_write(text, integer, text, integer, jsonb, text, bigint, bigint, text, text, text, text, text, jsonb, bigint, bigint, text, text[], text[], text[], text[], text[], text[], integer[], integer[], bigint[], boolean[], bigint[], text, text, bigint)`.execute(
      db,
    )
    await ORDER_FSM_WRITE_0002.execute(db)
    await sql`DROP FUNCTION order_fsm_create(text, text, text, text, text, text, integer, text, text, bigint, bigint, bigint, jsonb, text, text, jsonb, text, jsonb, text, bigint)`.execute(
      db,
    )
    await ORDER_FSM_CREATE_0002.execute(db)
    await sql`CREATE INDEX order_broker_ids_intent_idx ON order_broker_ids (intent_id)`.execute(db)
    await sql`DROP INDEX order_orders_fingerprint_idx`.execute(db)
    await sql`CREATE INDEX order_orders_fingerprint_idx ON order_orders (fingerprint, submitted_at)`.execute(
      db,
    )
    await sql`CREATE INDEX order_orders_strategy_idx ON order_orders (strategy_id, state)`.execute(db)
    await sql`DROP INDEX order_events_event_key_key`.execute(db)
    await sql`ALTER TABLE order_events ADD CONSTRAINT order_events_event_key_key UNIQUE (event_key)`.execute(
      db,
    )
  },
}

// Checks in the write functions (#11, order path). PostgreSQL rebuilds a table's CHECK constraints
// from their stored text in every INSERT and UPDATE that touches the table: parsed and compiled
// again per statement (about 5 µs each here, five statements on the order path), where the same
// condition inside a PL/pgSQL function is compiled once per session. order_fsm_create and
// order_fsm_write are the only writers of these rows (every transition goes through them), so they
// now test what the six constraints tested, before they write, and refuse with the same SQLSTATE
// (23514, check_violation) and the constraint's name. What the database no longer refuses is a row
// written by hand outside the functions.
// Also: the first events of an order as one plain multi-row INSERT, one for each case (the INSERT …
// SELECT FROM (VALUES …) WHERE … ORDER BY of 0004 ran a sort and a filter on every create), and the
// broker number's lock taken by the INSERT that links it, after the version-checked update (one
// statement fewer; the probe of parked events still follows it, with a snapshot taken after the
// lock). Same signatures, so a package before 0005 runs on these unchanged.
const CHECKS = [
  ['order_orders', 'order_orders_side_check', `CHECK (side IN ('buy', 'sell'))`],
  ['order_orders', 'order_orders_version_check', 'CHECK (version >= 1)'],
  ['order_events', 'order_events_seq_check', 'CHECK (seq >= 1)'],
  ['order_broker_ids', 'order_broker_ids_role_check', `CHECK (role IN ('order', 'replacement', 'cancel'))`],
  ['order_fills', 'order_fills_cumulative_quantity_check', 'CHECK (cumulative_quantity > 0)'],
  ['order_fills', 'order_fills_quantity_check', 'CHECK (quantity > 0)'],
] as const

// The write functions of 0005, kept apart so that 0006 can install the same bodies with `json`
// documents and its `down` can put these back. Part of two migrations' history: never edit.
const createParams0005 = (doc: 'jsonb' | 'json') => `
        p_intent_id text, p_account text, p_strategy_id text, p_symbol text, p_side text, p_state text,
        p_version integer, p_fingerprint text, p_intent_hash text, p_submitted_at bigint, p_created_at bigint,
        p_updated_at bigint, p_doc ${doc}, p_actor text, p_reason text, p_created ${doc},
        p_submit_reason text, p_submit ${doc}, p_fence_key text, p_fence_epoch bigint
      `
const CREATE_BODY_0005 = `
      BEGIN
        IF p_fence_key IS NOT NULL THEN
          PERFORM 1 FROM vellab_leases WHERE lease_key = p_fence_key AND epoch = p_fence_epoch FOR SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'fenced: lease % is past epoch %', p_fence_key, p_fence_epoch USING ERRCODE = 'VL001';
          END IF;
        END IF;
        IF p_side IS DISTINCT FROM 'buy' AND p_side IS DISTINCT FROM 'sell' THEN
          RAISE EXCEPTION 'order_orders: side % is neither buy nor sell', p_side
            USING ERRCODE = 'check_violation', TABLE = 'order_orders', CONSTRAINT = 'order_orders_side_check';
        END IF;
        IF p_version < 1 THEN
          RAISE EXCEPTION 'order_orders: version % is below 1', p_version
            USING ERRCODE = 'check_violation', TABLE = 'order_orders', CONSTRAINT = 'order_orders_version_check';
        END IF;
        INSERT INTO order_orders (intent_id, account, strategy_id, symbol, side, state, version, fingerprint,
          intent_hash, broker_order_id, submitted_at, created_at, updated_at, doc)
        VALUES (p_intent_id, p_account, p_strategy_id, p_symbol, p_side, p_state, p_version, p_fingerprint,
          p_intent_hash, NULL, p_submitted_at, p_created_at, p_updated_at, p_doc)
        ON CONFLICT (intent_id) DO NOTHING;
        IF NOT FOUND THEN
          RETURN false;
        END IF;
        IF p_submit IS NULL THEN
          INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
          VALUES (p_intent_id, 1, 'intent_created', NULL, 'command', p_actor, p_reason, p_created, p_created_at, p_created_at);
        ELSE
          INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
          VALUES (p_intent_id, 1, 'intent_created', NULL, 'command', p_actor, p_reason, p_created, p_created_at, p_created_at),
            (p_intent_id, 2, 'submit_started', NULL, 'command', p_actor, p_submit_reason, p_submit, p_created_at, p_created_at);
        END IF;
        RETURN true;
      END
      `
const writeParams0005 = (doc: 'jsonb' | 'json') => `
        p_intent_id text, p_expected integer, p_state text, p_version integer, p_doc ${doc},
        p_broker_order_id text, p_submitted_at bigint, p_updated_at bigint, p_type text, p_event_key text,
        p_source text, p_actor text, p_reason text, p_payload ${doc}, p_occurred_at bigint, p_now bigint,
        p_account text,
        l_date text[], l_number text[], l_role text[], l_predecessor text[],
        f_date text[], f_number text[], f_cumulative integer[], f_quantity integer[], f_price bigint[],
        f_inferred boolean[], f_at bigint[],
        p_unpark text, p_fence_key text, p_fence_epoch bigint
      `
const WRITE_BODY_0005 = `
      DECLARE
        parked boolean := false;
        k integer;
      BEGIN
        IF p_fence_key IS NOT NULL THEN
          PERFORM 1 FROM vellab_leases WHERE lease_key = p_fence_key AND epoch = p_fence_epoch FOR SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'fenced: lease % is past epoch %', p_fence_key, p_fence_epoch USING ERRCODE = 'VL001';
          END IF;
        END IF;
        -- The version is also the event's seq: one test for order_orders_version_check and order_events_seq_check.
        IF p_version < 1 THEN
          RAISE EXCEPTION 'order_orders: version % is below 1', p_version
            USING ERRCODE = 'check_violation', TABLE = 'order_orders', CONSTRAINT = 'order_orders_version_check';
        END IF;
        UPDATE order_orders SET state = p_state, version = p_version, doc = p_doc, broker_order_id = p_broker_order_id,
          submitted_at = p_submitted_at, updated_at = p_updated_at
        WHERE intent_id = p_intent_id AND version = p_expected;
        IF NOT FOUND THEN
          RETURN 0;
        END IF;
        INSERT INTO order_events (intent_id, seq, type, event_key, source, actor, reason, payload, occurred_at, recorded_at)
        VALUES (p_intent_id, p_version, p_type, p_event_key, p_source, p_actor, p_reason, p_payload, p_occurred_at, p_now);
        -- Links arrive sorted by (date, number), so two writers take the numbers' locks in the same order.
        IF l_number IS NOT NULL THEN
          FOR k IN 1 .. cardinality(l_number) LOOP
            IF l_role[k] IS DISTINCT FROM 'order' AND l_role[k] IS DISTINCT FROM 'replacement'
                AND l_role[k] IS DISTINCT FROM 'cancel' THEN
              RAISE EXCEPTION 'order_broker_ids: role % is not order, replacement or cancel', l_role[k]
                USING ERRCODE = 'check_violation', TABLE = 'order_broker_ids', CONSTRAINT = 'order_broker_ids_role_check';
            END IF;
            INSERT INTO order_broker_ids (account, broker_date, broker_order_id, intent_id, role, predecessor_id, linked_at)
            SELECT p_account, l_date[k], l_number[k], p_intent_id, l_role[k], l_predecessor[k], p_now
            FROM (SELECT pg_advisory_xact_lock(hashtextextended(
              'order_fsm_number|' || p_account || '|' || l_date[k] || '|' || l_number[k], 0))) AS number_lock;
            IF NOT parked THEN
              parked := EXISTS (SELECT 1 FROM order_unmatched
                WHERE account = p_account AND broker_date = l_date[k] AND broker_order_id = l_number[k]);
            END IF;
          END LOOP;
        END IF;
        IF f_number IS NOT NULL THEN
          FOR k IN 1 .. cardinality(f_number) LOOP
            IF NOT (f_cumulative[k] > 0) THEN
              RAISE EXCEPTION 'order_fills: cumulative quantity % is not positive', f_cumulative[k]
                USING ERRCODE = 'check_violation', TABLE = 'order_fills', CONSTRAINT = 'order_fills_cumulative_quantity_check';
            END IF;
            IF NOT (f_quantity[k] > 0) THEN
              RAISE EXCEPTION 'order_fills: quantity % is not positive', f_quantity[k]
                USING ERRCODE = 'check_violation', TABLE = 'order_fills', CONSTRAINT = 'order_fills_quantity_check';
            END IF;
            INSERT INTO order_fills (account, broker_date, broker_order_id, cumulative_quantity, intent_id, quantity, price,
              inferred, event_seq, occurred_at)
            VALUES (p_account, f_date[k], f_number[k], f_cumulative[k], p_intent_id, f_quantity[k], f_price[k],
              f_inferred[k], p_version, f_at[k])
            ON CONFLICT (account, broker_date, broker_order_id, cumulative_quantity) DO UPDATE SET
              quantity = EXCLUDED.quantity, price = EXCLUDED.price, inferred = EXCLUDED.inferred,
              event_seq = EXCLUDED.event_seq, occurred_at = EXCLUDED.occurred_at;
          END LOOP;
        END IF;
        IF p_unpark IS NOT NULL THEN
          DELETE FROM order_unmatched WHERE event_key = p_unpark;
        END IF;
        RETURN CASE WHEN parked THEN 2 ELSE 1 END;
      END
      `
const createFunction0005 = (name: string, doc: 'jsonb' | 'json') =>
  sql.raw(`
      CREATE OR REPLACE FUNCTION ${name}(${createParams0005(doc)}) RETURNS boolean LANGUAGE plpgsql AS $$${CREATE_BODY_0005}$$`)
const writeFunction0005 = (name: string, doc: 'jsonb' | 'json') =>
  sql.raw(`
      CREATE OR REPLACE FUNCTION ${name}(${writeParams0005(doc)}) RETURNS integer LANGUAGE plpgsql AS $$${WRITE_BODY_0005}$$`)

const checksInWrites: Migration = {
  async up(db: Kysely<unknown>) {
    for (const [table, name] of CHECKS) {
      await sql`ALTER TABLE ${sql.table(table)} DROP CONSTRAINT ${sql.ref(name)}`.execute(db)
    }
    await createFunction0005('order_fsm_create', 'jsonb').execute(db)
    await writeFunction0005('order_fsm_write', 'jsonb').execute(db)
  },
  async down(db: Kysely<unknown>) {
    await ORDER_FSM_CREATE_0004.execute(db)
    await ORDER_FSM_WRITE_0004.execute(db)
    // Validates the rows written since (a scan of each table, under its lock).
    for (const [table, name, check] of CHECKS) {
      await sql`ALTER TABLE ${sql.table(table)} ADD CONSTRAINT ${sql.ref(name)} ${sql.raw(check)}`.execute(db)
    }
  },
}

// The order's document and the events' payloads as `json` (#11, order path). `jsonb` turns every
// value it is given into its binary form (a tree built, keys sorted and deduplicated: about 20 ns a
// byte here, some 800 bytes of documents per order, 4 % of the server's time on the order path) so
// that containment and key lookups inside it are fast. Nothing looks inside these two: the store
// reads a doc or a payload whole, or `payload -> 'intent'` of one event. `json` checks the text and
// keeps it as given; `->`, `->>` still work on it, and a query that wants containment casts to jsonb.
// order_unmatched and order_audit keep jsonb (written rarely; parked events are ordered by a key).
// The writes take `json` too: order_fsm_create_v2 and order_fsm_write_v2 (0005's bodies, which the
// store's statements name); order_fsm_create and order_fsm_write keep their `jsonb` signatures and
// pass on to them, for a process of a package before 0006 that is still running during an upgrade.
// ALTER … TYPE rewrites order_orders and order_events, each under an exclusive lock while it is
// copied (both tables, with their indexes, a few seconds per million rows here): run it off-hours on
// a large log. `down` rewrites them back.
const jsonDocuments: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE order_orders ALTER COLUMN doc TYPE json USING doc::json`.execute(db)
    await sql`ALTER TABLE order_events ALTER COLUMN payload TYPE json USING payload::json`.execute(db)
    await createFunction0005('order_fsm_create_v2', 'json').execute(db)
    await writeFunction0005('order_fsm_write_v2', 'json').execute(db)
    // The old names, with their `jsonb` parameters, pass on to `_v2`.
    await sql
      .raw(`
      CREATE OR REPLACE FUNCTION order_fsm_create(${createParams0005('jsonb')}) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        RETURN order_fsm_create_v2(p_intent_id, p_account, p_strategy_id, p_symbol, p_side, p_state, p_version,
          p_fingerprint, p_intent_hash, p_submitted_at, p_created_at, p_updated_at, p_doc::json, p_actor, p_reason,
          p_created::json, p_submit_reason, p_submit::json, p_fence_key, p_fence_epoch);
      END
      $$`)
      .execute(db)
    await sql
      .raw(`
      CREATE OR REPLACE FUNCTION order_fsm_write(${writeParams0005('jsonb')}) RETURNS integer LANGUAGE plpgsql AS $$
      BEGIN
        RETURN order_fsm_write_v2(p_intent_id, p_expected, p_state, p_version, p_doc::json, p_broker_order_id,
          p_submitted_at, p_updated_at, p_type, p_event_key, p_source, p_actor, p_reason, p_payload::json,
          p_occurred_at, p_now, p_account, l_date, l_number, l_role, l_predecessor, f_date, f_number, f_cumulative,
          f_quantity, f_price, f_inferred, f_at, p_unpark, p_fence_key, p_fence_epoch);
      END
      $$`)
      .execute(db)
  },
  async down(db: Kysely<unknown>) {
    await sql`ALTER TABLE order_orders ALTER COLUMN doc TYPE jsonb USING doc::jsonb`.execute(db)
    await sql`ALTER TABLE order_events ALTER COLUMN payload TYPE jsonb USING payload::jsonb`.execute(db)
    await createFunction0005('order_fsm_create', 'jsonb').execute(db)
    await writeFunction0005('order_fsm_write', 'jsonb').execute(db)
    await sql.raw(`DROP FUNCTION order_fsm_create_v2(${createParams0005('json')})`).execute(db)
    await sql.raw(`DROP FUNCTION order_fsm_write_v2(${writeParams0005('json')})`).execute(db)
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
  order_fsm_0002_write_functions: writeFunctions,
  order_fsm_0003_narrow_projection: narrowProjection,
  order_fsm_0004_lean_writes: leanWrites,
  order_fsm_0005_checks_in_writes: checksInWrites,
  order_fsm_0006_json_documents: jsonDocuments,
})

/**
 * The migrations of {@link orderFsmMigrations} that rewrite tables, with the tables each rewrites.
 * A rewrite holds an exclusive lock on the table for as long as the copy takes (no order can be
 * written meanwhile): seconds per million rows. A process that migrates at startup can look here
 * and leave a large one to a maintenance window.
 */
export const orderFsmTableRewrites: Readonly<Record<string, readonly string[]>> = Object.freeze({
  order_fsm_0006_json_documents: Object.freeze(['order_orders', 'order_events']),
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
