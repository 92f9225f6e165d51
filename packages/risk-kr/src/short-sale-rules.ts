import type { KstDay } from './kst'
import { parseKstDate } from './kst'
import type { RuleSource } from './provenance'
import { src } from './provenance'

/** A period in which short selling was banned for the whole market. */
export interface MarketWideShortBan {
  /** `YYYY-MM-DD`, KST, inclusive. */
  readonly from: string
  /** Last banned day, `YYYY-MM-DD`, KST, inclusive. */
  readonly until: string
  readonly source: RuleSource
}

/**
 * §6 "Resumption": full ban from 2023-11-06, resumed for all stocks on 2025-03-31. Regime A starts
 * 2025-03-04, so replays of 2025-03-04 … 2025-03-28 must reject every short sale.
 */
export const MARKET_WIDE_SHORT_BANS: readonly MarketWideShortBan[] = [
  { from: '2023-11-06', until: '2025-03-30', source: src('§6 [N28]', 'V-SECONDARY') },
]

const BANS = MARKET_WIDE_SHORT_BANS.map((b) => ({
  from: parseKstDate(b.from),
  until: parseKstDate(b.until),
  detail: `market-wide short-sale ban ${b.from} … ${b.until} (${b.source.section})`,
}))

/** The reason detail when `day` falls in a market-wide short-sale ban, else `undefined`. */
export function marketWideShortBanOn(day: KstDay): string | undefined {
  for (const b of BANS) if (day >= b.from && day <= b.until) return b.detail
  return undefined
}
