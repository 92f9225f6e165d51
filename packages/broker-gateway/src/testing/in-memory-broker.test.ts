import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { capabilitiesOf, FULL_CAPABILITIES, isNotSupportedInEnvironment } from '../capabilities'
import type { BrokerOrderEvent } from '../domain'
import { BrokerError } from '../errors'
import { describeBrokerGatewayConformance } from './conformance'
import { InMemoryBroker } from './in-memory-broker'
import { flushMicrotasks, ManualClock } from './manual-clock'

const SYM = '005930'
const intent = (over: Record<string, unknown> = {}) => ({
  intentId: `i-${Math.random().toString(36).slice(2)}`,
  account: 'A',
  strategyId: 's',
  symbol: SYM,
  side: 'buy' as const,
  quantity: 10,
  orderType: 'limit' as const,
  limitPrice: 69_000,
  ...over,
})

function setup(
  cash = 10_000_000,
  positions: { symbol: string; quantity: number; averagePrice: number }[] = [],
) {
  const clock = new ManualClock(Date.parse('2026-11-24T01:00:00Z'))
  const broker = new InMemoryBroker({ clock, accounts: [{ account: 'A', cash, positions }] })
  broker.setPrice(SYM, 70_000)
  const events: BrokerOrderEvent[] = []
  broker.streamOrderEvents('A', (e) => events.push(e))
  return { clock, broker, events }
}

describeBrokerGatewayConformance('InMemoryBroker', async () => {
  const broker = new InMemoryBroker({ accounts: [{ account: 'A', cash: 100_000_000 }] })
  broker.setPrice(SYM, 70_000)
  return {
    gateway: broker,
    account: 'A',
    symbol: SYM,
    restingBuyPrice: 69_000,
    tickSize: 100,
    fill: async (id, q, p) => broker.fill(id, q, p),
    close: async () => {},
  }
})

// A broker whose environment cannot list orders or fills (KIS paper as reported, reference §7.10).
describeBrokerGatewayConformance('InMemoryBroker without order or fill listing', async () => {
  const broker = new InMemoryBroker({
    accounts: [{ account: 'A', cash: 100_000_000 }],
    capabilities: { listOrders: false, listFills: false, perExecutionFills: false },
  })
  broker.setPrice(SYM, 70_000)
  return {
    gateway: broker,
    account: 'A',
    symbol: SYM,
    restingBuyPrice: 69_000,
    tickSize: 100,
    fill: async (id, q, p) => broker.fill(id, q, p),
    close: async () => {},
  }
})

describe('InMemoryBroker capabilities', () => {
  it('declares everything by default and refuses, with a typed error, what it was told it cannot answer', async () => {
    expect(capabilitiesOf(new InMemoryBroker())).toEqual(FULL_CAPABILITIES)
    const broker = new InMemoryBroker({
      accounts: [{ account: 'A', cash: 1_000_000 }],
      capabilities: { listOrders: false, cash: false },
    })
    expect(capabilitiesOf(broker)).toMatchObject({ listOrders: false, cash: false, listFills: true })
    for (const q of [
      () => broker.getOrders('A'),
      () => broker.getOpenOrders('A'),
      () => broker.getCash('A'),
    ]) {
      const err = await q().catch((e: unknown) => e)
      expect(isNotSupportedInEnvironment(err)).toBe(true)
      expect(BrokerError.isKind(err, 'invalid_request')).toBe(true)
      expect(String(err)).toContain('not supported in this environment')
    }
    await expect(broker.getFills('A')).resolves.toEqual([])
    expect(isNotSupportedInEnvironment(new BrokerError('invalid_request', 'x'))).toBe(false)
  })
})

