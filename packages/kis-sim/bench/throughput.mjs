// Throughput benchmark for @vellab/kis-sim (run after `pnpm build`): REST requests/s over real
// HTTP keep-alive, and H0STCNT0 records/s delivered to a real `ws` client, each on an empty
// simulator and with a reconcile-scale book loaded (10,000 resting orders and 500 positions in one
// account-day). Prints percentiles.
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

const BOOK_ORDERS = 10_000
const BOOK_POSITIONS = 500

/**
 * Loads the account-day the reconcile benchmark reads: BOOK_POSITIONS holdings and BOOK_ORDERS
 * resting buys (at the lower limit, so they stay open) spread over `orderSymbols`, where the
 * matching engine sees them on every trade.
 */
function loadBook(sim, orderSymbols) {
  const app = sim.apps.find((a) => a.env === 'real')
  const cano = app.accounts[0].cano
  const positions = []
  for (let i = 0; i < BOOK_POSITIONS; i++) {
    const code = String(300000 + i)
    sim.control.addSymbol({ code, basePrice: 10_000 })
    positions.push({ symbol: code, qty: 10 })
  }
  sim.control.seedAccount(cano, { cash: 1e13, positions })
  for (let i = 0; i < BOOK_ORDERS; i++) {
    const symbol = orderSymbols[i % orderSymbols.length]
    sim.control.placeExternalOrder(cano, {
      symbol,
      side: 'buy',
      qty: 1,
      price: sim.control.quote(symbol).lower,
    })
  }
  const open = sim.control.orders({ cano, status: 'open' }).length
  if (open !== BOOK_ORDERS) throw new Error(`book load: ${open} open orders, expected ${BOOK_ORDERS}`)
}

async function benchRest({ loaded, what }) {
  const sim = await createKisSim({
    clock: { mode: 'manual', start: '2026-11-24 10:00:00' },
    limits: { restPerSecond: { real: 1e9 } },
    market: { priceModel: 'static' },
  })
  if (loaded) loadBook(sim, ['005930'])
  const app = sim.apps.find((a) => a.env === 'real')
  const tokRes = await fetch(`${sim.restUrl}/oauth2/tokenP`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', appkey: app.appkey, appsecret: app.appsecret }),
  })
  const { access_token } = await tokRes.json()
  const cano = app.accounts[0].cano
  const url = new URL(
    what === 'daily-ccld'
      ? `${sim.restUrl}/uapi/domestic-stock/v1/trading/inquire-daily-ccld?CANO=${cano}&ACNT_PRDT_CD=01&INQR_STRT_DT=20261124&INQR_END_DT=20261124&SLL_BUY_DVSN_CD=00&INQR_DVSN=00&PDNO=&CCLD_DVSN=00&ORD_GNO_BRNO=&ODNO=&INQR_DVSN_3=00&INQR_DVSN_1=&CTX_AREA_FK100=&CTX_AREA_NK100=`
      : `${sim.restUrl}/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930`,
  )
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  const headers = {
    authorization: `Bearer ${access_token}`,
    appkey: app.appkey,
    appsecret: app.appsecret,
    tr_id: what === 'daily-ccld' ? 'TTTC0081R' : 'FHKST01010100',
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

async function benchTicks({ loaded }) {
  const symbols = Array.from({ length: 40 }, (_, i) => ({
    code: String(100000 + i),
    basePrice: 50_000 + i * 100,
  }))
  const sim = await createKisSim({
    clock: { mode: 'manual', start: '2026-11-24 10:00:00' },
    symbols,
    // No VIs: this measures delivery, and a symbol in a VI's auction prints nothing, so a batch
    // would never reach its record count (thousands of 1 ms steps drift past the 10 % static VI).
    market: { tickIntervalMs: 1, maxCatchUpSteps: 10_000, viDurationMs: 0 },
    ws: { pingIntervalMs: 0 },
  })
  if (loaded)
    loadBook(
      sim,
      symbols.map((s) => s.code),
    )
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

const results = []
for (const loaded of [false, true]) {
  const book = loaded
    ? `book loaded (${BOOK_ORDERS.toLocaleString('en')} open orders, ${BOOK_POSITIONS} positions)`
    : 'empty book'
  const rest = await benchRest({ loaded, what: 'price' })
  console.log(
    `REST inquire-price, ${book}: ${rest.rps.toFixed(0)} req/s (${rest.n} requests, ${rest.errors} errors, 16 keep-alive connections) latency p50 ${fmt(rest.p50)} p90 ${fmt(rest.p90)} p99 ${fmt(rest.p99)}`,
  )
  const ticks = await benchTicks({ loaded })
  console.log(
    `WS H0STCNT0, ${book}: ${ticks.rps.toFixed(0)} records/s (${ticks.n} records, 40 symbols, bundles of ≤20) batch-of-${ticks.batch} delivery p50 ${fmt(ticks.p50)} p90 ${fmt(ticks.p90)} p99 ${fmt(ticks.p99)}`,
  )
  results.push(rest.rps >= 2000 && rest.errors === 0 && ticks.rps >= 20000)
  if (loaded) {
    const daily = await benchRest({ loaded, what: 'daily-ccld' })
    console.log(
      `REST inquire-daily-ccld first page of ${BOOK_ORDERS.toLocaleString('en')} orders, ${book}: ${daily.rps.toFixed(0)} req/s (${daily.errors} errors) latency p50 ${fmt(daily.p50)} p99 ${fmt(daily.p99)} (informational)`,
    )
  }
}
const ok = results.every(Boolean)
console.log(ok ? 'targets met, empty and loaded (≥ 2,000 req/s, ≥ 20,000 records/s)' : 'TARGETS MISSED')
process.exitCode = ok ? 0 : 1
