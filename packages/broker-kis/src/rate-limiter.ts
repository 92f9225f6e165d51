import type { Clock, TimerHandle } from '@vellab/broker-gateway'
import { systemClock } from '@vellab/broker-gateway'
import type { KisEventListener, KisLane } from './events'

/** Lanes in priority order: cancels and kill-switch traffic first, market data last. */
export const KIS_LANES: readonly KisLane[] = ['cancel', 'order', 'reconcile', 'market_data']

/** Options of {@link SlidingWindowLimiter}. */
export interface SlidingWindowLimiterOptions {
  /** Name reported in events, e.g. `rest` or `token`. */
  name: string
  /** Requests allowed in any window. */
  limit: number
  /** Window length. @default 1000 */
  windowMs?: number
  /**
   * Added to the window between a request and the `limit`-th one after it, to absorb jitter between
   * our send time and the broker's arrival time. @default 0
   */
  safetyMarginMs?: number
  /** @default systemClock */
  clock?: Clock
  onEvent?: KisEventListener
  /**
   * A request waiting longer than this in the order, reconcile or market-data lane is served
   * before younger requests of higher lanes (oldest first), so a flood of orders cannot starve
   * reconciliation or the quotes pre-trade risk needs. The cancel lane is never overtaken.
   * @default 5000
   */
  maxLaneWaitMs?: number
  /**
   * A request whose permit is never marked done counts as complete this long after it was sent.
   * @default 30000
   */
  maxInFlightMs?: number
  /**
   * The window before the limiter was created counts as spent: nothing is granted until one window
   * (plus the margin) has passed. For a process that may restart within a window of its
   * predecessor's last request, which the broker still counts. @default false
   */
  holdFirstWindow?: boolean
}

/** A granted slot. Call `done()` when the response (or the failure) has arrived. */
export interface LimiterPermit {
  /** Marks the request complete (response or failure received); its slot's window starts then. */
  done(): void
}

interface Grant {
  sentAt: number
  doneAt: number | undefined
}

