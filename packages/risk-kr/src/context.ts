import type {
  OrderBookSnapshot,
  OrderIntent,
  OrderType,
  Position,
  Quote,
  ReplacePatch,
  Side,
  TimeInForce,
  TradingSession,
  Venue,
} from '@vellab/broker-gateway'
import type { KstDay } from './kst'
import type { ReasonCode } from './reasons'
import type { InstrumentKind } from './ticks'

/** What `check` is asked about: a new order, a replace or a cancel of one of our open orders. */
export type RiskRequest =
  | {
      readonly kind: 'new'
      readonly intent: OrderIntent
      /** H7: a strategy tag justifying a large order far from the market (logged with the decision). */
      readonly justification?: string
    }
  | { readonly kind: 'replace'; readonly brokerOrderId: string; readonly patch: ReplacePatch }
  | { readonly kind: 'cancel'; readonly brokerOrderId: string }

/** Risk facts about an account. */
export interface AccountProfile {
  readonly account: string
  /** A KIS mock (모의투자) account: KRX only (§2.4). */
  readonly paper: boolean
  /** The person/entity behind the account; H1/H2 look across accounts of one owner (§7.2 person-based surveillance). */
  readonly beneficialOwner: string
  /** H4 warn/hold levels differ for individual and corporate accounts (§7.2 [N48]). */
  readonly holderType: 'individual' | 'corporate'
  /** Flagged ready for NSDS balance management; required for short sales (§6 item 2). */
  readonly nsdsReady: boolean
}

/** Reference data for a symbol, from the master file (§9) and the daily NXT universe (§2.2). */
export interface SymbolReference {
  readonly symbol: string
  readonly kind: InstrumentKind
  readonly market: 'KOSPI' | 'KOSDAQ' | 'KONEX'
  /** 기준가 from the master file; compared with the broker's quote (stricter wins). */
  readonly basePrice?: number
  /** Leverage multiple of a leveraged ETF/ETN (§4.1). @default 1 */
  readonly leverage?: number
  /** Today is the listing day: base = offer price, band 60–400 % (§4.1). */
  readonly listingDay?: boolean
  /** Liquidation trading (정리매매): no price limit (§4.1). */
  readonly liquidation?: boolean
  /** Listed shares (상장주수), for the exchange size limit (H3). */
  readonly listedShares: number
  /** Market cap in KRW (시가총액), for the small-cap size limit (H3). */
  readonly marketCap: number
  /** Trading unit (매매수량단위). @default 1 (10 for ELW, §8) */
  readonly lotSize?: number
  /** Off-hours trading unit (시간외수량단위, §8). @default lotSize */
  readonly offHoursLotSize?: number
  /** In today's NXT universe (§2.2). */
  readonly nxtEligible: boolean
  /** Today's official close, once known; the Regime-A single-price band is ±10 % of it (§4.1). */
  readonly todayClose?: number
  /** Average daily volume in shares (H4). */
  readonly averageDailyVolume?: number
}

/** What the check knows about a symbol right now. */
export interface SymbolView {
  readonly ref: SymbolReference
  /** The broker's numbers and state flags (`getQuote` / streams). */
  readonly quote: Quote | undefined
  readonly book: OrderBookSnapshot | undefined
  /** Last trade price and the last different trade price before it (uptick rule, §6). */
  readonly lastTrade: number | undefined
  readonly previousDistinctTrade: number | undefined
  /** Indicative auction price and volume while a call auction runs (H10/H11). */
  readonly auction: { readonly price: number; readonly volume: number; readonly at: number } | undefined
}

/** One of our orders that can still trade. */
export interface OpenOrder {
  readonly intentId: string
  /** Known after the broker's ack. */
  readonly brokerOrderId: string | undefined
  readonly account: string
  readonly strategyId: string
  readonly symbol: string
  readonly side: Side
  readonly orderType: OrderType
  readonly timeInForce: TimeInForce
  readonly venue: Venue
  readonly session: TradingSession
  readonly shortSale: boolean
  readonly limitPrice: number | undefined
  readonly quantity: number
  readonly remainingQuantity: number
  readonly enteredAt: number
  /** H10: the order moved the indicative auction price by at least the configured percentage. */
  readonly movedAuctionPrice: boolean
}

