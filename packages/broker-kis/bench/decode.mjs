// H0STCNT0 decode throughput against the floor of plain splitting, side by side in one run.
// Run after `pnpm build`.
import { performance } from 'node:perf_hooks'
import { decodeTradeFrame, parseKisFrame } from '../dist/index.js'
import { dataFrame, tradeRecord } from '../dist/testing/index.js'

function frames(count, n) {
  const out = []
  for (let f = 0; f < n; f++) {
    const recs = []
    for (let i = 0; i < count; i++) {
      const s = (f * count + i) % 36000
      const time = `${String(9 + Math.floor(s / 3600)).padStart(2, '0')}${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}${String(s % 60).padStart(2, '0')}`
      recs.push(
        tradeRecord({
          symbol: '005930',
          time,
          price: 70000 + (i % 50) * 100,
          volume: 1 + (i % 9),
          cumulative: 1000 + f * count + i,
          date: '20261124',
          side: i % 2 ? '1' : '5',
        }),
      )
    }
    out.push(dataFrame('H0STCNT0', recs))
  }
  return out
}

/** Frames per second of `fn` over `pool`, timed in batches (a clock read per batch, not per frame). */
function rate(pool, fn, ms) {
  const batch = 256
  let frames = 0
  let sink = 0
  const start = performance.now()
  let i = 0
  while (performance.now() - start < ms) {
    for (let k = 0; k < batch; k++) sink += fn(pool[i++ % pool.length])
    frames += batch
  }
  if (sink === -1) console.log('unreachable') // keeps the work observable to the JIT
  return frames / ((performance.now() - start) / 1000)
}

const ours = (raw) => {
  const f = parseKisFrame(raw)
  return decodeTradeFrame(f.payload, f.count).items.length
}
// The floor: splitting the same frame, no validation, no objects.
const split = (raw) => raw.split('|')[3].split('^').length

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Decode vs plain split on the same frames of 1 and 20 records (20 is the largest bundle observed,
 * reference/kis-openapi.md §7.5), five alternating runs each; the ratio is decode/split throughput
 * (goal ≥ 0.8). Per-frame cost from the median run.
 */
export function benchDecode({ ms = 400, runs = 5 } = {}) {
  const results = []
  for (const count of [1, 20]) {
    const pool = frames(count, 512)
    for (let w = 0; w < 3; w++) {
      rate(pool, ours, 100)
      rate(pool, split, 100)
    }
    const a = []
    const b = []
    for (let r = 0; r < runs; r++) {
      a.push(rate(pool, ours, ms))
      b.push(rate(pool, split, ms))
    }
    const decode = median(a)
    const plain = median(b)
    results.push({
      recordsPerFrame: count,
      decodeRecordsPerSec: Math.round(decode * count),
      splitRecordsPerSec: Math.round(plain * count),
      usPerFrameDecode: +(1e6 / decode).toFixed(2),
      usPerFrameSplit: +(1e6 / plain).toFixed(2),
      ratioToSplit: +(decode / plain).toFixed(2),
    })
  }
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchDecode())
}
