import type { SessionPhase } from './calendar'

/** How an ORD_DVSN code is priced. */
export type PriceRule =
  | 'limit'
  | 'market'
  /** 최유리: priced at the opposite best */
  | 'best'
  /** 최우선: priced at the same-side best */
  | 'top'
  /** 05: the previous close */
  | 'pre-close'
  /** 06: today's close */
  | 'post-close'
  /** 02: limit until the close, then market in the closing auction */
  | 'conditional'
  /** 07: after-hours single price, within ±10 % of the close */
  | 'single-price'
  /** 21/23/24 중간가: fills at the midpoint of the best bid and ask; ORD_UNPR, when not 0, caps it */
  | 'midpoint'
  /** 22 스톱지정가: dormant until the last trade reaches CNDT_PRIC, then a limit at ORD_UNPR */
  | 'stop-limit'

/**
 * The order book an order rests in; orders never carry over between books. `nxt` is Nextrade's
 * book: orders entered in its pre-market or main market stay in it through the after-market and
 * expire at 20:00 (reference/krx-market-rules.md §2.1 "Other NXT rules").
 */
export type OrderBookKind = 'regular' | 'pre-close' | 'post-close' | 'single-price' | 'after-market' | 'nxt'

/** What the simulator knows about one ORD_DVSN code. */
export interface OrderTypeSpec {
  code: string
  /** `ord_dvsn_name` in inquiries. */
  name: string
  price: PriceRule
  /** H0STCNI0 ODER_COND: 0 none, 1 IOC, 2 FOK (reference §7.9 #7). */
  cond: '0' | '1' | '2'
  /**
   * KRX sessions that accept the code (reference/krx-market-rules.md §1.2 matrix). Which Nextrade
   * sessions do is in `venues.ts` (§2.3).
   */
  sessions: readonly SessionPhase[]
  book: OrderBookKind
  /** Accepted on paper accounts. UNVERIFIED (reference §5: python-kis allows 00–04 only). */
  paper: boolean
}

const REGULAR: readonly SessionPhase[] = ['opening-auction', 'continuous', 'closing-auction']
const CONT: readonly SessionPhase[] = ['continuous']
const AFTER: readonly SessionPhase[] = ['after-market']

const spec = (
  code: string,
  name: string,
  price: PriceRule,
  cond: '0' | '1' | '2',
  sessions: readonly SessionPhase[],
  book: OrderBookKind,
  paper = false,
): OrderTypeSpec => ({ code, name, price, cond, sessions, book, paper })

/**
 * reference/kis-openapi.md §5 (codes) and reference/krx-market-rules.md §1.2 (which session takes
 * which code). `02` in the opening auction is ⚠️ in the matrix: accepted here. 21–24 (midpoint,
 * stop-limit) trade in continuous trading only (§1.2 note d) and are real-only (reference §5:
 * "assumed real-only"). 41–47 (KRX after-market, from 2026-09-14) are PARTIAL in the reference;
 * their names below are the simulator's.
 */
export const ORDER_TYPES: ReadonlyMap<string, OrderTypeSpec> = new Map(
  [
    spec('00', '지정가', 'limit', '0', REGULAR, 'regular', true),
    spec('01', '시장가', 'market', '0', REGULAR, 'regular', true),
    spec('02', '조건부지정가', 'conditional', '0', ['opening-auction', 'continuous'], 'regular', true),
    spec('03', '최유리지정가', 'best', '0', CONT, 'regular', true),
    spec('04', '최우선지정가', 'top', '0', CONT, 'regular', true),
    spec('05', '장전 시간외', 'pre-close', '0', ['pre-close-price'], 'pre-close'),
    spec('06', '장후 시간외', 'post-close', '0', ['post-close-price'], 'post-close'),
    spec('07', '시간외 단일가', 'single-price', '0', ['single-price'], 'single-price'),
    spec('11', 'IOC지정가', 'limit', '1', CONT, 'regular'),
    spec('12', 'FOK지정가', 'limit', '2', CONT, 'regular'),
    spec('13', 'IOC시장가', 'market', '1', CONT, 'regular'),
    spec('14', 'FOK시장가', 'market', '2', CONT, 'regular'),
    spec('15', 'IOC최유리', 'best', '1', CONT, 'regular'),
    spec('16', 'FOK최유리', 'best', '2', CONT, 'regular'),
    spec('21', '중간가', 'midpoint', '0', CONT, 'regular'),
    spec('22', '스톱지정가', 'stop-limit', '0', CONT, 'regular'),
    spec('23', '중간가IOC', 'midpoint', '1', CONT, 'regular'),
    spec('24', '중간가FOK', 'midpoint', '2', CONT, 'regular'),
    spec('41', '애프터마켓 지정가', 'limit', '0', AFTER, 'after-market'),
    spec('42', '애프터마켓 IOC지정가', 'limit', '1', AFTER, 'after-market'),
    spec('43', '애프터마켓 FOK지정가', 'limit', '2', AFTER, 'after-market'),
    spec('44', '애프터마켓 최유리', 'best', '0', AFTER, 'after-market'),
    spec('45', '애프터마켓 IOC최유리', 'best', '1', AFTER, 'after-market'),
    spec('46', '애프터마켓 FOK최유리', 'best', '2', AFTER, 'after-market'),
    spec('47', '애프터마켓 최우선', 'top', '0', AFTER, 'after-market'),
  ].map((s) => [s.code, s]),
)
