// H0STCNT0 decode throughput: parse + split + decode frames of 1 and 20 records (20 is the
// largest bundle observed, reference/kis-openapi.md §7.5). Prints records/s and per-frame
// latency percentiles. Run after `pnpm build`.
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

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

export function benchDecode({ seconds = 2 } = {}) {
  const results = []
  for (const count of [1, 20]) {
    const pool = frames(count, 512)
    // Warm up the JIT.
    for (let i = 0; i < 20_000 / count; i++) {
      const f = parseKisFrame(pool[i % pool.length])
      decodeTradeFrame(f.payload, f.count)
    }
    const lat = []
    let records = 0
    const start = performance.now()
    let i = 0
    while (performance.now() - start < seconds * 1000) {
      const t0 = performance.now()
      const f = parseKisFrame(pool[i++ % pool.length])
      const d = decodeTradeFrame(f.payload, f.count)
      lat.push(performance.now() - t0)
      records += d.items.length
    }
    const elapsed = (performance.now() - start) / 1000
    lat.sort((a, b) => a - b)
    results.push({
      recordsPerFrame: count,
      frames: lat.length,
      recordsPerSec: Math.round(records / elapsed),
      p50us: +(pct(lat, 50) * 1000).toFixed(2),
      p99us: +(pct(lat, 99) * 1000).toFixed(2),
      p999us: +(pct(lat, 99.9) * 1000).toFixed(2),
    })
  }
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchDecode())
}
