// Migration order_fsm_0005_checks_in_writes: the six CHECK constraints of the hot tables move into
// the two write functions (the only writers of those rows). A bad value must still be refused by
// the database, with the SQLSTATE and the constraint name the constraint gave, and nothing of the
// statement may stay written; `down` must give back exactly the schema of 0004.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ackedOrder, expectDownAndUpAgain, type Fixture, setupFixture, T0 } from './helpers'

let fx: Fixture
beforeAll(async () => {
  fx = await setupFixture()
})
afterAll(async () => {
  await fx?.tdb.drop()
})

const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ')

/**
 * The write functions by name: the store's (`_v2`, migration 0006) and the ones a package before
 * 0006 calls, which pass on to them.
 */
const FUNCTIONS = [
  { create: 'order_fsm_create_v2', write: 'order_fsm_write_v2' },
  { create: 'order_fsm_create', write: 'order_fsm_write' },
] as const
type Functions = (typeof FUNCTIONS)[number]

/** `fn.create` called directly with a new order's arguments, `patch` applied by name. */
async function create(fn: Functions, intentId: string, patch: { side?: string; version?: number } = {}) {
  const args = [
    intentId,
    '50123456-01',
    'checks',
    '005930',
    patch.side ?? 'buy',
    'CREATED',
    patch.version ?? 1,
    'fp',
    'hash',
    null,
    T0,
    T0,
    '{}',
    'test',
    null,
    JSON.stringify({ type: 'intent_created', at: T0, intent: { intentId } }),
    null,
    null,
    null,
    null,
  ]
  return fx.tdb.pool.query(`SELECT ${fn.create}(${placeholders(20)}) AS created`, args)
}

/** `fn.write` called directly on an order at `expected`: one link and one fill, `patch` applied. */
async function write(
  fn: Functions,
  intentId: string,
  expected: number,
  numbers: { order: string; cancel: string },
  patch: { version?: number; role?: string; cumulative?: number; quantity?: number } = {},
) {
  const args = [
    intentId,
    expected,
    'PARTIAL_FILLED',
    patch.version ?? expected + 1,
    '{}',
    numbers.order,
    T0,
    T0,
    'fill',
    null,
    'command',
    'test',
    null,
    '{}',
    T0,
    T0,
    '50123456-01',
    ['2026-11-24'],
    [numbers.cancel],
    [patch.role ?? 'cancel'],
    [null],
    ['2026-11-24'],
    [numbers.order],
    [patch.cumulative ?? 1],
    [patch.quantity ?? 1],
    [71_000],
    [false],
    [T0],
    null,
    null,
    null,
  ]
  return fx.tdb.pool.query(`SELECT ${fn.write}(${placeholders(31)}) AS r`, args)
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; constraint?: string; table?: string },
  )

describe('migration 0005 (checks in the write functions)', () => {
  it('leaves no CHECK constraint on the hot tables', async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'c'
        AND conrelid::regclass::text IN ('order_orders', 'order_events', 'order_broker_ids', 'order_fills')`.execute(
      fx.db,
    )
    expect(rows[0]!.n).toBe(0)
  })

  describe.each(FUNCTIONS)('through $create and $write', (f) => {
    it('refuses a bad side or version on create like the constraints did, and writes nothing', async () => {
      expect(await refusal(create(f, `chk-side-${f.create}`, { side: 'hold' }))).toMatchObject({
        code: '23514',
        table: 'order_orders',
        constraint: 'order_orders_side_check',
      })
      expect(await refusal(create(f, `chk-version-${f.create}`, { version: 0 }))).toMatchObject({
        code: '23514',
        constraint: 'order_orders_version_check',
      })
      const { rows } = await sql<{ n: number }>`
        SELECT (SELECT count(*) FROM order_orders WHERE intent_id LIKE ${`chk-%-${f.create}`})
          + (SELECT count(*) FROM order_events WHERE intent_id LIKE ${`chk-%-${f.create}`}) AS n`.execute(
        fx.db,
      )
      expect(Number(rows[0]!.n)).toBe(0)
      // The same call with good values writes (so the refusals above were the checks, not the call).
      expect((await create(f, `chk-good-${f.create}`)).rows[0]).toEqual({ created: true })
    })

    it('refuses a bad version, link role or fill quantity on a transition, and the order is unchanged', async () => {
      const store = fx.store()
      const numbers =
        f.create === 'order_fsm_create'
          ? { order: '0000012002', cancel: '0000012998' }
          : { order: '0000012001', cancel: '0000012999' }
      const intent = await ackedOrder(store, numbers.order)
      const before = await store.get(intent.intentId)
      const cases = [
        [{ version: 0 }, 'order_orders_version_check'],
        [{ role: 'parent' }, 'order_broker_ids_role_check'],
        [{ cumulative: 0 }, 'order_fills_cumulative_quantity_check'],
        [{ quantity: -1 }, 'order_fills_quantity_check'],
      ] as const
      for (const [patch, constraint] of cases) {
        expect(
          await refusal(write(f, intent.intentId, before!.version, numbers, patch)),
          constraint,
        ).toMatchObject({
          code: '23514',
          constraint,
        })
      }
      expect(await fx.store().get(intent.intentId)).toEqual(before)
      const { rows } = await sql<{ links: number; fills: number }>`
        SELECT (SELECT count(*)::int FROM order_broker_ids WHERE broker_order_id = ${numbers.cancel}) AS links,
          (SELECT count(*)::int FROM order_fills WHERE intent_id = ${intent.intentId}) AS fills`.execute(
        fx.db,
      )
      expect(rows[0]).toEqual({ links: 0, fills: 0 })
      // Good values go through: one version up, the link and the fill written.
      expect((await write(f, intent.intentId, before!.version, numbers)).rows[0]).toEqual({ r: 1 })
      expect((await fx.store().get(intent.intentId))!.version).toBe(before!.version + 1)
    })
  })

  it('down gives back exactly the schema of 0004, and up again that of 0005', async () => {
    await expectDownAndUpAgain(fx, 'order_fsm_0004_lean_writes')
  })
})
