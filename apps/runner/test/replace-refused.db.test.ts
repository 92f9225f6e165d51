import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate } from '../src/database'
import { brokerChain, FINAL, PRICE, placed, type Rig, startRig, storeUntil, until } from './e2e-rig'

// End to end over real HTTP and WebSocket: the KIS adapter against the simulator, every execution
// notice applied to the order store on real PostgreSQL. A modify (정정) gets its number in the REST
// answer but takes effect only when the exchange confirms it; with a confirmation delay, a fill of
// the whole original lands first and the exchange refuses the modify (RFUS_YN 1, a contract
// `rejected` under the modify's number). The store must end as the broker's books say: FILLED under
// the original number, not REJECTED.

// Each test gets its own simulator, whose order numbers start again, so its own database too.
let tdb: TestDatabase
beforeEach(async () => {
  tdb = await createTestDatabase()
  await migrate(tdb.db())
})
afterEach(async () => {
  await tdb?.drop()
})

describe('a modify refused because the original filled first (KIS adapter + simulator)', () => {
  let rig: Rig
  beforeEach(async () => {
    rig = await startRig(tdb, { amendConfirmDelayMs: 1_000 })
  })
  afterEach(async () => {
    await rig?.close()
  })

  for (const [name, patch] of [
    ['price modify', { limitPrice: PRICE - 100 }],
    ['reducing modify 10 → 6', { quantity: 6 }],
  ] as const) {
    it(`${name}: the original fills before the confirmation: FILLED under the original, as the broker says`, async () => {
      const r = rig
      const id = `e2e-refused-${'quantity' in patch ? 'qty' : 'px'}`
      const a = await placed(r, id, 10)

      expect((await r.store.requestReplace(id, patch)).proceed).toBe(true)
      const rack = await r.gateway.replaceOrder(a, patch, { account: r.account, symbol: '005930' })
      await r.store.recordReplaceAck(id, rack)
      const b = rack.newBrokerOrderId
      // Inside the confirmation delay: the whole original fills, so the exchange refuses the modify.
      r.sim.control.fill(a, { qty: 10, price: PRICE })
      await until('the refusal of the modify', () =>
        r.events.some((e) => e.type === 'rejected' && e.brokerOrderId === b),
      )
      const order = await storeUntil(
        r,
        id,
        'FILLED at 10',
        (o) => o.state === 'FILLED' && o.filledQuantity === 10,
      )

      const books = await brokerChain(r, order)
      const original = books.find((o) => o.brokerOrderId === a)!
      expect(original).toMatchObject({
        status: 'filled',
        quantity: 10,
        filledQuantity: 10,
        remainingQuantity: 0,
      })
      expect(books.filter((o) => o.brokerOrderId !== a).every((o) => o.filledQuantity === 0)).toBe(true)
      expect(order).toMatchObject({
        state: FINAL[original.status],
        quantity: original.quantity,
        filledQuantity: books.reduce((s, o) => s + o.filledQuantity, 0),
        brokerOrderId: a,
        limitPrice: PRICE,
      })
      expect(order.legs.find((l) => l.brokerOrderId === b)?.refused).toBeDefined()
      expect(await r.store.fills(id)).toHaveLength(1)
    })
  }
})
