import type { BrokerOrderEvent, Clock, TimerHandle } from '@vellab/broker-gateway'
import type { KisEventListener } from './events'
import type { OrderFillSnapshot, OrderNoticeTracker, PendingAmend, SnapshotMode } from './ws/notice-tracker'

/** Tuning of {@link NoticeSync}. */
export interface NoticeSyncTuning {
  /**
   * How long after a live snapshot a late notice may still be one the snapshot already counted;
   * also the delay of the verifying snapshot. @default 3_000
   */
  settleMs?: number
  /** Tolerated offset between our clock and the broker's notice times. @default 1_000 */
  clockSkewMs?: number
  /** Verifying snapshots per (re)subscription, at most. @default 3 */
  maxVerifications?: number
  /** Retry delays of a failed snapshot taken while notices flow (doubling). @default 1_000 */
  retryBaseMs?: number
  /** @default 30_000 */
  retryMaxMs?: number
  /**
   * Retries of a failed snapshot, per (re)subscription; also the number of snapshots taken to
   * settle cancel notices that named no quantity. @default 5
   */
  maxRetries?: number
  /**
   * How a modify/cancel receipt (접수) gets confirmed. The 확인 notice (ACPT_YN 2, reference §7.9)
   * always confirms; its delivery is UNVERIFIED (§10), so with `'notice-or-rest'` REST snapshots
   * (inquire-daily-ccld `cnc_cfrm_qty`, §4.4) follow a receipt after `settleMs`, doubling up to
   * `retryMaxMs`, until the request is confirmed or refused, at most `maxConfirmationChecks` times.
   * With `'notice'` no snapshot is taken for it; the same checks only count down. Either way a
   * request still unconfirmed after the last check is reported (`notice.unconfirmed`, and
   * `onStreamGap` listeners are told to reconcile), never guessed.
   * @default 'notice-or-rest'
   */
  confirmation?: 'notice-or-rest' | 'notice'
  /** Confirmation checks per modify/cancel receipt before it is handed to reconciliation. @default 5 */
  maxConfirmationChecks?: number
}

/** Options of {@link NoticeSync}. */
export interface NoticeSyncOptions extends NoticeSyncTuning {
  tracker: OrderNoticeTracker
  account: string
  clock: Clock
  /** Today's orders from REST (inquire-daily-ccld, reference §4.4). */
  fetchSnapshot: () => Promise<OrderFillSnapshot[]>
  /**
   * Whether the environment can list today's orders at all (reference §7.10: KIS paper returned
   * no rows). When it cannot, no snapshot is taken (an empty one would read as "nothing happened"):
   * each would-be snapshot is reported as `unavailable`, and on every (re)subscription
   * `onCatchUpUnavailable` is called, because notices sent while nobody listened are lost for good
   * and only reconciliation (positions, cash) can find their effect. @default true
   */
  canSnapshot?: boolean
  /** Called on every (re)subscription when `canSnapshot` is false (see there). */
  onCatchUpUnavailable?: () => void
  /** Hands catch-up events to the order-event listeners. */
  deliver: (events: BrokerOrderEvent[]) => void
  emit: KisEventListener
  /** A modify/cancel receipt no confirmation followed within the checks: reconcile it. */
  onUnconfirmed?: (pending: PendingAmend) => void
}

/** Why a snapshot is taken. */
export type NoticeSyncPhase = 'baseline' | 'subscribed' | 'verify' | 'retry' | 'confirm'

