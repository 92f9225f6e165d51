// Throughput benchmark for @vellab/kis-sim (run after `pnpm build`): REST requests/s over real
// HTTP keep-alive, and H0STCNT0 records/s delivered to a real `ws` client. Prints percentiles.
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { createKisSim } from '../dist/index.js'

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000)

function pct(sorted, p) {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
const fmt = (ms) => `${ms.toFixed(2)} ms`

async function benchRest() {
  const sim = await createKisSim({
    clock: { mode: 'manual', start: '2026-11-24 10:00:00' },
    limits: { restPerSecond: { real: 1e9 } },
    market: { priceModel: 'static' },
  })
  const app = sim.apps.find((a) => a.env === 'real')
  const tokRes = await fetch(`${sim.restUrl}/oauth2/tokenP`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', appkey: app.appkey, appsecret: app.appsecret }),
  })
  const { access_token } = await tokRes.json()
  const url = new URL(
    `${sim.restUrl}/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930`,
  )
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  const headers = {
    authorization: `Bearer ${access_token}`,
    appkey: app.appkey,
    appsecret: app.appsecret,
    tr_id: 'FHKST01010100',
    custtype: 'P',
  }
  const lat = []
  let errors = 0
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now()
      const req = request(url, { agent, headers }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode !== 200) errors++
          lat.push(performance.now() - t0)
          resolve()
        })
      })
      req.on('error', () => {
        errors++
        resolve()
      })
      req.end()
    })
  // warm-up
  for (let i = 0; i < 200; i++) await one()
  lat.length = 0
  const start = performance.now()
  const worker = async () => {
    while (performance.now() - start < DURATION_MS) await one()
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  const elapsed = performance.now() - start
  agent.destroy()
  await sim.close()
  lat.sort((a, b) => a - b)
  return {
    rps: (lat.length / elapsed) * 1000,
    n: lat.length,
    errors,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
  }
}

async function benchTicks() {
  const symbols = Array.from({ length: 40 }, (_, i) => ({
    code: String(100000 + i),
    basePrice: 50_000 + i * 100,
  }))
  const sim = await createKisSim({
    clock: { mode: 'manual', start: '2026-11-24 10:00:00' },
    symbols,
    market: { tickIntervalMs: 1, maxCatchUpSteps: 10_000 },
    ws: { pingIntervalMs: 0 },
  })
  const app = sim.apps.find((a) => a.env === 'real')
  const ak = await (
    await fetch(`${sim.restUrl}/oauth2/Approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        appkey: app.appkey,
        secretkey: app.appsecret,
      }),
    })
  ).json()
  const ws = new WebSocket(`${sim.wsUrl}/tryitout`)
  await new Promise((r) => ws.once('open', r))
  let records = 0
  let acks = 0
  let waiting
  let target = 0
  ws.on('message', (d) => {
    const s = d.toString()
    if (s.charCodeAt(0) === 123) {
      acks++
      return
    }
    const c = s.indexOf('|', 2)
    records += Number(s.slice(c + 1, c + 4))
    if (waiting && records >= target) {
      const w = waiting
      waiting = undefined
      w()
    }
  })
  for (const s of symbols) {
    ws.send(
      JSON.stringify({
        header: { approval_key: ak.approval_key, custtype: 'P', tr_type: '1', 'content-type': 'utf-8' },
        body: { input: { tr_id: 'H0STCNT0', tr_key: s.code } },
      }),
    )
  }
  while (acks < symbols.length) await new Promise((r) => setTimeout(r, 5))
  const STEP_MS = 25 // virtual ms per batch → 25 × 40 = 1,000 records
  const batchLat = []
  const start = performance.now()
  while (performance.now() - start < DURATION_MS) {
    const t0 = performance.now()
    target = records + STEP_MS * symbols.length
    const done = new Promise((r) => {
      waiting = r
    })
    sim.control.clock.advance(STEP_MS)
    await done
    batchLat.push(performance.now() - t0)
  }
  const elapsed = performance.now() - start
  ws.close()
  await sim.close()
  batchLat.sort((a, b) => a - b)
  return {
    rps: (records / elapsed) * 1000,
    n: records,
    batch: STEP_MS * symbols.length,
    p50: pct(batchLat, 50),
    p90: pct(batchLat, 90),
    p99: pct(batchLat, 99),
  }
}

const rest = await benchRest()
console.log(
  `REST inquire-price: ${rest.rps.toFixed(0)} req/s (${rest.n} requests, ${rest.errors} errors, 16 keep-alive connections) latency p50 ${fmt(rest.p50)} p90 ${fmt(rest.p90)} p99 ${fmt(rest.p99)}`,
)
const ticks = await benchTicks()
console.log(
  `WS H0STCNT0: ${ticks.rps.toFixed(0)} records/s (${ticks.n} records, 40 symbols, bundles of ≤20) batch-of-${ticks.batch} delivery p50 ${fmt(ticks.p50)} p90 ${fmt(ticks.p90)} p99 ${fmt(ticks.p99)}`,
)
const ok = rest.rps >= 2000 && ticks.rps >= 20000
console.log(ok ? 'targets met (≥ 2,000 req/s, ≥ 20,000 records/s)' : 'TARGETS MISSED')
process.exitCode = ok ? 0 : 1
