import { type OrderIntentInput, OrderIntentSchema, parseOrThrow } from '@vellab/broker-gateway'
import { fingerprintKey, fingerprintOfIntent, type Order, type OrderStore } from '@vellab/order-fsm'
import { ReconcileError } from './errors'

/** The answer of {@link FingerprintGuard.check}. */
export type GuardVerdict = { allowed: true } | { allowed: false; reason: string; blockingIntentIds: string[] }

/**
 * The duplicate-fingerprint guard (reference/peers.md §(d) #1): while an intent whose submit outcome
 * is unknown (RECONCILE_REQUIRED without a broker number) is unresolved, a new intent with the same
 * fingerprint is refused — it is most likely the same order sent again after a timeout. Execution
 * and the runner call it before `createIntent`/`beginSubmit`.
 *
 * It is a check, not a lock: call it on the path that sends, after the write-ahead of the new intent
 * would be too late.
 */
export interface FingerprintGuard {
  check(intent: OrderIntentInput): Promise<GuardVerdict>
  /** As `check`, throwing `ReconcileError` `duplicate_fingerprint` when refused. */
  assert(intent: OrderIntentInput): Promise<void>
}

/** A guard over the order store's RECONCILE_REQUIRED orders. */
export function createFingerprintGuard(store: Pick<OrderStore, 'listByState'>): FingerprintGuard {
  const check = async (input: OrderIntentInput): Promise<GuardVerdict> => {
    // Validated with the contract's defaults, so an omitted venue compares as the stored one.
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'fingerprintGuard' })
    const key = fingerprintKey(fingerprintOfIntent(intent))
    const unresolved = await store.listByState('RECONCILE_REQUIRED', {
      account: intent.account,
      symbol: intent.symbol,
      limit: 100_000,
    })
    const twins = unresolved.filter(
      (o: Order) =>
        o.brokerOrderId === null &&
        o.intentId !== intent.intentId &&
        fingerprintKey(fingerprintOfIntent(o.intent)) === key,
    )
    if (twins.length === 0) return { allowed: true }
    return {
      allowed: false,
      blockingIntentIds: twins.map((o) => o.intentId),
      reason: `intent ${intent.intentId} has the fingerprint of unresolved ${twins.map((o) => o.intentId).join(', ')} (submit outcome unknown); wait for reconciliation`,
    }
  }
  return {
    check,
    async assert(intent) {
      const v = await check(intent)
      if (!v.allowed) throw new ReconcileError('duplicate_fingerprint', v.reason, { account: intent.account })
    },
  }
}
