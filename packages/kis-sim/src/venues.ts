import type { NxtPhase, SessionPhase } from './calendar'
import type { SimEnv } from './exchange'
import type { MessageKey } from './messages'
import type { OrderTypeSpec } from './order-types'

/** Where an order trades: the KRX book or Nextrade's. */
export type Venue = 'KRX' | 'NXT'

/** `EXCG_ID_DVSN_CD` as the client sent it (reference §4.1: `KRX`, `NXT`, `SOR`; empty means KRX). */
export type OrderRoute = 'KRX' | 'NXT' | 'SOR'

/** A Nextrade session that takes orders (the pauses take none). */
export type NxtSession = Exclude<NxtPhase, 'pause'>

/** Which ORD_DVSN codes each Nextrade session accepts. */
export type NxtSessionCodes = Readonly<Record<NxtSession, readonly string[]>>

/** Reads `EXCG_ID_DVSN_CD` (reference §4.1: empty → KRX). `undefined` for anything else. */
export function parseRoute(raw: string): OrderRoute | undefined {
  const v = raw.trim().toUpperCase()
  if (v === '' || v === 'KRX') return 'KRX'
  return v === 'NXT' || v === 'SOR' ? v : undefined
}

/**
 * Codes Nextrade takes at all: reference §5 NXT column and reference/krx-market-rules.md §2.3
 * (`01`, `02`, `05`–`07` never; `27`–`29` GTP from 2026-09-14 are not simulated).
 */
export const NXT_CODES: ReadonlySet<string> = new Set([
  '00',
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
])

/** Codes `SOR` takes: reference §5 SOR column, reference/krx-market-rules.md §2.4 "SOR-allowed codes". */
export const SOR_CODES: ReadonlySet<string> = new Set([
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

/**
 * reference/krx-market-rules.md §2.3: how NXT's codes split across its sessions is UNVERIFIED; this
 * is the document's conservative default (pre-market and after-market `00` only, the main market
 * every NXT code; the after-market's opening call is part of the after-market). Override it with
 * `market.nxtSessionCodes`.
 */
export const CONSERVATIVE_NXT_SESSION_CODES: NxtSessionCodes = Object.freeze({
  'pre-market': Object.freeze(['00']),
  main: Object.freeze([...NXT_CODES]),
  'after-call': Object.freeze(['00']),
  'after-market': Object.freeze(['00']),
})

/** Whether Nextrade takes `code` in `phase` (never during a pause, never a code outside {@link NXT_CODES}). */
export function nxtAccepts(codes: NxtSessionCodes, phase: NxtPhase | undefined, code: string): boolean {
  if (phase === undefined || phase === 'pause' || !NXT_CODES.has(code)) return false
  return codes[phase].includes(code)
}

/** Nextrade matches continuously (its after-market call only collects orders). */
export function nxtContinuous(phase: NxtPhase | undefined): boolean {
  return phase === 'pre-market' || phase === 'main' || phase === 'after-market'
}

/** reference §7.9 #19 ORD_EXG_GB: 1 KRX, 2 NXT, 3 SOR-KRX, 4 SOR-NXT. */
export function ordExgGb(route: OrderRoute, venue: Venue): '1' | '2' | '3' | '4' {
  if (route === 'SOR') return venue === 'NXT' ? '4' : '3'
  return venue === 'NXT' ? '2' : '1'
}

/** What the router knows about the order and the market at the instant of entry. */
export interface RouteInput {
  route: OrderRoute
  spec: OrderTypeSpec
  env: SimEnv
  /** The symbol is listed on Nextrade. */
  nxtEligible: boolean
  krxPhases: readonly SessionPhase[]
  nxtPhase: NxtPhase | undefined
  nxtCodes: NxtSessionCodes
  /** The "market closed / not yet open" answer for the venue (it depends on the time of day). */
  closedKey(venue: Venue): MessageKey
}

/**
 * Picks the venue of a new order, or the business refusal:
 * - `KRX`: the KRX session matrix (reference/krx-market-rules.md §1.2), as before NXT existed here;
 * - `NXT`: an eligible symbol (§2.2), a code NXT takes (§2.3) in its current session;
 * - `SOR` (reference §5 SOR column): KRX when KRX takes the code now, else NXT when the symbol is
 *   eligible and NXT takes it now, else refused. The simulator's SOR does not compare prices across
 *   venues; it only needs a venue that accepts the order at that moment.
 * Paper (KRX only, reference §4.1) is refused before this.
 */
export function routeOrder(p: RouteInput): { ok: true; venue: Venue } | { ok: false; key: MessageKey } {
  const krxTakes = p.spec.sessions.some((s) => p.krxPhases.includes(s))
  const nxtTakes = p.nxtEligible && nxtAccepts(p.nxtCodes, p.nxtPhase, p.spec.code)
  switch (p.route) {
    case 'KRX':
      if (p.krxPhases.length === 0) return { ok: false, key: p.closedKey('KRX') }
      if (krxTakes) return { ok: true, venue: 'KRX' }
      // A paper account outside the code's session hears "market closed" (reference §7.10 text).
      return { ok: false, key: p.env === 'paper' ? p.closedKey('KRX') : 'ORDER_TYPE_NOT_IN_SESSION' }
    case 'NXT':
      if (!p.nxtEligible) return { ok: false, key: 'NXT_NOT_ELIGIBLE' }
      if (!NXT_CODES.has(p.spec.code)) return { ok: false, key: 'VENUE_ORDER_TYPE' }
      if (p.nxtPhase === undefined || p.nxtPhase === 'pause') return { ok: false, key: p.closedKey('NXT') }
      return nxtTakes ? { ok: true, venue: 'NXT' } : { ok: false, key: 'NXT_ORDER_TYPE_NOT_IN_SESSION' }
    case 'SOR':
      if (!SOR_CODES.has(p.spec.code)) return { ok: false, key: 'VENUE_ORDER_TYPE' }
      if (krxTakes) return { ok: true, venue: 'KRX' }
      if (nxtTakes) return { ok: true, venue: 'NXT' }
      if (p.krxPhases.length === 0 && (!p.nxtEligible || p.nxtPhase === undefined)) {
        return { ok: false, key: p.closedKey('KRX') }
      }
      return { ok: false, key: 'SOR_NO_ROUTE' }
  }
}