describe('InMemoryBroker', () => {
  it('rests a buy below the market and fills it when a print crosses, at the print price', async () => {
    const { broker, events } = setup()
    const ack = await broker.placeOrder(intent())
    broker.setPrice(SYM, 69_500)
    expect((await broker.getOpenOrders('A'))[0]?.filledQuantity).toBe(0)
    broker.setPrice(SYM, 68_900, { liquidity: 4 })
    await flushMicrotasks()
    const [o] = await broker.getOrders('A')
    expect(o).toMatchObject({
      brokerOrderId: ack.brokerOrderId,
      filledQuantity: 4,
      status: 'partially_filled',
    })
    expect(events.map((e) => e.type)).toEqual(['accepted', 'filled'])
    expect(events[1]).toMatchObject({
      fillPrice: 68_900,
      cumulativeQuantity: 4,
      eventId: `${ack.brokerOrderId}:4`,
    })
  })

  it('fills a marketable or market order at once and expires IOC remainders', async () => {
    const { broker } = setup()
    await broker.placeOrder(intent({ orderType: 'market', limitPrice: undefined }))
    await broker.placeOrder(intent({ timeInForce: 'ioc', limitPrice: 60_000 }))
    const orders = await broker.getOrders('A')
    expect(orders.map((o) => o.status)).toEqual(['filled', 'expired'])
    expect(orders[0]?.averageFillPrice).toBe(70_000)
  })

  it('reserves cash for open buys and shares for open sells, and rejects beyond them', async () => {
    const { broker } = setup(1_000_000, [{ symbol: SYM, quantity: 5, averagePrice: 60_000 }])
    await broker.placeOrder(intent({ quantity: 10, limitPrice: 60_000 }))
    expect((await broker.getCash('A')).orderable).toBe(400_000)
    await expect(broker.placeOrder(intent({ quantity: 7, limitPrice: 60_000 }))).rejects.toSatisfy(
      (e: unknown) => BrokerError.isKind(e, 'rejected'),
    )
    await broker.placeOrder(intent({ side: 'sell', quantity: 3, limitPrice: 80_000 }))
    expect((await broker.getPositions('A'))[0]).toMatchObject({ quantity: 5, sellableQuantity: 2 })
    await expect(
      broker.placeOrder(intent({ side: 'sell', quantity: 3, limitPrice: 80_000 })),
    ).rejects.toThrow(/insufficient sellable/)
  })

  it('replaces with a new id that inherits the remaining quantity, and cancel frees the reservation', async () => {
    const { broker, events } = setup()
    const ack = await broker.placeOrder(intent({ quantity: 10 }))
    broker.fill(ack.brokerOrderId, 4)
    const r = await broker.replaceOrder(ack.brokerOrderId, { limitPrice: 68_000 })
    const open = await broker.getOpenOrders('A')
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({
      brokerOrderId: r.newBrokerOrderId,
      predecessorId: ack.brokerOrderId,
      quantity: 6,
    })
    await expect(broker.replaceOrder(r.newBrokerOrderId, { quantity: 7 })).rejects.toThrow(/cannot grow/)
    await broker.cancelOrder(r.newBrokerOrderId)
    await flushMicrotasks()
    expect((await broker.getCash('A')).orderable).toBe((await broker.getCash('A')).deposit)
    expect(events.map((e) => e.type)).toEqual(['accepted', 'filled', 'replaced', 'accepted', 'canceled'])
  })

  it('counts submissions per intentId instead of silently deduplicating', async () => {
    const { broker } = setup()
    const i = intent()
    await broker.placeOrder(i)
    await broker.placeOrder(i)
    expect(broker.submissions(i.intentId)).toBe(2)
  })

  it('injects a lost response: the order exists, the caller sees unknown_outcome', async () => {
    const { broker } = setup()
    broker.injectFault('placeOrder', { kind: 'unknown_outcome', commit: true })
    const i = intent()
    await expect(broker.placeOrder(i)).rejects.toSatisfy((e: unknown) =>
      BrokerError.isKind(e, 'unknown_outcome'),
    )
    expect(broker.submissions(i.intentId)).toBe(1)
    expect(await broker.getOpenOrders('A')).toHaveLength(1)
    broker.injectFault('getOpenOrders', { kind: 'unavailable' })
    await expect(broker.getOpenOrders('A')).rejects.toSatisfy((e: unknown) =>
      BrokerError.isKind(e, 'unavailable'),
    )
    expect(await broker.getOpenOrders('A')).toHaveLength(1)
  })

  it('expires working day orders at the end of the day and filters queries by KST date', async () => {
    const { broker, clock } = setup()
    await broker.placeOrder(intent())
    broker.expireDay()
    expect((await broker.getOrders('A'))[0]?.status).toBe('expired')
    clock.advance(24 * 3_600_000)
    expect(await broker.getOrders('A')).toHaveLength(0)
    expect(await broker.getOrders('A', { from: '2026-11-24' })).toHaveLength(1)
  })

  it('publishes ticks and books to subscribers until unsubscribed', async () => {
    const { broker } = setup()
    const ticks: number[] = []
    const books: number[] = []
    const stopT = broker.streamTicks([SYM], (t) => ticks.push(t.price))
    const stopB = broker.streamOrderBooks([SYM], (b) => books.push(b.bids.length))
    broker.setPrice(SYM, 70_100)
    broker.publishBook({
      symbol: SYM,
      asks: [{ price: 70_200, quantity: 5 }],
      bids: [{ price: 70_100, quantity: 3 }],
    })
    await flushMicrotasks()
    stopT()
    stopB()
    stopT()
    broker.setPrice(SYM, 70_200)
    await flushMicrotasks()
    expect(ticks).toEqual([70_100])
    expect(books).toEqual([1])
  })

  it('reports quotes with state flags set by the test', async () => {
    const { broker } = setup()
    broker.setQuote(SYM, { state: { halted: true } })
    const q = await broker.getQuote(SYM)
    expect(q).toMatchObject({
      lastPrice: 70_000,
      basePrice: 70_000,
      upperLimit: 91_000,
      lowerLimit: 49_000,
      tickSize: 100,
    })
    expect(q.state.halted).toBe(true)
    await expect(broker.placeOrder(intent())).rejects.toThrow(/halted/)
    await expect(broker.getQuote('000660')).rejects.toThrow(/no market data/)
  })
})

