import type { OrderIntent, Quote, Side, TradingSession } from '@vellab/broker-gateway'
import { PRICED_ORDER_TYPES, PRICELESS_ORDER_TYPES } from '@vellab/broker-gateway'
import type { ResolvedRiskGatewayOptions, RiskGatewayOptions, ScopeLimits, StrategyPolicy } from './config'
import { RiskGatewayOptionsSchema } from './config'
import type {
  AccountProfile,
  OpenOrder,
  RiskContext,
  RiskRequest,
  ScopeExposure,
  SymbolActivity,
  SymbolView,
} from './context'
import { RiskError } from './errors'
import type { KstDay } from './kst'
import { kstDay, kstMsOfDay } from './kst'
import type { KrxMarketRules, PhaseResolution, ScheduledPhase } from './market-rules'
import { createKrxMarketRules } from './market-rules'
import type { OrderDivisionCode } from './order-matrix'
import { AUCTION_FALLBACK, orderDivisionCode, PRICELESS_CODES, SOR_CODES } from './order-matrix'
import type { PriceBand } from './price-limits'
import { dailyLimits, intersectBands, percentBand } from './price-limits'
import type { ReasonCode, RiskReason } from './reasons'
import { reason } from './reasons'
import type { PhaseId } from './sessions-data'
import { marketWideShortBanOn } from './short-sale-rules'
import type { TickGrid } from './ticks'

/** `allow`: send it. `reject`: do not send. `review`: hold for a human (see `RiskContext.approvals`). */
export type RiskOutcome = 'allow' | 'reject' | 'review'

/** The result of `check`: plain data, suitable for the audit log as is. */
export interface RiskDecision {
  readonly outcome: RiskOutcome
  /** Why the request was rejected or held (empty when allowed). Stable codes, see `REASON_CATALOGUE`. */
  readonly reasons: readonly RiskReason[]
  /** Non-blocking findings (broker/computed disagreements, soft guards, approved reviews). */
  readonly warnings: readonly RiskReason[]
  /** When the decision was made (the context's `now`). */
  readonly at: number
  /** The phase the order would enter, when one was resolved. */
  readonly phase?: PhaseId
  /** The KIS order-division code the order maps to. */
  readonly orderCode?: OrderDivisionCode
  /** H1 in `cancel_resting` mode: our resting orders to cancel before the new one may go. */
  readonly cancelFirst?: readonly string[]
}

/** The pre-trade gate: one synchronous, pure `check` in front of every new order, replace and cancel. */
export interface RiskGateway {
  /**
   * Decide on `request` using only `context` (no I/O, no clock reads). Never throws for a
   * business reason: every rule outcome is a reason code in the decision.
   */
  check(request: RiskRequest, context: RiskContext): RiskDecision
  /** The validated options in force. */
  readonly options: ResolvedRiskGatewayOptions
  /** The market rules in force. */
  readonly rules: KrxMarketRules
}

const NONE: readonly RiskReason[] = Object.freeze([])

function append<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined) return [item]
  list.push(item)
  return list
}

// One reusable collector: `check` is synchronous and not re-entrant, so sharing it avoids
// allocating three arrays per call; arrays are only created for requests that have findings.
class Collector {
  rejects: RiskReason[] | undefined
  reviews: RiskReason[] | undefined
  warnings: RiskReason[] | undefined
  cancelFirst: string[] | undefined
  phase: PhaseId | undefined
  code: OrderDivisionCode | undefined
  reset(): void {
    this.rejects = undefined
    this.reviews = undefined
    this.warnings = undefined
    this.cancelFirst = undefined
    this.phase = undefined
    this.code = undefined
  }
  reject(code: ReasonCode, detail?: string): void {
    this.rejects = append(this.rejects, reason(code, detail))
  }
  review(code: ReasonCode, detail?: string): void {
    this.reviews = append(this.reviews, reason(code, detail))
  }
  warn(code: ReasonCode, detail?: string): void {
    this.warnings = append(this.warnings, reason(code, detail))
  }
  act(action: 'reject' | 'review' | 'warn' | 'off', code: ReasonCode, detail?: string): void {
    if (action === 'reject') this.reject(code, detail)
    else if (action === 'review') this.review(code, detail)
    else if (action === 'warn') this.warn(code, detail)
  }
  get blocked(): boolean {
    return this.rejects !== undefined
  }
}

const SHORT_ALLOWED_SESSIONS: ReadonlySet<TradingSession> = new Set(['regular'])
const CLOSE_PRICE_SESSIONS: ReadonlySet<TradingSession> = new Set(['pre_close_price', 'post_close_price'])
const OFF_HOURS_SESSIONS: ReadonlySet<TradingSession> = new Set([
  'pre_close_price',
  'post_close_price',
  'after_hours_single_price',
])

/**
 * Create the pre-trade risk gateway. Options are validated with zod (defaults from the reference's
 * §7.3 table); H17 refuses to start a co-located deployment without HFT registration.
 *
 * @example
 * ```ts
 * const gateway = createRiskGateway({ strategies: { momentum: { sessions: ['regular'], entryCutoffMs: 60_000 } } })
 * const state = new RiskState({ killSwitches: board })
 * state.advanceTo(clock.now())
 * const decision = gateway.check({ kind: 'new', intent }, state)
 * if (decision.outcome === 'allow') await broker.placeOrder(intent)
 * ```
 * @throws RiskError `CONFIG_INVALID` for invalid options or an unregistered co-located deployment.
 */