interface Waiter {
  lane: KisLane
  enqueuedAt: number
  resolve: (p: LimiterPermit) => void
  reject: (reason: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * A request-rate limiter that guarantees at most `limit` requests in any window of `windowMs` as
 * the broker counts them, by arrival time (whether it counts fixed calendar seconds or a sliding
 * second), for **any** split of latency between the uplink and the downlink, with priority lanes.
 *
 * The broker saw request `i` no earlier than we sent it and no later than its response (or its
 * failure) reached us: `sent(i) ≤ arrival(i) ≤ done(i)`. Request `i + limit` is granted no earlier
 * than `done(i) + windowMs + safetyMarginMs` (and while request `i` is in flight it waits). Any
 * `limit + 1` requests then contain some `i` and some `j ≥ i + limit`, and
 * `arrival(j) ≥ sent(j) ≥ sent(i + limit) ≥ done(i) + windowMs ≥ arrival(i) + windowMs`: they
 * cannot fit in one window, whatever the network did in between. Timer lateness and event-loop
 * stalls only move sends later and recorded completions later, which keeps the bound.
 *
 * The bound is tight for an unknown split: an earlier bound that trusted the fastest round trip
 * seen as the part of every round trip after arrival let an uplink-heavy burst through (19
 * arrivals in a second against kis-sim). Its cost, stated plainly: each slot is held for one
 * round trip plus the window, so a saturated limiter runs at `windowMs / (windowMs + RTT + margin)`
 * of the limit — about 0.1 % of throughput per millisecond of round trip at 1 s windows (0.998 on
 * loopback, ≈ 0.96–0.97 at 30–40 ms). A request that never completes counts as done
 * `maxInFlightMs` after it was sent (its arrival, if any, is assumed to come before that).
 *
 * Waiting requests are served lane by lane (cancel, order, reconcile, market_data), first come
 * first served within a lane; a request that has waited more than `maxLaneWaitMs` in a lower lane
 * is served before younger requests of the order, reconcile and market-data lanes (never before a
 * cancel), so no lane starves.
 */
export class SlidingWindowLimiter {
  readonly name: string
  readonly limit: number
  readonly windowMs: number
  readonly safetyMarginMs: number
  readonly #clock: Clock
  readonly #emit: KisEventListener | undefined
  readonly #grants: Grant[] = []
  readonly #maxInFlightMs: number
  readonly #maxLaneWaitMs: number
  #minRtt = Number.POSITIVE_INFINITY
  readonly #queues = new Map<KisLane, Waiter[]>(KIS_LANES.map((l) => [l, []]))
  #blockedUntil = 0
  #timer: TimerHandle | undefined
  #timerAt = 0

  constructor(options: SlidingWindowLimiterOptions) {
    if (!(options.limit > 0)) throw new RangeError(`limiter ${options.name}: limit must be positive`)
    this.name = options.name
    // A fractional limit (e.g. 0.5/s) becomes 1 request per (1/limit) s.
    const windowMs = options.windowMs ?? 1_000
    this.limit = Math.max(1, Math.floor(options.limit))
    this.windowMs = options.limit < 1 ? Math.ceil(windowMs / options.limit) : windowMs
    this.safetyMarginMs = options.safetyMarginMs ?? 0
    this.#clock = options.clock ?? systemClock
    this.#emit = options.onEvent
    this.#maxInFlightMs = options.maxInFlightMs ?? 30_000
    this.#maxLaneWaitMs = options.maxLaneWaitMs ?? 5_000
    if (options.holdFirstWindow) this.#blockedUntil = this.#clock.now() + this.windowMs + this.safetyMarginMs
  }

  /** Requests waiting for a slot, over all lanes. */
  get queueDepth(): number {
    let n = 0
    for (const q of this.#queues.values()) n += q.length
    return n
  }

  /** Requests waiting in one lane. */
  laneDepth(lane: KisLane): number {
    return this.#queues.get(lane)!.length
  }

  /** Earliest time a new request could be granted if nobody were waiting. */
  nextSlotAt(now = this.#clock.now()): number {
    let t = Math.max(now, this.#blockedUntil)
    if (this.#grants.length >= this.limit) {
      const g = this.#grants[this.#grants.length - this.limit]!
      const span = this.windowMs + this.safetyMarginMs
      // The latest the broker can have seen request `g`: when its answer (or failure) reached us.
      const arrivedBy = g.doneAt ?? g.sentAt + this.#maxInFlightMs
      t = Math.max(t, arrivedBy + span)
    }
    return t
  }

  /** The fastest round trip observed so far (ms), if any (diagnostics; the bound does not use it). */
  get minRoundTripMs(): number | undefined {
    return Number.isFinite(this.#minRtt) ? this.#minRtt : undefined
  }

  /**
   * Wait for a slot. Resolves when the request may be sent; rejects with the signal's reason when
   * aborted while waiting.
   */
  acquire(lane: KisLane, signal?: AbortSignal): Promise<LimiterPermit> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    const now = this.#clock.now()
    if (this.queueDepth === 0 && this.nextSlotAt(now) <= now) {
      return Promise.resolve(this.#record(now))
    }
    return new Promise<LimiterPermit>((resolve, reject) => {
      const waiter: Waiter = { lane, enqueuedAt: now, resolve, reject, signal, onAbort: undefined }
      if (signal) {
        waiter.onAbort = () => {
          const q = this.#queues.get(lane)!
          const i = q.indexOf(waiter)
          if (i >= 0) q.splice(i, 1)
          reject(signal.reason)
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#queues.get(lane)!.push(waiter)
      this.#pump()
    })
  }

  /**
   * Grant nothing before `untilMs` (after the broker said EGW00201: its count and ours differ, so
   * we let its window pass before sending more).
   */
  blockUntil(untilMs: number): void {
    if (untilMs > this.#blockedUntil) this.#blockedUntil = untilMs
  }

  /** Send times still inside the memory of the limiter (for tests and diagnostics). */
  recentGrants(): readonly number[] {
    return this.#grants.map((g) => g.sentAt)
  }

  #record(at: number): LimiterPermit {
    const grant: Grant = { sentAt: at, doneAt: undefined }
    this.#grants.push(grant)
    if (this.#grants.length > this.limit) this.#grants.splice(0, this.#grants.length - this.limit)
    return {
      done: () => {
        if (grant.doneAt !== undefined) return
        const now = this.#clock.now()
        grant.doneAt = now
        this.#minRtt = Math.min(this.#minRtt, now - grant.sentAt)
        // A completed request may open the slot a waiter is blocked on.
        this.#pump()
      },
    }
  }

  #next(now: number): Waiter | undefined {
    const cancels = this.#queues.get('cancel')!
    if (cancels.length) return cancels.shift()
    // Starvation guard: the oldest overdue head of a lower lane goes before younger higher lanes.
    let overdue: Waiter | undefined
    for (const lane of KIS_LANES) {
      if (lane === 'cancel') continue
      const head = this.#queues.get(lane)![0]
      if (!head || now - head.enqueuedAt < this.#maxLaneWaitMs) continue
      if (!overdue || head.enqueuedAt < overdue.enqueuedAt) overdue = head
    }
    if (overdue) return this.#queues.get(overdue.lane)!.shift()
    for (const lane of KIS_LANES) {
      const q = this.#queues.get(lane)!
      if (q.length) return q.shift()
    }
    return undefined
  }

  #pump(): void {
    for (;;) {
      if (this.queueDepth === 0) return
      const now = this.#clock.now()
      const at = this.nextSlotAt(now)
      if (at > now) {
        if (at === Number.POSITIVE_INFINITY) return
        if (this.#timer !== undefined && this.#timerAt <= at) return
        if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
        this.#timerAt = at
        this.#timer = this.#clock.setTimeout(() => {
          this.#timer = undefined
          this.#pump()
        }, at - now)
        return
      }
      const w = this.#next(now)!
      const permit = this.#record(now)
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort)
      this.#emit?.({
        type: 'limiter.wait',
        limiter: this.name,
        lane: w.lane,
        waitedMs: now - w.enqueuedAt,
        queueDepth: this.queueDepth,
      })
      w.resolve(permit)
    }
  }
}