// Property tests: random interleavings of orders, prints, forced fills, cancels and replaces.
type Op =
  | { op: 'buy' | 'sell'; qty: number; px: number }
  | { op: 'print'; px: number; liq: number }
  | { op: 'cancel' | 'fill'; pick: number; qty: number }
  | { op: 'replace'; pick: number; px: number }

const priceArb = fc.integer({ min: 650, max: 750 }).map((x) => x * 100)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('buy' as const, 'sell' as const),
    qty: fc.integer({ min: 1, max: 20 }),
    px: priceArb,
  }),
  fc.record({ op: fc.constant('print' as const), px: priceArb, liq: fc.integer({ min: 0, max: 30 }) }),
  fc.record({
    op: fc.constantFrom('cancel' as const, 'fill' as const),
    pick: fc.nat(),
    qty: fc.integer({ min: 1, max: 20 }),
  }),
  fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), px: priceArb }),
)

async function run(ops: Op[]) {
  const start = { cash: 50_000_000, held: 100 }
  const broker = new InMemoryBroker({
    clock: new ManualClock(1),
    accounts: [
      {
        account: 'A',
        cash: start.cash,
        positions: [{ symbol: SYM, quantity: start.held, averagePrice: 70_000 }],
      },
    ],
  })
  broker.setPrice(SYM, 70_000)
  let n = 0
  for (const o of ops) {
    const open = await broker.getOpenOrders('A')
    const target = open.length ? open[('pick' in o ? o.pick : 0) % open.length] : undefined
    try {
      if (o.op === 'buy' || o.op === 'sell') {
        await broker.placeOrder({
          intentId: `p${n++}`,
          account: 'A',
          strategyId: 's',
          symbol: SYM,
          side: o.op,
          quantity: o.qty,
          orderType: 'limit',
          limitPrice: o.px,
        })
      } else if (o.op === 'print') broker.setPrice(SYM, o.px, { liquidity: o.liq })
      else if (o.op === 'cancel' && target) await broker.cancelOrder(target.brokerOrderId)
      else if (o.op === 'fill' && target)
        broker.fill(target.brokerOrderId, Math.min(o.qty, target.remainingQuantity))
      else if (o.op === 'replace' && target)
        await broker.replaceOrder(target.brokerOrderId, { limitPrice: o.px })
    } catch (e) {
      if (!BrokerError.isKind(e, 'rejected')) throw e
    }
  }
  return { broker, start }
}

describe('InMemoryBroker properties', () => {
  it('never fills more than ordered and keeps every order consistent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        const { broker } = await run(ops)
        for (const o of await broker.getOrders('A')) {
          expect(o.filledQuantity).toBeLessThanOrEqual(o.quantity)
          expect(o.filledQuantity + o.remainingQuantity).toBeLessThanOrEqual(o.quantity)
          if (o.status === 'filled') expect(o.filledQuantity).toBe(o.quantity)
        }
        const fills = await broker.getFills('A')
        const byOrder = new Map<string, number>()
        for (const f of fills) byOrder.set(f.brokerOrderId, (byOrder.get(f.brokerOrderId) ?? 0) + f.quantity)
        for (const o of await broker.getOrders('A'))
          expect(byOrder.get(o.brokerOrderId) ?? 0).toBe(o.filledQuantity)
      }),
      { numRuns: 150 },
    )
  })

  it('conserves cash + position value except for fills away from the mark', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), priceArb, async (ops, mark) => {
        const { broker, start } = await run(ops)
        const cash = (await broker.getCash('A')).deposit
        const held = (await broker.getPositions('A')).find((p) => p.symbol === SYM)?.quantity ?? 0
        const fills = await broker.getFills('A')
        // Each fill moves value by quantity × (mark − price), signed by side; nothing else moves it.
        const drift = fills.reduce(
          (a, f) => a + (f.side === 'buy' ? 1 : -1) * f.quantity * (mark - f.price),
          0,
        )
        expect(cash + held * mark).toBe(start.cash + start.held * mark + drift)
        expect(held).toBeGreaterThanOrEqual(0)
        expect((await broker.getCash('A')).orderable).toBeLessThanOrEqual(cash)
        const pos = (await broker.getPositions('A'))[0]
        if (pos) expect(pos.sellableQuantity).toBeGreaterThanOrEqual(0)
      }),
      { numRuns: 150 },
    )
  })
})
