// Benchmark: p50/p99 latency of RiskGateway.check with 1,000 open orders and 500 symbols of recent
// activity, beside a no-op function timed the same way in the same run (the ratio removes timer
// overhead and machine speed from the comparison). Run with `pnpm bench` (builds dist first).
import { kstToEpochMs } from '../dist/index.js'
import { createRiskFixture } from '../dist/testing/index.js'

const NOW = kstToEpochMs('2026-11-24', '10:30')
const SYMBOLS = 500
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200_000)

const symbols = {}
for (let i = 0; i < SYMBOLS; i++) symbols[String(100_000 + i * 7).padStart(6, '0')] = 10_000 + i * 100
const names = Object.keys(symbols)
const f = await createRiskFixture({
  now: NOW,
  symbols,
  accounts: ['A1', 'A2'],
  gateway: {
    strategies: { s1: { sessions: ['regular'], venues: ['KRX', 'NXT'], entryCutoffMs: 60_000 } },
    limits: {
      global: { maxGrossExposure: 1e13, maxOrdersPerMinute: 100_000 },
      accounts: { A1: { maxOrderValue: 1e10, maxDailyLoss: 1e9 } },
      strategies: { s1: { maxPositionQuantity: 1e6 } },
    },
  },
})
const { state, gateway } = f

// 500 symbols of activity: a book, trades, and two resting orders each (1,000 open orders),
// plus some cancel traffic so the rings are populated.
let t = NOW - 120_000
let n = 0
for (const sym of names) {
  const base = symbols[sym]
  const tick = base < 20_000 ? 10 : 50
  const levels = (start, step) =>
    Array.from({ length: 10 }, (_, i) => ({ price: start + i * step, quantity: 500 }))
  state.applyBook({ symbol: sym, bids: levels(base - tick, -tick), asks: levels(base, tick), at: NOW })
  for (let k = 0; k < 5; k++) {
    state.applyTick({
      symbol: sym,
      price: base,
      quantity: 10,
      cumulativeVolume: 10 * (k + 1),
      aggressor: 'buy',
      at: t,
    })
  }
  for (const [side, px] of [
    ['buy', base - 5 * tick],
    ['sell', base + 5 * tick],
  ]) {
    const intent = f.intent({
      symbol: sym,
      side,
      limitPrice: px,
      account: side === 'buy' ? 'A1' : 'A2',
      quantity: 10,
    })
    state.recordSent({ kind: 'new', intent }, t)
    state.recordAck(intent.intentId, `O${++n}`)
    t += 100
  }
  const extra = f.intent({ symbol: sym, limitPrice: base - 8 * tick })
  state.recordSent({ kind: 'new', intent: extra }, t)
  state.recordAck(extra.intentId, `X${n}`)
  state.recordSent({ kind: 'cancel', brokerOrderId: `X${n}` }, t + 1_000)
  state.applyOrderEvent({
    type: 'canceled',
    eventId: `c${n}`,
    account: 'A1',
    brokerOrderId: `X${n}`,
    at: t + 1_000,
    canceledQuantity: 10,
  })
}
state.advanceTo(NOW)
for (const sym of names) state.applyQuote({ ...state.symbol(sym).quote, at: NOW })
let open = 0
for (const sym of names) open += state.openOrdersOn(sym).length

const requests = []
for (let i = 0; i < 1_024; i++) {
  const sym = names[(i * 37) % names.length]
  const base = symbols[sym]
  const tick = base < 20_000 ? 10 : 50
  const mod = i % 8
  if (mod === 6)
    requests.push({ kind: 'replace', brokerOrderId: `O${1 + ((i * 13) % 1_000)}`, patch: { quantity: 5 } })
  else if (mod === 7) requests.push({ kind: 'cancel', brokerOrderId: `O${1 + ((i * 17) % 1_000)}` })
  else
    requests.push({
      kind: 'new',
      intent: f.intent({ symbol: sym, limitPrice: base - 2 * tick, quantity: 10 }),
    })
}

const outcomes = {}
for (const r of requests) {
  const d = gateway.check(r, state)
  const key = `${r.kind}:${d.outcome}${d.reasons.length ? `(${d.reasons.map((x) => x.code).join(',')})` : ''}`
  outcomes[key] = (outcomes[key] ?? 0) + 1
}

let sink = 0
const noop = (r) => {
  sink ^= r.kind.length
  return sink
}
const checkFn = (r) => gateway.check(r, state)

function measure(fn, samples) {
  const out = new Float64Array(samples)
  for (let i = 0; i < samples; i++) {
    const r = requests[i & 1_023]
    const t0 = process.hrtime.bigint()
    fn(r)
    out[i] = Number(process.hrtime.bigint() - t0)
  }
  out.sort()
  const q = (p) => out[Math.min(samples - 1, Math.floor(p * samples))]
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: out[samples - 1] }
}

// warm up both paths, then measure interleaved halves so drift affects both equally
measure(checkFn, 50_000)
measure(noop, 50_000)
const half = Math.floor(SAMPLES / 2)
const c1 = measure(checkFn, half)
const n1 = measure(noop, half)
const c2 = measure(checkFn, half)
const n2 = measure(noop, half)
const pick = (a, b) => ({
  p50: Math.max(a.p50, b.p50),
  p99: Math.max(a.p99, b.p99),
  p999: Math.max(a.p999, b.p999),
  max: Math.max(a.max, b.max),
})
const check = pick(c1, c2)
const base = pick(n1, n2)
const us = (ns) => `${(ns / 1_000).toFixed(2)} µs`

console.log(
  `risk-kr check benchmark: ${open} open orders, ${names.length} symbols with activity, ${SAMPLES} samples each`,
)
console.log('request mix:', outcomes)
console.log(
  `check  p50 ${us(check.p50)}  p99 ${us(check.p99)}  p99.9 ${us(check.p999)}  max ${us(check.max)}`,
)
console.log(`no-op  p50 ${us(base.p50)}  p99 ${us(base.p99)}  p99.9 ${us(base.p999)}  max ${us(base.max)}`)
console.log(`ratio  p50 ${(check.p50 / base.p50).toFixed(1)}x  p99 ${(check.p99 / base.p99).toFixed(1)}x`)
console.log(
  `target: check p99 well under 50 µs → ${check.p99 < 50_000 ? 'met' : 'NOT met'} (${us(check.p99)})`,
)
if (sink === -1) console.log(sink)
