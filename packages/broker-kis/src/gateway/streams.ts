import type { BrokerOrderEvent, OrderBookSnapshot, Tick, Unsubscribe } from '@vellab/broker-gateway'
import { BrokerError, parseOrThrow, SymbolSchema } from '@vellab/broker-gateway'
import { KisError } from '../errors'
import { kstCompactDate } from '../kst'
import type { NoticeSync } from '../notice-sync'
import { KIS_WS_TR } from '../tr-ids'
import type { ExecutionNotice } from '../ws/decoders'
import type { OrderNoticeTracker } from '../ws/notice-tracker'
import type { KisStreamSession, SubscriptionHooks } from '../ws/session'
import { checkAccount, type GatewayContext } from './context'

/** Market-data streams and execution notices over the WebSocket session (reference §7). */
export class KisStreams {
  readonly #ctx: GatewayContext
  readonly #stream: KisStreamSession
  readonly #tracker: OrderNoticeTracker
  readonly #orderListeners = new Set<(e: BrokerOrderEvent) => void>()
  readonly #gapListeners = new Set<(reason: string) => void>()
  #noticeSync: NoticeSync | undefined
  #noticeRelease: Unsubscribe | undefined
  #noticesLive = false
  readonly #liveWaiters: (() => void)[] = []

  constructor(ctx: GatewayContext, stream: KisStreamSession, tracker: OrderNoticeTracker) {
    this.#ctx = ctx
    this.#stream = stream
    this.#tracker = tracker
  }

  /** The REST snapshots that anchor the notice totals (created after this, which delivers their events). */
  attachNoticeSync(sync: NoticeSync): void {
    this.#noticeSync = sync
  }

  tellGap(reason: string): void {
    for (const l of this.#gapListeners) {
      try {
        l(reason)
      } catch {
        // Listener bugs stay with the listener.
      }
    }
  }

  /**
   * Resolves once the execution-notice registration (started by `streamOrderEvents`) has been
   * acknowledged by the broker (the first time; later gaps are reported through `onStreamGap`). Where the environment cannot list today's orders
   * (`capabilities.listOrders` false), a notice sent before that moment cannot be caught up, so a
   * caller should not place orders before it; rejects with an `unavailable` error after `timeoutMs`.
   */
  whenOrderEventsLive(timeoutMs = 30_000): Promise<void> {
    if (this.#noticesLive) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = this.#ctx.clock.setTimeout(() => {
        const i = this.#liveWaiters.indexOf(done)
        if (i >= 0) this.#liveWaiters.splice(i, 1)
        reject(
          new BrokerError('unavailable', `execution notices not live after ${timeoutMs} ms`, {
            operation: 'whenOrderEventsLive',
          }),
        )
      }, timeoutMs)
      const done = () => {
        this.#ctx.clock.clearTimeout(timer)
        resolve()
      }
      this.#liveWaiters.push(done)
    })
  }

  /** Register a listener told when stream data may have been missed; reconcile via REST then. */
  onStreamGap(listener: (reason: string) => void): Unsubscribe {
    this.#gapListeners.add(listener)
    return () => {
      this.#gapListeners.delete(listener)
    }
  }

  #symbols(symbols: string[], operation: string): string[] {
    return [...new Set(symbols.map((s) => parseOrThrow(SymbolSchema, s, { operation })))]
  }

  streamTicks(symbols: string[], onTick: (tick: Tick) => void): Unsubscribe {
    const list = this.#symbols(symbols, 'streamTicks')
    return this.#subscribe(
      list.map((s) => ({ trId: KIS_WS_TR.trade, trKey: s })),
      (t) => onTick(t as Tick),
      'streamTicks',
    )
  }

  streamOrderBooks(symbols: string[], onBook: (book: OrderBookSnapshot) => void): Unsubscribe {
    const list = this.#symbols(symbols, 'streamOrderBooks')
    return this.#subscribe(
      list.map((s) => ({ trId: KIS_WS_TR.book, trKey: s })),
      (b) => onBook(b as OrderBookSnapshot),
      'streamOrderBooks',
    )
  }

  #subscribe(
    pairs: { trId: string; trKey: string }[],
    l: (x: unknown) => void,
    operation: string,
    pinned = false,
    hooks?: SubscriptionHooks,
  ): Unsubscribe {
    try {
      return this.#stream.subscribe(pairs, l, pinned, hooks)
    } catch (e) {
      if (KisError.isInstance(e) && e.code === 'KIS_SUBSCRIPTION_BUDGET') {
        // reference §8: the broker would answer OPSP0008; we refuse before sending anything.
        throw new BrokerError('rejected', e.message, { operation, brokerCode: 'OPSP0008', cause: e })
      }
      throw e
    }
  }

  #onNotice(n: ExecutionNotice): void {
    // ACNT_NO (reference §7.9, 10 chars) is CANO + ACNT_PRDT_CD; one HTS id receives notices for
    // every linked account (§7.9, NOTICE-LIMITS), including other products of the same CANO.
    if (n.accountNo && !this.#isOwnAccountNo(n.accountNo)) return
    // Applied once per notice, then fanned out, so every listener sees the same cumulative events.
    const now = this.#ctx.clock.now()
    this.deliver(this.#tracker.apply(n, this.#ctx.config.account, kstCompactDate(now), now, now))
  }

  deliver(events: readonly BrokerOrderEvent[]): void {
    for (const l of this.#orderListeners) {
      for (const e of events) {
        try {
          l(e)
        } catch {
          // A consumer's bug must not stop the others.
        }
      }
    }
  }

  #isOwnAccountNo(accountNo: string): boolean {
    const { cano, productCode } = this.#ctx.config
    if (accountNo.length >= cano.length + productCode.length) return accountNo === `${cano}${productCode}`
    return accountNo === cano
  }

  streamOrderEvents(account: string, onEvent: (event: BrokerOrderEvent) => void): Unsubscribe {
    checkAccount(this.#ctx, account, 'streamOrderEvents')
    const htsId = this.#ctx.config.htsId
    if (!htsId) {
      throw new BrokerError('invalid_request', 'streamOrderEvents needs config.htsId (the notice tr_key)', {
        operation: 'streamOrderEvents',
      })
    }
    const listener = (e: BrokerOrderEvent) => onEvent(e)
    // Registered first: the catch-up events of the first snapshot go to this listener too.
    this.#orderListeners.add(listener)
    if (!this.#noticeRelease) {
      // The notice subscription is pinned: one registration, kept across reconnects, shared by all.
      const trId = KIS_WS_TR.notice[this.#ctx.config.environment]
      // Before every (re)subscription a REST snapshot anchors the running totals, and another
      // follows the ack (see NoticeSync): notices carry per-fill quantities only (§7.9) and KIS
      // does not replay what was sent during a gap.
      this.#noticeRelease = this.#subscribe(
        [{ trId, trKey: htsId }],
        (x) => this.#onNotice(x as ExecutionNotice),
        'streamOrderEvents',
        true,
        {
          beforeSubscribe: () => this.#noticeSync?.beforeSubscribe() ?? Promise.resolve(),
          onAcknowledged: () => {
            this.#noticesLive = true
            for (const w of this.#liveWaiters.splice(0)) w()
            this.#noticeSync?.onSubscribed()
          },
        },
      )
    }
    return () => {
      this.#orderListeners.delete(listener)
    }
  }
}
