import { BrokerError } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { untilAnswered } from './retry'

function clock() {
  let t = 0
  const waits: number[] = []
  return {
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms)
      t += ms
    },
    waits,
  }
}

describe('untilAnswered', () => {
  it('waits what a throttled token names, then answers', async () => {
    const c = clock()
    let calls = 0
    const lines: string[] = []
    const v = await untilAnswered(
      'positions',
      async () => {
        calls += 1
        if (calls < 3)
          throw new BrokerError('rate_limited', 'token issuance throttled', { retryAfterMs: 60_000 })
        return 42
      },
      { now: c.now, sleep: c.sleep, log: (l) => lines.push(l) },
    )
    expect(v).toBe(42)
    expect(c.waits).toEqual([60_000, 60_000])
    expect(lines[0]).toMatch(/^positions: .*throttled; asking again in 60 s \(attempt 1\)$/)
  })

  it('never retries what is not retryable: an unknown outcome or a plain error throws at once', async () => {
    const c = clock()
    for (const err of [new BrokerError('unknown_outcome', 'timed out'), new Error('bug')]) {
      let calls = 0
      await expect(
        untilAnswered(
          'x',
          async () => {
            calls += 1
            throw err
          },
          { now: c.now, sleep: c.sleep },
        ),
      ).rejects.toBe(err)
      expect(calls).toBe(1)
    }
    expect(c.waits).toEqual([])
  })

  it('gives up with the last error once the deadline would pass, and when stopped', async () => {
    const c = clock()
    const err = new BrokerError('unavailable', '502')
    let calls = 0
    await expect(
      untilAnswered(
        'x',
        async () => {
          calls += 1
          throw err
        },
        { now: c.now, sleep: c.sleep, deadlineMs: 7_000, fallbackWaitMs: 2_000 },
      ),
    ).rejects.toBe(err)
    expect(c.waits).toEqual([2_000, 2_000, 2_000])
    expect(calls).toBe(4)
    const stop = new AbortController()
    stop.abort()
    await expect(
      untilAnswered('x', async () => Promise.reject(err), {
        now: c.now,
        sleep: c.sleep,
        signal: stop.signal,
      }),
    ).rejects.toBe(err)
  })
})
