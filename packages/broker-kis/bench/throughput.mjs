// Sustained REST throughput against @vellab/kis-sim as a fraction of the documented limit (real:
// 18/s), with the count of EGW00201 rejections, for (a) this package's limiter with 4 concurrent
// callers and (b) the official sample's approach: one call after another with a fixed 50 ms sleep
// (reference/kis-openapi.md §8). Same simulator, same run. Run after `pnpm build` (both packages).
import { createKisSim } from '@vellab/kis-sim'
import { createKisGateway } from '../dist/index.js'

const LIMIT = 18

async function rig(latency) {
  const sim = await createKisSim({
    clock: { mode: 'real', start: '2026-11-24 10:00:00' },
    market: { priceModel: 'static', fillModel: 'manual' },
  })
  const app = sim.apps.find((a) => a.env === 'real')
  const acct = app.accounts[0]
  const offset = sim.control.clock.now() - Date.now()
  const events = []
  const gateway = createKisGateway({
    config: {
      environment: 'real',
      appKey: app.appkey,
      appSecret: app.appsecret,
      account: `${acct.cano}-${acct.productCode}`,
      restBaseUrl: sim.restUrl,
      wsUrl: sim.wsUrl,
      // Measure raw behaviour: no retries hiding rejections.
      retry: { maxQueryRetries: 0 },
    },
    clock: {
      now: () => Date.now() + offset,
      setTimeout: (f, ms) => setTimeout(f, ms),
      clearTimeout: (h) => clearTimeout(h),
    },
    onEvent: (e) => events.push(e),
  })
  if (latency) sim.control.faults.add({ on: 'rest', effect: { type: 'latency', latency } })
  await gateway.getQuote('005930') // token issuance outside the measurement
  return { sim, gateway, events }
}

// Sustained rate: completions after the first two seconds (past the initial burst) per second.
function sustained(times, start, seconds) {
  const from = start + 2000
  const n = times.filter((t) => t >= from).length
  return n / (seconds - 2)
}

function summarise(name, ok, rejected, latencies) {
  latencies.sort((a, b) => a - b)
  const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  const rate = ok
  return {
    approach: name,
    okPerSec: +rate.toFixed(2),
    fractionOfLimit: +(rate / LIMIT).toFixed(3),
    EGW00201: rejected,
    p50ms: p(0.5),
    p99ms: p(0.99),
  }
}

async function withLimiter(seconds, latency, label) {
  const { sim, gateway, events } = await rig(latency)
  let rejected = 0
  const times = []
  const start = Date.now()
  const worker = async () => {
    while (Date.now() - start < seconds * 1000) {
      try {
        await gateway.getQuote('005930')
        times.push(Date.now())
      } catch (e) {
        if (e.brokerCode === 'EGW00201') rejected++
        else throw e
      }
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  const elapsed = (Date.now() - start) / 1000
  const lat = events.filter((e) => e.type === 'rest.request').map((e) => e.latencyMs)
  const violations = sim.control.ledger().rateViolations.length
  await gateway.close()
  await sim.close()
  return {
    ...summarise(`limiter, 4 callers${label}`, sustained(times, start, elapsed), rejected, lat),
    simViolations: violations,
  }
}

async function withSleep(seconds, latency, label) {
  const { sim, gateway, events } = await rig(latency)
  // The official sample's way: no limiter at all, a fixed 50 ms pause between calls.
  gateway.limiter.blockUntil(0)
  let rejected = 0
  const times = []
  const start = Date.now()
  while (Date.now() - start < seconds * 1000) {
    try {
      await gateway.rest.call({
        op: 'inquire-price',
        lane: 'market_data',
        operation: 'bench',
        query: { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' },
      })
      times.push(Date.now())
    } catch (e) {
      if (e.brokerCode === 'EGW00201') rejected++
      else throw e
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const elapsed = (Date.now() - start) / 1000
  const lat = events.filter((e) => e.type === 'rest.request').map((e) => e.latencyMs)
  const violations = sim.control.ledger().rateViolations.length
  await gateway.close()
  await sim.close()
  return {
    ...summarise(`fixed 50 ms sleep${label}`, sustained(times, start, elapsed), rejected, lat),
    simViolations: violations,
  }
}

// Loopback (≈2 ms round trips) flatters the fixed sleep; KIS from outside Korea or over a busy link
// is tens of ms, so the same pair also runs with a simulated ~30 ms (sd 10) server latency.
const WAN = { dist: 'normal', mean: 30, sd: 10 }

export async function benchThroughput({ seconds = 10 } = {}) {
  return [
    await withLimiter(seconds, undefined, ', loopback'),
    await withSleep(seconds, undefined, ', loopback'),
    await withLimiter(seconds, WAN, ', +30±10 ms'),
    await withSleep(seconds, WAN, ', +30±10 ms'),
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchThroughput())
}