export function createRiskGateway(
  options: RiskGatewayOptions = {},
  rules: KrxMarketRules = createKrxMarketRules(),
): RiskGateway {
  const parsed = RiskGatewayOptionsSchema.safeParse(options)
  if (!parsed.success) {
    throw new RiskError(
      'CONFIG_INVALID',
      `createRiskGateway: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      {
        cause: parsed.error,
      },
    )
  }
  const opts = parsed.data
  // reference/krx-market-rules.md §7.3 H17 / §7.2: co-location requires 고속 알고리즘거래자 registration.
  if (opts.colocated && !opts.hftRegistered) {
    throw new RiskError(
      'CONFIG_INVALID',
      'co-located servers require high-speed algorithmic trader registration (H17)',
    )
  }
  const shortBans = new Set(opts.shortSaleBans)
  const c = new Collector()
  const g = opts.guards

  function policyOf(strategyId: string): StrategyPolicy | undefined {
    return opts.strategies[strategyId] ?? opts.defaultStrategy
  }

  function finish(ctx: RiskContext, intentId: string | undefined): RiskDecision {
    let reviews = c.reviews
    if (reviews && intentId !== undefined && ctx.approvals) {
      const pending: RiskReason[] = []
      for (const r of reviews) {
        if (ctx.approvals.isApproved(intentId, r.code)) c.warn('REVIEW_APPROVED', r.code)
        else pending.push(r)
      }
      reviews = pending.length ? pending : undefined
    }
    const outcome: RiskOutcome = c.rejects ? 'reject' : reviews ? 'review' : 'allow'
    const reasons = c.rejects ? (reviews ? [...c.rejects, ...reviews] : c.rejects) : (reviews ?? NONE)
    const d: {
      -readonly [K in keyof RiskDecision]: RiskDecision[K]
    } = { outcome, reasons, warnings: c.warnings ?? NONE, at: ctx.now }
    if (c.phase !== undefined) d.phase = c.phase
    if (c.code !== undefined) d.orderCode = c.code
    if (c.cancelFirst !== undefined) d.cancelFirst = c.cancelFirst
    return d
  }

  // ---- calendar, session and order type ----------------------------------------------------

  /** Calendar checks; false when nothing further can be decided. */
  function checkDay(ctx: RiskContext, day: KstDay): boolean {
    const status = rules.dayStatus(day)
    if (status.kind === 'uncovered') {
      // reference/krx-market-rules.md §1.3, §5: fail closed outside reviewed coverage.
      c.reject('CALENDAR_UNCOVERED', `${Math.floor(day / 10_000)} is not covered`)
      return false
    }
    if (status.coverage === 'provisional' && !opts.allowProvisionalCalendar) {
      c.reject('CALENDAR_PROVISIONAL', `${Math.floor(day / 10_000)} is provisional (§5.2)`)
    }
    if (status.kind === 'closed') {
      c.reject('MARKET_CLOSED_DAY', status.reason)
      return false
    }
    if (ctx.holidayMismatch(day)) c.reject('CALENDAR_BROKER_MISMATCH')
    return true
  }

  function resolve(venue: 'KRX' | 'NXT', session: TradingSession, day: KstDay, ms: number): PhaseResolution {
    return rules.resolvePhase(venue, session, day, ms, opts.randomEndGraceMs)
  }

  function sessionFailure(res: PhaseResolution, what: string): void {
    switch (res.status) {
      case 'uncovered':
        c.reject('SESSION_UNCOVERED', what)
        return
      case 'not_in_regime':
        c.reject('SESSION_NOT_IN_REGIME', what)
        return
      case 'unverified':
        c.reject('SESSION_UNVERIFIED', what)
        return
      case 'closed':
        c.reject('SESSION_CLOSED', what)
        return
      case 'open':
        return
    }
  }

  function inCallAuction(phase: ScheduledPhase, quote: Quote | undefined): boolean {
    if (phase.definition.kind === 'call_auction') return true
    if (phase.definition.kind !== 'continuous' || !quote) return false
    // §4.2: VI turns continuous trading into a call auction; §4.5: short-term overheated names
    // trade in 30-minute call auctions on KRX.
    return quote.state.viActive || (phase.definition.venue === 'KRX' && quote.state.shortTermOverheated)
  }

  function checkOrderType(
    code: OrderDivisionCode | undefined,
    res: PhaseResolution & { status: 'open' },
    venue: OrderIntent['venue'],
    quote: Quote | undefined,
  ): void {
    if (code === undefined) {
      c.reject('ORDER_TYPE_UNSUPPORTED')
      return
    }
    const phase = res.phase
    const auction = phase.definition.kind === 'continuous' && inCallAuction(phase, quote)
    if (!(auction ? (AUCTION_FALLBACK[phase.id]?.includes(code) ?? false) : phase.accepts.has(code))) {
      c.reject(
        'ORDER_TYPE_NOT_ACCEPTED',
        `${code} in ${phase.id}${auction ? ' (call auction: VI/overheated)' : ''}`,
      )
      return
    }
    if (res.possiblyStillOpen && !res.possiblyStillOpen.accepts.has(code)) {
      c.reject(
        'AUCTION_RANDOM_END',
        `${code} is not valid in ${res.possiblyStillOpen.id}, which may still run`,
      )
    }
    if (venue === 'SOR' && !SOR_CODES.has(code)) c.reject('ORDER_TYPE_NOT_ACCEPTED', `${code} via SOR (§2.4)`)
  }

  // ---- prices --------------------------------------------------------------------------------

  /** The band an order price must lie in, or `undefined` when the instrument has no limit. */
  function bandFor(
    sym: SymbolView,
    quote: Quote,
    grid: TickGrid,
    session: TradingSession,
  ): PriceBand | undefined | null {
    const ref = sym.ref
    if (ref.liquidation || ref.kind === 'elw') return undefined // §4.1: no limit
    const shape = { leverage: ref.leverage ?? 1, listingDay: ref.listingDay === true }
    let band = dailyLimits(grid, { basePrice: quote.basePrice, ...shape })!
    if (ref.basePrice !== undefined && ref.basePrice !== quote.basePrice) {
      c.warn('BROKER_BASE_PRICE_MISMATCH', `master ${ref.basePrice} vs broker ${quote.basePrice}`)
      const other = dailyLimits(grid, { basePrice: ref.basePrice, ...shape })!
      const both = intersectBands(band, other)
      if (!both) return null
      band = both
    }
    if (quote.upperLimit !== band.upper || quote.lowerLimit !== band.lower) {
      // §4.1 / issue: where the broker's limits disagree with ours, the stricter wins and it is reported.
      c.warn(
        'BROKER_LIMIT_MISMATCH',
        `computed [${band.lower}, ${band.upper}] vs broker [${quote.lowerLimit}, ${quote.upperLimit}]`,
      )
      const both = intersectBands(band, { lower: quote.lowerLimit, upper: quote.upperLimit })
      if (!both) return null
      band = both
    }
    if (session === 'after_hours_single_price') {
      // §4.1 [K3]: within ±10 % of today's close and within the daily limit.
      if (ref.todayClose === undefined) {
        c.reject('REFERENCE_MISSING', "today's close (single-price band)")
        return null
      }
      const both = intersectBands(band, percentBand(grid, ref.todayClose, 10))
      if (!both) return null
      band = both
    }
    return band
  }

  function checkPrice(
    price: number,
    grid: TickGrid,
    band: PriceBand | undefined | null,
    quote: Quote,
    what: string,
  ): void {
    if (!grid.isOnGrid(price)) {
      // §3: "Order prices must be exact multiples of the tick"; never rounded.
      c.reject('PRICE_OFF_TICK', `${what} ${price}, tick ${grid.tickAt(price)}`)
      return
    }
    const ours = grid.tickAt(quote.lastPrice)
    if (quote.tickSize !== ours) {
      c.warn('BROKER_TICK_MISMATCH', `table ${ours} vs broker ${quote.tickSize} at ${quote.lastPrice}`)
      const coarser = Math.max(ours, quote.tickSize)
      if (grid.tickAt(price) === ours && price % coarser !== 0) {
        c.reject('PRICE_OFF_TICK', `${what} ${price} not on the stricter tick ${coarser}`)
        return
      }
    }
    if (band === null) {
      c.reject('PRICE_ABOVE_UPPER_LIMIT', `${what}: no price satisfies both computed and broker bands`)
      return
    }
    if (band === undefined) return
    if (price > band.upper) c.reject('PRICE_ABOVE_UPPER_LIMIT', `${what} ${price} > ${band.upper}`)
    else if (price < band.lower) c.reject('PRICE_BELOW_LOWER_LIMIT', `${what} ${price} < ${band.lower}`)
  }

  // ---- limits --------------------------------------------------------------------------------

  function checkScope(
    limits: ScopeLimits | undefined,
    exposure: ScopeExposure | undefined,
    label: string,
    intent: OrderIntent,
    value: number,
    unitPrice: number,
    now: number,
    riskReducing: boolean,
  ): void {
    if (!limits) return
    const qty = intent.quantity
    if (limits.maxOrderQuantity !== undefined && qty > limits.maxOrderQuantity) {
      c.reject('ORDER_MAX_QUANTITY', `${label}: ${qty} > ${limits.maxOrderQuantity}`)
    }
    if (limits.maxOrderValue !== undefined && value > limits.maxOrderValue) {
      c.reject('ORDER_MAX_VALUE', `${label}: ${value} > ${limits.maxOrderValue}`)
    }
    const ordersLastMinute = exposure ? exposure.ordersSince(now - 60_000) : 0
    if (limits.maxOrdersPerMinute !== undefined && ordersLastMinute + 1 > limits.maxOrdersPerMinute) {
      c.reject('ORDER_RATE_LIMIT', `${label}: ${ordersLastMinute + 1} > ${limits.maxOrdersPerMinute}/min`)
    }
    if (riskReducing) return
    const pos = exposure ? exposure.positionQuantity(intent.symbol) : 0
    const projected =
      intent.side === 'buy'
        ? Math.abs(pos + (exposure ? exposure.openBuyQuantity(intent.symbol) : 0) + qty)
        : Math.abs(pos - qty)
    if (limits.maxPositionQuantity !== undefined && projected > limits.maxPositionQuantity) {
      c.reject('POSITION_LIMIT', `${label}: ${projected} shares > ${limits.maxPositionQuantity}`)
    }
    if (limits.maxPositionValue !== undefined && projected * unitPrice > limits.maxPositionValue) {
      c.reject('POSITION_LIMIT', `${label}: ${projected * unitPrice} KRW > ${limits.maxPositionValue}`)
    }
    const gross = (exposure ? exposure.grossExposure + exposure.openBuyValue : 0) + value
    if (limits.maxGrossExposure !== undefined && gross > limits.maxGrossExposure) {
      c.reject('GROSS_EXPOSURE_LIMIT', `${label}: ${Math.round(gross)} > ${limits.maxGrossExposure}`)
    }
    if (limits.maxDailyLoss !== undefined && exposure && exposure.dailyPnl <= -limits.maxDailyLoss) {
      c.reject('DAILY_LOSS_CAP', `${label}: P&L ${Math.round(exposure.dailyPnl)} ≤ −${limits.maxDailyLoss}`)
    }
  }

  // ---- market-abuse guards (reference §7.3) -------------------------------------------------

  function marketable(side: Side, price: number | undefined, restingPrice: number | undefined): boolean {
    if (price === undefined || restingPrice === undefined) return true
    return side === 'buy' ? price >= restingPrice : price <= restingPrice
  }

  function selfTrade(
    ctx: RiskContext,
    owner: AccountProfile,
    symbol: string,
    side: Side,
    price: number | undefined,
    venue: OrderIntent['venue'],
    except: OpenOrder | undefined,
  ): void {
    if (g.h1.action === 'off') return
    const orders = ctx.openOrdersOn(symbol)
    let hit: string | undefined
    for (let i = 0; i < orders.length; i++) {
      const o = orders[i]!
      if (o === except || o.side === side) continue
      if (o.venue !== venue && venue !== 'SOR' && o.venue !== 'SOR') continue
      if (!marketable(side, price, o.limitPrice)) continue
      const other = o.account === owner.account ? owner : ctx.account(o.account)
      if (!other || other.beneficialOwner !== owner.beneficialOwner) continue
      hit ??= o.brokerOrderId ?? o.intentId
      if (g.h1.mode === 'cancel_resting') c.cancelFirst = append(c.cancelFirst, o.brokerOrderId ?? o.intentId)
    }
    if (hit !== undefined) c.act(g.h1.action, 'SELF_TRADE', `against our resting ${hit}`)
  }

  function sideDepth(sym: SymbolView, side: Side, levels: number): number {
    const book = sym.book
    if (!book) return 0
    const l = side === 'buy' ? book.bids : book.asks
    let sum = 0
    for (let i = 0; i < l.length && i < levels; i++) sum += l[i]!.quantity
    return sum
  }

  function isAggressive(side: Side, price: number | undefined, sym: SymbolView): boolean {
    if (price === undefined) return true
    const book = sym.book
    if (!book) return false
    if (side === 'buy') {
      const ask = book.asks[0]?.price
      return ask !== undefined && price >= ask
    }
    const bid = book.bids[0]?.price
    return bid !== undefined && price <= bid
  }

  /** H8: our resting orders on `side` span ≥ N levels and ≥ P % of that side's 10-level depth. */
  function layered(
    ctx: RiskContext,
    sym: SymbolView,
    side: Side,
    extraPrice: number | undefined,
    extraQty: number,
  ): boolean {
    const orders = ctx.openOrdersOn(sym.ref.symbol)
    let levels = 0
    let qty = extraQty
    if (extraPrice !== undefined) levels = 1
    for (let i = 0; i < orders.length; i++) {
      const o = orders[i]!
      if (o.side !== side || o.limitPrice === undefined) continue
      qty += o.remainingQuantity
      let seen = o.limitPrice === extraPrice
      for (let j = 0; j < i && !seen; j++) {
        const p = orders[j]!
        if (p.side === side && p.limitPrice === o.limitPrice) seen = true
      }
      if (!seen) levels++
    }
    const depth = sideDepth(sym, side, 10)
    return levels >= g.h8.minLevels && depth > 0 && (qty / depth) * 100 >= g.h8.depthPct
  }

  function abuseGuardsNew(
    ctx: RiskContext,
    intent: OrderIntent,
    account: AccountProfile,
    sym: SymbolView,
    quote: Quote,
    grid: TickGrid | undefined,
    value: number,
    res: PhaseResolution,
    justification: string | undefined,
  ): void {
    const now = ctx.now
    const side = intent.side
    const price = intent.limitPrice
    const act: SymbolActivity | undefined = ctx.activity(intent.symbol)
    const today = act !== undefined && act.day === kstDay(now)
    const aggressive = isAggressive(side, price, sym)

    selfTrade(ctx, account, intent.symbol, side, price, intent.venue, undefined)

    // H2: another of our accounts on the opposite side at the same price within the window.
    if (g.h2.action !== 'off' && act && price !== undefined) {
      const other = act.findPairing(side, price, intent.account, now - g.h2.windowMs)
      if (other !== undefined) c.act(g.h2.action, 'CROSS_ACCOUNT_PAIRING', `${other} at ${price}`)
    }

    // H4: fat finger by value (broker-like levels by holder type) and by share of ADV.
    const h4 = g.h4
    const warnAt = account.holderType === 'corporate' ? h4.corporateWarnKrw : h4.individualWarnKrw
    const holdAt = account.holderType === 'corporate' ? h4.corporateHoldKrw : h4.individualHoldKrw
    if (value > holdAt) c.act(h4.holdAction, 'FAT_FINGER_HOLD', `${value} KRW > ${holdAt}`)
    else if (value > warnAt) c.warn('FAT_FINGER_WARN', `${value} KRW > ${warnAt}`)
    const adv = sym.ref.averageDailyVolume
    if (adv !== undefined && adv > 0) {
      const pct = (intent.quantity / adv) * 100
      if (pct >= h4.advHoldPct) c.act(h4.holdAction, 'FAT_FINGER_HOLD', `${pct.toFixed(1)} % of ADV`)
      else if (pct >= h4.advWarnPct) c.warn('FAT_FINGER_WARN', `${pct.toFixed(1)} % of ADV`)
    }

    // H5 (soft): far from the best opposite quote.
    if (g.h5.action !== 'off' && price !== undefined && sym.book && grid) {
      const best = side === 'buy' ? sym.book.asks[0]?.price : sym.book.bids[0]?.price
      if (best !== undefined) {
        const dist = Math.abs(price - best)
        if (dist > g.h5.warnTicks * grid.tickAt(best) || (dist / best) * 100 > g.h5.warnPct) {
          c.act(g.h5.action, 'PRICE_COLLAR_WARN', `${price} vs best ${best}`)
        }
      }
    }

    // H6: quote-and-cancel burst throttle (state set by RiskState.recordSent).
    if (g.h6.action !== 'off' && act && act.throttledUntil > now) {
      c.act(g.h6.action, 'QUOTE_CANCEL_THROTTLE', `until ${new Date(act.throttledUntil).toISOString()}`)
    }

    // H7: unlikely-to-execute size (passive orders only; a marketable order executes).
    if (g.h7.action !== 'off' && price !== undefined && !aggressive && sym.book) {
      const last = sym.lastTrade ?? quote.lastPrice
      const far = (Math.abs(price - last) / last) * 100 >= g.h7.farFromLastPct
      const book = sym.book
      const displayed =
        (side === 'buy' ? book.totalBidQuantity : book.totalAskQuantity) ??
        sideDepth(sym, side, Number.POSITIVE_INFINITY)
      const depth10 = sideDepth(sym, side, 10)
      const big =
        (far && displayed > 0 && (intent.quantity / displayed) * 100 >= g.h7.sameSideDisplayedPct) ||
        (depth10 > 0 && (intent.quantity / depth10) * 100 >= g.h7.tenLevelDepthPct)
      if (big) {
        if (justification) c.warn('UNLIKELY_TO_EXECUTE_JUSTIFIED', justification)
        else c.act(g.h7.action, 'UNLIKELY_TO_EXECUTE', `${intent.quantity} at ${price} (last ${last})`)
      }
    }

    // H8: layering.
    if (g.h8.action !== 'off' && sym.book) {
      const opposite: Side = side === 'buy' ? 'sell' : 'buy'
      if (aggressive && layered(ctx, sym, opposite, undefined, 0)) {
        c.act(g.h8.action, 'LAYERING', `trading ${side} against our layered ${opposite} orders`)
      } else if (
        !aggressive &&
        act &&
        now - act.lastFillAt[opposite] <= g.h8.windowMs &&
        layered(ctx, sym, side, price, intent.quantity)
      ) {
        c.act(g.h8.action, 'LAYERING', `layering ${side} within ${g.h8.windowMs} ms of an opposite fill`)
      }
    }

    // H9: order-to-trade ratio per symbol per day.
    if (g.h9.action !== 'off' && act && today) {
      const messages = act.messagesToday + 1
      const ratio = messages / Math.max(1, act.fillsToday)
      if (!aggressive && messages >= g.h9.minMessages && ratio > g.h9.blockRatio) {
        c.act(g.h9.action, 'ORDER_TO_TRADE_BLOCK', `ratio ${ratio.toFixed(1)} over ${messages} messages`)
      } else if (ratio > g.h9.alertRatio) c.warn('ORDER_TO_TRADE_ALERT', `ratio ${ratio.toFixed(1)}`)
    }

    // H10/H11: auctions.
    if (res.status === 'open' && inCallAuction(res.phase, quote)) {
      const auction = sym.auction
      if (g.h10.action !== 'off') {
        if (auction && auction.volume > 0) {
          let ours = intent.quantity
          const orders = ctx.openOrdersOn(intent.symbol)
          for (let i = 0; i < orders.length; i++)
            if (orders[i]!.venue === intent.venue) ours += orders[i]!.remainingQuantity
          if ((ours / auction.volume) * 100 > g.h10.maxAuctionSharePct) {
            c.act(g.h10.action, 'AUCTION_SHARE_CAP', `${ours} of indicative ${auction.volume}`)
          }
        } else c.warn('AUCTION_VOLUME_UNKNOWN')
      }
      const id = res.phase.id
      if (
        g.h11.action !== 'off' &&
        (id === 'krx_opening_auction' || id === 'krx_closing_auction') &&
        kstMsOfDay(now) >= res.phase.closeMs - g.h11.lastWindowMs
      ) {
        const refPrice = auction?.price ?? sym.lastTrade ?? quote.lastPrice
        const limit = (refPrice * g.h11.maxMovePct) / 100
        if (price === undefined) c.act(g.h11.action, 'MARKING_THE_CLOSE', `priceless order late in ${id}`)
        else if (side === 'buy' ? price > refPrice + limit : price < refPrice - limit) {
          c.act(g.h11.action, 'MARKING_THE_CLOSE', `${price} vs indicative ${refPrice} in ${id}`)
        }
      }
    }

    // H12: participation caps.
    if (g.h12.action !== 'off' && act && today) {
      const since = now - g.h12.windowMs
      const market = act.marketVolumeSince(since)
      const ours = act.filledQuantitySince(since)
      if (market >= g.h12.minMarketVolume && (ours / market) * 100 > g.h12.windowPct) {
        c.act(g.h12.action, 'PARTICIPATION_CAP', `${ours} of ${market} in the window`)
      } else if (
        act.marketVolumeToday >= g.h12.minMarketVolume &&
        (act.filledQuantityToday / act.marketVolumeToday) * 100 > g.h12.dailyPct
      ) {
        c.act(
          g.h12.action,
          'PARTICIPATION_CAP',
          `${act.filledQuantityToday} of ${act.marketVolumeToday} today`,
        )
      }
    }

    // H13: odd-lot spam through the best quote.
    if (g.h13.action !== 'off' && act && intent.quantity <= g.h13.smallQuantity && aggressive) {
      const n = act.smallThroughOrdersSince(now - g.h13.windowMs) + 1
      if (n > g.h13.maxSmallOrders) c.act(g.h13.action, 'ODD_LOT_SPAM', `${n} small orders in the window`)
    }

    messageRates(ctx, intent.account, act)
  }

  function messageRates(ctx: RiskContext, account: string, act: SymbolActivity | undefined): void {
    if (g.h14.action === 'off') return
    const since = ctx.now - 1_000
    if (act && act.messagesSince(since) + 1 > g.h14.perSymbolPerSecond) {
      c.act(g.h14.action, 'MESSAGE_RATE_SYMBOL', `> ${g.h14.perSymbolPerSecond}/s`)
    }
    if (ctx.accountMessagesSince(account, since) + 1 > g.h14.perAccountPerSecond) {
      c.act(g.h14.action, 'MESSAGE_RATE_ACCOUNT', `> ${g.h14.perAccountPerSecond}/s`)
    }
  }

  // ---- requests ------------------------------------------------------------------------------

  function checkNew(intent: OrderIntent, justification: string | undefined, ctx: RiskContext): void {
    const now = ctx.now
    const day = kstDay(now)
    const ms = kstMsOfDay(now)

    const ks = ctx.killSwitches
    if (!ks.loaded) c.reject('KILL_SWITCH_STATE_UNKNOWN')
    else {
      const engaged = ks.find(intent.account, intent.strategyId, intent.symbol)
      if (engaged) {
        c.reject(
          'KILL_SWITCH_ENGAGED',
          `${engaged.scope}:${engaged.key} by ${engaged.actor}: ${engaged.reason}`,
        )
      }
    }
    const account = ctx.account(intent.account)
    if (!account) c.reject('ACCOUNT_UNKNOWN', intent.account)
    const policy = policyOf(intent.strategyId)
    if (!policy) c.reject('STRATEGY_UNKNOWN', intent.strategyId)
    const sym = ctx.symbol(intent.symbol)
    if (!sym) {
      c.reject('SYMBOL_UNKNOWN', intent.symbol)
      return
    }
    if (!checkDay(ctx, day)) return

    const venue = intent.venue
    const session = intent.session
    if (account?.paper && venue !== 'KRX') c.reject('PAPER_VENUE_NOT_KRX', venue)
    if (policy && (!policy.sessions.includes(session) || !policy.venues.includes(venue))) {
      c.reject('STRATEGY_SESSION_NOT_ALLOWED', `${venue}/${session}`)
    }
    if (venue === 'NXT' && !sym.ref.nxtEligible) c.reject('NXT_INELIGIBLE')
    if (venue === 'SOR' && session !== 'regular') c.reject('SOR_SESSION_UNSUPPORTED', session)

    // The intent's price fields must fit its type and session; otherwise the tick and band checks
    // below would be skipped for a price the broker then sends (or ignores). The contract's parser
    // enforces this too, but `check` must not depend on its caller having used it.
    const closePrice = CLOSE_PRICE_SESSIONS.has(session)
    if (closePrice && intent.limitPrice !== undefined) {
      // §4.1: close-price sessions trade at the fixed close; any other price is rejected.
      c.reject('INVALID_REQUEST', `${session} trades at the close; no limitPrice`)
    } else if (!closePrice && PRICED_ORDER_TYPES.has(intent.orderType) && intent.limitPrice === undefined) {
      c.reject('INVALID_REQUEST', `a ${intent.orderType} order needs a limitPrice`)
    } else if (PRICELESS_ORDER_TYPES.has(intent.orderType) && intent.limitPrice !== undefined) {
      // §1.2: KIS sends ORD_UNPR "0" for these; a price would be silently dropped.
      c.reject('INVALID_REQUEST', `a ${intent.orderType} order takes no limitPrice`)
    }
    if ((intent.orderType === 'stop_limit') !== (intent.stopPrice !== undefined)) {
      // §1.2: `22` needs CNDT_PRIC; no other type carries one.
      c.reject('INVALID_REQUEST', 'stopPrice goes with stop_limit orders only, and they need one')
    }

    const quote = sym.quote
    const res = resolve(venue === 'NXT' ? 'NXT' : 'KRX', session, day, ms)
    const code = orderDivisionCode(intent.orderType, intent.timeInForce, session, venue)
    c.code = code
    if (res.status !== 'open') sessionFailure(res, `${venue}/${session}`)
    else {
      c.phase = res.phase.id
      if (policy && policy.entryCutoffMs > 0 && ms >= res.sessionEndMs - policy.entryCutoffMs) {
        c.reject('ENTRY_CUTOFF', `${policy.entryCutoffMs} ms before ${venue}/${session} ends`)
      }
      if (res.phase.id === 'krx_single_price' && sym.ref.nxtEligible) {
        // §1.1 [N2][N3]: from the NXT launch (2025-03-04) NXT-eligible stocks are excluded from the
        // 16:00–18:00 single-price session; the exchange would refuse the order.
        c.reject('SINGLE_PRICE_EXCLUDED')
      }
      if (
        res.phase.id === 'krx_after_market' &&
        (sym.ref.kind === 'etf' || sym.ref.kind === 'etn' || quote?.state.shortTermOverheated)
      ) {
        c.reject('AFTER_MARKET_EXCLUDED')
      }
      checkOrderType(code, res, venue, quote)
    }

    if (!quote) {
      c.reject('QUOTE_MISSING')
      return
    }
    if (now - quote.at > opts.maxQuoteAgeMs) c.reject('QUOTE_STALE', `${now - quote.at} ms old`)
    if (quote.state.halted) c.reject('SYMBOL_HALTED')
    const cb = ctx.circuitBreakerStage(sym.ref.market)
    if (cb === 3) c.reject('MARKET_CLOSED_CB3', sym.ref.market)
    else if (cb > 0) c.reject('MARKET_HALTED', `${sym.ref.market} stage ${cb}`)

    // §8: trading unit; off-hours sessions use the master's 시간외수량단위.
    const lot = sym.ref.lotSize ?? (sym.ref.kind === 'elw' ? 10 : 1)
    const unit = OFF_HOURS_SESSIONS.has(session) ? (sym.ref.offHoursLotSize ?? lot) : lot
    if (intent.quantity % unit !== 0) c.reject('LOT_SIZE', `${intent.quantity} is not a multiple of ${unit}`)

    const grid = rules.ticks.gridFor(sym.ref.kind, day)
    let band: PriceBand | undefined | null
    if (!grid) c.reject('TICK_TABLE_UNCOVERED', sym.ref.kind)
    else {
      band = bandFor(sym, quote, grid, session)
      if (intent.limitPrice !== undefined) checkPrice(intent.limitPrice, grid, band, quote, 'limitPrice')
      if (intent.stopPrice !== undefined) checkPrice(intent.stopPrice, grid, band, quote, 'stopPrice')
    }

    // Value: priced orders at their price; priceless ones at the upper limit, as KIS reserves
    // buying power (§4.1); close-price orders at the best estimate of the close.
    // §1.1: the pre-open close-price trade is at the previous close (the base price on ex-right
    // days); the post-close one at today's close.
    const unitPrice =
      intent.limitPrice ??
      (session === 'pre_close_price'
        ? quote.basePrice
        : session === 'post_close_price'
          ? (sym.ref.todayClose ?? quote.lastPrice)
          : (band?.upper ?? quote.upperLimit))
    const value = unitPrice * intent.quantity

    // H3 / §7.2 [N46]: the exchange's per-order size limit, a hard reject.
    const h3 = g.h3
    if (h3.action !== 'off' && value >= h3.alwaysAcceptBelowKrw) {
      const pct = sym.ref.marketCap < h3.smallCapBelowKrw ? h3.smallCapListedSharesPct : h3.listedSharesPct
      const maxQty = Math.floor((sym.ref.listedShares * pct) / 100)
      if (intent.quantity > maxQty)
        c.act(h3.action, 'EXCHANGE_SIZE_LIMIT', `${intent.quantity} > ${pct} % of listed shares`)
      else if (value > h3.maxValueKrw)
        c.act(h3.action, 'EXCHANGE_SIZE_LIMIT', `${value} KRW > ${h3.maxValueKrw}`)
    }

    // Limits per scope. A plain sell that does not exceed the holding reduces risk.
    const position = ctx.position(intent.account, intent.symbol)
    const riskReducing = intent.side === 'sell' && !intent.shortSale
    const lim = opts.limits
    checkScope(lim.global, ctx.globalExposure(), 'global', intent, value, unitPrice, now, riskReducing)
    checkScope(
      lim.accounts[intent.account],
      ctx.accountExposure(intent.account),
      `account ${intent.account}`,
      intent,
      value,
      unitPrice,
      now,
      riskReducing,
    )
    checkScope(
      lim.strategies[intent.strategyId],
      ctx.strategyExposure(intent.strategyId),
      `strategy ${intent.strategyId}`,
      intent,
      value,
      unitPrice,
      now,
      riskReducing,
    )
    checkScope(
      lim.symbols[intent.symbol],
      ctx.symbolExposure(intent.symbol),
      `symbol ${intent.symbol}`,
      intent,
      value,
      unitPrice,
      now,
      riskReducing,
    )

    if (intent.side === 'sell' && !intent.shortSale) {
      // §6 item 1: qty ≤ sellable (ord_psbl_qty) unless the order is an explicit short.
      const sellable = position?.sellableQuantity ?? 0
      if (intent.quantity > sellable) c.reject('SELL_EXCEEDS_SELLABLE', `${intent.quantity} > ${sellable}`)
    }
    if (intent.shortSale) shortSaleChecks(ctx, intent, account, sym, quote, code, day)

    if (account) abuseGuardsNew(ctx, intent, account, sym, quote, grid, value, res, justification)
  }

  function shortSaleChecks(
    ctx: RiskContext,
    intent: OrderIntent,
    account: AccountProfile | undefined,
    sym: SymbolView,
    quote: Quote,
    code: OrderDivisionCode | undefined,
    day: KstDay,
  ): void {
    // reference/krx-market-rules.md §6 "Sell-side pre-trade checks" items 2–4, H16.
    if (shortBans.has(intent.symbol)) c.reject('SHORT_SALE_BANNED')
    const marketWide = marketWideShortBanOn(day)
    if (marketWide) c.reject('SHORT_SALE_BANNED', marketWide)
    if (account && !account.nsdsReady) c.reject('SHORT_NSDS_NOT_READY')
    const available = ctx.borrowAvailable(intent.account, intent.symbol, day)
    if (available < intent.quantity) c.reject('SHORT_NO_BORROW', `${available} borrowed shares available`)
    if (quote.state.shortSaleOverheated) c.reject('SHORT_OVERHEATED')
    if (!SHORT_ALLOWED_SESSIONS.has(intent.session)) c.reject('SHORT_SESSION_BANNED', intent.session)
    const price = intent.limitPrice
    if (price === undefined || (code !== undefined && PRICELESS_CODES.has(code))) {
      c.reject('SHORT_PRICELESS')
      return
    }
    checkUptick(price, sym)
  }

  /**
   * §6 item 3 uptick rule: a short may not be priced at or below the last trade, except at the
   * last price when that price was itself an uptick.
   */
  function checkUptick(price: number, sym: SymbolView): void {
    const last = sym.lastTrade
    if (last === undefined) {
      c.reject('REFERENCE_MISSING', 'last trade price (uptick rule)')
      return
    }
    const prev = sym.previousDistinctTrade
    const lastWasUptick = prev !== undefined && last > prev
    if (price < last || (price === last && !lastWasUptick)) {
      c.reject('SHORT_UPTICK_RULE', `${price} vs last ${last}${prev !== undefined ? ` (prev ${prev})` : ''}`)
    }
  }

  function livePhaseOf(o: OpenOrder, day: KstDay, ms: number): PhaseResolution {
    const venue = o.venue === 'NXT' ? 'NXT' : 'KRX'
    const res = resolve(venue, o.session, day, ms)
    if (res.status === 'open' || venue !== 'NXT') return res
    // §2.1: NXT pre-market and main-market orders stay valid through the after-market.
    for (const s of ['after_market', 'regular', 'pre_market'] as const) {
      const r = resolve('NXT', s, day, ms)
      if (r.status === 'open') return r
    }
    return res
  }

  function auctionInterference(
    ctx: RiskContext,
    o: OpenOrder,
    res: PhaseResolution,
    sym: SymbolView | undefined,
  ): boolean {
    if (g.h10.action === 'off' || !o.movedAuctionPrice || res.status !== 'open') return false
    const phase = res.phase
    if (!inCallAuction(phase, sym?.quote)) return false
    // A VI auction lasts 2 minutes (§4.2), so all of it is inside the last-5-minutes window.
    const late =
      phase.definition.kind !== 'call_auction' || kstMsOfDay(ctx.now) >= phase.closeMs - g.h10.lastWindowMs
    return late
  }

  function checkReplace(req: RiskRequest & { kind: 'replace' }, ctx: RiskContext): string | undefined {
    const o = ctx.openOrder(req.brokerOrderId)
    if (!o) {
      c.reject('ORDER_UNKNOWN', req.brokerOrderId)
      return undefined
    }
    const now = ctx.now
    const day = kstDay(now)
    const ms = kstMsOfDay(now)
    const { patch } = req
    if (patch.quantity !== undefined && patch.quantity > o.remainingQuantity) {
      c.reject(
        'INVALID_REQUEST',
        `a replace can only reduce quantity (${patch.quantity} > ${o.remainingQuantity})`,
      )
    }
    const priceChange = patch.limitPrice !== undefined && patch.limitPrice !== o.limitPrice
    const ks = ctx.killSwitches
    if (priceChange) {
      if (!ks.loaded) c.reject('KILL_SWITCH_STATE_UNKNOWN')
      else {
        const engaged = ks.find(o.account, o.strategyId, o.symbol)
        if (engaged)
          c.reject(
            'KILL_SWITCH_ENGAGED',
            `${engaged.scope}:${engaged.key}: only quantity reductions and cancels`,
          )
      }
    }
    const sym = ctx.symbol(o.symbol)
    if (!sym) {
      c.reject('SYMBOL_UNKNOWN', o.symbol)
      return o.intentId
    }
    if (!checkDay(ctx, day)) return o.intentId
    const res = livePhaseOf(o, day, ms)
    if (res.status !== 'open') sessionFailure(res, `${o.venue}/${o.session}`)
    else c.phase = res.phase.id
    const quote = sym.quote
    const cb = ctx.circuitBreakerStage(sym.ref.market)
    if (cb === 3) c.reject('MARKET_CLOSED_CB3', sym.ref.market)
    else if (cb > 0) c.reject('MARKET_HALTED', `${sym.ref.market} stage ${cb}`)
    if (priceChange) {
      if (o.limitPrice === undefined) c.reject('INVALID_REQUEST', 'a priceless order cannot be given a price')
      if (!quote) c.reject('QUOTE_MISSING')
      else {
        if (now - quote.at > opts.maxQuoteAgeMs) c.reject('QUOTE_STALE', `${now - quote.at} ms old`)
        if (quote.state.halted) c.reject('SYMBOL_HALTED')
        const grid = rules.ticks.gridFor(sym.ref.kind, day)
        if (!grid) c.reject('TICK_TABLE_UNCOVERED', sym.ref.kind)
        else checkPrice(patch.limitPrice!, grid, bandFor(sym, quote, grid, o.session), quote, 'limitPrice')
        if (o.shortSale) checkUptick(patch.limitPrice!, sym)
      }
      const owner = ctx.account(o.account)
      if (owner) selfTrade(ctx, owner, o.symbol, o.side, patch.limitPrice, o.venue, o)
    }
    const act = ctx.activity(o.symbol)
    if (g.h6.action !== 'off' && act && act.throttledUntil > now) {
      c.act(g.h6.action, 'QUOTE_CANCEL_THROTTLE', 'amends are throttled too')
    }
    if (auctionInterference(ctx, o, res, sym)) {
      c.act(g.h10.action, 'AUCTION_INTERFERENCE', `amend of ${req.brokerOrderId} late in ${c.phase}`)
    }
    messageRates(ctx, o.account, act)
    return o.intentId
  }

  function checkCancel(req: RiskRequest & { kind: 'cancel' }, ctx: RiskContext): string | undefined {
    const o = ctx.openOrder(req.brokerOrderId)
    if (!o) {
      // Cancelling can only reduce risk; an unknown id is reported, not blocked.
      c.warn('ORDER_UNKNOWN', req.brokerOrderId)
      return undefined
    }
    const sym = ctx.symbol(o.symbol)
    // §4.3: after a stage-3 circuit breaker nothing, cancellations included, is accepted.
    if (sym && ctx.circuitBreakerStage(sym.ref.market) === 3) c.reject('MARKET_CLOSED_CB3', sym.ref.market)
    const day = kstDay(ctx.now)
    const res = livePhaseOf(o, day, kstMsOfDay(ctx.now))
    if (res.status === 'open') c.phase = res.phase.id
    if (auctionInterference(ctx, o, res, sym)) {
      // An engaged kill switch outranks the manipulation heuristic: its cancel-all must go through.
      const engaged = ctx.killSwitches.loaded && ctx.killSwitches.find(o.account, o.strategyId, o.symbol)
      if (engaged) c.warn('AUCTION_INTERFERENCE', 'cancel allowed: kill switch engaged')
      else c.act(g.h10.action, 'AUCTION_INTERFERENCE', `cancel of ${req.brokerOrderId} late in ${c.phase}`)
    }
    return o.intentId
  }

  return {
    options: opts,
    rules,
    check(request: RiskRequest, context: RiskContext): RiskDecision {
      c.reset()
      let intentId: string | undefined
      if (request.kind === 'new') {
        intentId = request.intent.intentId
        checkNew(request.intent, request.justification, context)
      } else if (request.kind === 'replace') intentId = checkReplace(request, context)
      else intentId = checkCancel(request, context)
      return finish(context, intentId)
    },
  }
}
