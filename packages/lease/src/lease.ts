import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import pg from 'pg'

/**
 * The key a lease is held under for an appkey: a hash, so the appkey itself (a secret) is never
 * stored, logged or shown. Every process configured with the same appkey derives the same key.
 */
export function leaseKeyOf(appkey: string): string {
  return `appkey:${createHash('sha256').update(appkey, 'utf8').digest('hex').slice(0, 24)}`
}

/** Options of {@link AppKeyLease.acquire}. */
export interface LeaseOptions {
  /** PostgreSQL URL; the lease holds one dedicated connection of its own (not a pool's). */
  connectionString: string
  /** What is leased, e.g. `leaseKeyOf(appkey)`. */
  key: string
  /** Who holds it, for people (`host:pid`); shown by `readLeases`. Not a secret. */
  holder: string
  /**
   * A holder whose heartbeat is older than this (database time) is taken over: its lock
   * connection is terminated and the epoch moves on. @default 5000
   */
  ttlMs?: number
  /** How often the holder proves it is alive. @default ttlMs / 5 */
  heartbeatMs?: number
  /** How often a standby looks again. @default 200 */
  pollMs?: number
  /** Called once when the lease is lost (fenced, connection gone, released). */
  onLost?: (reason: string) => void
  /** Stop waiting (a standby being shut down). */
  signal?: AbortSignal
  /** Progress of a standby, for logs (`error` when the database could not be reached this time). */
  onWait?: (state: {
    /** The key looked at (with {@link AppKeyLease.acquireAny}, one of several). */
    key: string
    holder: string | null
    epoch: number
    heartbeatAgeMs: number | null
    error?: string
  }) => void
}

/** Options of {@link AppKeyLease.acquireAny}: those of `acquire`, with candidate keys instead of one. */
export interface AnyLeaseOptions extends Omit<LeaseOptions, 'key'> {
  /**
   * The keys this process may lead, in order of preference; it takes the first one free and holds
   * only that one. Non-empty, no repeats.
   */
  keys: readonly string[]
}

/** A lease as stored. */
export interface LeaseRow {
  key: string
  epoch: number
  holder: string
  /** Milliseconds since the holder's last heartbeat, by the database's clock. */
  heartbeatAgeMs: number
  /** The holder's lock session is alive. */
  live: boolean
}

/** Thrown when an action needs a lease that is no longer held. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError'
  readonly key: string
  constructor(key: string, reason: string) {
    super(`lease ${key} lost: ${reason}`)
    this.key = key
  }
}

const lockSql = `hashtextextended('vellab_lease|' || $1, 0)`

/**
 * One active writer per appkey (or per anything keyed): a session-level advisory lock held on a
 * dedicated connection, plus a row in `vellab_leases` whose `epoch` grows at every takeover.
 *
 * - **Exclusive**: only the process whose connection holds the advisory lock is the holder.
 * - **Failover**: when the holder dies its connection closes and the lock frees at once; a standby
 *   blocked in {@link AppKeyLease.acquire} takes it within `pollMs`. A holder that is alive but
 *   silent (frozen, partitioned from the database) for `ttlMs` by the database's clock has its lock
 *   connection terminated by the standby.
 * - **Fencing**: writes that matter carry `{ key, epoch }` and are refused in their own statement
 *   when the lease row has moved on (order-fsm's `fence` option). A holder that wakes from a freeze
 *   after a takeover cannot write; it learns it lost the lease and must stop.
 * - **Before an external side effect** (an order sent to the broker, which no database can fence)
 *   call {@link AppKeyLease.assertFresh}: it refuses once the last successful heartbeat is older
 *   than half the TTL by this process's monotonic clock, so a woken holder stops before a
 *   standby could have taken over.
 */
export class AppKeyLease {
  readonly key: string
  readonly holder: string
  readonly epoch: number
  readonly ttlMs: number
  readonly #client: pg.Client
  readonly #onLost: ((reason: string) => void) | undefined
  #lastBeat: number
  #lost: string | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #beating = false

