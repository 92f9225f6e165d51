import {
  BrokerError,
  type BrokerOrderEvent,
  type Clock,
  type RandomSource,
  systemClock,
} from '@vellab/broker-gateway'
import { InMemoryBroker } from '@vellab/broker-gateway/testing/doubles'

export interface DemoOptions {
  clock?: Clock
  random: RandomSource
  /** Number of simulated prints. @default 200 */
  prints?: number
  log?: (line: string) => void
}

export interface DemoSummary {
  ordersPlaced: number
  events: Record<BrokerOrderEvent['type'], number>
  rejects: number
  position: number
  cash: number
  /** Cash + position at the last price minus the starting cash: the strategy's P&L. */
  pnl: number
}

const SYMBOL = '005930'
const ACCOUNT = 'DEMO-01'
const START_CASH = 50_000_000

/**
 * A small mean-reversion loop on the in-memory paper broker: it quotes a buy one tick below and a
 * sell one tick above the last print, re-quoting as the price walks. It exercises the contract
 * (intents, acks, events, cancels, rejects, positions, cash) end to end with no network.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const clock = options.clock ?? systemClock
  const log = options.log ?? (() => {})
  const broker = new InMemoryBroker({ clock, accounts: [{ account: ACCOUNT, cash: START_CASH }] })
  const events: DemoSummary['events'] = {
    accepted: 0,
    rejected: 0,
    filled: 0,
    canceled: 0,
    replaced: 0,
    expired: 0,
  }
  broker.streamOrderEvents(ACCOUNT, (e) => {
    events[e.type] += 1
    if (e.type === 'filled')
      log(`fill  ${e.side} ${e.fillQuantity} @ ${e.fillPrice} (order ${e.brokerOrderId})`)
  })

  let price = 70_000
  const tick = 100
  broker.setPrice(SYMBOL, price)
  let ordersPlaced = 0
  let rejects = 0
  let seq = 0
  const working = new Set<string>()
  for (let i = 0; i < (options.prints ?? 200); i++) {
    for (const id of working) {
      try {
        await broker.cancelOrder(id)
      } catch (e) {
        if (!BrokerError.isKind(e, 'rejected')) throw e // already filled: nothing to cancel
      }
    }
    working.clear()
    for (const side of ['buy', 'sell'] as const) {
      try {
        const ack = await broker.placeOrder({
          intentId: `demo-${++seq}`,
          account: ACCOUNT,
          strategyId: 'demo-mean-reversion',
          symbol: SYMBOL,
          side,
          quantity: 10,
          orderType: 'limit',
          limitPrice: side === 'buy' ? price - tick : price + tick,
        })
        ordersPlaced += 1
        working.add(ack.brokerOrderId)
      } catch (e) {
        if (!BrokerError.isKind(e, 'rejected')) throw e
        rejects += 1 // e.g. a sell with nothing to sell yet
      }
    }
    price += (options.random() < 0.5 ? -1 : 1) * tick
    broker.setPrice(SYMBOL, price, { liquidity: 10 })
    await new Promise((r) => setImmediate(r))
  }
  const cash = (await broker.getCash(ACCOUNT)).deposit
  const position = (await broker.getPositions(ACCOUNT)).find((p) => p.symbol === SYMBOL)?.quantity ?? 0
  return { ordersPlaced, events, rejects, position, cash, pnl: cash + position * price - START_CASH }
}
