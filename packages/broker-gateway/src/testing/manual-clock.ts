import type { Clock, TimerHandle } from '../clock'

interface PendingTimer {
  id: number
  at: number
  fn: () => void
}

/**
 * A clock that moves only when told to. Timers fire in due-time order (ties in scheduling order)
 * as `advance`/`advanceAsync` pass their due time; `now()` reads the time of the timer being run.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse('2026-11-24T00:00:00Z'))
 * let fired = false
 * clock.setTimeout(() => { fired = true }, 1_000)
 * clock.advance(999)   // fired === false
 * clock.advance(1)     // fired === true
 * ```
 */
export class ManualClock implements Clock {
  #now: number
  #timers: PendingTimer[] = []
  #nextId = 1

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn }
    this.#timers.push(timer)
    return { id: timer.id } as unknown as TimerHandle
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as unknown as { id?: number } | undefined)?.id
    this.#timers = this.#timers.filter((t) => t.id !== id)
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length
  }

  /** Set the time without firing anything (only forward). */
  setTime(ms: number): void {
    if (ms < this.#now) throw new Error(`ManualClock cannot go back from ${this.#now} to ${ms}`)
    this.#now = ms
  }

  #popDue(until: number): PendingTimer | undefined {
    let best: PendingTimer | undefined
    for (const t of this.#timers) {
      if (t.at <= until && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t
    }
    if (best) this.#timers = this.#timers.filter((t) => t !== best)
    return best
  }

  /** Move time forward by `ms`, firing due timers synchronously, including ones they schedule. */
  advance(ms: number): void {
    const until = this.#now + ms
    for (let t = this.#popDue(until); t; t = this.#popDue(until)) {
      this.#now = Math.max(this.#now, t.at)
      t.fn()
    }
    this.#now = until
  }

  /**
   * Like `advance`, but lets promise callbacks run after each timer, so async code awaiting
   * `sleep(clock, …)` progresses as it would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const until = this.#now + ms
    await flushMicrotasks()
    for (let t = this.#popDue(until); t; t = this.#popDue(until)) {
      this.#now = Math.max(this.#now, t.at)
      t.fn()
      await flushMicrotasks()
    }
    this.#now = until
    await flushMicrotasks()
  }

  /** Fire every pending timer (and those they schedule), up to `limit` timers. */
  runAll(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      const next = this.#timers.reduce<PendingTimer | undefined>(
        (a, t) => (!a || t.at < a.at ? t : a),
        undefined,
      )
      if (!next) return
      this.advance(next.at - this.#now)
    }
    throw new Error(`ManualClock.runAll: more than ${limit} timers; is something rescheduling forever?`)
  }
}

/** Let queued promise callbacks (and a macrotask turn) run. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
  await new Promise<void>((r) => setImmediate(r))
}
