import { seededRandom } from '@vellab/broker-gateway'
import { runDemo } from './demo'

// Until the full runner (embedded Postgres + the in-process KIS simulator) lands, the main job is
// this demo of the contract on the in-memory paper broker.
const seed = Number(process.env.VELLAB_DEMO_SEED ?? 7)
const summary = await runDemo({ random: seededRandom(seed), log: (l) => console.log(l) })
console.log(JSON.stringify({ seed, ...summary }, null, 2))
