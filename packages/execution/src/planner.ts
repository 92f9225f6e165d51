import type { ParentOrder, Urgency } from './parent'

// The pure half of the orchestrator: how much the schedule wants by now, and at what price a child
// goes out. No I/O, no clock reads: the engine passes `now` and what it has observed.

/** The market facts a child's price is derived from (a `Quote` satisfies it). */
export interface MarketView {
  readonly lastPrice: number
  /** Tick size at the last price. */
  readonly tickSize: number
  readonly lowerLimit: number
  readonly upperLimit: number
}

/** How much of the parent is already spoken for. */
export interface Allocation {
  /** Shares filled across every child. */
  readonly filled: number
  /** Shares on working children (sent or about to be, not yet filled or closed). */
  readonly working: number
}

/**
 * Shares the schedule wants filled or working by `now`.
 * - TWAP: the quantity in `slices` equal steps; step k (1-based) is due from
 *   `startAt + (k − 1) × (deadline − startAt) / slices`, so the first slice goes at the start and
 *   the last one a slice before the deadline.
 * - POV: `maxParticipation` × the market volume observed since `startAt`, rounded down.
 * Before `startAt` nothing; from the deadline on (with `onDeadline: 'finish'`) everything.
 */
export function targetQuantity(parent: ParentOrder, now: number, observedVolume: number): number {
  if (now < parent.startAt) return 0
  if (now >= parent.deadline) return parent.onDeadline === 'finish' ? parent.quantity : 0
  const s = parent.schedule
  if (s.kind === 'twap') {
    const fraction = (now - parent.startAt) / (parent.deadline - parent.startAt)
    const due = Math.min(s.slices, Math.floor(fraction * s.slices) + 1)
    return Math.min(parent.quantity, Math.ceil((parent.quantity * due) / s.slices))
  }
  return Math.min(parent.quantity, Math.floor(s.maxParticipation * Math.max(0, observedVolume)))
}

/** The largest single child the schedule allows. */
export function maxChildQuantity(parent: ParentOrder): number {
  const s = parent.schedule
  return s.kind === 'twap' ? Math.ceil(parent.quantity / s.slices) : s.maxChildQuantity
}

/**
 * The size of the next child, or 0 when none is due. Never more than the parent's unallocated
 * remainder (`quantity − filled − working`), so the sum of live children can never exceed it.
 */
export function nextChildQuantity(
  parent: ParentOrder,
  now: number,
  allocation: Allocation,
  observedVolume: number,
): number {
  const unallocated = parent.quantity - allocation.filled - allocation.working
  if (unallocated <= 0) return 0
  const behind = targetQuantity(parent, now, observedVolume) - allocation.filled - allocation.working
  if (behind <= 0) return 0
  const cap = now >= parent.deadline ? unallocated : maxChildQuantity(parent)
  return Math.min(unallocated, behind, cap)
}

/**
 * A child's limit price: from the last price by urgency, capped by the parent's limit, inside the
 * day's band, on the tick grid (rounded away from crossing: down for a buy, up for a sell).
 * `undefined` when no price satisfies both the limit and the band (nothing can be sent).
 *
 * The grid used is the quote's tick size at the last price; near a tick-band boundary the exchange
 * grid may differ, which the pre-trade risk check (risk-kr's tick rules) catches before the wire.
 */
export function childLimitPrice(
  parent: Pick<ParentOrder, 'side' | 'limitPrice'>,
  market: MarketView,
  urgency: Urgency,
  crossTicks = 2,
): number | undefined {
  const { side } = parent
  const tick = market.tickSize
  const sign = side === 'buy' ? 1 : -1
  const offsetTicks = urgency === 'low' ? -1 : urgency === 'medium' ? 0 : crossTicks
  let price = market.lastPrice + sign * offsetTicks * tick
  if (parent.limitPrice !== undefined) {
    price = side === 'buy' ? Math.min(price, parent.limitPrice) : Math.max(price, parent.limitPrice)
  }
  price = Math.min(market.upperLimit, Math.max(market.lowerLimit, price))
  price = side === 'buy' ? Math.floor(price / tick) * tick : Math.ceil(price / tick) * tick
  if (price < market.lowerLimit || price > market.upperLimit || price <= 0) return undefined
  if (
    parent.limitPrice !== undefined &&
    (side === 'buy' ? price > parent.limitPrice : price < parent.limitPrice)
  ) {
    return undefined
  }
  return price
}
