import type { Clock, TimerHandle } from '@vellab/broker-gateway'
import { createKisSim, type KisSim, type KisSimOptions, type SimAppInfo } from '@vellab/kis-sim'
import { waitUntil as until } from '@vellab/testkit/wait'
import { afterEach } from 'vitest'
import type { KisConfigInput } from '../src/config'
import type { KisEvent } from '../src/events'
import { createKisGateway, type KisGateway, type KisGatewayOptions } from '../src/gateway'

/** 2026-11-24 (Tuesday) 10:00 KST: inside the regular session. */
export const SIM_START = '2026-11-24 10:00:00'

export interface SimRig {
  sim: KisSim
  app: SimAppInfo
  account: string
  gateway: KisGateway
  events: KisEvent[]
  /** Another gateway on the same app and account (e.g. a restarted process); closed with the rig. */
  newGateway(): KisGateway
  close(): Promise<void>
}

/**
 * A simulator with a real-speed clock starting at SIM_START (so its virtual KST date is fixed) and
 * a gateway whose clock reads the simulator's time and uses host timers, so both agree on "today".
 */
export async function startRig(
  env: 'real' | 'paper',
  options: {
    sim?: KisSimOptions
    config?: Partial<KisConfigInput>
    gateway?: Partial<KisGatewayOptions>
    /**
     * Virtual ms per host ms when `sim.clock` is accelerated: the gateway's timers are scaled by it
     * so both sides keep one time (e.g. 10 minutes of stream silence in 6 s at 100).
     */
    speed?: number
  } = {},
): Promise<SimRig> {
  const sim = await createKisSim({
    clock: { mode: 'real', start: SIM_START },
    market: { priceModel: 'static', fillModel: 'manual' },
    ...options.sim,
  })
  const app = sim.apps.find((a) => a.env === env)
  if (!app) throw new Error(`simulator has no ${env} app`)
  const acct = app.accounts[0]!
  sim.control.seedAccount(acct.cano, { productCode: acct.productCode, cash: 100_000_000 })
  const account = `${acct.cano}-${acct.productCode}`
  // The simulator's virtual time (real mode runs at host speed with ms resolution), so jumps made
  // with control.clock.advance move both sides; timers are the host's.
  const clock: Clock = {
    now: () => sim.control.clock.now(),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms / (options.speed ?? 1)) as unknown as TimerHandle,
    clearTimeout: (h) => globalThis.clearTimeout(h as unknown as ReturnType<typeof setTimeout>),
  }
  const events: KisEvent[] = []
  const extra: KisGateway[] = []
  const make = (): KisGateway =>
    createKisGateway({
      config: {
        environment: env,
        appKey: app.appkey,
        appSecret: app.appsecret,
        account,
        htsId: app.htsId,
        restBaseUrl: sim.restUrl,
        wsUrl: `${sim.wsUrl}/tryitout`,
        ...options.config,
      },
      clock,
      onEvent: (e) => events.push(e),
      ...options.gateway,
    })
  const gateway = make()
  return {
    sim,
    app,
    account,
    gateway,
    events,
    newGateway: () => {
      const g = make()
      extra.push(g)
      return g
    },
    close: async () => {
      for (const g of extra) await g.close()
      await gateway.close()
      await sim.close()
    },
  }
}

/**
 * `startRig` for a test file whose every rig is closed after its test: call once at the top level
 * (it registers the `afterEach`), then start rigs in the tests with what it returns.
 */
export function rigsClosedAfterEach(): typeof startRig {
  const open: SimRig[] = []
  afterEach(async () => {
    for (let rig = open.pop(); rig; rig = open.pop()) await rig.close()
  })
  return async (env, options) => {
    const rig = await startRig(env, options)
    open.push(rig)
    return rig
  }
}

export { until }
