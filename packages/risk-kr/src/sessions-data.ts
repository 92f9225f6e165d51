import type { TradingSession } from '@vellab/broker-gateway'
import type { RuleSource } from './provenance'
import { src } from './provenance'

/**
 * One order-entry phase of a venue. Several phases can serve the same `TradingSession` (KRX
 * `regular` is the opening auction, continuous trading and the closing auction), and two phases of
 * different sessions can run at the same clock time (§1.2: "columns are sessions, not clock slots").
 */
export type PhaseId =
  | 'krx_pre_close_price'
  | 'krx_opening_auction'
  | 'krx_continuous'
  | 'krx_closing_auction'
  | 'krx_post_close_price'
  | 'krx_single_price'
  | 'krx_after_market'
  | 'nxt_pre_market'
  | 'nxt_main'
  | 'nxt_after_market_call'
  | 'nxt_after_market'
  | 'nxt_closing_price'

/** How a phase matches orders; decides which order types make sense (§1.2). */
export type PhaseKind = 'call_auction' | 'continuous' | 'close_price' | 'periodic_auction'

/** A phase's definition inside a regime. Times are KST `HH:MM[:SS]`, order-entry window `[open, close)`. */
export interface PhaseDefinition {
  readonly id: PhaseId
  readonly venue: 'KRX' | 'NXT'
  readonly session: TradingSession
  readonly kind: PhaseKind
  readonly open: string
  readonly close: string
  /**
   * The uncross may be extended at random (임의종료), so the end is "not before" `close`
   * (§1.1 notes); the next phase is only certain after a grace period.
   */
  readonly randomEnd?: boolean
  readonly source: RuleSource
}

/** A set of phases in force from `from` (inclusive) until the next regime's `from`. */
export interface SessionRegime {
  readonly id: string
  /** `YYYY-MM-DD`, KST. */
  readonly from: string
  readonly phases: readonly PhaseDefinition[]
  readonly source: RuleSource
}

const common = (regime: 'A' | 'B'): PhaseDefinition[] => [
  {
    id: 'krx_pre_close_price',
    venue: 'KRX',
    session: 'pre_close_price',
    kind: 'close_price',
    open: '08:30',
    close: '08:40',
    source: src('§1.1 [K1]', 'V-PRIMARY'),
  },
  {
    id: 'krx_opening_auction',
    venue: 'KRX',
    session: 'regular',
    kind: 'call_auction',
    open: '08:30',
    close: '09:00',
    randomEnd: true,
    source: src('§1.1 [K1][K6]', 'V-PRIMARY'),
  },
  {
    id: 'krx_continuous',
    venue: 'KRX',
    session: 'regular',
    kind: 'continuous',
    open: '09:00',
    close: '15:20',
    source: src('§1.1 [K2][K6]', 'V-PRIMARY'),
  },
  {
    id: 'krx_closing_auction',
    venue: 'KRX',
    session: 'regular',
    kind: 'call_auction',
    open: '15:20',
    close: '15:30',
    randomEnd: true,
    source: src('§1.1 [K2]', 'V-PRIMARY'),
  },
  {
    id: 'krx_post_close_price',
    venue: 'KRX',
    session: 'post_close_price',
    kind: 'close_price',
    open: '15:30',
    close: '16:00',
    source: regime === 'A' ? src('§1.1 [K1]', 'V-PRIMARY') : src('§1.1 [P5]', 'PARTIAL'),
  },
  {
    id: 'nxt_pre_market',
    venue: 'NXT',
    session: 'pre_market',
    kind: 'continuous',
    open: '08:00',
    close: '08:50',
    source: src('§2.1 [N3][N12]', 'V-SECONDARY'),
  },
  {
    id: 'nxt_main',
    venue: 'NXT',
    session: 'regular',
    kind: 'continuous',
    open: '09:00:30',
    close: '15:20',
    source: src('§2.1 [N3][N12]', 'V-SECONDARY'),
  },
  {
    id: 'nxt_after_market_call',
    venue: 'NXT',
    session: 'after_market',
    kind: 'call_auction',
    open: '15:30',
    close: '15:40',
    source: src('§2.1 [N12][N13]', 'V-SECONDARY'),
  },
  {
    id: 'nxt_after_market',
    venue: 'NXT',
    session: 'after_market',
    kind: 'continuous',
    open: '15:40',
    close: '20:00',
    source: regime === 'A' ? src('§2.1 [N12][N13]', 'V-SECONDARY') : src('§2.1 [P5]', 'PARTIAL'),
  },
  {
    id: 'nxt_closing_price',
    venue: 'NXT',
    session: 'post_close_price',
    kind: 'close_price',
    open: '15:00',
    close: '16:00',
    source: src('§2.1 [N12][N13]', 'V-SECONDARY'),
  },
]

