import { describe, expect, it } from 'vitest'
import { quantile, summarize } from './bench'

describe('bench statistics', () => {
  it('computes nearest-rank quantiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(quantile(xs, 0.5)).toBe(50)
    expect(quantile(xs, 0.99)).toBe(99)
    expect(quantile(xs, 1)).toBe(100)
    expect(quantile([], 0.5)).toBeNaN()
  })

  it('summarises nanosecond durations in microseconds', () => {
    const s = summarize('x', [3_000, 1_000, 2_000, 4_000])
    expect(s).toMatchObject({ samples: 4, meanUs: 2.5, p50Us: 2, p99Us: 4, maxUs: 4, opsPerSec: 400_000 })
  })
})
