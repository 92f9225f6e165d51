/**
 * `kis-sim`: starts one simulator on fixed ports and prints its URLs and app keys.
 * Secrets are not printed; read them from `GET <rest>/__sim/apps` (loopback only).
 */
import { parseArgs } from 'node:util'
import { createKisSim } from './sim'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'rest-port': { type: 'string', default: '29443' },
    'ws-port': { type: 'string', default: '31000' },
    seed: { type: 'string', default: '1' },
    clock: { type: 'string', default: 'real' },
    start: { type: 'string' },
    speed: { type: 'string', default: '60' },
    limits: { type: 'string', default: '2026-04-20' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help) {
  process.stdout.write(`kis-sim — a local KIS Open API simulator

Options:
  --host <ip>          bind address (default 127.0.0.1)
  --rest-port <n>      REST port (default 29443)
  --ws-port <n>        WebSocket port (default 31000)
  --seed <n>           random seed (default 1)
  --clock <mode>       real | accelerated | manual (default real)
  --start <time>       virtual start, e.g. "2026-11-24 09:00:00" (KST)
  --speed <n>          virtual ms per real ms when accelerated (default 60)
  --limits <preset>    2026-04-20 (18/s real, 1/s paper) | legacy (20/2)
`)
  process.exit(0)
}

const mode = values.clock === 'manual' || values.clock === 'accelerated' ? values.clock : 'real'
const sim = await createKisSim({
  host: values.host,
  restPort: Number(values['rest-port']),
  wsPort: Number(values['ws-port']),
  seed: Number(values.seed),
  clock: { mode, speed: Number(values.speed), ...(values.start ? { start: values.start } : {}) },
  limits: { preset: values.limits === 'legacy' ? 'legacy' : '2026-04-20' },
})

const lines = [
  `kis-sim REST      ${sim.restUrl}`,
  `kis-sim WebSocket ${sim.wsUrl}`,
  `kis-sim control   ${sim.restUrl}/__sim/ (apps with secrets: GET /__sim/apps)`,
  ...sim.apps.map(
    (a) =>
      `  ${a.env.padEnd(5)} appkey ${a.appkey}  hts ${a.htsId}  accounts ${a.accounts.map((x) => `${x.cano}-${x.productCode}`).join(', ')}`,
  ),
]
process.stdout.write(`${lines.join('\n')}\n`)

const stop = (): void => {
  void sim.close().then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
