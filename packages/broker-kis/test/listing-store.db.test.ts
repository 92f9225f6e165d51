import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listingStoreKey, PostgresListingStore } from '../src/listing-store'
import { rigsClosedAfterEach, until } from './sim-harness'

const startRig = rigsClosedAfterEach()

describe('PostgresListingStore (real PostgreSQL)', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase('kis_listing')
    await new PostgresListingStore(db.pool).ensureSchema()
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('adds and replaces rows by order number, keeps the later whole read, and drops earlier days', async () => {
    const store = new PostgresListingStore(db.pool)
    await store.ensureSchema()
    const key = listingStoreKey('real', '50123456-01')
    expect(await store.load(key, '20261124')).toBeUndefined()
    await store.save(
      key,
      '20261124',
      [
        { orderNo: '0000000001', row: { odno: '0000000001', rmn_qty: 10 } },
        { orderNo: '0000000002', row: { odno: '0000000002', rmn_qty: 0 } },
      ],
      5_000,
    )
    // An incremental save: order 1 again (now settled) and a new order 3; an older whole read's
    // time does not move it back.
    await store.save(
      key,
      '20261124',
      [
        { orderNo: '0000000003', row: { odno: '0000000003', rmn_qty: 5 } },
        { orderNo: '0000000001', row: { odno: '0000000001', rmn_qty: 0 } },
      ],
      4_000,
    )
    const saved = await store.load(key, '20261124')
    expect(saved?.wholeAt).toBe(5_000)
    const byNo = (rows: unknown[]) =>
      Object.fromEntries((rows as { odno: string; rmn_qty: number }[]).map((r) => [r.odno, r.rmn_qty]))
    expect(byNo(saved!.rows)).toEqual({ '0000000001': 0, '0000000002': 0, '0000000003': 5 })
    // Another account is another key.
    expect(await store.load(listingStoreKey('real', '50123456-02'), '20261124')).toBeUndefined()
    // The next day starts empty and the earlier day is gone.
    await store.save(key, '20261125', [{ orderNo: '0000000001', row: { odno: '0000000001' } }], 9_000)
    expect(await store.load(key, '20261124')).toBeUndefined()
    expect((await store.load(key, '20261125'))?.rows).toHaveLength(1)
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM kis_listing_rows WHERE store_key = $1',
      [key],
    )
    expect(rows[0].n).toBe(1)
  })

  it('saves all or nothing: a save that fails leaves what was there', async () => {
    const store = new PostgresListingStore(db.pool)
    const key = listingStoreKey('real', '50123456-03')
    await store.save(key, '20261124', [{ orderNo: '0000000001', row: { odno: '0000000001' } }], 1_000)
    // The same order number twice in one save is refused by the server (ON CONFLICT cannot update
    // a row twice): neither row, nor the new whole-read time, is kept.
    await expect(
      store.save(
        key,
        '20261124',
        [
          { orderNo: '0000000002', row: { odno: '0000000002' } },
          { orderNo: '0000000002', row: { odno: '0000000002' } },
        ],
        2_000,
      ),
    ).rejects.toThrow()
    expect(await store.load(key, '20261124')).toEqual({ rows: [{ odno: '0000000001' }], wholeAt: 1_000 })
  })

  it("a process taking over lists the day incrementally from its first listing (kis-sim, the leader's rows on PostgreSQL)", async () => {
    const listingStore = new PostgresListingStore(db.pool)
    const r = await startRig('real', {
      sim: { pageSizes: { dailyCcld: { real: 5 } } },
      gateway: { listingStore },
    })
    const listings = () => r.sim.control.ledger().requestsByTrId[r.app.appkey]?.TTTC0081R ?? 0
    const buy = (id: string) =>
      r.gateway.placeOrder({
        intentId: id,
        account: r.account,
        strategyId: 'takeover',
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: 68_000,
      })
    // A day of 30 orders, all filled: the leader's first listing pages the whole day (6 pages).
    for (let i = 0; i < 30; i++) r.sim.control.fill((await buy(`t-${i}`)).brokerOrderId)
    let before = listings()
    expect(await r.gateway.getOrders(r.account)).toHaveLength(30)
    expect(listings() - before).toBe(6)
    const key = listingStoreKey('real', r.account)
    // The save follows the listing (it never holds it up).
    await until(
      'the leader saved its listing',
      async () => (await listingStore.load(key, '20261124'))?.rows.length === 30,
    )
    // The leader dies; two more orders are placed (one stays open) before the standby lists.
    for (let i = 30; i < 32; i++) {
      const ack = await buy(`t-${i}`)
      if (i === 30) r.sim.control.fill(ack.brokerOrderId)
    }
    const standby = r.newGateway()
    before = listings()
    const first = await standby.getOrders(r.account)
    // One page (orders 32..28) reaches below the newest saved order: not the 7 of a whole read.
    expect(listings() - before).toBe(1)
    expect(r.events).toContainEqual({ type: 'listing.store', outcome: 'loaded', rows: 30 })
    // What it returns is what a whole read returns (a listing filtered by side is never incremental).
    const whole = await standby.getOrders(r.account, { side: 'buy' })
    const view = (os: typeof whole) =>
      os.map((o) => `${o.brokerOrderId}:${o.filledQuantity}/${o.remainingQuantity}:${o.status}`).sort()
    expect(view(first)).toEqual(view(whole))
    expect(first).toHaveLength(32)
    // The standby's own listing reached the store: the next process starts from 32 rows.
    await until(
      'the standby saved its listing',
      async () => (await listingStore.load(key, '20261124'))?.rows.length === 32,
    )
  })
})
