// Steady state with a full WebSocket session: 40 H0STCNT0 subscriptions plus the execution-notice
// subscription (KIS's 41 registrations per session, reference §7.1), ticks streaming from a kis-sim
// in another process, so the figures are this process's alone: the gateway's CPU (share of one
// core and microseconds per tick) and memory (RSS and heap, and their growth over the window).
// Run after `pnpm build` (this package and @vellab/kis-sim).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createKisGateway } from '../dist/index.js'

const SYMBOLS = 40

/** A kis-sim in its own process: 40 symbols printing every `tickIntervalMs` each. */
async function simProcess(tickIntervalMs) {
  const script = `
    import { createKisSim } from '@vellab/kis-sim'
    const symbols = Array.from({ length: ${SYMBOLS} }, (_, i) => ({ code: String(200000 + i), basePrice: 30_000 + i * 50 }))
    const sim = await createKisSim({
      clock: { mode: 'real', start: '2026-11-24 10:00:00' },
      symbols,
      market: { tickIntervalMs: ${tickIntervalMs}, viDurationMs: 0, fillModel: 'manual' },
    })
    const app = sim.apps.find((a) => a.env === 'real')
    console.log(JSON.stringify({ restUrl: sim.restUrl, wsUrl: sim.wsUrl, appkey: app.appkey, appsecret: app.appsecret,
      account: app.accounts[0].cano + '-' + app.accounts[0].productCode, htsId: app.htsId,
      offset: sim.control.clock.now() - Date.now(), codes: symbols.map((s) => s.code) }))
    process.on('SIGTERM', async () => { await sim.close(); process.exit(0) })
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [line] = await once(child.stdout.setEncoding('utf8'), 'data')
  return { child, info: JSON.parse(line) }
}

/**
 * @param {{ seconds?: number, warmupSeconds?: number, tickIntervalMs?: number }} [o]
 */
export async function benchSteady(o = {}) {
  const seconds = o.seconds ?? 20
  const { child, info } = await simProcess(o.tickIntervalMs ?? 50)
  const gateway = createKisGateway({
    config: {
      environment: 'real',
      appKey: info.appkey,
      appSecret: info.appsecret,
      account: info.account,
      htsId: info.htsId,
      restBaseUrl: info.restUrl,
      wsUrl: info.wsUrl,
    },
    clock: {
      now: () => Date.now() + info.offset,
      setTimeout: (f, ms) => setTimeout(f, ms),
      clearTimeout: (h) => clearTimeout(h),
    },
  })
  let ticks = 0
  try {
    const stopTicks = gateway.streamTicks(info.codes, () => {
      ticks++
    })
    // No orders are placed: this subscription is the session's 41st registration, idle.
    const stopEvents = gateway.streamOrderEvents(info.account, () => {})
    await gateway.whenOrderEventsLive(30_000)
    await new Promise((r) => setTimeout(r, (o.warmupSeconds ?? 5) * 1000))
    if (ticks === 0) throw new Error('no ticks arrived during the warm-up')
    globalThis.gc?.()
    const mem0 = process.memoryUsage()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const ticks0 = ticks
    const rssSamples = []
    const sampler = setInterval(() => rssSamples.push(process.memoryUsage().rss), 1000)
    await new Promise((r) => setTimeout(r, seconds * 1000))
    clearInterval(sampler)
    const wallMs = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const mem1 = process.memoryUsage()
    const n = ticks - ticks0
    const cpuMs = (cpu.user + cpu.system) / 1000
    stopTicks()
    stopEvents()
    rssSamples.sort((a, b) => a - b)
    const mb = (b) => (b / 1024 / 1024).toFixed(1)
    return {
      subscriptions: `${info.codes.length} H0STCNT0 + 1 notices`,
      'ticks/s': Math.round(n / (wallMs / 1000)),
      'CPU % of one core': ((cpuMs / wallMs) * 100).toFixed(1),
      'CPU µs per tick': n ? ((cpuMs * 1000) / n).toFixed(1) : '-',
      'RSS MB (p50 / max)': `${mb(rssSamples[Math.floor(rssSamples.length / 2)] ?? mem1.rss)} / ${mb(rssSamples.at(-1) ?? mem1.rss)}`,
      'heap MB (start → end)': `${mb(mem0.heapUsed)} → ${mb(mem1.heapUsed)}`,
      seconds,
    }
  } finally {
    await gateway.close()
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table([await benchSteady({ seconds: Number(process.env.BENCH_SECONDS ?? 20) })])
}
