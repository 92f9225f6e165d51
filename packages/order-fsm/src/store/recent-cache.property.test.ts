import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RecentCache } from './recent-cache'

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_261_207) })

type Op =
  | { op: 'set'; key: number; value: number }
  | { op: 'get'; key: number }
  | { op: 'delete'; key: number }

const ops = (keys: number) =>
  fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: fc.nat(keys), value: fc.integer() }),
      fc.record({ op: fc.constant('get' as const), key: fc.nat(keys) }),
      fc.record({ op: fc.constant('delete' as const), key: fc.nat(keys) }),
    ),
    { minLength: 20, maxLength: 300 },
  )

describe('RecentCache', () => {
  it('never answers a value that is not the last one written for the key, keeps the `limit` most recently used keys, and holds at most twice that', () => {
    fc.assert(
      // Keys from a space about three times the limit, so that reads hit keys on both sides of it.
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((limit) => fc.tuple(fc.constant(limit), ops(3 * limit))),
        ([limit, script]: [number, Op[]]) => {
          const cache = new RecentCache<number, number>(limit)
          const last = new Map<number, number>()
          // Most recently used first (a get that answers counts as a use, like a set).
          let recent: number[] = []
          const use = (k: number) => {
            recent = [k, ...recent.filter((x) => x !== k)]
          }
          for (const s of script) {
            if (s.op === 'set') {
              cache.set(s.key, s.value)
              last.set(s.key, s.value)
              use(s.key)
            } else if (s.op === 'delete') {
              cache.delete(s.key)
              // It keeps its place in the recency order: a delete frees room, it does not bring
              // evicted keys back.
              last.delete(s.key)
            } else {
              const got = cache.get(s.key)
              if (got !== undefined) {
                expect(got).toBe(last.get(s.key))
                use(s.key)
              } else if (last.has(s.key) && recent.slice(0, limit).includes(s.key)) {
                throw new Error(`key ${s.key} was among the ${limit} most recently used and is gone`)
              }
            }
            expect(cache.size).toBeLessThanOrEqual(2 * limit)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('keeps nothing with a limit of 0', () => {
    const cache = new RecentCache<string, number>(0)
    cache.set('a', 1)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
  })
})