/**
 * Keeps the notice tracker's running totals anchored to the broker's books across restarts and
 * stream gaps (KIS never replays notices sent while nobody listened, reference §7.9).
 *
 * On every (re)subscription of the execution-notice TR:
 * 1. `beforeSubscribe` (the session waits for it): a *baseline* snapshot while no notice
 *    subscription is registered. Nothing can be in flight, so its levels are exact lower bounds
 *    and fills after it arrive as notices that add to them.
 * 2. `onSubscribed` (the ack): a *live* snapshot. A fill that landed between the baseline and the
 *    registration is in neither the baseline nor the stream; this snapshot sees it and emits it.
 *    It may also count fills whose notices are still in flight; the tracker's credit keeps those
 *    from counting twice.
 * 3. While a live snapshot raised a level or a notice was absorbed, a verifying snapshot follows
 *    after `settleMs` (at most `maxVerifications` times), so an absorbed notice that was in fact a
 *    new fill is reported shortly after instead of at the next reconciliation.
 * 4. A cancel notice that named no quantity for an order the tracker never saw is held back (a
 *    `canceled` of 0 shares would be false); snapshots follow after `settleMs`, doubling up to
 *    `retryMaxMs`, at most `maxRetries` per subscription, until REST reports it (same event id).
 *
 * 5. A modify/cancel receipt (접수) is not an outcome (the request may still be refused): with
 *    `confirmation: 'notice-or-rest'` *confirm* snapshots follow it after `settleMs`, doubling up
 *    to `retryMaxMs`, until the 확인 notice or a snapshot confirms it, or a refusal ends it; after
 *    `maxConfirmationChecks` a `notice.unconfirmed` event and `onUnconfirmed` hand it to
 *    reconciliation.
 *
 * Snapshots run one at a time; a result from before the latest (re)subscription is dropped.
 */
export class NoticeSync {
  readonly #o: NoticeSyncOptions
  readonly #settleMs: number
  readonly #skewMs: number
  readonly #maxVerifications: number
  readonly #maxRetries: number
  #epoch = 0
  #verifications = 0
  #retries = 0
  #resolves = 0
  readonly #maxConfirmationChecks: number
  readonly #confirmByRest: boolean
  readonly #canSnapshot: boolean
  #timer: TimerHandle | undefined
  #confirmTimer: TimerHandle | undefined
  #chain: Promise<void> = Promise.resolve()
  #closed = false

  constructor(options: NoticeSyncOptions) {
    this.#o = options
    this.#settleMs = options.settleMs ?? 3_000
    this.#skewMs = options.clockSkewMs ?? 1_000
    this.#maxVerifications = options.maxVerifications ?? 3
    this.#maxRetries = options.maxRetries ?? 5
    this.#maxConfirmationChecks = Math.max(1, options.maxConfirmationChecks ?? 5)
    this.#canSnapshot = options.canSnapshot ?? true
    // Without a listing, a receipt can only be confirmed by its notice; the checks still count down.
    this.#confirmByRest = this.#canSnapshot && (options.confirmation ?? 'notice-or-rest') === 'notice-or-rest'
    options.tracker.onUncertain(() => this.#scheduleVerify())
    options.tracker.onUnresolved(() => this.#scheduleResolve())
    options.tracker.onPending(() => this.#scheduleConfirm())
  }

  /** Before the notice (re)subscription is sent. Never rejects. */
  beforeSubscribe(): Promise<void> {
    this.#epoch++
    this.#verifications = 0
    this.#retries = 0
    this.#resolves = 0
    this.#clearTimer()
    return this.#run('baseline', 'baseline', this.#epoch)
  }

  /** The broker acknowledged the notice subscription. */
  onSubscribed(): void {
    void this.#run('subscribed', 'live', this.#epoch)
  }

  /** Stop timers; later results are dropped. */
  close(): void {
    this.#closed = true
    this.#clearTimer()
    if (this.#confirmTimer) this.#o.clock.clearTimeout(this.#confirmTimer)
    this.#confirmTimer = undefined
  }

  /**
   * Arm the confirmation check of the open modify/cancel receipts, if any: after `settleMs`,
   * doubling with the fewest checks an open one has had (a new receipt is checked soon), capped at
   * `retryMaxMs`.
   */
  #scheduleConfirm(): void {
    if (this.#closed || this.#confirmTimer) return
    const open = this.#o.tracker.pendingAmends().filter((p) => !p.abandoned)
    if (open.length === 0) return
    const checks = Math.min(...open.map((p) => p.checks))
    const delay = Math.min(this.#o.retryMaxMs ?? 30_000, this.#settleMs * 2 ** checks)
    this.#confirmTimer = this.#o.clock.setTimeout(() => {
      this.#confirmTimer = undefined
      const startedAt = this.#o.clock.now()
      if (this.#confirmByRest) {
        void this.#run('confirm', 'live', this.#epoch).then(() => this.#countConfirmCheck(startedAt))
      } else this.#countConfirmCheck(startedAt)
    }, delay)
  }

  /** One confirmation check is over: hand receipts out of checks to reconciliation, re-arm. */
  #countConfirmCheck(startedAt: number): void {
    if (this.#closed) return
    for (const p of this.#o.tracker.countConfirmationCheck(startedAt, this.#maxConfirmationChecks)) {
      this.#o.emit({
        type: 'notice.unconfirmed',
        kind: p.kind,
        brokerOrderId: p.target,
        requestNo: p.requestNo,
        checks: p.checks,
      })
      try {
        this.#o.onUnconfirmed?.(p)
      } catch {
        // The owner's listener must not stop the checks of the other requests.
      }
    }
    this.#scheduleConfirm()
  }

  #clearTimer(): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #scheduleVerify(): void {
    if (this.#closed || this.#timer || this.#verifications >= this.#maxVerifications) return
    this.#verifications++
    const epoch = this.#epoch
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined
      void this.#run('verify', 'live', epoch)
    }, this.#settleMs)
  }

