import { TradingSessionSchema, VenueSchema } from '@vellab/broker-gateway'
import { z } from 'zod'

const krw = z.number().int().positive()
const count = z.number().int().positive()
const pct = z.number().positive().max(100)
const ms = z.number().int().nonnegative()

/** Limits of one scope (global, an account, a strategy or a symbol). Absent = not limited at that scope. */
export const ScopeLimitsSchema = z.object({
  /** Shares per order. */
  maxOrderQuantity: count.optional(),
  /** KRW per order (priceless orders are valued at the upper limit, §4.1). */
  maxOrderValue: krw.optional(),
  /** Shares held per symbol after the order, counting open buys. */
  maxPositionQuantity: count.optional(),
  /** KRW per symbol after the order, counting open buys. */
  maxPositionValue: krw.optional(),
  /** KRW of |position| × mark over all symbols plus open buys and the order. */
  maxGrossExposure: krw.optional(),
  /** New orders in any rolling 60 s. */
  maxOrdersPerMinute: count.optional(),
  /** KRW; trading stops when today's realized + marked P&L ≤ −maxDailyLoss. */
  maxDailyLoss: krw.optional(),
})
export type ScopeLimits = z.infer<typeof ScopeLimitsSchema>

/** What a strategy declares it may do. */
export const StrategyPolicySchema = z.object({
  /** Sessions the strategy may enter orders in. */
  sessions: z.array(TradingSessionSchema).min(1),
  /** Venues the strategy may route to. @default ['KRX'] */
  venues: z.array(VenueSchema).min(1).default(['KRX']),
  /** New entries stop this long before the session's last phase ends. @default 0 */
  entryCutoffMs: ms.default(0),
})
export type StrategyPolicy = z.infer<typeof StrategyPolicySchema>
export type StrategyPolicyInput = z.input<typeof StrategyPolicySchema>

const action = (d: 'reject' | 'review' | 'warn' | 'off') =>
  z.enum(['reject', 'review', 'warn', 'off']).default(d)

/**
 * Market-abuse guard thresholds. Defaults are the reference's §7.3 design defaults (not legal
 * limits); tune per deployment and log every block.
 */
