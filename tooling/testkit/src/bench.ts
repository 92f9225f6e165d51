/** Latency statistics of one measured operation, in microseconds. */
export interface LatencyStats {
  name: string
  samples: number
  meanUs: number
  p50Us: number
  p90Us: number
  p99Us: number
  maxUs: number
  /** Operations per second at the mean latency (one at a time). */
  opsPerSec: number
}

/** The q-quantile (0..1) of sorted numbers, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i] as number
}

/** Summarise durations given in nanoseconds. */
export function summarize(name: string, durationsNs: readonly number[]): LatencyStats {
  const us = durationsNs.map((n) => n / 1_000).sort((a, b) => a - b)
  const mean = us.reduce((a, b) => a + b, 0) / Math.max(1, us.length)
  return {
    name,
    samples: us.length,
    meanUs: mean,
    p50Us: quantile(us, 0.5),
    p90Us: quantile(us, 0.9),
    p99Us: quantile(us, 0.99),
    maxUs: us[us.length - 1] ?? Number.NaN,
    opsPerSec: mean > 0 ? 1e6 / mean : Number.POSITIVE_INFINITY,
  }
}

/**
 * Time `fn` `iterations` times after `warmup` unmeasured calls, one call at a time, with
 * `process.hrtime.bigint()`. For benchmark scripts only, never for assertions in unit tests.
 */
export async function measure(
  name: string,
  fn: (i: number) => unknown,
  options: { iterations?: number; warmup?: number } = {},
): Promise<LatencyStats> {
  const iterations = options.iterations ?? 1_000
  const warmup = options.warmup ?? Math.min(100, iterations)
  for (let i = 0; i < warmup; i++) await fn(i)
  const out = new Array<number>(iterations)
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i)
    out[i] = Number(process.hrtime.bigint() - t0)
  }
  return summarize(name, out)
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))

/** Print stats as an aligned table; the first row is the baseline for the `ratio` column (by p50). */
export function printTable(rows: readonly LatencyStats[], log: (line: string) => void = console.log): void {
  const base = rows[0]
  log(
    ['name'.padEnd(44), 'n', 'mean µs', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'ops/s', 'p50 ratio'].join(
      '\t',
    ),
  )
  for (const r of rows) {
    const ratio = base ? r.p50Us / base.p50Us : Number.NaN
    log(
      [
        r.name.padEnd(44),
        r.samples,
        fmt(r.meanUs),
        fmt(r.p50Us),
        fmt(r.p90Us),
        fmt(r.p99Us),
        fmt(r.maxUs),
        fmt(r.opsPerSec),
        `${ratio.toFixed(2)}×`,
      ].join('\t'),
    )
  }
}
