import type { BrokerOrderStatus, Clock } from '@vellab/broker-gateway'
import {
  KIS_MASTER_URLS,
  type KisConfig,
  type KisEnvironment,
  loadKisConfigFromEnv,
  parseKisConfig,
} from '@vellab/broker-kis'
import { createKisSim } from '@vellab/kis-sim'
import type { RunnerConfig } from './config'
import type { LedgerView } from './report'

/** The broker side of a session: where orders go, on which clock, and what can check the books. */
export interface BrokerSide {
  environment: KisEnvironment
  /** Where the broker is, for people: "simulated", "KIS", "kis-sim rehearsal at …". */
  where: string
  kisConfig: KisConfig
  account: string
  appkey: string
  /** Exchange time: what sessions, quote ages and order timestamps are measured in. */
  clock: Clock
  /** The broker's own ledger, when a simulator keeps one; undefined against KIS. */
  ledger(): Promise<LedgerView | undefined>
  /** Where the day's stock master file of a market is downloaded from. */
  masterUrl(market: 'KOSPI' | 'KOSDAQ'): string
  /** The broker's own books (a simulator's), for the books check where KIS cannot list orders. */
  books?: () => Promise<{ brokerOrderId: string; filledQuantity: number; status: BrokerOrderStatus }[]>
  close(): Promise<void>
}

const hostTimers = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

/** One simulator order as the control API reports it (in-process or over `/__sim/orders`). */
interface SimOrderLike {
  odno: string
  kind: string
  status: string
  filledQty: number
}

/** A simulator order's status in the contract's terms. */
function simStatus(o: SimOrderLike): BrokerOrderStatus {
  switch (o.status) {
    case 'filled':
      return 'filled'
    case 'cancelled':
    case 'replaced':
      return 'canceled'
    case 'expired':
      return 'expired'
    case 'rejected':
      return 'rejected'
    default:
      return o.filledQty > 0 ? 'partially_filled' : 'open'
  }
}

const booksOf = (orders: readonly SimOrderLike[]) =>
  orders.flatMap((o) =>
    o.kind === 'new' || o.kind === 'modify'
      ? [{ brokerOrderId: o.odno, filledQuantity: o.filledQty, status: simStatus(o) }]
      : [],
  )

/**
 * Connect the session to its broker:
 * - `sim`: an in-process kis-sim on a trading morning, in its `real` or `paper` environment.
 * - `paper`: KIS's paper environment (or any URL in `KIS_REST_URL`/`KIS_WS_URL`), with the
 *   credentials from the environment or secret files (`KIS_*`, see `@vellab/broker-kis`). With
 *   `VELLAB_REHEARSAL_SIM` (a kis-sim REST URL) the session is a rehearsal against a separately
 *   started simulator: it takes the simulator's clock and reads its ledger and books for the checks.
 */
export async function connectBroker(
  config: RunnerConfig,
  log: (line: string) => void,
  onSimulator?: (apps: readonly { appkey: string; appsecret: string }[]) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BrokerSide> {
  if (config.mode === 'sim') {
    // The in-process KIS simulator, its clock set to a trading morning and running at real speed.
    const sim = await createKisSim({ clock: { mode: 'accelerated', speed: 1, start: config.simStart } })
    const environment = config.simEnvironment
    const app = sim.apps.find((a) => a.env === environment)
    const simAccount = app?.accounts[0]
    if (!app || !simAccount) {
      await sim.close()
      throw new Error(`the simulator has no ${environment}-environment app`)
    }
    const account = `${simAccount.cano}-${simAccount.productCode}`
    log(`KIS simulator: REST ${sim.restUrl}, WebSocket ${sim.wsUrl}, account ${account}`)
    onSimulator?.(sim.apps)
    return {
      environment,
      where: 'simulated',
      kisConfig: parseKisConfig({
        environment,
        appKey: app.appkey,
        appSecret: app.appsecret,
        account,
        htsId: app.htsId,
        restBaseUrl: sim.restUrl,
        wsUrl: `${sim.wsUrl}/tryitout`,
      }),
      account,
      appkey: app.appkey,
      // Everything runs on exchange time, so sessions, quote ages and order timestamps agree.
      clock: sim.clientClock(),
      ledger: async () => sim.control.ledger(),
      masterUrl: (m) => `${sim.restUrl}/common/master/${m.toLowerCase()}_code.mst.zip`,
      books: async () => booksOf(sim.control.orders()),
      close: () => sim.close(),
    }
  }
  // `paper` or `real`: the same adapter, the environment's own URLs, limits and TR ids.
  const environment: KisEnvironment = config.mode
  if (env.KIS_ENV && env.KIS_ENV !== environment) {
    throw new Error(`VELLAB_MODE=${environment} but KIS_ENV=${env.KIS_ENV}: they must agree`)
  }
  // A restart may follow its predecessor's last request within a second; the broker counts both
  // against the appkey, so the first window after start is treated as spent.
  const kisConfig = loadKisConfigFromEnv({
    env: { ...env, KIS_ENV: environment },
    overrides: { limits: { holdFirstWindow: true } },
  })
  const rehearsal = config.rehearsalSimUrl?.replace(/\/+$/, '')
  if (!rehearsal) {
    log(`KIS ${environment} environment: REST ${kisConfig.restBaseUrl}, account ${kisConfig.account}`)
    return {
      environment,
      where: 'KIS',
      kisConfig,
      account: kisConfig.account,
      appkey: kisConfig.appKey,
      clock: { now: () => Date.now(), ...hostTimers },
      ledger: async () => undefined,
      masterUrl: (m) => KIS_MASTER_URLS[m],
      close: async () => {},
    }
  }
  // A rehearsal against a kis-sim process: its virtual clock (a trading morning, whatever the hour
  // here) becomes the session's, and its ledger and books judge the run.
  const control = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${rehearsal}${path}`)
    if (!r.ok) throw new Error(`kis-sim control ${path}: HTTP ${r.status}`)
    return (await r.json()) as T
  }
  const t0 = Date.now()
  const { now: simNow } = await control<{ now: number }>('/__sim/clock')
  const offset = simNow - Math.round((t0 + Date.now()) / 2)
  log(`KIS ${environment} rehearsal against kis-sim at ${rehearsal}: its clock runs ${offset} ms from ours`)
  return {
    environment,
    where: `kis-sim rehearsal at ${rehearsal}`,
    kisConfig,
    account: kisConfig.account,
    appkey: kisConfig.appKey,
    clock: { now: () => Date.now() + offset, ...hostTimers },
    ledger: () => control<LedgerView>('/__sim/ledger'),
    masterUrl: (m) => `${rehearsal}/common/master/${m.toLowerCase()}_code.mst.zip`,
    books: async () =>
      booksOf(await control<SimOrderLike[]>(`/__sim/orders?appkey=${encodeURIComponent(kisConfig.appKey)}`)),
    close: async () => {},
  }
}
