// The `pool` option: the two hot writes go out as named prepared statements on the pg pool under
// `db`; every answer (applied, conflict, duplicate, refusal, fence) must be the one the Kysely path
// gives.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FencedError, IntentConflictError, type PgQueryable } from '../src'
import { anIntent, BrokerEventFactory } from '../src/testing'
import { createLeaseTable, expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

let fx: Fixture
const names: string[] = []
let pool: PgQueryable
const broker = new BrokerEventFactory({ at: T0 + 60_000 })

beforeAll(async () => {
  fx = await setupFixture()
  pool = {
    query: (config) => {
      names.push(config.name)
      return fx.tdb.pool.query(config)
    },
  }
  await createLeaseTable(fx.db)
})
afterAll(async () => {
  await fx?.tdb.drop()
})

describe('a store with the pool option', () => {
  it('sends every transition and intent as a named statement, with the same outcomes', async () => {
    const store = fx.store({ pool })
    const intent = anIntent()
    expect((await store.createIntentAndSubmit(intent)).proceed).toBe(true)
    await store.recordAck({ intentId: intent.intentId, brokerOrderId: '0000007001', acceptedAt: T0 + 1_000 })
    const fill = broker.filled('0000007001', { cumulative: 4, quantity: 4, price: 71_000 })
    expect((await store.applyBrokerEvent(fill)).status).toBe('applied')
    // The same broker event again, on a store that has to read: deduplicated by its key.
    expect((await fx.store({ pool }).applyBrokerEvent(fill)).status).toBe('duplicate')
    expect((await store.requestCancel(intent.intentId)).proceed).toBe(true)
    expect(new Set(names)).toEqual(new Set(['order_fsm_create_0006', 'order_fsm_write_0006']))
    expect(names.length).toBe(4)
    await expectLogExplainsProjection(store, intent.intentId)
    expect((await store.fills(intent.intentId)).map((f) => f.cumulativeQuantity)).toEqual([4])

    // A replayed intent and a conflicting one go through the named create as well.
    expect((await store.createIntent(intent)).intentId).toBe(intent.intentId)
    await expect(store.createIntent({ ...intent, quantity: 11 })).rejects.toBeInstanceOf(IntentConflictError)
  })

  it('loses a version race like the Kysely path: one claim proceeds, the others read again', async () => {
    const intent = anIntent()
    await fx.store({ pool }).createIntent(intent)
    const claims = await Promise.all(
      Array.from({ length: 8 }, () => fx.store({ pool }).beginSubmit(intent.intentId)),
    )
    expect(claims.filter((c) => c.proceed)).toHaveLength(1)
    await expectLogExplainsProjection(fx.store(), intent.intentId)
  })

  it('is fenced like the Kysely path', async () => {
    const old = fx.store({ pool, fence: () => ({ key: 'appkey:k', epoch: 1 }) })
    const intent = anIntent()
    expect((await old.createIntentAndSubmit(intent)).proceed).toBe(true)
    await sql`UPDATE vellab_leases SET epoch = 2 WHERE lease_key = 'appkey:k'`.execute(fx.db)
    await expect(old.recordReject(intent.intentId, { reason: 'x' })).rejects.toBeInstanceOf(FencedError)
    await expect(old.createIntent(anIntent())).rejects.toBeInstanceOf(FencedError)
    expect((await fx.store().get(intent.intentId))?.state).toBe('SUBMITTED')
  })
})
