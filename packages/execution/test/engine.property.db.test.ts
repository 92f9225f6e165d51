import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { ACCOUNT, MIN, type Rig, rig, SYMBOL, tdb, timed } from './rig'

afterAll(async () => tdb?.drop())

type Action =
  | { kind: 'step' }
  | { kind: 'advance'; minutes: number }
  | { kind: 'trade'; price: number }
  | { kind: 'fault'; fault: 'rate_limited' | 'rejected' | 'unknown_outcome' | 'unavailable' }
  | { kind: 'reconcile' }
  | { kind: 'restart' }
  | { kind: 'cancelParent' }

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Action>({ kind: 'step' }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 4 }).map<Action>((minutes) => ({ kind: 'advance', minutes })),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(69_800, 69_900, 70_000, 70_100)
      .map<Action>((price) => ({ kind: 'trade', price })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        'rate_limited' as const,
        'rejected' as const,
        'unknown_outcome' as const,
        'unavailable' as const,
      )
      .map<Action>((fault) => ({ kind: 'fault', fault })),
  },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'reconcile' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'restart' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'cancelParent' }) },
)

/** Settle RECONCILE_REQUIRED children the way reconciliation would: match each to its unclaimed broker order. */
async function reconcile(r: Rig, intentIds: readonly string[]): Promise<void> {
  const brokerOrders = await r.broker.getOrders(ACCOUNT)
  for (const id of intentIds) {
    const order = await r.store.get(id)
    if (order?.state !== 'RECONCILE_REQUIRED') continue
    const claimed = new Set<string>()
    for (const other of intentIds) {
      const o = await r.store.get(other)
      if (o?.brokerOrderId) claimed.add(o.brokerOrderId)
    }
    const match = brokerOrders.find((b) => !claimed.has(b.brokerOrderId) && b.quantity === order.quantity)
    await r.store.apply(
      id,
      match
        ? { type: 'reconcile_matched', brokerOrderId: match.brokerOrderId, reason: 'test', at: r.clock.now() }
        : { type: 'reconcile_not_found', reason: 'test', at: r.clock.now() },
    )
  }
  await r.settle()
}

describe('execution property: random fills, faults and restarts', () => {
  it('never allocates or fills more than the parent quantity, and never sends a child twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
        fc.array(action, { minLength: 4, maxLength: 14 }),
        async (quantity, slices, urgency, actions) => {
          const r = await rig({ retry: { maxAttempts: 1 } })
          let engine = r.engine
          const p = await engine.submit(timed(r, { quantity, urgency, schedule: { kind: 'twap', slices } }))
          const id = p.parent.parentId
          const childIds = () =>
            r.events.flatMap((e) => (e.type === 'child.sent' && e.parentId === id ? [e.intentId] : []))
          for (const a of actions) {
            switch (a.kind) {
              case 'step':
                await engine.step()
                break
              case 'advance':
                r.clock.setTime(r.clock.now() + a.minutes * MIN)
                break
              case 'trade':
                r.broker.setPrice(SYMBOL, a.price)
                break
              case 'fault':
                r.broker.injectFault('placeOrder', {
                  kind: a.fault,
                  ...(a.fault === 'unknown_outcome' ? { commit: true } : {}),
                })
                break
              case 'reconcile':
                await reconcile(r, childIds())
                break
              case 'restart':
                engine = r.newEngine({ retry: { maxAttempts: 1 } })
                await engine.resume()
                break
              case 'cancelParent':
                await engine.cancel(id)
                break
            }
            await r.settle()
            const view = await engine.get(id)
            expect(view.progress.filled).toBeLessThanOrEqual(quantity)
            expect(view.progress.filled + view.progress.working).toBeLessThanOrEqual(quantity)
            for (const child of childIds()) expect(r.broker.submissions(child)).toBeLessThanOrEqual(1)
          }
          const atBroker = (await r.broker.getOrders(ACCOUNT)).reduce((n, o) => n + o.filledQuantity, 0)
          expect(atBroker).toBeLessThanOrEqual(quantity)
        },
      ),
      // Retries sleep on the manual clock; a single attempt keeps each run synchronous with it.
      { seed: 424242, numRuns: 25 },
    )
  }, 120_000)
})
