import { describeBrokerGatewayConformance } from '@vellab/broker-gateway/testing'
import { type SimRig, startRig } from './sim-harness'

// The contract's suite, run against the simulator over real HTTP and WebSocket in both
// environments. Paper runs at 10 requests/s on both sides so the suite stays fast; the documented
// 1/s is exercised in the rate-limit scenarios.
for (const env of ['real', 'paper'] as const) {
  describeBrokerGatewayConformance(
    `KisGateway on kis-sim (${env})`,
    async () => {
      const rig: SimRig = await startRig(env, {
        sim: { limits: { restPerSecond: { paper: 10 } } },
        config: { limits: { restPerSecond: env === 'paper' ? 10 : 18 } },
      })
      return {
        gateway: rig.gateway,
        account: rig.account,
        symbol: '005930',
        restingBuyPrice: 69_000,
        tickSize: 100,
        fill: async (id, quantity, price) => {
          rig.sim.control.fill(id, { qty: quantity, price })
        },
        close: rig.close,
        ready: () => rig.gateway.whenOrderEventsLive(8_000),
      }
    },
    { timeoutMs: 8_000 },
  )
}
