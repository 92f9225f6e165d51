import type { BrokerOrder, CashBalance, Position } from '@vellab/broker-gateway'
import { isTerminal, type Order, remainingQuantity } from '@vellab/order-fsm'
import type { Finding } from './breaks'

/** One symbol of the day's opening book. */
export interface OpeningPosition {
  quantity: number
  /** `null` when it could not be known (the symbol had buys before the baseline was taken). */
  averagePrice: number | null
}

/**
 * The day's opening book: the broker's positions and cash on the day's first complete pass, less
 * what the day's known fills had already done to them.
 */
export interface OpeningBook {
  positions: Record<string, OpeningPosition>
  /** Opening D+2 cash (KR equities settle T+2, so D+2 carries every trade of the day). */
  d2: number
}

/** Tolerances of the positions and cash comparison. */
export interface BookTolerances {
  /** Allowed difference of average purchase prices, in KRW. */
  averagePrice: number
  /**
   * Allowed D+2 cash difference for a day's traded notional: commissions and taxes are not in the
   * fills. UNVERIFIED: the default (0.3 % of traded notional + 1,000 KRW) is our estimate of KIS
   * commission plus the securities transaction tax; set it from the account's fee schedule.
   */
  cash: (tradedNotional: number) => number
}

interface Flow {
  net: number
  buyQty: number
  buyNotional: number
  sells: number
  openSells: number
  notional: number
}

/** Day's share and cash effects of local fills, plus the broker's fills of orders nobody here owns. */
function flows(
  orders: readonly Order[],
  unowned: readonly BrokerOrder[],
  date: string,
  kstDate: (ms: number) => string,
) {
  const bySymbol = new Map<string, Flow>()
  let cash = 0
  let traded = 0
  const flow = (symbol: string) => {
    let f = bySymbol.get(symbol)
    if (!f) {
      f = { net: 0, buyQty: 0, buyNotional: 0, sells: 0, openSells: 0, notional: 0 }
      bySymbol.set(symbol, f)
    }
    return f
  }
  const add = (symbol: string, side: 'buy' | 'sell', qty: number, notional: number, open: number) => {
    const f = flow(symbol)
    if (side === 'buy') {
      f.net += qty
      f.buyQty += qty
      f.buyNotional += notional
      cash -= notional
    } else {
      f.net -= qty
      f.sells += qty
      f.openSells += open
      cash += notional
    }
    traded += notional
  }
  for (const o of orders) {
    const day = o.submittedAt === null ? null : kstDate(o.submittedAt)
    if (day !== date) continue
    const open = isTerminal(o.state) ? 0 : remainingQuantity(o)
    add(o.intent.symbol, o.intent.side, o.filledQuantity, o.filledNotional, open)
  }
  for (const b of unowned) {
    const open = b.status === 'open' || b.status === 'partially_filled' ? b.remainingQuantity : 0
    add(b.symbol, b.side, b.filledQuantity, Math.round(b.filledQuantity * (b.averageFillPrice ?? 0)), open)
  }
  return { bySymbol, cash, traded }
}

/** Input of {@link compareBook}. */
export interface BookInput {
  account: string
  date: string
  opening: OpeningBook | null
  orders: readonly Order[]
  unowned: readonly BrokerOrder[]
  positions: readonly Position[]
  cash: CashBalance
  tolerances: BookTolerances
  kstDate: (ms: number) => string
}

/**
 * Compare the broker's positions (over the union of symbols) and D+2 cash with the opening book
 * plus the day's fills. Without an opening book it takes one and finds nothing: the first pass of
 * a day defines the opening.
 */
export function compareBook(input: BookInput): { findings: Finding[]; opening: OpeningBook; taken: boolean } {
  const { bySymbol, cash, traded } = flows(input.orders, input.unowned, input.date, input.kstDate)
  const broker = new Map(input.positions.map((p) => [p.symbol, p]))
  if (!input.opening) {
    const positions: Record<string, OpeningPosition> = {}
    for (const symbol of new Set([...broker.keys(), ...bySymbol.keys()])) {
      const p = broker.get(symbol)
      const f = bySymbol.get(symbol)
      positions[symbol] = {
        quantity: (p?.quantity ?? 0) - (f?.net ?? 0),
        averagePrice: f && f.buyQty > 0 ? null : (p?.averagePrice ?? null),
      }
    }
    return { findings: [], opening: { positions, d2: input.cash.d2 - cash }, taken: true }
  }
  const findings: Finding[] = []
  const key = (what: string) => `${what}:${input.account}:${input.date}`
  const symbols = new Set([...Object.keys(input.opening.positions), ...broker.keys(), ...bySymbol.keys()])
  for (const symbol of [...symbols].sort()) {
    const open = input.opening.positions[symbol] ?? { quantity: 0, averagePrice: null }
    const f = bySymbol.get(symbol)
    const p = broker.get(symbol)
    const quantity = open.quantity + (f?.net ?? 0)
    const sellable = quantity - (f?.openSells ?? 0)
    let averagePrice: number | null = null
    if (open.averagePrice !== null && (f?.sells ?? 0) === 0 && quantity > 0) {
      averagePrice = (open.averagePrice * open.quantity + (f?.buyNotional ?? 0)) / quantity
    }
    const got = {
      quantity: p?.quantity ?? 0,
      sellableQuantity: p?.sellableQuantity ?? 0,
      averagePrice: p?.averagePrice ?? null,
    }
    const diffs: string[] = []
    if (got.quantity !== quantity) diffs.push(`quantity ${quantity} expected, broker ${got.quantity}`)
    if (got.sellableQuantity !== sellable)
      diffs.push(`sellable ${sellable} expected, broker ${got.sellableQuantity}`)
    if (
      averagePrice !== null &&
      got.averagePrice !== null &&
      Math.abs(got.averagePrice - averagePrice) > input.tolerances.averagePrice
    ) {
      diffs.push(`average price ${averagePrice.toFixed(2)} expected, broker ${got.averagePrice}`)
    }
    if (diffs.length === 0) continue
    findings.push({
      kind: 'position_mismatch',
      dedupKey: `${key('position_mismatch')}:${symbol}`,
      account: input.account,
      severity: got.quantity !== quantity ? 'critical' : 'warning',
      summary: `position ${symbol} not explained by the day's fills: ${diffs.join('; ')}`,
      symbol,
      evidence: {
        local: {
          opening: open,
          fills: f ?? null,
          expected: { quantity, sellableQuantity: sellable, averagePrice },
        },
        broker: p ?? null,
      },
      resolution: 'ticketed',
    })
  }
  const expectedD2 = input.opening.d2 + cash
  const tolerance = input.tolerances.cash(traded)
  if (Math.abs(input.cash.d2 - expectedD2) > tolerance) {
    findings.push({
      kind: 'cash_mismatch',
      dedupKey: key('cash_mismatch'),
      account: input.account,
      severity: 'critical',
      summary: `D+2 cash ${input.cash.d2} differs from the expected ${expectedD2} by ${input.cash.d2 - expectedD2} KRW (tolerance ${tolerance})`,
      evidence: {
        local: {
          openingD2: input.opening.d2,
          fillCashFlow: cash,
          tradedNotional: traded,
          expectedD2,
          tolerance,
        },
        broker: input.cash,
      },
      resolution: 'ticketed',
    })
  }
  return { findings, opening: input.opening, taken: false }
}
