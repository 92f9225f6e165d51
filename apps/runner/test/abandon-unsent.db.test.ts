import { OrderIntentSchema } from '@vellab/broker-gateway'
import { createOrderStore } from '@vellab/order-fsm'
import { describe, expect, it } from 'vitest'
import { TradingSession, type TradingSessionOptions } from '../src/session'
import { migratedTestDatabase } from './migrated-db'

// A process killed between writing an intent and claiming it for sending leaves INTENT_CREATED
// behind. Nothing can have reached the broker without the claim, so the next session cancels it
// locally — and never touches an intent that was claimed (SUBMITTED) or another strategy's.
const tdb = migratedTestDatabase()

describe('TradingSession.abandonUnsent', () => {
  it('cancels our never-claimed intents locally and leaves claimed or foreign ones alone', async () => {
    const clock = {
      now: () => Date.parse('2026-11-24T01:00:00Z'),
      setTimeout: (f: () => void, ms: number) => setTimeout(f, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
    }
    const store = createOrderStore({ db: tdb().db(), clock, actor: 'test' })
    const intent = (id: string, strategyId = 'demo') =>
      OrderIntentSchema.parse({
        intentId: id,
        account: '50000000-01',
        strategyId,
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: 70_000,
      })
    await store.createIntent(intent('left-1'))
    await store.createIntent(intent('left-2'))
    await store.createIntent(intent('claimed'))
    expect((await store.beginSubmit('claimed')).proceed).toBe(true)
    await store.createIntent(intent('other', 'someone-else'))

    const sent: string[] = []
    const session = new TradingSession({
      store,
      db: tdb().db(),
      account: '50000000-01',
      strategy: { id: 'demo', onDecision() {} },
      clock,
      // Nothing may reach the broker: every gateway call would be recorded here.
      gateway: new Proxy({}, { get: (_t, p) => () => sent.push(String(p)) }),
    } as unknown as TradingSessionOptions)
    expect(await session.abandonUnsent('test')).toBe(2)
    expect(sent).toEqual([])
    const state = async (id: string) => (await store.get(id))?.state
    expect(await state('left-1')).toBe('CANCELED')
    expect(await state('left-2')).toBe('CANCELED')
    expect(await state('claimed')).toBe('SUBMITTED')
    expect(await state('other')).toBe('INTENT_CREATED')
    expect(await session.abandonUnsent('again')).toBe(0)
  })
})
