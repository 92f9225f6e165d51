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
