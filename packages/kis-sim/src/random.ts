/**
 * Seeded randomness. Every random choice in the simulator (price paths, book depth, keys, fault
 * probabilities, latency draws) comes from one of these, so a run is reproducible from its seed.
 */
export interface RandomSource {
  /** A float in [0, 1). */
  next(): number
}

/** 32-bit FNV-1a hash of a string, mixed with a seed. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** mulberry32: small, fast, good enough for simulation (not for cryptography). */
export function createRandom(seed: number): RandomSource {
  let a = seed >>> 0
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0
      let t = a
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
    },
  }
}

/** An integer in [min, max] (inclusive). */
export function randomInt(rng: RandomSource, min: number, max: number): number {
  return min + Math.floor(rng.next() * (max - min + 1))
}

/** A string of `length` characters drawn from `alphabet`. */
export function randomString(rng: RandomSource, length: number, alphabet: string): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(rng.next() * alphabet.length)]
  return out
}

/** A standard normal draw (Box–Muller). */
export function randomNormal(rng: RandomSource): number {
  const u = Math.max(rng.next(), 1e-12)
  const v = rng.next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}
