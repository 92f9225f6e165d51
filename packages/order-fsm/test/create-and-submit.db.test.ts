import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IntentConflictError, type OrderStore } from '../src'
import { anIntent } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture } from './helpers'

let fx: Fixture
let store: OrderStore

beforeAll(async () => {
  fx = await setupFixture()
  store = fx.store({ actor: 'create-and-submit' })
})
afterAll(async () => {
  await fx?.tdb.drop()
})

describe('createIntentAndSubmit: the durable intent and the write-ahead claim in one statement', () => {
  it('creates the order SUBMITTED with both events; a replay does not proceed again', async () => {
    const intent = anIntent()
    const claim = await store.createIntentAndSubmit(intent)
    expect(claim.proceed).toBe(true)
    expect(claim.order).toMatchObject({ state: 'SUBMITTED', version: 2 })
    const order = await expectLogExplainsProjection(store, intent.intentId)
    expect(order).toEqual(claim.order)
    expect((await store.events(intent.intentId)).map((e) => e.event.type)).toEqual([
      'intent_created',
      'submit_started',
    ])
    const again = await store.createIntentAndSubmit(intent)
    expect(again.proceed).toBe(false)
  })

  it('claims an intent created earlier but never submitted, once', async () => {
    const intent = anIntent()
    await store.createIntent(intent)
    expect((await store.createIntentAndSubmit(intent)).proceed).toBe(true)
    expect((await store.beginSubmit(intent.intentId)).proceed).toBe(false)
    await expectLogExplainsProjection(store, intent.intentId)
  })

  it('refuses a different payload under the same intentId', async () => {
    const intent = anIntent()
    await store.createIntentAndSubmit(intent)
    await expect(store.createIntentAndSubmit({ ...intent, quantity: intent.quantity + 1 })).rejects.toSatisfy(
      (e) => IntentConflictError.isInstance(e),
    )
  })
})