  #scheduleResolve(): void {
    // A timer already pending takes a snapshot anyway; after it, this is checked again.
    if (this.#closed || this.#timer || this.#resolves >= this.#maxRetries) return
    const delay = Math.min(this.#o.retryMaxMs ?? 30_000, this.#settleMs * 2 ** this.#resolves)
    this.#resolves++
    const epoch = this.#epoch
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined
      void this.#run('verify', 'live', epoch)
    }, delay)
  }

  #scheduleRetry(epoch: number): void {
    if (this.#closed || this.#retries >= this.#maxRetries) return
    const delay = Math.min(this.#o.retryMaxMs ?? 30_000, (this.#o.retryBaseMs ?? 1_000) * 2 ** this.#retries)
    this.#retries++
    this.#clearTimer()
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined
      void this.#run('retry', 'live', epoch)
    }, delay)
  }

  #run(phase: NoticeSyncPhase, mode: SnapshotMode, epoch: number): Promise<void> {
    const next = this.#chain.then(() => this.#snapshot(phase, mode, epoch))
    // The chain never rejects (#snapshot catches), so one failure cannot block the next snapshot.
    this.#chain = next
    return next
  }

  async #snapshot(phase: NoticeSyncPhase, mode: SnapshotMode, epoch: number): Promise<void> {
    if (this.#closed || epoch !== this.#epoch) return
    if (!this.#canSnapshot) {
      this.#o.emit({ type: 'notice.sync', phase, outcome: 'unavailable', orders: 0, raised: 0, terminal: 0 })
      if (phase === 'baseline') {
        try {
          this.#o.onCatchUpUnavailable?.()
        } catch {
          // The owner's listener must not stop the subscription.
        }
      }
      return
    }
    let rows: OrderFillSnapshot[]
    try {
      rows = await this.#o.fetchSnapshot()
    } catch (e) {
      this.#o.emit({
        type: 'notice.sync',
        phase,
        outcome: 'failed',
        orders: 0,
        raised: 0,
        terminal: 0,
        error: e instanceof Error ? e.message : String(e),
      })
      // A failed baseline is covered by the snapshot after the ack; later ones retry with backoff.
      if (mode === 'live' && epoch === this.#epoch) this.#scheduleRetry(epoch)
      return
    }
    if (this.#closed || epoch !== this.#epoch) {
      this.#o.emit({
        type: 'notice.sync',
        phase,
        outcome: 'stale',
        orders: rows.length,
        raised: 0,
        terminal: 0,
      })
      return
    }
    const r = this.#o.tracker.reconcile(rows, {
      account: this.#o.account,
      now: this.#o.clock.now(),
      mode,
      settleMs: this.#settleMs,
      clockSkewMs: this.#skewMs,
    })
    this.#o.emit({
      type: 'notice.sync',
      phase,
      outcome: 'ok',
      orders: rows.length,
      raised: r.raised,
      terminal: r.terminal,
    })
    if (r.events.length > 0) this.#o.deliver(r.events)
    if (r.unexplained > 0) this.#scheduleVerify()
    if (this.#o.tracker.unresolvedCancels > 0) this.#scheduleResolve()
  }
}
