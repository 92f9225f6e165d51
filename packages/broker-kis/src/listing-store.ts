import type { SqlQueryable } from './token-store'

/**
 * Today's order listing as a process last read it, row by row: what a restarted process (a standby
 * taking over) needs to read the day incrementally from its first listing instead of whole.
 */
export interface SavedListing {
  /** The rows as the gateway parsed them (one per order number, any order). */
  rows: unknown[]
  /** When the day was last read whole (epoch ms): the next whole read is due from then. */
  wholeAt: number
}

/** One row of a listing to save, under its order number. */
export interface ListingRow {
  orderNo: string
  row: unknown
}

/**
 * Where today's order listing survives a restart (see `KisGatewayOptions.listingStore`). A save adds
 * or replaces the rows it carries (by order number) and keeps the later `wholeAt`, in one atomic
 * step, so what is stored is always the union of whole listings: a listing that reads only the
 * newest rows relies on every older one being there.
 */
export interface ListingStore {
  /** The day's saved listing under `key`, or undefined when nothing was saved for that day. */
  load(key: string, day: string): Promise<SavedListing | undefined>
  /**
   * Add or replace `rows` (each with its order number) of `day` under `key` and keep the later
   * `wholeAt`; drop what is saved for earlier days. All or nothing.
   */
  save(key: string, day: string, rows: readonly ListingRow[], wholeAt: number): Promise<void>
}

/** The store key of an account in an environment. */
export function listingStoreKey(environment: string, account: string): string {
  return `${environment}:${account}`
}

/** A store in memory: shared by the gateways of one process that are given the same instance. */
export class MemoryListingStore implements ListingStore {
  readonly #days = new Map<string, { day: string; rows: Map<string, unknown>; wholeAt: number }>()

  async load(key: string, day: string): Promise<SavedListing | undefined> {
    const d = this.#days.get(key)
    if (!d || d.day !== day) return undefined
    return { rows: structuredClone([...d.rows.values()]), wholeAt: d.wholeAt }
  }

  async save(key: string, day: string, rows: readonly ListingRow[], wholeAt: number): Promise<void> {
    let d = this.#days.get(key)
    if (d && d.day > day) return
    if (!d || d.day !== day) {
      d = { day, rows: new Map(), wholeAt }
      this.#days.set(key, d)
    }
    for (const r of rows) d.rows.set(r.orderNo, structuredClone(r.row))
    d.wholeAt = Math.max(d.wholeAt, wholeAt)
  }
}

/**
 * DDL of the Postgres listing tables (PostgreSQL 15+). Run by `PostgresListingStore.ensureSchema()`
 * or by the application's own migrations.
 */
export const KIS_LISTING_TABLES_DDL = `CREATE TABLE IF NOT EXISTS kis_listing_days (
  store_key text NOT NULL,
  day text NOT NULL,
  whole_at bigint NOT NULL,
  PRIMARY KEY (store_key, day)
);
CREATE TABLE IF NOT EXISTS kis_listing_rows (
  store_key text NOT NULL,
  day text NOT NULL,
  order_no text NOT NULL,
  row jsonb NOT NULL,
  PRIMARY KEY (store_key, day, order_no)
)`

/**
 * A listing store every process of a deployment shares. One save is one statement, so it is
 * atomic; a day's rows are replaced order by order (a row read again unchanged is not rewritten),
 * never removed, and earlier days are dropped.
 */
export class PostgresListingStore implements ListingStore {
  readonly #db: SqlQueryable

  /** @param db a `pg` Pool or Client. */
  constructor(db: SqlQueryable) {
    this.#db = db
  }

  /** Create the tables if they do not exist. */
  async ensureSchema(): Promise<void> {
    await this.#db.query(KIS_LISTING_TABLES_DDL)
  }

  async load(key: string, day: string): Promise<SavedListing | undefined> {
    const r = await this.#db.query(
      `SELECT d.whole_at,
         (SELECT coalesce(jsonb_agg(r.row), '[]'::jsonb) FROM kis_listing_rows r
          WHERE r.store_key = d.store_key AND r.day = d.day) AS rows
       FROM kis_listing_days d WHERE d.store_key = $1 AND d.day = $2`,
      [key, day],
    )
    const row = r.rows[0]
    if (!row) return undefined
    return { rows: Array.isArray(row.rows) ? row.rows : [], wholeAt: Number(row.whole_at) }
  }

  async save(key: string, day: string, rows: readonly ListingRow[], wholeAt: number): Promise<void> {
    await this.#db.query(
      `WITH day_row AS (
         INSERT INTO kis_listing_days (store_key, day, whole_at) VALUES ($1, $2, $3)
         ON CONFLICT (store_key, day) DO UPDATE
           SET whole_at = greatest(kis_listing_days.whole_at, EXCLUDED.whole_at)
       ), saved AS (
         INSERT INTO kis_listing_rows (store_key, day, order_no, row)
         SELECT $1, $2, x.order_no, x.row FROM jsonb_to_recordset($4::jsonb) AS x (order_no text, row jsonb)
         ON CONFLICT (store_key, day, order_no) DO UPDATE SET row = EXCLUDED.row
           WHERE kis_listing_rows.row IS DISTINCT FROM EXCLUDED.row
       ), old_rows AS (
         DELETE FROM kis_listing_rows WHERE store_key = $1 AND day < $2
       )
       DELETE FROM kis_listing_days WHERE store_key = $1 AND day < $2`,
      [key, day, wholeAt, JSON.stringify(rows.map((r) => ({ order_no: r.orderNo, row: r.row })))],
    )
  }
}
