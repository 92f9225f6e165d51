import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  checkFence,
  FENCED_TRANSACTION_IDLE_MS,
  FencedError,
  OrderFsmError,
  type OrderFsmTables,
} from '../src'
import { anIntent } from '../src/testing'
import { createLeaseTable, expectLogExplainsProjection, type Fixture, setupFixture, T0 } from './helpers'

// Writes fenced by a lease epoch (`fence` option): once the lease has moved on (another process
// took over), every write of the old holder is refused in its own statement and nothing changes.
// The lease table is @vellab/lease's; its shape is all this package relies on.

let fx: Fixture
beforeAll(async () => {
  fx = await setupFixture()
  await createLeaseTable(fx.db)
})
afterAll(async () => {
  await fx?.tdb.drop()
})

describe('a store fenced by a lease epoch', () => {
  it('writes while its epoch is current; after a takeover every write is refused and nothing changes', async () => {
    const old = fx.store({ actor: 'old-holder', fence: () => ({ key: 'appkey:k', epoch: 1 }) })
    const intent = anIntent()
    expect((await old.createIntentAndSubmit(intent)).proceed).toBe(true)
    await old.recordAck({ intentId: intent.intentId, brokerOrderId: '0000004001', acceptedAt: T0 + 1_000 })

    // The standby takes over: the epoch moves on.
    await sql`UPDATE vellab_leases SET epoch = 2 WHERE lease_key = 'appkey:k'`.execute(fx.db)
    const before = await old.get(intent.intentId)
    const refused = await old.requestCancel(intent.intentId).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(FencedError)
    expect(OrderFsmError.isInstance(refused) && refused.code).toBe('fenced')
    expect((refused as Error).message).toMatch(/lease appkey:k has moved past epoch 1; nothing was written/)
    const other = anIntent()
    await expect(old.createIntentAndSubmit(other)).rejects.toBeInstanceOf(FencedError)
    await expect(old.createIntent(other)).rejects.toBeInstanceOf(FencedError)
    expect(await old.get(other.intentId)).toBeUndefined()
    expect(await old.get(intent.intentId)).toEqual(before)

    // The new holder, fenced by the current epoch, carries on with the same order.
    const current = fx.store({ actor: 'new-holder', fence: () => ({ key: 'appkey:k', epoch: 2 }) })
    expect((await current.requestCancel(intent.intentId)).proceed).toBe(true)
    await expectLogExplainsProjection(current, intent.intentId)
  })

  it('refuses a key the lease table does not have', async () => {
    const store = fx.store({ fence: () => ({ key: 'appkey:none', epoch: 1 }) })
    await expect(store.createIntentAndSubmit(anIntent())).rejects.toBeInstanceOf(FencedError)
  })

  it('a fenced transaction left idle by a frozen writer is ended by the server, so a takeover is not held forever', async () => {
    await sql`INSERT INTO vellab_leases VALUES ('appkey:frozen', 1)`.execute(fx.db)
    let thaw: () => void = () => {}
    const frozen = new Promise<void>((r) => {
      thaw = r
    })
    let holding: () => void = () => {}
    const held = new Promise<void>((r) => {
      holding = r
    })
    const writer = fx.db.transaction().execute(async (trx) => {
      await checkFence<OrderFsmTables>(trx, { key: 'appkey:frozen', epoch: 1 }, () => new Error('refused'))
      holding()
      await frozen // the writer stops here, its transaction open, holding the row FOR SHARE
      await sql`SELECT 1`.execute(trx)
    })
    const outcome = writer.then(
      () => 'committed',
      (e: unknown) => (e as Error).message,
    )
    // Only once the writer holds the row (else the takeover may simply go first: 14 ms, once in CI).
    await held
    const started = Date.now()
    // The takeover waits for the share lock only until the server ends the idle transaction.
    await sql`UPDATE vellab_leases SET epoch = 2 WHERE lease_key = 'appkey:frozen'`.execute(fx.db)
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(FENCED_TRANSACTION_IDLE_MS - 200)
    expect(waited).toBeLessThan(FENCED_TRANSACTION_IDLE_MS + 8_000)
    thaw()
    // Woken, the writer's transaction is gone: nothing it does afterwards commits.
    expect(await outcome).not.toBe('committed')
  })
})
