import type { OrderIntent, OrderType, TimeInForce, Venue } from '@vellab/broker-gateway'
import { BrokerError } from '@vellab/broker-gateway'
import type { KisEnvironment } from './config'

/** An ORD_DVSN code (reference/kis-openapi.md §5). */
export type OrdDvsn = string

interface Row {
  code: OrdDvsn
  /** Venues that accept the code (reference §5 table). */
  venues: readonly Venue[]
  /** Whether ORD_UNPR carries a price; otherwise "0" (reference §5, SPEC:order-cash ORD_UNPR). */
  priced: 'required' | 'optional' | 'none'
}

const ALL: readonly Venue[] = ['KRX', 'NXT', 'SOR']
const KRX_ONLY: readonly Venue[] = ['KRX']
const NO_SOR: readonly Venue[] = ['KRX', 'NXT']

// reference/kis-openapi.md §5: order type × time in force → ORD_DVSN, with the venue column.
const REGULAR: Readonly<Record<OrderType, Partial<Record<TimeInForce, Row>>>> = {
  limit: {
    day: { code: '00', venues: ALL, priced: 'required' },
    ioc: { code: '11', venues: ALL, priced: 'required' },
    fok: { code: '12', venues: ALL, priced: 'required' },
  },
  market: {
    day: { code: '01', venues: ['KRX', 'SOR'], priced: 'none' },
    ioc: { code: '13', venues: ALL, priced: 'none' },
    fok: { code: '14', venues: ALL, priced: 'none' },
  },
  conditional_limit: { day: { code: '02', venues: KRX_ONLY, priced: 'required' } },
  best_limit: {
    day: { code: '03', venues: ALL, priced: 'none' },
    ioc: { code: '15', venues: ALL, priced: 'none' },
    fok: { code: '16', venues: ALL, priced: 'none' },
  },
  top_priority_limit: { day: { code: '04', venues: ALL, priced: 'none' } },
  midpoint: {
    day: { code: '21', venues: NO_SOR, priced: 'optional' },
    ioc: { code: '23', venues: NO_SOR, priced: 'optional' },
    fok: { code: '24', venues: NO_SOR, priced: 'optional' },
  },
  stop_limit: { day: { code: '22', venues: NO_SOR, priced: 'required' } },
}

/** The fields of an order-cash body that depend on the intent (reference §4.1). */
export interface OrderCashFields {
  ORD_DVSN: OrdDvsn
  ORD_QTY: string
  ORD_UNPR: string
  CNDT_PRIC?: string
  EXCG_ID_DVSN_CD: string
  SLL_TYPE?: string
}

function invalid(message: string): BrokerError {
  return new BrokerError('invalid_request', message, { operation: 'placeOrder' })
}

/**
 * Map a validated intent to ORD_DVSN, price and venue fields, or throw `invalid_request` for a
 * combination KIS does not offer. Session orders: 05 pre-close-price (장전 시간외), 06
 * post-close-price (장후 시간외), 07 after-hours single price (시간외 단일가), all KRX only.
 * Paper accounts trade on KRX only (reference §4.1 EXCG_ID_DVSN_CD).
 */
export function mapOrderIntent(intent: OrderIntent, env: KisEnvironment): OrderCashFields {
  if (env === 'paper' && intent.venue !== 'KRX') {
    throw invalid(`paper accounts trade on KRX only, not ${intent.venue} (reference §4.1)`)
  }
  let row: Row | undefined
  switch (intent.session) {
    case 'pre_close_price':
    case 'post_close_price':
      if (intent.orderType !== 'limit' && intent.orderType !== 'market') {
        throw invalid(
          `${intent.session} orders trade at the close; use orderType limit or market without a price`,
        )
      }
      if (intent.timeInForce !== 'day')
        throw invalid(`${intent.session} orders cannot be ${intent.timeInForce}`)
      row = { code: intent.session === 'pre_close_price' ? '05' : '06', venues: KRX_ONLY, priced: 'none' }
      break
    case 'after_hours_single_price':
      if (intent.orderType !== 'limit' || intent.timeInForce !== 'day') {
        throw invalid('after-hours single-price orders are day limit orders')
      }
      row = { code: '07', venues: KRX_ONLY, priced: 'required' }
      break
    default:
      row = REGULAR[intent.orderType][intent.timeInForce]
  }
  if (!row) throw invalid(`KIS has no ${intent.orderType} order with time in force ${intent.timeInForce}`)
  if (!row.venues.includes(intent.venue)) {
    throw invalid(
      `ORD_DVSN ${row.code} (${intent.orderType}/${intent.timeInForce}) is not offered on ${intent.venue}`,
    )
  }
  let price = '0'
  if (row.priced === 'required') {
    if (intent.limitPrice === undefined) throw invalid(`ORD_DVSN ${row.code} needs a limitPrice`)
    price = String(intent.limitPrice)
  } else if (row.priced === 'optional' && intent.limitPrice !== undefined) {
    price = String(intent.limitPrice)
  }
  const out: OrderCashFields = {
    ORD_DVSN: row.code,
    ORD_QTY: String(intent.quantity),
    ORD_UNPR: price,
    EXCG_ID_DVSN_CD: intent.venue,
  }
  if (row.code === '22') out.CNDT_PRIC = String(intent.stopPrice)
  // reference §4.1 SLL_TYPE: 01 ordinary sale, 05 sale of borrowed shares (대차매도).
  if (intent.side === 'sell') out.SLL_TYPE = intent.shortSale ? '05' : '01'
  return out
}

/** Reverse map of ORD_DVSN for orders read back from the broker. */
export function describeOrdDvsn(code: string): { orderType: OrderType; timeInForce: TimeInForce } {
  switch (code) {
    case '01':
      return { orderType: 'market', timeInForce: 'day' }
    case '02':
      return { orderType: 'conditional_limit', timeInForce: 'day' }
    case '03':
      return { orderType: 'best_limit', timeInForce: 'day' }
    case '04':
      return { orderType: 'top_priority_limit', timeInForce: 'day' }
    case '11':
      return { orderType: 'limit', timeInForce: 'ioc' }
    case '12':
      return { orderType: 'limit', timeInForce: 'fok' }
    case '13':
      return { orderType: 'market', timeInForce: 'ioc' }
    case '14':
      return { orderType: 'market', timeInForce: 'fok' }
    case '15':
      return { orderType: 'best_limit', timeInForce: 'ioc' }
    case '16':
      return { orderType: 'best_limit', timeInForce: 'fok' }
    case '21':
      return { orderType: 'midpoint', timeInForce: 'day' }
    case '22':
      return { orderType: 'stop_limit', timeInForce: 'day' }
    case '23':
      return { orderType: 'midpoint', timeInForce: 'ioc' }
    case '24':
      return { orderType: 'midpoint', timeInForce: 'fok' }
    case '05':
    case '06':
      return { orderType: 'market', timeInForce: 'day' }
    default:
      return { orderType: 'limit', timeInForce: 'day' }
  }
}
