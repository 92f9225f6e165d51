import type { OrderType, TimeInForce, TradingSession, Venue } from '@vellab/broker-gateway'
import type { RuleSource } from './provenance'
import { src } from './provenance'
import type { PhaseId } from './sessions-data'

/**
 * KIS `ORD_DVSN` codes (§1.2). The contract speaks in order type + time in force + session; the
 * acceptance matrix is written in the codes the reference and the exchange use, so the mapping is
 * one explicit function rather than scattered conditions.
 */
export type OrderDivisionCode =
  | '00'
  | '01'
  | '02'
  | '03'
  | '04'
  | '05'
  | '06'
  | '07'
  | '11'
  | '12'
  | '13'
  | '14'
  | '15'
  | '16'
  | '21'
  | '22'
  | '23'
  | '24'
  | '41'
  | '42'
  | '43'
  | '44'
  | '45'
  | '46'
  | '47'

// Indexed by time in force: day, ioc, fok. `undefined` means KIS has no such combination.
const REGULAR_CODES: Readonly<
  Record<OrderType, readonly [OrderDivisionCode?, OrderDivisionCode?, OrderDivisionCode?]>
> = {
  limit: ['00', '11', '12'],
  market: ['01', '13', '14'],
  best_limit: ['03', '15', '16'],
  top_priority_limit: ['04'],
  conditional_limit: ['02'],
  midpoint: ['21', '23', '24'],
  stop_limit: ['22'],
}
// §1.2: 41 limit, 42 limit-IOC, 43 limit-FOK, 44 best-limit, 45 best-IOC, 46 best-FOK, 47 top-priority.
const AFTER_MARKET_CODES: Partial<
  Record<OrderType, readonly [OrderDivisionCode?, OrderDivisionCode?, OrderDivisionCode?]>
> = {
  limit: ['41', '42', '43'],
  best_limit: ['44', '45', '46'],
  top_priority_limit: ['47'],
}
const TIF_INDEX: Readonly<Record<TimeInForce, 0 | 1 | 2>> = { day: 0, ioc: 1, fok: 2 }

/**
 * The KIS order-division code an order would be sent with, or `undefined` when KIS has no code for
 * that combination (e.g. a top-priority FOK, or a market order in the KRX after-market).
 *
 * The close-price and single-price sessions take a plain day `limit` order (`05`/`06`/`07`);
 * the KRX after-market (Regime B) has its own codes `41`–`47` (§1.2).
 */
export function orderDivisionCode(
  orderType: OrderType,
  timeInForce: TimeInForce,
  session: TradingSession,
  venue: Venue,
): OrderDivisionCode | undefined {
  const tif = TIF_INDEX[timeInForce]
  if (session === 'pre_close_price') return orderType === 'limit' && tif === 0 ? '05' : undefined
  if (session === 'post_close_price') return orderType === 'limit' && tif === 0 ? '06' : undefined
  if (session === 'after_hours_single_price') return orderType === 'limit' && tif === 0 ? '07' : undefined
  if (session === 'after_market' && venue === 'KRX') return AFTER_MARKET_CODES[orderType]?.[tif]
  return REGULAR_CODES[orderType][tif]
}

/** Codes KIS sends without a price (`ORD_UNPR = "0"`, §1.2). Close-price codes carry none either. */
export const PRICELESS_CODES: ReadonlySet<OrderDivisionCode> = new Set([
  '01',
  '03',
  '04',
  '05',
  '06',
  '13',
  '14',
  '15',
  '16',
  '44',
  '45',
  '46',
  '47',
])

/** Market-type codes: no uptick-compliant price is possible for a short sale (§6 item 4). */
export const MARKET_LIKE_CODES: ReadonlySet<OrderDivisionCode> = new Set(['01', '13', '14'])

/** One row of the acceptance matrix: the codes a phase accepts. */
export interface MatrixEntry {
  readonly phase: PhaseId
  readonly accepts: readonly OrderDivisionCode[]
  readonly source: RuleSource
}

const CONTINUOUS_KRX: readonly OrderDivisionCode[] = [
  '00',
  '01',
  '02',
  '03',
  '04',
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
  '21',
  '22',
  '23',
  '24',
]

