/**
 * A bounded map of recently used entries in two generations: writes go to the young one; when it
 * holds `limit` entries it becomes the old one and the previous old one is dropped whole. A read
 * that finds an entry only in the old generation copies it to the young one.
 *
 * Every operation is O(1). A `Map` kept in insertion order and trimmed by deleting its first key
 * is not: V8 leaves a deleted entry as a hole until the table is rebuilt, and `keys().next()`
 * walks the holes at the front: with the store's 40,000 broker-number routes that cost every ack
 * 10–20 µs once the cache was full (the order path's JavaScript alone, with a database that answers
 * at once).
 *
 * It keeps at least the `limit` most recently written or read keys, and at most `2 × limit` keys.
 */
export class RecentCache<K, V> {
  readonly #limit: number
  #young = new Map<K, V>()
  #old = new Map<K, V>()

  /** @param limit keys kept for sure; 0 or less keeps nothing. */
  constructor(limit: number) {
    this.#limit = limit
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key)
    if (young !== undefined) return young
    const old = this.#old.get(key)
    if (old !== undefined) this.#put(key, old)
    return old
  }

  set(key: K, value: V): void {
    if (this.#limit <= 0) return
    this.#put(key, value)
  }

  delete(key: K): void {
    this.#young.delete(key)
    this.#old.delete(key)
  }

  /** Keys held now (both generations, a key counted once). O(size): for tests and diagnostics. */
  get size(): number {
    let n = this.#young.size
    for (const k of this.#old.keys()) if (!this.#young.has(k)) n++
    return n
  }

  #put(key: K, value: V) {
    // An older value of the key in the old generation stays shadowed until that generation goes.
    this.#young.set(key, value)
    if (this.#young.size >= this.#limit) {
      this.#old = this.#young
      this.#young = new Map()
    }
  }
}
