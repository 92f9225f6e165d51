import { createOrderStore } from '@vellab/order-fsm'
import { createRiskFixture } from '@vellab/risk-kr/testing'
import { describe, expect, it } from 'vitest'
import { TradingSession, type TradingSessionOptions } from '../src/session'
import { migratedTestDatabase } from './migrated-db'

// Risk keeps its own view of our open orders (reservations, the self-trade guard). Where the order
// store learns more than the stream told (a lost answer reconciled, an end missed in a gap), risk
// must learn it too, or it holds a phantom open order for the day (the chaos soak found the
// self-trade guard blocking one side of a symbol for good after a lost answer).
const tdb = migratedTestDatabase()

describe('TradingSession.syncRiskWithStore', () => {
  it('closes what the store ended and links what it numbered; leaves open what is still open', async () => {
    const NOW = Date.parse('2026-11-24T01:00:00Z')
    const f = await createRiskFixture({ now: NOW, accounts: ['A1'] })
    const clock = {
      now: () => NOW,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
    }
    const store = createOrderStore({ db: tdb().db(), clock, actor: 'test' })
    const sent = async (limitPrice: number) => {
      const intent = f.intent({ account: 'A1', quantity: 1, limitPrice })
      await store.createIntent(intent)
      expect((await store.beginSubmit(intent.intentId)).proceed).toBe(true)
      f.state.recordSent({ kind: 'new', intent }, NOW)
      return intent
    }
    // 1. Refused by the broker after all (the store says REJECTED): risk still holds it open.
    const refused = await sent(69_000)
    await store.recordReject(refused.intentId, { reason: 'refused' })
    // 2. Its answer was lost; reconciliation found it at the broker and linked its number.
    const lost = await sent(69_100)
    await store.recordOutcomeUnknown(lost.intentId, { operation: 'submit', reason: 'timeout' })
    await store.recordAck({ intentId: lost.intentId, brokerOrderId: '0000007001', acceptedAt: NOW })
    // 3. In flight and open in both: left alone.
    const open = await sent(69_200)
    expect(f.state.openOrders()).toHaveLength(3)

    const session = new TradingSession({
      store,
      db: tdb().db(),
      riskState: f.state,
      account: 'A1',
      strategy: { id: 'demo', onDecision() {} },
      clock,
      gateway: new Proxy({}, { get: () => () => undefined }),
    } as unknown as TradingSessionOptions)
    expect(await session.syncRiskWithStore()).toBe(2)
    expect(
      f.state
        .openOrders()
        .map((o) => o.intentId)
        .sort(),
    ).toEqual([lost.intentId, open.intentId].sort())
    // The lost one's number is known to risk now, so its notices (a fill, a cancel) reach it.
    expect(f.state.openOrder('0000007001')?.intentId).toBe(lost.intentId)
    expect(await session.syncRiskWithStore()).toBe(0)
  })
})
