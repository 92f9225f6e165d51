import { hash } from 'node:crypto'
import type { OrderIntent } from '@vellab/broker-gateway'

// Field order is fixed here so the hash does not depend on how the caller built the object.
const FIELDS = [
  'intentId',
  'account',
  'strategyId',
  'symbol',
  'side',
  'quantity',
  'orderType',
  'limitPrice',
  'stopPrice',
  'timeInForce',
  'venue',
  'session',
  'shortSale',
] as const satisfies readonly (keyof OrderIntent)[]

/** A stable hash of a validated intent: two intents are "the same payload" when their hashes match. */
export function intentHash(intent: OrderIntent): string {
  const canonical = FIELDS.map((f) => [f, intent[f] ?? null])
  return hash('sha256', JSON.stringify(canonical))
}

/** The fields in which two intents differ, as `field: a ≠ b`. */
export function intentDifferences(a: OrderIntent, b: OrderIntent): string[] {
  return FIELDS.filter((f) => (a[f] ?? null) !== (b[f] ?? null)).map(
    (f) => `${f}: ${JSON.stringify(a[f] ?? null)} ≠ ${JSON.stringify(b[f] ?? null)}`,
  )
}
