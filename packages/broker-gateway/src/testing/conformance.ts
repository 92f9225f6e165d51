import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capabilitiesOf, isNotSupportedInEnvironment } from '../capabilities'
import type { BrokerOrderEvent } from '../domain'
import {
  BrokerOrderEventSchema,
  BrokerOrderSchema,
  CashBalanceSchema,
  FillSchema,
  PositionSchema,
  QuoteSchema,
} from '../domain'
import { BrokerError } from '../errors'
import type { BrokerGateway } from '../gateway'

/**
 * What an adapter's test provides to the conformance suite: the gateway under test plus a way to
 * make the venue trade against an order.
 */
export interface ConformanceHarness {
  gateway: BrokerGateway
  /** An account with enough cash for a few hundred thousand KRW of buys and no open orders. */
  account: string
  /** A tradable symbol with a known price. */
  symbol: string
  /**
   * A buy limit price on the tick grid, inside the daily limits, below the market: a buy there
   * rests without filling until `fill` is called.
   */
  restingBuyPrice: number
  /** The tick size at `restingBuyPrice`. */
  tickSize: number
  /** Make the venue execute `quantity` shares of the order at `price`. */
  fill(brokerOrderId: string, quantity: number, price: number): Promise<void>
  /** Release everything the harness started. */
  close(): Promise<void>
  /**
   * Resolves when the order-event stream the suite opened is live (called once, after
   * `streamOrderEvents`). A broker that cannot list orders cannot catch up events sent before
   * that, so the suite places nothing earlier.
   */
  ready?(): Promise<void>
}

export interface ConformanceOptions {
  /** How long to wait for an asynchronous event or state change. @default 5_000 */
  timeoutMs?: number
  /** Per-test timeout. @default 30_000 */
  testTimeoutMs?: number
}

/**
 * A reusable vitest suite that every `BrokerGateway` implementation must pass: the order
 * lifecycle, cancel of a partially filled order, replace, rejects, event ordering, and idempotent
 * reads. Call it at the top level of a test file.
 *
 * A gateway that declares `capabilities` is held to them: each query it says it cannot answer must
 * reject with `notSupportedInEnvironment` (never answer an empty list), and the lifecycle is then
 * checked through the event stream alone.
 *
 * @example
 * ```ts
 * describeBrokerGatewayConformance('InMemoryBroker', async () => {
 *   const broker = new InMemoryBroker({ accounts: [{ account: 'A', cash: 100_000_000 }] })
 *   broker.setPrice('005930', 70_000)
 *   return { gateway: broker, account: 'A', symbol: '005930', restingBuyPrice: 69_000, tickSize: 100,
 *     fill: async (id, q, p) => broker.fill(id, q, p), close: async () => {} }
 * })
 * ```
 */
