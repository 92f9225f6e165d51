/**
 * A fixed-capacity ring of timestamps (epoch ms), newest last. Counting recent events walks back
 * from the newest and stops at the first one outside the window, so a check costs O(events in the
 * window), never O(history), and recording never allocates.
 */
export class TimeRing {
  readonly #times: Float64Array
  #next = 0
  #size = 0

  /** @param capacity the most events a window can ever need to count (older ones are forgotten) */
  constructor(capacity: number) {
    this.#times = new Float64Array(Math.max(1, capacity))
  }

  /** Record an event at `at`. Events are expected in non-decreasing time order. */
  push(at: number): void {
    this.#times[this.#next] = at
    this.#next = (this.#next + 1) % this.#times.length
    if (this.#size < this.#times.length) this.#size++
  }

  /** Events with `at > since` (up to the capacity). */
  countSince(since: number): number {
    const cap = this.#times.length
    let n = 0
    let i = this.#next
    for (let k = 0; k < this.#size; k++) {
      i = i === 0 ? cap - 1 : i - 1
      if (this.#times[i]! <= since) break
      n++
    }
    return n
  }

  /** The newest timestamp, or `-Infinity` when empty. */
  get latest(): number {
    if (this.#size === 0) return Number.NEGATIVE_INFINITY
    return this.#times[(this.#next - 1 + this.#times.length) % this.#times.length]!
  }

  /** Forget everything. */
  clear(): void {
    this.#size = 0
    this.#next = 0
  }
}
