import { BrokerError, type OrderIntentInput, OrderIntentSchema } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { describeOrdDvsn, mapOrderIntent } from './order-mapping'

const base: OrderIntentInput = {
  intentId: 'i-1',
  account: '50123456-01',
  strategyId: 's',
  symbol: '005930',
  side: 'buy',
  quantity: 10,
  orderType: 'limit',
  limitPrice: 70_000,
}
const intent = (o: Partial<OrderIntentInput>) => OrderIntentSchema.parse({ ...base, ...o })

// reference/kis-openapi.md §5: [patch, ORD_DVSN, ORD_UNPR]
const OK: [string, Partial<OrderIntentInput>, string, string][] = [
  ['limit day', {}, '00', '70000'],
  ['limit ioc', { timeInForce: 'ioc' }, '11', '70000'],
  ['limit fok', { timeInForce: 'fok' }, '12', '70000'],
  ['market day', { orderType: 'market', limitPrice: undefined }, '01', '0'],
  ['market ioc', { orderType: 'market', limitPrice: undefined, timeInForce: 'ioc' }, '13', '0'],
  ['market fok', { orderType: 'market', limitPrice: undefined, timeInForce: 'fok' }, '14', '0'],
  ['conditional limit', { orderType: 'conditional_limit' }, '02', '70000'],
  ['best limit', { orderType: 'best_limit', limitPrice: undefined }, '03', '0'],
  ['best limit ioc', { orderType: 'best_limit', limitPrice: undefined, timeInForce: 'ioc' }, '15', '0'],
  ['best limit fok', { orderType: 'best_limit', limitPrice: undefined, timeInForce: 'fok' }, '16', '0'],
  ['top priority', { orderType: 'top_priority_limit', limitPrice: undefined }, '04', '0'],
  ['midpoint', { orderType: 'midpoint', limitPrice: undefined }, '21', '0'],
  ['midpoint protected', { orderType: 'midpoint' }, '21', '70000'],
  ['midpoint ioc', { orderType: 'midpoint', limitPrice: undefined, timeInForce: 'ioc' }, '23', '0'],
  ['midpoint fok', { orderType: 'midpoint', limitPrice: undefined, timeInForce: 'fok' }, '24', '0'],
  ['stop limit', { orderType: 'stop_limit', stopPrice: 71_000 }, '22', '70000'],
  ['pre-close price', { session: 'pre_close_price', limitPrice: undefined }, '05', '0'],
  ['post-close price', { session: 'post_close_price', limitPrice: undefined }, '06', '0'],
  ['after-hours single price', { session: 'after_hours_single_price' }, '07', '70000'],
]

const BAD: [string, Partial<OrderIntentInput>, 'real' | 'paper'][] = [
  [
    'market on NXT (01 is KRX/SOR only)',
    { orderType: 'market', limitPrice: undefined, venue: 'NXT' },
    'real',
  ],
  ['conditional limit on SOR', { orderType: 'conditional_limit', venue: 'SOR' }, 'real'],
  ['midpoint on SOR', { orderType: 'midpoint', venue: 'SOR' }, 'real'],
  ['conditional limit IOC', { orderType: 'conditional_limit', timeInForce: 'ioc' }, 'real'],
  [
    'top priority FOK',
    { orderType: 'top_priority_limit', limitPrice: undefined, timeInForce: 'fok' },
    'real',
  ],
  ['post-close on NXT', { session: 'post_close_price', limitPrice: undefined, venue: 'NXT' }, 'real'],
  [
    'after-hours market',
    { session: 'after_hours_single_price', orderType: 'market', limitPrice: undefined },
    'real',
  ],
  ['NXT on paper (§4.1: KRX only)', { venue: 'NXT' }, 'paper'],
]

describe('mapOrderIntent', () => {
  it.each(OK)('%s → ORD_DVSN', (_name, patch, code, price) => {
    const f = mapOrderIntent(intent(patch), 'real')
    expect(f.ORD_DVSN).toBe(code)
    expect(f.ORD_UNPR).toBe(price)
    expect(f.ORD_QTY).toBe('10')
    expect(describeOrdDvsn(code).orderType).toBe(
      code === '05' || code === '06' ? 'market' : code === '07' ? 'limit' : intent(patch).orderType,
    )
  })

  it.each(BAD)('refuses %s with invalid_request', (_n, patch, env) => {
    expect(() => mapOrderIntent(intent(patch), env)).toThrow(BrokerError)
    try {
      mapOrderIntent(intent(patch), env)
    } catch (e) {
      expect(BrokerError.isKind(e, 'invalid_request')).toBe(true)
    }
  })

  it('sets CNDT_PRIC for stop-limit and SLL_TYPE 01/05 for sells (§4.1)', () => {
    expect(mapOrderIntent(intent({ orderType: 'stop_limit', stopPrice: 71_000 }), 'real').CNDT_PRIC).toBe(
      '71000',
    )
    expect(mapOrderIntent(intent({ side: 'sell' }), 'real').SLL_TYPE).toBe('01')
    expect(mapOrderIntent(intent({ side: 'sell', shortSale: true }), 'real').SLL_TYPE).toBe('05')
    expect(mapOrderIntent(intent({}), 'real').SLL_TYPE).toBeUndefined()
  })
})
