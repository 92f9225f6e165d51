import { CompiledQuery, type Kysely } from 'kysely'
import type { OrderFsmTables } from '../schema'
import type { PgQueryable } from './types'

/**
 * A hot write with a fixed SQL text, so that it can run as a named prepared statement. The name
 * carries the migration that defined the text: pg refuses one name for two texts on a connection,
 * which two versions of this package sharing a pool would otherwise do.
 */
export interface HotStatement {
  readonly name: string
  readonly text: string
}

const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ')

/** `order_fsm_write_v2` (see the migrations, 0006), with its 31 arguments in order. */
export const WRITE_STATEMENT: HotStatement = {
  name: 'order_fsm_write_0006',
  text: `SELECT order_fsm_write_v2(${placeholders(31)}) AS r`,
}

/** `order_fsm_create_v2` (see the migrations, 0006), with its 20 arguments in order. */
export const CREATE_STATEMENT: HotStatement = {
  name: 'order_fsm_create_0006',
  text: `SELECT order_fsm_create_v2(${placeholders(20)}) AS created`,
}

/**
 * Run a hot write: through `pool` as a named prepared statement (parsed and planned once per
 * connection), else through `db` like every other statement.
 */
export async function runHot<R>(
  db: Kysely<OrderFsmTables>,
  pool: PgQueryable | undefined,
  statement: HotStatement,
  values: readonly unknown[],
): Promise<R[]> {
  if (pool) {
    const { rows } = await pool.query({ name: statement.name, text: statement.text, values: [...values] })
    return rows as R[]
  }
  const { rows } = await db.executeQuery(CompiledQuery.raw(statement.text, [...values]) as CompiledQuery<R>)
  return rows
}