export const AbuseGuardsSchema = z.object({
  h1: z
    .object({
      action: action('reject'),
      /** `reject_new` rejects the incoming order; `cancel_resting` rejects it and lists the resting orders to cancel first. @default 'reject_new' */
      mode: z.enum(['reject_new', 'cancel_resting']).default('reject_new'),
    })
    .prefault({}),
  h2: z.object({ action: action('reject'), windowMs: ms.default(5_000) }).prefault({}),
  h3: z
    .object({
      action: action('reject'),
      listedSharesPct: pct.default(1),
      smallCapListedSharesPct: pct.default(5),
      smallCapBelowKrw: krw.default(20_000_000_000),
      maxValueKrw: krw.default(100_000_000_000),
      alwaysAcceptBelowKrw: krw.default(1_000_000_000),
    })
    .prefault({}),
  h4: z
    .object({
      individualWarnKrw: krw.default(1_500_000_000),
      individualHoldKrw: krw.default(3_000_000_000),
      corporateWarnKrw: krw.default(2_000_000_000),
      corporateHoldKrw: krw.default(6_000_000_000),
      /** Warn when the order is at least this share of average daily volume (our default for §7.3's "N %"). */
      advWarnPct: pct.default(10),
      /** Hold (review) at this share of ADV. */
      advHoldPct: pct.default(25),
      holdAction: action('review'),
    })
    .prefault({}),
  h5: z
    .object({ warnTicks: count.default(10), warnPct: pct.default(3), action: action('warn') })
    .prefault({}),
  h6: z
    .object({
      action: action('reject'),
      windowMs: ms.default(60_000),
      maxNearTouchAmendCancels: count.default(10),
      nearTouchTicks: z.number().int().nonnegative().default(1),
      fastCancelMs: ms.default(500),
      maxFastCancels: count.default(5),
      throttleMs: ms.default(300_000),
    })
    .prefault({}),
  h7: z
    .object({
      action: action('reject'),
      farFromLastPct: pct.default(5),
      sameSideDisplayedPct: pct.default(5),
      tenLevelDepthPct: pct.default(10),
    })
    .prefault({}),
  h8: z
    .object({
      action: action('reject'),
      minLevels: count.default(3),
      depthPct: pct.default(20),
      windowMs: ms.default(30_000),
    })
    .prefault({}),
  h9: z
    .object({
      alertRatio: z.number().positive().default(20),
      blockRatio: z.number().positive().default(50),
      minMessages: count.default(200),
      action: action('reject'),
    })
    .prefault({}),
  h10: z
    .object({
      action: action('reject'),
      lastWindowMs: ms.default(300_000),
      movedPct: pct.default(1),
      maxAuctionSharePct: pct.default(10),
    })
    .prefault({}),
  h11: z
    .object({ action: action('reject'), lastWindowMs: ms.default(600_000), maxMovePct: pct.default(1) })
    .prefault({}),
  h12: z
    .object({
      action: action('reject'),
      windowMs: ms.default(300_000),
      windowPct: pct.default(10),
      dailyPct: pct.default(20),
      /** Ratios are noisy on thin volume; below this market volume in the window the cap is not applied. */
      minMarketVolume: count.default(1_000),
    })
    .prefault({}),
  h13: z
    .object({
      action: action('reject'),
      maxSmallOrders: count.default(20),
      smallQuantity: count.default(10),
      windowMs: ms.default(180_000),
    })
    .prefault({}),
  h14: z
    .object({
      action: action('reject'),
      perSymbolPerSecond: count.default(5),
      perAccountPerSecond: count.default(20),
    })
    .prefault({}),
})
export type AbuseGuards = z.infer<typeof AbuseGuardsSchema>
export type AbuseGuardsInput = z.input<typeof AbuseGuardsSchema>

/** Options of `createRiskGateway`, validated with zod; every field has a default. */
export const RiskGatewayOptionsSchema = z.object({
  /** Policies by strategy id. A strategy not listed uses `defaultStrategy`, or is rejected. @default {} */
  strategies: z.record(z.string(), StrategyPolicySchema).default({}),
  /** Policy for strategies not listed. @default undefined (unknown strategies are rejected) */
  defaultStrategy: StrategyPolicySchema.optional(),
  limits: z
    .object({
      global: ScopeLimitsSchema.optional(),
      accounts: z.record(z.string(), ScopeLimitsSchema).default({}),
      strategies: z.record(z.string(), ScopeLimitsSchema).default({}),
      symbols: z.record(z.string(), ScopeLimitsSchema).default({}),
    })
    .prefault({}),
  /** Accept days in provisional calendar years (§5.2: 2027 is UNVERIFIED). @default false */
  allowProvisionalCalendar: z.boolean().default(false),
  /** Maximum age of the broker quote a price check may rely on. @default 5000 */
  maxQuoteAgeMs: ms.default(5_000),
  /** How long an auction may overrun its nominal end (임의종료, about 30 s, UNVERIFIED §1.1). @default 30000 */
  randomEndGraceMs: ms.default(30_000),
  /** Symbols where short selling is banned by our own policy (in addition to §6 designations). @default [] */
  shortSaleBans: z.array(z.string()).default([]),
  /** Servers co-located at the broker (H17: requires 고속 알고리즘거래자 registration). @default false */
  colocated: z.boolean().default(false),
  /** Registered as a high-speed algorithmic trader (H17). @default false */
  hftRegistered: z.boolean().default(false),
  guards: AbuseGuardsSchema.prefault({}),
})
export type RiskGatewayOptions = z.input<typeof RiskGatewayOptionsSchema>
export type ResolvedRiskGatewayOptions = z.infer<typeof RiskGatewayOptionsSchema>
