/**
 * The stable reason codes a decision can carry, with the rule each enforces. Codes never change
 * meaning; new rules get new codes. `rule` is a section of `reference/krx-market-rules.md` or a
 * heuristic id of its §7.3 table (H1–H17), or `limits`/`kill-switch` for our own controls.
 */
export const REASON_CATALOGUE = {
  // Fail-closed plumbing
  ACCOUNT_UNKNOWN: { rule: 'config', summary: 'the account has no risk profile' },
  STRATEGY_UNKNOWN: { rule: 'config', summary: 'the strategy has no declared policy' },
  SYMBOL_UNKNOWN: { rule: '§9', summary: 'no reference data (master file) for the symbol' },
  QUOTE_MISSING: { rule: '§9', summary: 'no broker quote for the symbol' },
  QUOTE_STALE: { rule: '§9', summary: 'the broker quote is older than the allowed age' },
  REFERENCE_MISSING: { rule: '§4.1', summary: 'a price the rule needs (e.g. today’s close) is unknown' },
  ORDER_UNKNOWN: { rule: 'limits', summary: 'replace/cancel of an order not in the open-order book' },
  INVALID_REQUEST: {
    rule: '§1.2, §4.1',
    summary:
      'the request is malformed: price fields do not fit the type/session, or it contradicts the order it modifies',
  },
  // Calendar and sessions
  CALENDAR_UNCOVERED: { rule: '§1.3, §5', summary: 'the date is outside reviewed calendar coverage' },
  CALENDAR_PROVISIONAL: { rule: '§5.2', summary: 'the date is in a provisional (unreviewed) year' },
  CALENDAR_BROKER_MISMATCH: { rule: '§5', summary: 'our calendar and the broker holiday API disagree today' },
  MARKET_CLOSED_DAY: { rule: '§5', summary: 'no trading today (weekend, holiday, year-end closure)' },
  SESSION_UNCOVERED: { rule: '§1.1', summary: 'no session regime covers the date' },
  SESSION_NOT_IN_REGIME: {
    rule: '§1.1, §2.1',
    summary: 'the venue has no such session in the regime in force',
  },
  SESSION_CLOSED: { rule: '§1.1, §2.1', summary: 'the session is not accepting orders now' },
  SESSION_UNVERIFIED: { rule: '§1.3', summary: 'today’s timetable for the session is not reviewed' },
  STRATEGY_SESSION_NOT_ALLOWED: {
    rule: 'config',
    summary: 'the strategy did not declare this session/venue',
  },
  ENTRY_CUTOFF: { rule: 'config', summary: 'new entries are cut off before the session ends' },
  PAPER_VENUE_NOT_KRX: { rule: '§2.4', summary: 'paper (mock) accounts route to KRX only' },
  NXT_INELIGIBLE: { rule: '§2.2', summary: 'the symbol is not in the NXT universe' },
  AFTER_MARKET_EXCLUDED: {
    rule: '§1.1 notes',
    summary: 'ETPs and short-term overheated names are excluded from the KRX after-market',
  },
  SINGLE_PRICE_EXCLUDED: {
    rule: '§1.1',
    summary: 'NXT-eligible stocks are excluded from the KRX 16:00–18:00 single-price session',
  },
  SOR_SESSION_UNSUPPORTED: { rule: '§2.4', summary: 'SOR takes regular-session orders only' },
  // Order types
  ORDER_TYPE_UNSUPPORTED: { rule: '§1.2', summary: 'no KIS order code for this type/time-in-force/session' },
  ORDER_TYPE_NOT_ACCEPTED: { rule: '§1.2, §2.3', summary: 'the session does not accept this order type' },
  AUCTION_RANDOM_END: {
    rule: '§1.1 notes',
    summary: 'an auction may still be running (random end); the type is not valid in it',
  },
  // Symbol and market state
  SYMBOL_HALTED: { rule: '§4.5', summary: 'trading in the symbol is halted' },
  MARKET_HALTED: { rule: '§4.3', summary: 'circuit breaker: new orders refused' },
  MARKET_CLOSED_CB3: { rule: '§4.3', summary: 'circuit breaker stage 3: trading ended, cancels refused too' },
  // Lot and price
  LOT_SIZE: { rule: '§8', summary: 'quantity is not a multiple of the trading unit' },
  TICK_TABLE_UNCOVERED: { rule: '§3', summary: 'no reviewed tick table for the instrument on this date' },
  PRICE_OFF_TICK: { rule: '§3', summary: 'price is not on the tick grid (never rounded)' },
  PRICE_ABOVE_UPPER_LIMIT: { rule: '§4.1', summary: 'price above the upper limit of the band' },
  PRICE_BELOW_LOWER_LIMIT: { rule: '§4.1', summary: 'price below the lower limit of the band' },
  BROKER_BASE_PRICE_MISMATCH: {
    rule: '§4.1',
    summary: 'warning: broker base price differs from reference data; stricter band used',
  },
  BROKER_LIMIT_MISMATCH: {
    rule: '§4.1',
    summary: 'warning: broker limits differ from computed limits; stricter band used',
  },
  BROKER_TICK_MISMATCH: {
    rule: '§3',
    summary: 'warning: broker tick differs from the tick table; coarser grid used',
  },
  EXCHANGE_SIZE_LIMIT: { rule: '§7.2, H3', summary: 'order exceeds the exchange per-order size limit' },
  // Limits
  ORDER_MAX_QUANTITY: { rule: 'limits', summary: 'order quantity above the configured maximum' },
  ORDER_MAX_VALUE: { rule: 'limits', summary: 'order value above the configured maximum' },
  POSITION_LIMIT: { rule: 'limits', summary: 'the order would take the position beyond its limit' },
  GROSS_EXPOSURE_LIMIT: { rule: 'limits', summary: 'the order would take gross exposure beyond its limit' },
  ORDER_RATE_LIMIT: { rule: 'limits', summary: 'too many orders in the last minute' },
  DAILY_LOSS_CAP: { rule: 'limits', summary: 'realized + marked loss today reached the cap' },
  SELL_EXCEEDS_SELLABLE: { rule: '§6 item 1', summary: 'sell quantity above the sellable quantity' },
  // Short sales (§6, H16)
  SHORT_NO_BORROW: { rule: '§6 item 2', summary: 'no recorded borrow covers the short quantity' },
  SHORT_NSDS_NOT_READY: { rule: '§6 item 2', summary: 'the account is not flagged NSDS-ready' },
  SHORT_OVERHEATED: { rule: '§6 item 3', summary: 'short sales banned today (공매도 과열종목)' },
  SHORT_SESSION_BANNED: { rule: '§2.1, §6 item 3', summary: 'short sales only in the regular/main session' },
  SHORT_UPTICK_RULE: { rule: '§6 item 3', summary: 'short price at or below the last trade (uptick rule)' },
  SHORT_PRICELESS: { rule: '§6 item 4', summary: 'market/best/top-priority short sales are rejected' },
  SHORT_SALE_BANNED: {
    rule: '§6',
    summary: 'short selling banned: market-wide (before 2025-03-31) or by configuration for the symbol',
  },
  // Kill switches (H15)
  KILL_SWITCH_ENGAGED: { rule: 'kill-switch, H15', summary: 'a kill switch covering the order is engaged' },
  KILL_SWITCH_STATE_UNKNOWN: {
    rule: 'kill-switch',
    summary: 'kill-switch state not loaded; trading not armed',
  },
  // Market abuse (§7.3)
  SELF_TRADE: { rule: 'H1', summary: 'would trade against our own resting order (same beneficial owner)' },
  CROSS_ACCOUNT_PAIRING: {
    rule: 'H2',
    summary: 'opposite side at the same price from another of our accounts within the window',
  },
  FAT_FINGER_WARN: { rule: 'H4', summary: 'warning: order value/ADV share above the warn level' },
  FAT_FINGER_HOLD: { rule: 'H4', summary: 'order value/ADV share above the hold level: needs approval' },
  PRICE_COLLAR_WARN: { rule: 'H5', summary: 'warning: price far from the best opposite quote' },
  QUOTE_CANCEL_THROTTLE: { rule: 'H6', summary: 'quote-and-cancel burst: the symbol is throttled' },
  UNLIKELY_TO_EXECUTE: { rule: 'H7', summary: 'large order far from the market without a justification tag' },
  UNLIKELY_TO_EXECUTE_JUSTIFIED: {
    rule: 'H7',
    summary: 'warning: large far order accepted on its justification tag',
  },
  LAYERING: { rule: 'H8', summary: 'layered resting orders on one side while trading the other' },
  LAYERING_CANCEL_PATTERN: {
    rule: 'H8',
    summary: 'warning: layered orders cancelled soon after an opposite fill',
  },
  ORDER_TO_TRADE_ALERT: { rule: 'H9', summary: 'warning: order-to-trade ratio above the alert level' },
  ORDER_TO_TRADE_BLOCK: {
    rule: 'H9',
    summary: 'order-to-trade ratio above the block level: passive orders blocked',
  },
  AUCTION_INTERFERENCE: {
    rule: 'H10',
    summary: 'cancel/amend late in an auction of an order that moved the expected price',
  },
  AUCTION_SHARE_CAP: {
    rule: 'H10, H11',
    summary: 'our share of the indicative auction volume would exceed the cap',
  },
  AUCTION_VOLUME_UNKNOWN: {
    rule: 'H10, H11',
    summary: 'warning: indicative auction volume unknown; share cap not applied',
  },
  MARKING_THE_CLOSE: { rule: 'H11', summary: 'aggressive order late in the opening/closing auction' },
  PARTICIPATION_CAP: { rule: 'H12', summary: 'our share of market volume is above the cap' },
  ODD_LOT_SPAM: { rule: 'H13', summary: 'too many small orders through the best quote' },
  MESSAGE_RATE_SYMBOL: { rule: 'H14', summary: 'too many messages per second on the symbol' },
  MESSAGE_RATE_ACCOUNT: { rule: 'H14', summary: 'too many messages per second on the account' },
  REVIEW_APPROVED: { rule: 'review', summary: 'warning: a review reason was approved by a human' },
} as const satisfies Record<string, { rule: string; summary: string }>

/** A stable reason code. */
export type ReasonCode = keyof typeof REASON_CATALOGUE

/** One reason in a decision: the code, the rule it enforces, and a short human detail. */
export interface RiskReason {
  readonly code: ReasonCode
  readonly rule: string
  readonly detail?: string
}

/** Build a reason from the catalogue. */
export function reason(code: ReasonCode, detail?: string): RiskReason {
  const rule = REASON_CATALOGUE[code].rule
  return detail === undefined ? { code, rule } : { code, rule, detail }
}
