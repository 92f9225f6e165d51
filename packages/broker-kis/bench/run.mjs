// `pnpm bench`: the benchmarks in one run. Requires `pnpm build` of this package and of @vellab/kis-sim.
import { benchDecode } from './decode.mjs'
import { benchSteady } from './steady.mjs'
import { benchThroughput } from './throughput.mjs'

console.log('REST throughput vs. the 18/s real limit (kis-sim, same run):')
console.table(await benchThroughput({ seconds: Number(process.env.BENCH_SECONDS ?? 10) }))
console.log('H0STCNT0 decode throughput:')
console.table(benchDecode())
console.log('Steady state: a full WebSocket session (41 registrations) streaming from a kis-sim process:')
console.table([await benchSteady({ seconds: Number(process.env.BENCH_SECONDS ?? 20) })])