/** Exposure and flow of one scope (global, an account, a strategy or a symbol). */
export interface ScopeExposure {
  /** Σ |position| × mark, KRW. */
  readonly grossExposure: number
  /** Remaining quantity × price of open buys, KRW. */
  readonly openBuyValue: number
  /** Today's realized + marked P&L, KRW. */
  readonly dailyPnl: number
  positionQuantity(symbol: string): number
  openBuyQuantity(symbol: string): number
  /** New orders sent after `since`. */
  ordersSince(since: number): number
}

/** Our recent activity on a symbol (H2, H6, H8, H9, H12, H13, H14). */
export interface SymbolActivity {
  /** The KST day the daily counters belong to. */
  readonly day: KstDay
  /** H6: new orders on the symbol are throttled until this time. */
  readonly throttledUntil: number
  /** H9: our new + amend + cancel messages and fills today. */
  readonly messagesToday: number
  readonly fillsToday: number
  /** H12: shares we filled today, and market volume today (from ticks). */
  readonly filledQuantityToday: number
  readonly marketVolumeToday: number
  /** Last time we were filled on each side (H8). */
  readonly lastFillAt: { readonly buy: number; readonly sell: number }
  /** H14: our messages on the symbol after `since`. */
  messagesSince(since: number): number
  /** H13: small orders through the best quote after `since`. */
  smallThroughOrdersSince(since: number): number
  /** H12: shares we filled after `since`, and market volume after `since`. */
  filledQuantitySince(since: number): number
  marketVolumeSince(since: number): number
  /** H2: a recent order of another account on the opposite side at the same price, entered after `since`. */
  findPairing(side: Side, price: number, account: string, since: number): string | undefined
}

/** An engaged kill switch as the check sees it. */
export interface EngagedKillSwitch {
  readonly scope: KillSwitchScope
  readonly key: string
  readonly reason: string
  readonly actor: string
  readonly engagedAt: number
}

/** Scopes a kill switch can cover. `global` uses the key `*`. */
export type KillSwitchScope = 'global' | 'account' | 'strategy' | 'symbol'

/** The in-memory view of kill-switch state the pure check reads. */
export interface KillSwitchView {
  /** False until the persisted state is loaded; the check then rejects everything but cancels. */
  readonly loaded: boolean
  /** The first engaged switch covering the order, if any. */
  find(account: string, strategyId: string, symbol: string): EngagedKillSwitch | undefined
}

/** Human-approval hook for `review` decisions. */
export interface ReviewApprovals {
  /** True when a person approved `code` for this intent. */
  isApproved(intentId: string, code: ReasonCode): boolean
}

/**
 * Everything `check` reads. Implemented by `RiskState`, which keeps it current from events; any
 * other implementation must answer from memory (no I/O: `check` is synchronous).
 */
export interface RiskContext {
  /** The current time, epoch ms. */
  readonly now: number
  readonly killSwitches: KillSwitchView
  readonly approvals: ReviewApprovals | undefined
  account(account: string): AccountProfile | undefined
  symbol(symbol: string): SymbolView | undefined
  position(account: string, symbol: string): Position | undefined
  openOrder(brokerOrderId: string): OpenOrder | undefined
  openOrdersOn(symbol: string): readonly OpenOrder[]
  activity(symbol: string): SymbolActivity | undefined
  /** H14: our messages on the account after `since`. */
  accountMessagesSince(account: string, since: number): number
  globalExposure(): ScopeExposure
  accountExposure(account: string): ScopeExposure | undefined
  strategyExposure(strategyId: string): ScopeExposure | undefined
  symbolExposure(symbol: string): ScopeExposure | undefined
  /** Unexpired borrowed shares not yet used by short sales (§6 item 2). */
  borrowAvailable(account: string, symbol: string, day: KstDay): number
  /** Market-wide circuit-breaker stage in force (§4.3); 0 when none. */
  circuitBreakerStage(market: 'KOSPI' | 'KOSDAQ' | 'KONEX'): 0 | 1 | 2 | 3
  /** True when the broker's holiday API disagreed with our calendar for `day` (§5). */
  holidayMismatch(day: KstDay): boolean
}