  private constructor(
    client: pg.Client,
    key: string,
    holder: string,
    epoch: number,
    ttlMs: number,
    heartbeatMs: number,
    onLost: ((reason: string) => void) | undefined,
  ) {
    this.#client = client
    this.key = key
    this.holder = holder
    this.epoch = epoch
    this.ttlMs = ttlMs
    this.#onLost = onLost
    this.#lastBeat = performance.now()
    client.on('error', (e) => this.#lose(`lock connection failed: ${e.message}`))
    client.on('end', () => this.#lose('lock connection closed'))
    this.#timer = setInterval(() => void this.#beat(), heartbeatMs)
    this.#timer.unref?.()
  }

  /**
   * Wait (as a standby) until this process holds the lease, then return it. Rejects when `signal`
   * aborts, or when the first connection fails; later losses of the database are waited out
   * (reported through `onWait` with `error`).
   */
  static acquire(options: LeaseOptions): Promise<AppKeyLease> {
    return AppKeyLease.acquireAny({ ...options, keys: [options.key] })
  }

  /**
   * Sharding: wait as a standby for *any* of `keys` and return the lease of the first one this
   * process takes (its `key` says which). N processes given the same M keys (N ≥ M) end with each
   * key led by exactly one process and N − M standing by for whichever key falls free next, be it
   * from a death, a freeze past the TTL, or a release. A process holds at most one lease: one
   * appkey's WebSocket session and rate budget per process. Rejects like `acquire`, and at once
   * when `keys` is empty or repeats a key.
   */
  static async acquireAny(options: AnyLeaseOptions): Promise<AppKeyLease> {
    const keys = [...options.keys]
    if (keys.length === 0 || new Set(keys).size !== keys.length) {
      throw new TypeError(`lease keys must be non-empty and distinct, got [${keys.join(', ')}]`)
    }
    const ttlMs = options.ttlMs ?? 5_000
    const heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(ttlMs / 5))
    const pollMs = options.pollMs ?? 200
    const connect = async () => {
      const client = new pg.Client({ connectionString: options.connectionString })
      client.on('error', () => {})
      try {
        await client.connect()
      } catch (err) {
        // Not awaited: ending a client whose connection already failed may never settle.
        void client.end().catch(() => {})
        throw err
      }
      return client
    }
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
    const aborted = () => options.signal?.reason ?? new Error('lease wait aborted')
    let retry = pollMs
    // Reconnect with a fresh client each time (an ended one is never reused), backing off.
    const reconnect = async (failure: Error): Promise<pg.Client> => {
      for (;;) {
        for (const key of keys) {
          options.onWait?.({ key, holder: null, epoch: 0, heartbeatAgeMs: null, error: failure.message })
        }
        await pause(retry)
        retry = Math.min(retry * 2, 2_000)
        if (options.signal?.aborted) throw aborted()
        try {
          return await connect()
        } catch (e) {
          failure = e as Error
        }
      }
    }
    // A standby outlives the database going away (a restart, a failover): it reconnects and goes
    // on waiting. Only the first connection's failure is the caller's to see.
    let client = await connect()
    for (;;) {
      if (options.signal?.aborted) {
        void client.end().catch(() => {})
        throw aborted()
      }
      let won: { key: string; epoch: number } | undefined
      try {
        for (const key of keys) {
          const epoch = await AppKeyLease.#attempt(client, key, options, ttlMs)
          if (epoch !== undefined) {
            won = { key, epoch }
            break
          }
        }
      } catch (err) {
        // Not awaited: ending a client the server already dropped may never settle.
        void client.end().catch(() => {})
        client = await reconnect(err as Error)
        continue
      }
      if (won !== undefined) {
        return new AppKeyLease(client, won.key, options.holder, won.epoch, ttlMs, heartbeatMs, options.onLost)
      }
      retry = pollMs
      await pause(pollMs)
    }
  }

  /** One try: the lease's epoch if this client just took it, else undefined (still someone's). */
  static async #attempt(
    client: pg.Client,
    key: string,
    options: AnyLeaseOptions,
    ttlMs: number,
  ): Promise<number | undefined> {
    const got = await client.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(${lockSql}) AS got`, [key])
    if (got.rows[0]?.got) {
      // The epoch moves under a row lock that fenced writes of the previous holder share; one in
      // flight delays it. Never wait on it unboundedly: a writer frozen mid-transaction would hold
      // this standby with it. Give the lock back and look again at the next poll.
      let upserted: pg.QueryResult<{ epoch: string }>
      try {
        await client.query(`SET lock_timeout = ${Math.max(100, Math.min(1_000, Math.floor(ttlMs / 2)))}`)
        upserted = await client.query<{ epoch: string }>(
          `WITH l AS (
           INSERT INTO vellab_leases (lease_key, epoch, holder, backend_pid, acquired_at)
           VALUES ($1, 1, $2, pg_backend_pid(), clock_timestamp())
           ON CONFLICT (lease_key) DO UPDATE SET epoch = vellab_leases.epoch + 1, holder = EXCLUDED.holder,
             backend_pid = EXCLUDED.backend_pid, acquired_at = EXCLUDED.acquired_at
           RETURNING lease_key, epoch
         ), h AS (
           INSERT INTO vellab_lease_heartbeats (lease_key, epoch, heartbeat_at)
           SELECT lease_key, epoch, clock_timestamp() FROM l
           ON CONFLICT (lease_key) DO UPDATE SET epoch = EXCLUDED.epoch, heartbeat_at = EXCLUDED.heartbeat_at
         )
         SELECT epoch FROM l`,
          [key, options.holder],
        )
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err
        await client.query(`SELECT pg_advisory_unlock(${lockSql})`, [key])
        options.onWait?.({
          key,
          holder: null,
          epoch: 0,
          heartbeatAgeMs: null,
          error: 'the lease row is held by a write of the previous holder still in flight; trying again',
        })
        return undefined
      } finally {
        await client.query('SET lock_timeout = 0').catch(() => {})
      }
      return Number(upserted.rows[0]!.epoch)
    }
    // Someone holds the lock. Silent for longer than the TTL: end its lock session.
    const { rows } = await client.query<{
      holder: string
      epoch: string
      pid: number | null
      age: number | null
    }>(
      `SELECT l.holder, l.epoch, l.backend_pid AS pid,
         (extract(epoch FROM clock_timestamp() - h.heartbeat_at) * 1000)::float8 AS age
       FROM vellab_leases l LEFT JOIN vellab_lease_heartbeats h USING (lease_key)
       WHERE l.lease_key = $1`,
      [key],
    )
    const row = rows[0]
    options.onWait?.({
      key,
      holder: row?.holder ?? null,
      epoch: Number(row?.epoch ?? 0),
      heartbeatAgeMs: row?.age ?? null,
    })
    if (row?.pid != null && row.age !== null && row.age > ttlMs) {
      // Its session ends and the lock frees shortly after: the next try (a poll later) takes it.
      await client.query('SELECT pg_terminate_backend($1)', [row.pid])
    }
    return undefined
  }

  /** Whether the lease is still held as far as this process knows. */
  get held(): boolean {
    return this.#lost === undefined
  }

  /** Why it was lost, once it was. */
  get lostReason(): string | undefined {
    return this.#lost
  }

  /** What fenced writes carry. */
  fence(): { key: string; epoch: number } {
    return { key: this.key, epoch: this.epoch }
  }

  /**
   * Throws {@link LeaseLostError} unless the lease is held and its last heartbeat succeeded within
   * half the TTL (this process's monotonic clock). Call it right before an external side effect.
   */
  assertFresh(): void {
    if (this.#lost) throw new LeaseLostError(this.key, this.#lost)
    const age = performance.now() - this.#lastBeat
    if (age > this.ttlMs / 2) {
      this.#lose(`no successful heartbeat for ${Math.round(age)} ms (frozen or cut off from the database)`)
      throw new LeaseLostError(this.key, this.#lost!)
    }
  }

  /** Give the lease up (a clean shutdown): the lock frees at once for a standby. */
  async release(): Promise<void> {
    if (this.#lost) return
    // Unlock first so a standby takes over at once; then closing the connection (in #lose)
    // would free it anyway.
    await this.#client.query(`SELECT pg_advisory_unlock(${lockSql})`, [this.key]).catch(() => {})
    this.#lose('released')
  }

  async #beat(): Promise<void> {
    if (this.#lost || this.#beating) return
    // A beat that stalls past half the TTL counts as missed (assertFresh sees the old #lastBeat).
    this.#beating = true
    try {
      const r = await this.#client.query(
        `UPDATE vellab_lease_heartbeats SET heartbeat_at = clock_timestamp()
         WHERE lease_key = $1 AND epoch = $2`,
        [this.key, this.epoch],
      )
      if (r.rowCount === 1) this.#lastBeat = performance.now()
      else this.#lose(`fenced: epoch ${this.epoch} is no longer the lease's`)
    } catch (err) {
      this.#lose(`heartbeat failed: ${(err as Error).message}`)
    } finally {
      this.#beating = false
    }
  }

  #lose(reason: string): void {
    if (this.#lost) return
    this.#lost = reason
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    // The lock connection is useless once lost; closing it frees the lock if it still held it.
    void this.#client.end().catch(() => {})
    try {
      this.#onLost?.(reason)
    } catch {
      // An observer's failure must not hide the loss.
    }
  }
}

/** Every lease, for `vellab status` and `/readyz`: who leads what, with the epoch. */
export async function readLeases(queryable: {
  query: (sql: string) => Promise<{ rows: unknown[] }>
}): Promise<LeaseRow[]> {
  const { rows } = await queryable.query(
    `SELECT l.lease_key AS key, l.epoch, l.holder,
       (extract(epoch FROM clock_timestamp() - h.heartbeat_at) * 1000)::float8 AS age,
       EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.backend_pid) AS live
     FROM vellab_leases l LEFT JOIN vellab_lease_heartbeats h USING (lease_key) ORDER BY l.lease_key`,
  )
  return (rows as { key: string; epoch: string; holder: string; age: number; live: boolean }[]).map((r) => ({
    key: r.key,
    epoch: Number(r.epoch),
    holder: r.holder,
    heartbeatAgeMs: Math.round(r.age),
    live: r.live,
  }))
}
