import { createHash } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/** An access token with its absolute lifetime (epoch ms). */
export interface AccessToken {
  value: string
  issuedAt: number
  expiresAt: number
}

/**
 * Where tokens survive restarts, so a restart does not burn an issuance (reference §2.1: issuance
 * is throttled and, on real accounts, sends a KakaoTalk notice every time).
 */
export interface TokenStore {
  load(key: string): Promise<AccessToken | undefined>
  save(key: string, token: AccessToken): Promise<void>
  /**
   * Run `refresh` (re-read the store, issue if still needed, save) while no other process sharing
   * this store does the same for `key`, so two processes never both call tokenP. Optional: a store
   * without it is coordinated within one process only.
   */
  issueExclusively?<T>(key: string, refresh: () => Promise<T>): Promise<T>
}

/**
 * The store key of an app key in an environment: a hash, so the app key itself is never written
 * next to the token.
 */
export function tokenStoreKey(environment: string, appKey: string): string {
  return `${environment}:${createHash('sha256').update(appKey).digest('hex').slice(0, 24)}`
}

/** A store in memory (one process; the default). */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, AccessToken>()
  async load(key: string): Promise<AccessToken | undefined> {
    return this.#tokens.get(key)
  }
  async save(key: string, token: AccessToken): Promise<void> {
    this.#tokens.set(key, { ...token })
  }
}

function isToken(v: unknown): v is AccessToken {
  const t = v as AccessToken
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.value === 'string' &&
    typeof t.issuedAt === 'number' &&
    typeof t.expiresAt === 'number'
  )
}

/**
 * A JSON file store. The file is written to a temporary file with mode 0600 and renamed into
 * place, so it is never readable by other users and never half-written.
 */
export class FileTokenStore implements TokenStore {
  readonly path: string
  constructor(path: string) {
    this.path = path
  }

  async #readAll(): Promise<Record<string, AccessToken>> {
    let raw: string
    try {
      raw = await readFile(this.path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw e
    }
    try {
      const parsed = JSON.parse(raw) as { tokens?: Record<string, unknown> }
      const out: Record<string, AccessToken> = {}
      for (const [k, v] of Object.entries(parsed.tokens ?? {})) if (isToken(v)) out[k] = v
      return out
    } catch {
      // A corrupt cache only costs one issuance; it must not stop trading.
      return {}
    }
  }

  async load(key: string): Promise<AccessToken | undefined> {
    return (await this.#readAll())[key]
  }

  async save(key: string, token: AccessToken): Promise<void> {
    const all = await this.#readAll()
    all[key] = { value: token.value, issuedAt: token.issuedAt, expiresAt: token.expiresAt }
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    const tmp = `${this.path}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify({ version: 1, tokens: all }), { mode: 0o600 })
    // `mode` applies only when the file is created; make sure a pre-existing temp file is 0600 too.
    await chmod(tmp, 0o600)
    await rename(tmp, this.path)
  }
}

/** The slice of a `pg` Pool/Client the Postgres store needs. */
export interface SqlQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
}

/** One checked-out connection of a pool (a `pg` PoolClient). */
export interface SqlConnection extends SqlQueryable {
  release(): void
}

/**
 * The slice of a `pg` Pool that lets the store lock issuance across processes: the lock lives in
 * one connection's transaction.
 */
export interface SqlPool extends SqlQueryable {
  connect(): Promise<SqlConnection>
  readonly idleCount: number
}

function isPool(db: SqlQueryable | SqlPool): db is SqlPool {
  // A bare pg Client also has connect() (which would connect it); only a pool counts idle clients.
  const p = db as Partial<SqlPool>
  return typeof p.connect === 'function' && typeof p.idleCount === 'number'
}

/** DDL of the Postgres token table (PostgreSQL 15+). Run by `PostgresTokenStore.ensureSchema()`. */
export const KIS_TOKEN_TABLE_DDL = `CREATE TABLE IF NOT EXISTS kis_access_tokens (
  store_key text PRIMARY KEY,
  token text NOT NULL,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`

/**
 * A token store shared by every process of a deployment. A save never replaces a token that
 * expires later, so two processes racing to refresh converge on the newest token; given a pool,
 * issuance itself is serialised with an advisory lock (`issueExclusively`), so they do not race.
 */
export class PostgresTokenStore implements TokenStore {
  readonly #db: SqlQueryable | SqlPool
  /**
   * @param db a `pg` Pool (issuance is then locked across processes; the pool needs at least two
   *   connections, one for the lock) or a single client (no cross-process lock).
   */
  constructor(db: SqlQueryable | SqlPool) {
    this.#db = db
  }

  /** Create the table if it does not exist. */
  async ensureSchema(): Promise<void> {
    await this.#db.query(KIS_TOKEN_TABLE_DDL)
  }

  async load(key: string): Promise<AccessToken | undefined> {
    const r = await this.#db.query(
      'SELECT token, issued_at, expires_at FROM kis_access_tokens WHERE store_key = $1',
      [key],
    )
    const row = r.rows[0]
    if (!row) return undefined
    return { value: String(row.token), issuedAt: Number(row.issued_at), expiresAt: Number(row.expires_at) }
  }

  /**
   * Serialise issuance across every process on this database: a transaction-scoped advisory lock
   * on the store key, held on a dedicated connection while `refresh` loads, issues and saves (with
   * the pool's other connections). The waiter then re-reads the store and finds the new token.
   * Without `connect()` (a bare client), `refresh` runs unlocked.
   */
  async issueExclusively<T>(key: string, refresh: () => Promise<T>): Promise<T> {
    if (!isPool(this.#db)) return refresh()
    const conn = await this.#db.connect()
    let broken = false
    try {
      await conn.query('BEGIN')
      // A stuck holder must not block token refresh forever.
      await conn.query("SET LOCAL lock_timeout = '30s'")
      await conn.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7309))', [
        `kis_access_tokens:${key}`,
      ])
      return await refresh()
    } catch (e) {
      broken = true
      throw e
    } finally {
      await conn.query(broken ? 'ROLLBACK' : 'COMMIT').catch(() => {})
      conn.release()
    }
  }

  async save(key: string, token: AccessToken): Promise<void> {
    await this.#db.query(
      `INSERT INTO kis_access_tokens (store_key, token, issued_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (store_key) DO UPDATE
         SET token = EXCLUDED.token, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, updated_at = now()
         WHERE kis_access_tokens.expires_at <= EXCLUDED.expires_at`,
      [key, token.value, token.issuedAt, token.expiresAt],
    )
  }
}
