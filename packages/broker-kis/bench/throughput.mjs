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
  // `latency`: one spec (uplink), or { up, down } — added before the simulator handles a request
  // (the request's way there) and after (the answer's way back).
  const up = latency?.up ?? (latency && !('down' in latency) ? latency : undefined)
  const down = latency?.down
  if (up) sim.control.faults.add({ on: 'rest', effect: { type: 'latency', latency: up, phase: 'before' } })
  if (down) sim.control.faults.add({ on: 'rest', effect: { type: 'latency', latency: down, phase: 'after' } })
  await gateway.getQuote('005930') // token issuance outside the measurement
  sim.control.resetLedger()
  return { sim, gateway, events, appkey: app.appkey }
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
  const { sim, gateway, events, appkey } = await rig(latency)
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
  const ledger = sim.control.ledger()
  await gateway.close()
  await sim.close()
  return {
    ...summarise(`limiter, 4 callers${label}`, sustained(times, start, elapsed), rejected, lat),
    simViolations: ledger.rateViolations.length,
    maxArrivalsIn1s: ledger.maxRequestsPerSecond[appkey] ?? 0,
  }
}

async function withSleep(seconds, latency, label) {
  const { sim, gateway, events, appkey } = await rig(latency)
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
  const ledger = sim.control.ledger()
  await gateway.close()
  await sim.close()
  return {
    ...summarise(`fixed 50 ms sleep${label}`, sustained(times, start, elapsed), rejected, lat),
    simViolations: ledger.rateViolations.length,
    maxArrivalsIn1s: ledger.maxRequestsPerSecond[appkey] ?? 0,
  }
}

// Loopback (≈2 ms round trips) flatters the fixed sleep; KIS from outside Korea or over a busy link
// is tens of ms. The limiter must hold for any split of the round trip between the two directions,
// so the latency runs on the uplink only, the downlink only, and unevenly on both.
const WAN = { dist: 'normal', mean: 30, sd: 10 }
const ASYMMETRIC = { up: { dist: 'normal', mean: 35, sd: 15 }, down: { dist: 'exponential', mean: 5 } }

export async function benchThroughput({ seconds = 10 } = {}) {
  return [
    await withLimiter(seconds, undefined, ', loopback'),
    await withSleep(seconds, undefined, ', loopback'),
    await withLimiter(seconds, { up: WAN }, ', uplink +30±10 ms'),
    await withSleep(seconds, { up: WAN }, ', uplink +30±10 ms'),
    await withLimiter(seconds, { down: WAN }, ', downlink +30±10 ms'),
    await withLimiter(seconds, ASYMMETRIC, ', up 35±15 / down ~5 ms'),
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchThroughput())
}
