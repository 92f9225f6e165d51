import type { RuleSource } from './provenance'
import { src } from './provenance'

/** A weekday on which KRX (and therefore NXT) does not trade. */
export interface ClosureEntry {
  /** `YYYY-MM-DD`, KST. */
  readonly date: string
  readonly reason: string
  readonly source: RuleSource
}

/**
 * How far a calendar year has been reviewed. `reviewed`: the official list was checked.
 * `provisional`: built from secondary sources or projections (§5.2 marks 2027 UNVERIFIED); checks
 * reject it unless the gateway is told to accept provisional years.
 */
export type CoverageStatus = 'reviewed' | 'provisional'

/** One covered calendar year. Days outside every covered year fail closed. */
export interface CoverageYear {
  readonly year: number
  readonly status: CoverageStatus
  readonly source: RuleSource
}

const N27 = src('§5.1 [N27]', 'V-SECONDARY')

/**
 * Covered years. 2025 is not listed day by day in the reference (it starts at 2026), so it is kept
 * provisional and exists for replays of Regime A data; 2026 is reviewed (§5.1); 2027 is the §5.2
 * projection, UNVERIFIED until KRX's December notice.
 */
export const KRX_COVERAGE: readonly CoverageYear[] = [
  {
    year: 2025,
    status: 'provisional',
    source: src(
      '§5 rule [K5]',
      'V-SECONDARY',
      'dates from 2025 press coverage; not itemised in the reference',
    ),
  },
  { year: 2026, status: 'reviewed', source: src('§5.1', 'V-SECONDARY') },
  { year: 2027, status: 'provisional', source: src('§5.2', 'UNVERIFIED', 'KASA 2027 calendar projection') },
]

const Y2025 = src('§5 rule [K5]', 'V-SECONDARY', '2025 press coverage of the KRX holiday list')
const Y2027 = src('§5.2', 'UNVERIFIED')

/** Weekday closures. Saturdays and Sundays are closed by rule (§5, KRX business regulation art. 5). */
export const KRX_CLOSURES: readonly ClosureEntry[] = [
  // 2025 (provisional; replay only)
  { date: '2025-01-01', reason: 'New Year', source: Y2025 },
  { date: '2025-01-27', reason: 'temporary public holiday', source: Y2025 },
  { date: '2025-01-28', reason: 'Seollal', source: Y2025 },
  { date: '2025-01-29', reason: 'Seollal', source: Y2025 },
  { date: '2025-01-30', reason: 'Seollal', source: Y2025 },
  { date: '2025-03-03', reason: 'substitute for Independence Movement Day', source: Y2025 },
  { date: '2025-05-01', reason: 'Labor Day', source: Y2025 },
  { date: '2025-05-05', reason: "Children's Day / Buddha's Birthday", source: Y2025 },
  { date: '2025-05-06', reason: 'substitute holiday', source: Y2025 },
  { date: '2025-06-03', reason: 'presidential election', source: Y2025 },
  { date: '2025-06-06', reason: 'Memorial Day', source: Y2025 },
  { date: '2025-08-15', reason: 'Liberation Day', source: Y2025 },
  { date: '2025-10-03', reason: 'National Foundation Day', source: Y2025 },
  { date: '2025-10-06', reason: 'Chuseok', source: Y2025 },
  { date: '2025-10-07', reason: 'Chuseok', source: Y2025 },
  { date: '2025-10-08', reason: 'substitute for Chuseok', source: Y2025 },
  { date: '2025-10-09', reason: 'Hangul Day', source: Y2025 },
  { date: '2025-12-25', reason: 'Christmas', source: Y2025 },
  { date: '2025-12-31', reason: 'year-end closure', source: src('§1.3 [K5]', 'V-PRIMARY') },
  // 2026 (§5.1)
  { date: '2026-01-01', reason: 'New Year', source: N27 },
  { date: '2026-02-16', reason: 'Seollal', source: N27 },
  { date: '2026-02-17', reason: 'Seollal', source: N27 },
  { date: '2026-02-18', reason: 'Seollal', source: N27 },
  { date: '2026-03-02', reason: 'substitute for Independence Movement Day', source: N27 },
  { date: '2026-05-01', reason: 'Labor Day (노동절)', source: N27 },
  { date: '2026-05-05', reason: "Children's Day", source: N27 },
  { date: '2026-05-25', reason: "substitute for Buddha's Birthday", source: N27 },
  {
    date: '2026-06-03',
    reason: '9th nationwide local election',
    source: src('§5.1', 'PARTIAL', 'KRX KIND notice 2026-05-20; press [N27]'),
  },
  {
    date: '2026-07-17',
    reason: '제헌절 (restored public holiday)',
    source: src('§5.1', 'PARTIAL', 'KIND 2026-05-20'),
  },
  { date: '2026-08-17', reason: 'substitute for Liberation Day', source: N27 },
  { date: '2026-09-24', reason: 'Chuseok', source: N27 },
  { date: '2026-09-25', reason: 'Chuseok', source: N27 },
  { date: '2026-10-05', reason: 'substitute for National Foundation Day', source: N27 },
  { date: '2026-10-09', reason: 'Hangul Day', source: N27 },
  { date: '2026-12-25', reason: 'Christmas', source: N27 },
  { date: '2026-12-31', reason: 'year-end closure', source: src('§5.1 [N27][K5]', 'V-PRIMARY') },
  // 2027 (§5.2, projected)
  { date: '2027-01-01', reason: 'New Year', source: Y2027 },
  { date: '2027-02-08', reason: 'Seollal', source: Y2027 },
  { date: '2027-02-09', reason: 'substitute for Seollal', source: Y2027 },
  { date: '2027-03-01', reason: 'Independence Movement Day', source: Y2027 },
  { date: '2027-05-03', reason: 'substitute for 노동절', source: Y2027 },
  { date: '2027-05-05', reason: "Children's Day", source: Y2027 },
  { date: '2027-05-13', reason: "Buddha's Birthday", source: Y2027 },
  { date: '2027-07-19', reason: 'substitute for 제헌절', source: Y2027 },
  { date: '2027-08-16', reason: 'substitute for Liberation Day', source: Y2027 },
  { date: '2027-09-14', reason: 'Chuseok', source: Y2027 },
  { date: '2027-09-15', reason: 'Chuseok', source: Y2027 },
  { date: '2027-09-16', reason: 'Chuseok', source: Y2027 },
  { date: '2027-10-04', reason: 'substitute for National Foundation Day', source: Y2027 },
  { date: '2027-10-11', reason: 'substitute for Hangul Day', source: Y2027 },
  { date: '2027-12-27', reason: 'substitute for Christmas', source: Y2027 },
  { date: '2027-12-31', reason: 'year-end closure', source: src('§5.2 [K5]', 'V-PRIMARY') },
]
