import { type Kysely, sql } from 'kysely'

/** The lease epoch a write carries (`@vellab/lease`: `lease.fence()`), read at each write. */
export type Fence = () => { key: string; epoch: number }

/** A write the fence refused: the key and epoch it carried, and the lease row's epoch (null: no row). */
export interface FenceRefusal {
  key: string
  epoch: number
  leaseEpoch: number | null
}

/**
 * How long a fenced transaction may sit idle between its statements before the server ends it:
 * far longer than any healthy gap between a transaction's statements, shorter than a lease TTL.
 */
export const FENCED_TRANSACTION_IDLE_MS = 2_000

/**
 * Hold the lease row at the carried epoch for the rest of the transaction `trx`, or throw
 * `refuse(...)`: for packages that fence writes to tables of their own (reconcile, execution).
 * The same check as the store's `order_fsm_check_fence` (migration 0002): the row of
 * `vellab_leases` (@vellab/lease's table, read by name: no dependency) must still carry the epoch,
 * and FOR SHARE makes a takeover (which updates the row) wait for this transaction, so a write
 * after it sees the new epoch. Plain SQL rather than that function, so a caller's writes need none
 * of this package's migrations. When the table does not exist the driver's error (42P01)
 * propagates, as it does from the store's fenced writes.
 */
export async function checkFence<DB>(
  trx: Kysely<DB>,
  fence: { key: string; epoch: number },
  refuse: (refusal: FenceRefusal) => Error,
): Promise<void> {
  // The share lock is held until the transaction ends, across the caller's round trips. A holder
  // frozen between two of them (SIGSTOP, a stalled VM) would keep it, and with it the standby's
  // takeover, forever: the server ends such a transaction after this much idleness instead (the
  // frozen writer then finds its connection gone and writes nothing; found by the chaos soak).
  await sql`SET LOCAL idle_in_transaction_session_timeout = ${sql.lit(`${FENCED_TRANSACTION_IDLE_MS}ms`)}`.execute(
    trx,
  )
  const { rows } = await sql<{ epoch: string }>`
    SELECT epoch FROM vellab_leases WHERE lease_key = ${fence.key} FOR SHARE`.execute(trx)
  const leaseEpoch = rows[0] === undefined ? null : Number(rows[0].epoch)
  if (leaseEpoch !== fence.epoch) throw refuse({ key: fence.key, epoch: fence.epoch, leaseEpoch })
}

/**
 * Run `write` fenced: without a fence, as is on `db`; with one, in one transaction whose first
 * statement is {@link checkFence}, so a refused write commits nothing.
 */
export async function fencedWrite<DB, T>(
  db: Kysely<DB>,
  fence: Fence | undefined,
  refuse: (refusal: FenceRefusal) => Error,
  write: (db: Kysely<DB>) => Promise<T>,
): Promise<T> {
  if (!fence) return write(db)
  const carried = fence()
  const run = async (trx: Kysely<DB>) => {
    await checkFence(trx, carried, refuse)
    return write(trx)
  }
  return db.isTransaction ? run(db) : db.transaction().execute(run)
}
