import type { ScopeExposure } from './context'
import { TimeRing } from './time-ring'

/** One scope's holding in one symbol. Marks and costs are KRW per share. */
export interface Holding {
  readonly book: ScopeBook
  readonly symbol: string
  qty: number
  /** Cost basis for today's P&L: the start-of-day mark, moved by today's fills. */
  costRef: number
  mark: number
}

/**
 * Running exposure of one scope, updated incrementally on fills, marks and order reservations so a
 * check reads it in O(1) (no scan over positions on the hot path).
 */
export class ScopeBook implements ScopeExposure {
  grossExposure = 0
  openBuyValue = 0
  realizedPnl = 0
  markedPnl = 0
  readonly holdings = new Map<string, Holding>()
  readonly #openBuyQty = new Map<string, number>()
  readonly #orders: TimeRing

  constructor(orderRingCapacity: number) {
    this.#orders = new TimeRing(orderRingCapacity)
  }

  get dailyPnl(): number {
    return this.realizedPnl + this.markedPnl
  }

  positionQuantity(symbol: string): number {
    return this.holdings.get(symbol)?.qty ?? 0
  }

  openBuyQuantity(symbol: string): number {
    return this.#openBuyQty.get(symbol) ?? 0
  }

  ordersSince(since: number): number {
    return this.#orders.countSince(since)
  }

  recordOrder(at: number): void {
    this.#orders.push(at)
  }

  reserveBuy(symbol: string, qty: number, value: number): void {
    this.openBuyValue += value
    this.#openBuyQty.set(symbol, (this.#openBuyQty.get(symbol) ?? 0) + qty)
  }

  /** Apply a change of `dq` signed shares at `price`; `realize` books P&L on the closed part. */
  trade(holding: Holding, dq: number, price: number, realize: boolean): void {
    this.#remove(holding)
    const q = holding.qty
    if (q === 0 || Math.sign(q) === Math.sign(dq)) {
      const nq = q + dq
      holding.costRef = q === 0 ? price : (holding.costRef * q + price * dq) / nq
      holding.qty = nq
    } else {
      const closed = Math.min(Math.abs(dq), Math.abs(q))
      if (realize) this.realizedPnl += closed * (price - holding.costRef) * Math.sign(q)
      const nq = q + dq
      if (nq !== 0 && Math.sign(nq) !== Math.sign(q)) holding.costRef = price
      holding.qty = nq
    }
    this.#add(holding)
  }

  remark(holding: Holding, mark: number): void {
    this.#remove(holding)
    holding.mark = mark
    this.#add(holding)
  }

  /** Start a new trading day: realized P&L resets and today's P&L is measured from the current marks. */
  rollDay(): void {
    this.realizedPnl = 0
    for (const h of this.holdings.values()) {
      this.#remove(h)
      h.costRef = h.mark
      this.#add(h)
    }
  }

  #remove(h: Holding): void {
    this.grossExposure -= Math.abs(h.qty) * h.mark
    this.markedPnl -= h.qty * (h.mark - h.costRef)
  }

  #add(h: Holding): void {
    this.grossExposure += Math.abs(h.qty) * h.mark
    this.markedPnl += h.qty * (h.mark - h.costRef)
  }
}
