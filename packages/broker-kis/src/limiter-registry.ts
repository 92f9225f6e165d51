import type { Clock } from '@vellab/broker-gateway'
import type { KisEvent, KisEventListener } from './events'
import type { SlidingWindowLimiter } from './rate-limiter'

/** The limiters of one app key: REST, token issuance and approval-key issuance. */
export interface AppKeyLimiters {
  rest: SlidingWindowLimiter
  token: SlidingWindowLimiter
  approval: SlidingWindowLimiter
}

/** A gateway's hold on its app key's shared limiters. */
export interface AppKeyLimiterLease {
  readonly limiters: AppKeyLimiters
  /** Stop receiving this app key's limiter events; the last release forgets the limiters. */
  release(): void
}

interface Entry {
  limiters: AppKeyLimiters
  listeners: Set<KisEventListener>
}

// Keyed by clock first: gateways sharing an app key in one process share a clock in production
// (systemClock); tests that give each gateway its own manual clock must not share a limiter whose
// time is someone else's.
const registry = new WeakMap<Clock, Map<string, Entry>>()

/**
 * The limiters of `key` (an app key in an environment, see `tokenStoreKey`) in this process: the
 * first gateway creates them with `create`, every later gateway on the same app key and clock gets
 * the same instances, so together they stay inside the app key's one budget (reference §8: the
 * REST limit is per appkey, not per connection). Limiter events go to every holder's `listener`.
 * The first creator's limits apply to all.
 */
export function acquireAppKeyLimiters(
  key: string,
  clock: Clock,
  listener: KisEventListener,
  create: (emit: KisEventListener) => AppKeyLimiters,
): AppKeyLimiterLease {
  let byKey = registry.get(clock)
  if (!byKey) {
    byKey = new Map()
    registry.set(clock, byKey)
  }
  let entry = byKey.get(key)
  if (!entry) {
    const listeners = new Set<KisEventListener>()
    const emit = (e: KisEvent) => {
      for (const l of listeners) l(e)
    }
    entry = { limiters: create(emit), listeners }
    byKey.set(key, entry)
  }
  const held = entry
  const own = (e: KisEvent) => listener(e)
  held.listeners.add(own)
  let released = false
  return {
    limiters: held.limiters,
    release: () => {
      if (released) return
      released = true
      held.listeners.delete(own)
      if (held.listeners.size === 0 && byKey.get(key) === held) byKey.delete(key)
    },
  }
}
