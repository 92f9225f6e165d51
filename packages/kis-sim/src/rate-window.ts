/**
 * Sliding one-second windows per key (reference/kis-openapi.md §8: limits per appkey per second).
 * Only admitted requests occupy the window; a refused request does not extend it.
 */
export class SlidingWindowLimiter {
  private readonly windows = new Map<string, number[]>()

  constructor(private readonly windowMs = 1000) {}

  /** Requests admitted for `key` in (now − window, now]. */
  count(key: string, now: number): number {
    const w = this.windows.get(key)
    if (!w) return 0
    this.prune(w, now)
    return w.length
  }

  /** Admits the request if fewer than `limit` were admitted in the window. */
  tryAcquire(key: string, now: number, limit: number): { ok: boolean; count: number } {
    let w = this.windows.get(key)
    if (!w) {
      w = []
      this.windows.set(key, w)
    }
    this.prune(w, now)
    if (w.length >= limit) return { ok: false, count: w.length }
    w.push(now)
    return { ok: true, count: w.length }
  }

  reset(key?: string): void {
    if (key === undefined) this.windows.clear()
    else this.windows.delete(key)
  }

  private prune(w: number[], now: number): void {
    const edge = now - this.windowMs
    let i = 0
    while (i < w.length && (w[i] ?? 0) <= edge) i++
    if (i > 0) w.splice(0, i)
  }
}
