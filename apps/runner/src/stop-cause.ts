import pg from 'pg'

/**
 * The database went away during a session: trading stopped at once, without a drain (a cancel
 * sent without its durable write-ahead is exactly what the store exists to prevent). Orders in
 * flight stay SUBMITTED or pending; the next start recovers them and reconciles before trading.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError'
  constructor(cause: unknown) {
    super(
      `the database became unreachable (${(cause as Error)?.message ?? String(cause)}): trading stopped, nothing more was sent. ` +
        'Start again once it is back: recovery and reconciliation explain every order in flight before any new one.',
      { cause },
    )
  }
}

/**
 * This process lost the appkey's lease during a session (another runner took over, or this one was
 * frozen or cut off past the TTL): it stopped at once and sent nothing more.
 */
export class LeaseLostStopError extends Error {
  override readonly name = 'LeaseLostStopError'
  constructor(reason: string, cause?: unknown) {
    super(
      `the appkey lease was lost (${reason}): trading stopped, nothing more was sent; another runner leads this appkey now`,
      cause === undefined ? {} : { cause },
    )
  }
}

/** What {@link stopCause} is asked about. */
export interface StopQuestion {
  /** The database the session runs on. */
  url: string
  /** The lease this process led under. */
  lease: { key: string; epoch: number }
  /** What the error looked like: the lease reported lost (or a write fenced), or a lost connection. */
  kind: 'lease' | 'outage'
  /** The error's words, for the log line and the stop error. */
  reason: string
  cause?: unknown
  log: (line: string) => void
  /** How long the database gets to answer. @default 3000 */
  timeoutMs?: number
}

/**
 * Why trading must stop: the database went away (the lock connection with it), or another runner
 * took the lease. Either way nothing more is sent; the answer decides the message and the exit code.
 *
 * Both are told apart on a new connection, which also reads the lease row's epoch; a lost connection
 * alone does not say which. A pooled connection may not have heard yet that the server is going (a
 * restart ends the lock session and the pool's sessions one after another), and a new connection is
 * what a restarted runner would need. A runner woken from a freeze (SIGSTOP, a stalled VM) finds the
 * server ended its sessions (the standby's takeover ends the lock session; a fenced transaction left
 * open ends at the idle timeout), and whichever of those errors it reads first must not make it
 * report the database gone while a successor trades on it.
 *
 * - no answer within `timeoutMs` (a partition can make the attempt hang): the database is gone;
 * - the lease reported lost, or its epoch moved on: the lease is lost;
 * - the database answers and nobody took the lease: a connection was lost (a restart already over,
 *   a proxy), and the session stops as for an outage.
 */
export async function stopCause(q: StopQuestion): Promise<DatabaseUnavailableError | LeaseLostStopError> {
  const timeoutMs = q.timeoutMs ?? 3_000
  const probe = new pg.Client({ connectionString: q.url, connectionTimeoutMillis: timeoutMs })
  probe.on('error', () => {})
  const answer = await Promise.race([
    probe
      .connect()
      .then(() =>
        probe.query<{ epoch: string }>('SELECT epoch FROM vellab_leases WHERE lease_key = $1', [q.lease.key]),
      )
      .then((r) => ({ epoch: r.rows[0] === undefined ? null : Number(r.rows[0].epoch) }))
      .catch(() => undefined),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref()),
  ])
  // Not awaited: ending a client whose connection failed may never settle.
  void probe.end().catch(() => {})
  if (!answer) {
    q.log(`database unreachable: trading stopped (${q.reason})`)
    return new DatabaseUnavailableError(q.cause ?? new Error(q.reason))
  }
  const taken = answer.epoch !== q.lease.epoch ? `the lease is at epoch ${answer.epoch ?? 'none'}` : undefined
  if (q.kind === 'lease' || taken) {
    const why = q.kind === 'lease' ? q.reason : `${taken}; ${q.reason}`
    q.log(`lease lost: trading stopped (${why})`)
    return new LeaseLostStopError(why, q.cause)
  }
  q.log(`database unreachable: trading stopped (${q.reason}; it answers again)`)
  return new DatabaseUnavailableError(q.cause ?? new Error(q.reason))
}
