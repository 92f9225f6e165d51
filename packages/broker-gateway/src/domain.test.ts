import { describe, expect, it } from 'vitest'
import {
  BrokerOrderEventSchema,
  BrokerOrderSchema,
  OrderIntentSchema,
  PositionSchema,
  QuoteSchema,
  ReplacePatchSchema,
} from './domain'
import { describeIssues } from './validate'

const base = {
  intentId: 'mom-20261124-0001',
  account: '50123456-01',
  strategyId: 'momentum',
  symbol: '005930',
  side: 'buy',
  quantity: 10,
  orderType: 'limit',
  limitPrice: 71_000,
} as const

const problems = (v: unknown) => {
  const r = OrderIntentSchema.safeParse(v)
  return r.success ? '' : describeIssues(r.error)
}

describe('OrderIntentSchema', () => {
  it('applies defaults and round-trips through JSON', () => {
    const parsed = OrderIntentSchema.parse(base)
    expect(parsed).toEqual({
      ...base,
      timeInForce: 'day',
      venue: 'KRX',
      session: 'regular',
      shortSale: false,
    })
    expect(OrderIntentSchema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed)
  })

  it.each([
    [{ quantity: 0 }, 'quantity: quantity must be at least 1 share'],
    [{ quantity: -5 }, 'quantity: quantity must not be negative'],
    [{ quantity: 1.5 }, 'quantity: quantity must be a whole number of shares'],
    [{ limitPrice: 71_000.5 }, 'limitPrice: limitPrice must be an integer number of KRW'],
    [{ limitPrice: -100 }, 'limitPrice: limitPrice must be positive'],
    [{ symbol: '5930' }, 'symbol: symbol must be a 6-character KRX short code'],
    [{ symbol: 'a05930' }, 'symbol: symbol must be a 6-character KRX short code'],
    [{ intentId: 'has space' }, 'intentId: intentId must be 1-64 characters'],
    [{ side: 'short' }, 'side:'],
    [{ venue: 'NYSE' }, 'venue:'],
  ])('rejects %j with a readable message', (patch, message) => {
    expect(problems({ ...base, ...patch })).toContain(message)
  })

  it('requires a limit price for priced types and forbids one for broker-priced types', () => {
    const { limitPrice: _drop, ...noPrice } = base
    expect(problems(noPrice)).toBe('limitPrice: a limit order needs a limitPrice')
    expect(problems({ ...noPrice, orderType: 'market' })).toBe('')
    expect(problems({ ...base, orderType: 'market' })).toBe('limitPrice: a market order takes no limitPrice')
    expect(problems({ ...base, orderType: 'best_limit' })).toBe(
      'limitPrice: a best_limit order takes no limitPrice',
    )
    expect(problems({ ...noPrice, orderType: 'midpoint' })).toBe('')
  })

  it('checks stop prices, close-price sessions and short-sale flags', () => {
    expect(problems({ ...base, orderType: 'stop_limit' })).toBe(
      'stopPrice: a stop_limit order needs a stopPrice',
    )
    expect(problems({ ...base, orderType: 'stop_limit', stopPrice: 70_000 })).toBe('')
    expect(problems({ ...base, stopPrice: 70_000 })).toBe(
      'stopPrice: only a stop_limit order takes a stopPrice',
    )
    expect(problems({ ...base, session: 'post_close_price' })).toContain(
      'trade at the close and take no limitPrice',
    )
    const { limitPrice: _drop, ...noPrice } = base
    expect(problems({ ...noPrice, session: 'pre_close_price' })).toBe('')
    expect(problems({ ...base, shortSale: true })).toBe('shortSale: only a sell can be a short sale')
    expect(problems({ ...base, side: 'sell', shortSale: true })).toBe('')
  })

  it('lists every problem at once', () => {
    const msg = problems({ ...base, quantity: 0, symbol: 'x', limitPrice: 1.5 })
    expect(msg.split('; ')).toHaveLength(3)
  })
})

describe('other schemas', () => {
  it('requires a replace to change something', () => {
    expect(ReplacePatchSchema.safeParse({}).success).toBe(false)
    expect(ReplacePatchSchema.parse({ limitPrice: 70_900 })).toEqual({ limitPrice: 70_900 })
  })

  it('keeps order quantities consistent', () => {
    const order = {
      brokerOrderId: '0000006555',
      account: 'A',
      symbol: '005930',
      side: 'buy',
      orderType: 'limit',
      timeInForce: 'day',
      venue: 'KRX',
      quantity: 10,
      limitPrice: 70_000,
      filledQuantity: 4,
      remainingQuantity: 6,
      status: 'partially_filled',
      submittedAt: 1,
    }
    expect(BrokerOrderSchema.parse(order)).toEqual(order)
    expect(BrokerOrderSchema.safeParse({ ...order, remainingQuantity: 7 }).success).toBe(false)
  })

  it('parses events by type and rejects unknown types', () => {
    const fill = {
      type: 'filled',
      eventId: 'x:4',
      account: 'A',
      brokerOrderId: 'x',
      symbol: '005930',
      side: 'buy',
      fillQuantity: 4,
      fillPrice: 70_000,
      cumulativeQuantity: 4,
      at: 1,
    }
    expect(BrokerOrderEventSchema.parse(fill)).toEqual(fill)
    expect(BrokerOrderEventSchema.safeParse({ ...fill, type: 'exploded' }).success).toBe(false)
    expect(BrokerOrderEventSchema.safeParse({ ...fill, fillPrice: 70_000.5 }).success).toBe(false)
  })

  it('rejects a position whose sellable quantity exceeds the holding, and a quote outside its band', () => {
    expect(
      PositionSchema.safeParse({
        account: 'A',
        symbol: '005930',
        quantity: 1,
        sellableQuantity: 2,
        averagePrice: 1,
      }).success,
    ).toBe(false)
    const state = {
      halted: false,
      viActive: false,
      marketWarning: 'none',
      shortTermOverheated: false,
      shortSaleOverheated: false,
      administrative: false,
    }
    const quote = {
      symbol: '005930',
      lastPrice: 10_000,
      basePrice: 9_980,
      upperLimit: 12_970,
      lowerLimit: 6_990,
      tickSize: 10,
      state,
      at: 1,
    }
    expect(QuoteSchema.parse(quote)).toEqual(quote)
    expect(QuoteSchema.safeParse({ ...quote, upperLimit: 9_000 }).success).toBe(false)
  })
})