export function describeBrokerGatewayConformance(
  name: string,
  setup: () => Promise<ConformanceHarness>,
  options: ConformanceOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 5_000
  const testTimeout = options.testTimeoutMs ?? 30_000

  describe(`BrokerGateway conformance: ${name}`, () => {
    let h: ConformanceHarness
    const events: BrokerOrderEvent[] = []
    let stop: (() => void) | undefined
    let seq = 0
    const intentId = () => `conf-${Date.now().toString(36)}-${++seq}`

    beforeAll(async () => {
      h = await setup()
      stop = h.gateway.streamOrderEvents(h.account, (e) => events.push(e))
      await h.ready?.()
    }, 60_000)
    afterAll(async () => {
      stop?.()
      await h?.close()
    }, 60_000)

    const eventsOf = (id: string) => events.filter((e) => e.brokerOrderId === id)
    const waitFor = async <T>(
      what: string,
      probe: () => Promise<T | undefined> | T | undefined,
    ): Promise<T> => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const v = await probe()
        if (v !== undefined && v !== false) return v
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const buy = (quantity: number, price = h.restingBuyPrice) =>
      h.gateway.placeOrder({
        intentId: intentId(),
        account: h.account,
        strategyId: 'conformance',
        symbol: h.symbol,
        side: 'buy',
        quantity,
        orderType: 'limit',
        limitPrice: price,
      })
    const openOrder = async (id: string) =>
      (await h.gateway.getOpenOrders(h.account)).find((o) => o.brokerOrderId === id)
    const caps = () => capabilitiesOf(h.gateway)
    const notSupported = (e: unknown) => isNotSupportedInEnvironment(e)

    it(
      'acks a resting limit order, reports it accepted, and lists it as open',
      async () => {
        const ack = await buy(3)
        expect(ack.brokerOrderId).toMatch(/.+/)
        expect(ack.acceptedAt).toBeGreaterThan(0)
        await waitFor('accepted event', () => eventsOf(ack.brokerOrderId).find((e) => e.type === 'accepted'))
        if (caps().listOrders) {
          const open = await waitFor('the order in getOpenOrders', () => openOrder(ack.brokerOrderId))
          expect(BrokerOrderSchema.parse(open)).toMatchObject({
            symbol: h.symbol,
            side: 'buy',
            quantity: 3,
            limitPrice: h.restingBuyPrice,
            filledQuantity: 0,
            remainingQuantity: 3,
            status: 'open',
          })
        } else {
          await expect(h.gateway.getOpenOrders(h.account)).rejects.toSatisfy(notSupported)
        }
        for (const e of eventsOf(ack.brokerOrderId)) BrokerOrderEventSchema.parse(e)
        await h.gateway.cancelOrder(ack.brokerOrderId, { account: h.account, symbol: h.symbol })
        await waitFor('canceled event', () => eventsOf(ack.brokerOrderId).find((e) => e.type === 'canceled'))
      },
      testTimeout,
    )

    it(
      'cancels the rest of a partially filled order and keeps the filled part',
      async () => {
        const ack = await buy(5)
        const id = ack.brokerOrderId
        await waitFor('accepted', () => eventsOf(id).find((e) => e.type === 'accepted'))
        await h.fill(id, 2, h.restingBuyPrice)
        const fill = await waitFor('fill event', () => eventsOf(id).find((e) => e.type === 'filled'))
        expect(fill).toMatchObject({
          type: 'filled',
          cumulativeQuantity: 2,
          fillQuantity: 2,
          fillPrice: h.restingBuyPrice,
        })
        if (caps().listOrders) {
          const partial = await waitFor('partial state', async () => {
            const o = await openOrder(id)
            return o?.filledQuantity === 2 ? o : undefined
          })
          expect(partial).toMatchObject({ status: 'partially_filled', remainingQuantity: 3 })
        }
        const cack = await h.gateway.cancelOrder(id, { account: h.account, symbol: h.symbol })
        expect(cack.brokerOrderId).toBe(id)
        const canceled = await waitFor('canceled event', () =>
          eventsOf(id).find((e) => e.type === 'canceled'),
        )
        expect(canceled).toMatchObject({ canceledQuantity: 3 })
        if (caps().listOrders) {
          await waitFor('order gone from open orders', async () => ((await openOrder(id)) ? undefined : true))
          const done = await waitFor('the order in getOrders', async () =>
            (await h.gateway.getOrders(h.account, { state: 'all' })).find(
              (o) => o.brokerOrderId === id && o.status === 'canceled',
            ),
          )
          expect(done).toMatchObject({ filledQuantity: 2, remainingQuantity: 0 })
        }
        if (caps().listFills) {
          const fills = await h.gateway.getFills(h.account, { brokerOrderId: id })
          expect(fills.map((f) => FillSchema.parse(f).quantity).reduce((a, b) => a + b, 0)).toBe(2)
        }
      },
      testTimeout,
    )

    it(
      'fills an order completely, moving position and cash',
      async () => {
        const { positions, cash, listOrders, listFills } = caps()
        const before = positions ? await h.gateway.getPositions(h.account) : []
        const heldBefore = before.find((p) => p.symbol === h.symbol)?.quantity ?? 0
        const cashBefore = cash ? CashBalanceSchema.parse(await h.gateway.getCash(h.account)) : undefined
        const ack = await buy(4)
        const id = ack.brokerOrderId
        await waitFor('accepted', () => eventsOf(id).find((e) => e.type === 'accepted'))
        await h.fill(id, 1, h.restingBuyPrice)
        await waitFor('first fill', () =>
          eventsOf(id).find((e) => e.type === 'filled' && e.cumulativeQuantity === 1),
        )
        await h.fill(id, 3, h.restingBuyPrice)
        await waitFor('second fill', () =>
          eventsOf(id).find((e) => e.type === 'filled' && e.cumulativeQuantity === 4),
        )
        if (listOrders) {
          const order = await waitFor('filled order', async () =>
            (await h.gateway.getOrders(h.account)).find(
              (o) => o.brokerOrderId === id && o.status === 'filled',
            ),
          )
          expect(order).toMatchObject({
            filledQuantity: 4,
            remainingQuantity: 0,
            averageFillPrice: h.restingBuyPrice,
          })
        }
        if (positions) {
          const pos = await waitFor('position', async () => {
            const p = (await h.gateway.getPositions(h.account)).find((x) => x.symbol === h.symbol)
            return p && p.quantity === heldBefore + 4 ? p : undefined
          })
          PositionSchema.parse(pos)
        }
        if (cashBefore) {
          const cashAfter = CashBalanceSchema.parse(await h.gateway.getCash(h.account))
          // Settlement timing differs between brokers: at least one of deposit/D+2 reflects the cost.
          const cost = 4 * h.restingBuyPrice
          expect(
            cashBefore.deposit - cashAfter.deposit === cost || cashBefore.d2 - cashAfter.d2 >= cost,
          ).toBe(true)
        }
        if (listFills) {
          const fills = await h.gateway.getFills(h.account, { brokerOrderId: id })
          expect(fills.reduce((a, f) => a + f.quantity, 0)).toBe(4)
          expect(Math.max(...fills.map((f) => f.cumulativeQuantity))).toBe(4)
        }
      },
      testTimeout,
    )

    it(
      'replaces a resting order with a new broker id linked to the original',
      async () => {
        const ack = await buy(2)
        const id = ack.brokerOrderId
        await waitFor('accepted', () => eventsOf(id).find((e) => e.type === 'accepted'))
        const newPrice = h.restingBuyPrice - h.tickSize
        const rack = await h.gateway.replaceOrder(
          id,
          { limitPrice: newPrice },
          { account: h.account, symbol: h.symbol },
        )
        expect(rack.brokerOrderId).toBe(id)
        expect(rack.newBrokerOrderId).not.toBe(id)
        if (caps().listOrders) {
          const replacement = await waitFor('replacement in open orders', () =>
            openOrder(rack.newBrokerOrderId),
          )
          expect(replacement).toMatchObject({ limitPrice: newPrice, remainingQuantity: 2, predecessorId: id })
          await waitFor('original leaves open orders', async () => ((await openOrder(id)) ? undefined : true))
        } else {
          await waitFor('the replacement on the stream', () =>
            events.find((e) => e.brokerOrderId === rack.newBrokerOrderId || e.type === 'replaced'),
          )
        }
        await h.gateway.cancelOrder(rack.newBrokerOrderId, { account: h.account, symbol: h.symbol })
        await waitFor('replacement canceled', () =>
          events.find((e) => e.brokerOrderId === rack.newBrokerOrderId && e.type === 'canceled'),
        )
      },
      testTimeout,
    )

    it(
      'rejects an invalid intent before sending and a sell beyond holdings as a business reject',
      async () => {
        const bad = h.gateway.placeOrder({
          intentId: intentId(),
          account: h.account,
          strategyId: 'conformance',
          symbol: h.symbol,
          side: 'buy',
          quantity: 0,
          orderType: 'limit',
          limitPrice: h.restingBuyPrice,
        })
        await expect(bad).rejects.toSatisfy((e: unknown) => BrokerError.isKind(e, 'invalid_request'))
        const held = caps().positions
          ? ((await h.gateway.getPositions(h.account)).find((p) => p.symbol === h.symbol)?.sellableQuantity ??
            0)
          : 0
        const oversell = h.gateway.placeOrder({
          intentId: intentId(),
          account: h.account,
          strategyId: 'conformance',
          symbol: h.symbol,
          side: 'sell',
          quantity: held + 1_000_000,
          orderType: 'limit',
          limitPrice: h.restingBuyPrice,
        })
        await expect(oversell).rejects.toSatisfy((e: unknown) => BrokerError.isKind(e, 'rejected'))
      },
      testTimeout,
    )

    it(
      'refuses to cancel an order that has nothing left',
      async () => {
        const ack = await buy(1)
        await waitFor('accepted', () => eventsOf(ack.brokerOrderId).find((e) => e.type === 'accepted'))
        await h.fill(ack.brokerOrderId, 1, h.restingBuyPrice)
        await waitFor('fill', () => eventsOf(ack.brokerOrderId).find((e) => e.type === 'filled'))
        await expect(
          h.gateway.cancelOrder(ack.brokerOrderId, { account: h.account, symbol: h.symbol }),
        ).rejects.toSatisfy((e: unknown) => BrokerError.isKind(e, 'rejected'))
      },
      testTimeout,
    )

    it(
      'orders each order’s events: accepted first, cumulative fills increasing, nothing after terminal',
      async () => {
        const ids = new Set(events.map((e) => e.brokerOrderId))
        expect(ids.size).toBeGreaterThan(0)
        for (const id of ids) {
          const es = eventsOf(id)
          const firstAccepted = es.findIndex((e) => e.type === 'accepted')
          const firstFill = es.findIndex((e) => e.type === 'filled')
          if (firstFill >= 0) expect(firstAccepted).toBeGreaterThanOrEqual(0)
          if (firstFill >= 0) expect(firstAccepted).toBeLessThan(firstFill)
          let cum = 0
          for (const e of es) {
            if (e.type !== 'filled') continue
            expect(e.cumulativeQuantity).toBeGreaterThan(cum)
            cum = e.cumulativeQuantity
          }
          const terminal = es.findIndex(
            (e) => e.type === 'canceled' || e.type === 'expired' || e.type === 'rejected',
          )
          if (terminal >= 0) {
            // A fill may race a cancel at the venue; any other event after a terminal one is a bug.
            expect(es.slice(terminal + 1).filter((e) => e.type !== 'filled')).toEqual([])
          }
        }
      },
      testTimeout,
    )

    it(
      'answers reads idempotently and with valid shapes',
      async () => {
        const { listOrders, positions, cash } = caps()
        if (listOrders) {
          const [o1, o2] = [await h.gateway.getOrders(h.account), await h.gateway.getOrders(h.account)]
          expect(o2).toEqual(o1)
          for (const o of o1) BrokerOrderSchema.parse(o)
        }
        if (positions) {
          const [p1, p2] = [await h.gateway.getPositions(h.account), await h.gateway.getPositions(h.account)]
          expect(p2.map((p) => [p.symbol, p.quantity])).toEqual(p1.map((p) => [p.symbol, p.quantity]))
        }
        if (cash) {
          const [c1, c2] = [await h.gateway.getCash(h.account), await h.gateway.getCash(h.account)]
          expect(c2).toEqual(c1)
        }
        const q = QuoteSchema.parse(await h.gateway.getQuote(h.symbol))
        expect(q.lowerLimit).toBeLessThanOrEqual(h.restingBuyPrice)
        expect(q.upperLimit).toBeGreaterThanOrEqual(h.restingBuyPrice)
      },
      testTimeout,
    )

    it(
      'refuses each query its environment cannot answer with a typed error, never an empty answer',
      async () => {
        const c = caps()
        const queries: [boolean, () => Promise<unknown>][] = [
          [c.listOrders, () => h.gateway.getOrders(h.account, { state: 'all' })],
          [c.listOrders, () => h.gateway.getOpenOrders(h.account)],
          [c.listFills, () => h.gateway.getFills(h.account)],
          [c.positions, () => h.gateway.getPositions(h.account)],
          [c.cash, () => h.gateway.getCash(h.account)],
        ]
        for (const [supported, query] of queries) {
          if (supported) await expect(query()).resolves.toBeDefined()
          else {
            const err = await query().then(
              () => undefined,
              (e: unknown) => e,
            )
            expect(notSupported(err)).toBe(true)
            expect(BrokerError.isKind(err, 'invalid_request')).toBe(true)
          }
        }
      },
      testTimeout,
    )
  })
}
