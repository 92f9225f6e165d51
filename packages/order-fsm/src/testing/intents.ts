import { type OrderIntent, type OrderIntentInput, OrderIntentSchema } from '@vellab/broker-gateway'

let counter = 0

/**
 * A valid limit-buy intent (10 × 005930 at 71,000 KRW on KRX) with a fresh `intentId`, overridden
 * field by field.
 *
 * @example
 * ```ts
 * const intent = anIntent({ side: 'sell', quantity: 3 })
 * ```
 */
export function anIntent(overrides: Partial<OrderIntentInput> = {}): OrderIntent {
  counter += 1
  return OrderIntentSchema.parse({
    intentId: `test-intent-${counter}`,
    account: '50123456-01',
    strategyId: 'test-strategy',
    symbol: '005930',
    side: 'buy',
    quantity: 10,
    orderType: 'limit',
    limitPrice: 71_000,
    ...overrides,
  })
}