/**
 * The recommended acceptance matrix of §1.2 (KRX) and §2.3 (NXT). ⚠️ cells (accept only after live
 * verification) are rejected; UNVERIFIED NXT splits use the conservative defaults of §2.3. The
 * phases themselves are effective-dated (`07` exists only in Regime A, `41`–`47` only in Regime B).
 */
export const ORDER_TYPE_MATRIX: readonly MatrixEntry[] = [
  { phase: 'krx_pre_close_price', accepts: ['05'], source: src('§1.2', 'V-PRIMARY') },
  // `02` is ⚠️ in the opening auction; IOC/FOK, best/top-priority and midpoint/stop are ❌ (§1.2 b–d).
  { phase: 'krx_opening_auction', accepts: ['00', '01'], source: src('§1.2 (b)(c)(d)', 'V-SECONDARY') },
  { phase: 'krx_continuous', accepts: CONTINUOUS_KRX, source: src('§1.2', 'V-PRIMARY') },
  // (a): new `02` after 15:20 is UNVERIFIED, so rejected.
  { phase: 'krx_closing_auction', accepts: ['00', '01'], source: src('§1.2 (a)(b)(c)(d)', 'V-SECONDARY') },
  { phase: 'krx_post_close_price', accepts: ['06'], source: src('§1.2', 'V-PRIMARY') },
  { phase: 'krx_single_price', accepts: ['07'], source: src('§1.2 [K3]', 'V-PRIMARY') },
  {
    phase: 'krx_after_market',
    accepts: ['41', '42', '43', '44', '45', '46', '47'],
    source: src('§1.2 [P1][P3]', 'PARTIAL'),
  },
  // GTP `27` is not expressible in the contract, so only `00` remains (§2.3 conservative default).
  { phase: 'nxt_pre_market', accepts: ['00'], source: src('§2.3', 'UNVERIFIED', 'conservative: limit only') },
  {
    phase: 'nxt_main',
    accepts: ['00', '03', '04', '11', '12', '13', '14', '15', '16', '21', '22', '23', '24'],
    source: src('§2.3', 'V-PRIMARY'),
  },
  {
    phase: 'nxt_after_market_call',
    accepts: ['00'],
    source: src('§2.3', 'UNVERIFIED', 'conservative: limit only'),
  },
  {
    phase: 'nxt_after_market',
    accepts: ['00'],
    source: src('§2.3', 'UNVERIFIED', 'conservative: limit only'),
  },
  // `06` is not available on NXT (§2.3), so NXT's closing-price market is not reachable via order-cash.
  { phase: 'nxt_closing_price', accepts: [], source: src('§2.3', 'V-PRIMARY') },
]

/**
 * Codes accepted while a symbol is in a call auction inside a continuous phase (VI, or the 30-minute
 * auctions of a short-term overheated name): the call-auction column of §1.2 applied to the codes
 * the phase speaks (§4.2 "no IOC/FOK, no best/top-priority, no midpoint", §4.5). Keyed by phase,
 * because the KRX after-market has its own codes: there only the plain limit `41` survives (a VI
 * there must not block `41` just because `00`/`01` do not exist in that book). A continuous phase
 * missing from this table accepts nothing during an auction (fail closed).
 */
export const AUCTION_FALLBACK: Readonly<Partial<Record<PhaseId, readonly OrderDivisionCode[]>>> = {
  krx_continuous: ['00', '01'],
  // §4.2: "KRX after-market: VI applies; rates UNVERIFIED" — limit only, no 42–47.
  krx_after_market: ['41'],
  // §2.1: NXT VI becomes a 2-minute single-price auction from Regime B; its order-type rules are
  // UNVERIFIED, so limit only.
  nxt_pre_market: ['00'],
  nxt_main: ['00'],
  nxt_after_market: ['00'],
}

/** Codes the KIS smart order router takes (§2.4). */
export const SOR_CODES: ReadonlySet<OrderDivisionCode> = new Set([
  '00',
  '01',
  '03',
  '04',
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
])