/**
 * The KRX/NXT regimes. Regime A starts at the NXT launch (2025-03-04) and has the 16:00–18:00
 * single-price session; Regime B (2026-09-14) replaces it with the 16:00–20:00 KRX after-market
 * (§1.1, "Most important finding"). Days before the first regime are outside coverage.
 */
export const KRX_SESSION_REGIMES: readonly SessionRegime[] = [
  {
    id: 'A-2025-03-04',
    from: '2025-03-04',
    source: src('§1.1', 'V-PRIMARY'),
    phases: [
      ...common('A'),
      {
        id: 'krx_single_price',
        venue: 'KRX',
        session: 'after_hours_single_price',
        kind: 'periodic_auction',
        open: '16:00',
        close: '18:00',
        source: src('§1.1 [K3]', 'V-PRIMARY'),
      },
    ],
  },
  {
    id: 'B-2026-09-14',
    from: '2026-09-14',
    source: src('§1.1 [P1][P2][P5]', 'PARTIAL'),
    phases: [
      ...common('B'),
      {
        id: 'krx_after_market',
        venue: 'KRX',
        session: 'after_market',
        kind: 'continuous',
        open: '16:00',
        close: '20:00',
        source: src(
          '§1.1 [P1][P2][P3][P5]',
          'PARTIAL',
          'no separate entry window or 16:00 auction is documented',
        ),
      },
    ],
  },
]

/** What a special day does to one phase: a new window, no session, or "not known yet" (fail closed). */
export type PhaseOverride = { readonly open: string; readonly close: string } | 'closed' | 'unverified'

/** A dated change to the normal timetable (§1.3), loaded from reviewed notices only. */
export interface SessionOverride {
  /** `YYYY-MM-DD`, KST. */
  readonly date: string
  readonly reason: string
  readonly phases: Readonly<Partial<Record<PhaseId, PhaseOverride>>>
  readonly source: RuleSource
}

const firstDay = (date: string, source: RuleSource): SessionOverride => ({
  date,
  reason: 'first trading day of the year (10:00 open)',
  source,
  phases: {
    krx_pre_close_price: { open: '09:30', close: '09:40' },
    // §1.3: the opening auction "presumably runs 09:30–10:00 (UNVERIFIED)".
    krx_opening_auction: 'unverified',
    krx_continuous: { open: '10:00', close: '15:20' },
    nxt_pre_market: 'closed',
    nxt_main: { open: '10:00:30', close: '15:20' },
  },
})

// Regime B CSAT days: only the delayed open is expected, everything else waits for the KRX
// notice (§1.3, §10 item 4). Trading is allowed only in the window both the normal and the
// delayed timetable agree on (10:00–15:20), every other phase fails closed.
const csatRegimeB = (date: string): SessionOverride => ({
  date,
  reason: 'CSAT day (수능), schedule pending the KRX notice',
  source: src('§1.3', 'UNVERIFIED', 'only 10:00–15:20 is common to the normal and the delayed timetable'),
  phases: {
    krx_pre_close_price: 'unverified',
    krx_opening_auction: 'unverified',
    krx_continuous: { open: '10:00', close: '15:20' },
    krx_closing_auction: 'unverified',
    krx_post_close_price: 'unverified',
    krx_after_market: 'unverified',
    nxt_pre_market: 'unverified',
    nxt_main: 'unverified',
    nxt_after_market_call: 'unverified',
    nxt_after_market: 'unverified',
    nxt_closing_price: 'unverified',
  },
})

/** Special days of §1.3. */
export const KRX_SESSION_OVERRIDES: readonly SessionOverride[] = [
  {
    date: '2025-11-13',
    reason: 'CSAT day (수능): everything one hour later',
    source: src('§1.3 [N10]', 'V-SECONDARY'),
    phases: {
      krx_pre_close_price: { open: '09:30', close: '09:40' },
      krx_opening_auction: 'unverified',
      krx_continuous: { open: '10:00', close: '16:20' },
      // The close moved to 16:30; the closing auction is the 10 minutes before it.
      krx_closing_auction: { open: '16:20', close: '16:30' },
      krx_post_close_price: { open: '16:40', close: '17:00' },
      krx_single_price: { open: '17:00', close: '18:00' },
      nxt_pre_market: 'closed',
      nxt_main: { open: '10:00:30', close: '16:20' },
      nxt_after_market_call: { open: '16:30', close: '16:40' },
      nxt_after_market: { open: '16:40', close: '20:00' },
      nxt_closing_price: 'unverified',
    },
  },
  firstDay('2026-01-02', src('§1.3 [N9]', 'V-SECONDARY')),
  csatRegimeB('2026-11-19'),
  firstDay('2027-01-04', src('§1.3', 'UNVERIFIED', 'expected 10:00 open until the December notice')),
  csatRegimeB('2027-11-18'),
]
