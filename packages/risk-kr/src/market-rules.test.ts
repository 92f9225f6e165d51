import { describe, expect, it } from 'vitest'
import { RiskError } from './errors'
import { formatClock, parseClock, parseKstDate } from './kst'
import { createKrxMarketRules } from './market-rules'

const rules = createKrxMarketRules()
const day = (d: string) => parseKstDate(d)

describe('calendar (§5)', () => {
  it.each([
    ['2026-06-03', 'closed', 'local election'],
    ['2026-07-17', 'closed', '제헌절'],
    ['2026-09-24', 'closed', 'Chuseok'],
    ['2026-09-28', 'trading', '§5.1: Saturday overlap gives no Chuseok substitute'],
    ['2026-12-30', 'trading', 'last trading day of 2026'],
    ['2026-12-31', 'closed', 'year-end closure'],
    ['2026-11-19', 'trading', 'CSAT day is open'],
    ['2026-01-02', 'trading', 'first trading day, late open'],
    ['2026-11-21', 'closed', 'Saturday'],
    ['2027-05-03', 'closed', 'substitute for 노동절'],
    ['2027-12-27', 'closed', 'substitute for Christmas'],
    ['2025-10-08', 'closed', 'substitute for Chuseok'],
  ])('%s is %s (%s)', (date, kind) => {
    expect(rules.dayStatus(day(date)).kind).toBe(kind)
  })

  it('fails closed outside coverage and marks 2027 provisional', () => {
    expect(rules.dayStatus(day('2028-01-03'))).toEqual({ kind: 'uncovered' })
    expect(rules.dayStatus(day('2024-12-30'))).toEqual({ kind: 'uncovered' })
    expect(rules.dayStatus(day('2027-01-04'))).toEqual({ kind: 'trading', coverage: 'provisional' })
    expect(rules.dayStatus(day('2026-11-24'))).toEqual({ kind: 'trading', coverage: 'reviewed' })
  })

  it('every covered year closes on its last business day of December (§1.3 [K5])', () => {
    for (const year of [2025, 2026, 2027]) {
      const s = rules.dayStatus(day(`${year}-12-31`))
      expect(s.kind).toBe('closed')
    }
    expect(rules.nextTradingDay('2026-12-30')).toBe('2027-01-04')
    expect(rules.nextTradingDay('2027-12-30')).toBeUndefined()
  })

  it('every closure carries a source', () => {
    for (const c of rules.data.closures) expect(c.source.section).toMatch(/§/)
  })

  it('cross-checks the broker holiday API (§5: refuse to trade on disagreement)', () => {
    expect(rules.crossCheckHoliday('2026-11-24', true)).toBeUndefined()
    expect(rules.crossCheckHoliday('2026-06-03', false)).toBeUndefined()
    expect(rules.crossCheckHoliday('2026-11-24', false)).toEqual({
      date: '2026-11-24',
      ours: 'trading',
      brokerOpen: false,
    })
    expect(rules.crossCheckHoliday('2028-01-03', true)).toMatchObject({ ours: 'uncovered' })
  })

  it('loads a reviewed update: new closure, confirmed year, removed projection', () => {
    const updated = rules.withReviewedUpdate({
      reviewedBy: 'ops-kim',
      reviewedOn: '2026-12-16',
      notice: 'KRX 2027 holiday notice',
      coverage: [{ year: 2027, status: 'reviewed' }],
      addClosures: [{ date: '2027-06-09', reason: 'temporary holiday' }],
      removeClosures: ['2027-05-03'],
      sessionOverrides: [
        {
          date: '2027-01-04',
          reason: 'first trading day, confirmed',
          phases: {
            krx_opening_auction: { open: '09:30', close: '10:00' },
            krx_continuous: { open: '10:00', close: '15:20' },
          },
        },
      ],
    })
    expect(updated.dayStatus(day('2027-06-09'))).toMatchObject({
      kind: 'closed',
      reason: 'temporary holiday',
    })
    expect(updated.dayStatus(day('2027-05-03'))).toEqual({ kind: 'trading', coverage: 'reviewed' })
    const s = updated.dayStatus(day('2027-06-09'))
    expect(s.kind === 'closed' && s.source?.note).toContain('ops-kim')
    const r = updated.resolvePhase('KRX', 'regular', day('2027-01-04'), parseClock('09:45'), 0)
    expect(r.status === 'open' && r.phase.id).toBe('krx_opening_auction')
    // the original is unchanged
    expect(rules.dayStatus(day('2027-05-03')).kind).toBe('closed')
  })

  it('rejects malformed or weekend updates', () => {
    expect(() => rules.withReviewedUpdate({ reviewedBy: '', reviewedOn: '2026-12-16', notice: 'x' })).toThrow(
      RiskError,
    )
    expect(() =>
      rules.withReviewedUpdate({
        reviewedBy: 'a',
        reviewedOn: '2026-12-16',
        notice: 'x',
        addClosures: [{ date: '2027-01-02', reason: 'a Saturday' }],
      }),
    ).toThrow(/weekend/)
  })
})

describe('sessions (§1.1, §1.3, §2.1) on both sides of 2026-09-14', () => {
  type Row = [
    venue: 'KRX' | 'NXT',
    session: Parameters<typeof rules.resolvePhase>[1],
    date: string,
    time: string,
    expected: string,
  ]
  const rows: Row[] = [
    ['KRX', 'regular', '2026-09-11', '08:29:59', 'closed'],
    ['KRX', 'regular', '2026-09-11', '08:30', 'krx_opening_auction'],
    ['KRX', 'regular', '2026-09-11', '09:00', 'krx_continuous'],
    ['KRX', 'regular', '2026-09-11', '15:19:59', 'krx_continuous'],
    ['KRX', 'regular', '2026-09-11', '15:20', 'krx_closing_auction'],
    ['KRX', 'regular', '2026-09-11', '15:30', 'closed'],
    ['KRX', 'pre_close_price', '2026-09-11', '08:35', 'krx_pre_close_price'],
    ['KRX', 'pre_close_price', '2026-09-11', '08:40', 'closed'],
    ['KRX', 'post_close_price', '2026-09-14', '15:45', 'krx_post_close_price'],
    // Regime A: single price until 2026-09-11; Regime B: after-market from 2026-09-14
    ['KRX', 'after_hours_single_price', '2026-09-11', '17:59:59', 'krx_single_price'],
    ['KRX', 'after_hours_single_price', '2026-09-14', '16:30', 'not_in_regime'],
    ['KRX', 'after_market', '2026-09-11', '16:30', 'not_in_regime'],
    ['KRX', 'after_market', '2026-09-14', '16:00', 'krx_after_market'],
    ['KRX', 'after_market', '2026-09-14', '19:59:59', 'krx_after_market'],
    ['KRX', 'after_market', '2026-09-14', '20:00', 'closed'],
    ['KRX', 'pre_market', '2026-11-24', '07:30', 'not_in_regime'],
    ['NXT', 'pre_market', '2026-11-24', '08:00', 'nxt_pre_market'],
    ['NXT', 'pre_market', '2026-11-24', '08:50', 'closed'],
    ['NXT', 'regular', '2026-11-24', '09:00:29', 'closed'],
    ['NXT', 'regular', '2026-11-24', '09:00:30', 'nxt_main'],
    ['NXT', 'after_market', '2026-11-24', '15:35', 'nxt_after_market_call'],
    ['NXT', 'after_market', '2026-11-24', '19:00', 'nxt_after_market'],
    // First trading day 2026-01-02: 10:00 open, auction window unverified, no NXT pre-market
    ['KRX', 'regular', '2026-01-02', '09:45', 'unverified'],
    ['KRX', 'regular', '2026-01-02', '09:59:59', 'unverified'],
    ['KRX', 'regular', '2026-01-02', '10:00', 'krx_continuous'],
    ['KRX', 'pre_close_price', '2026-01-02', '09:35', 'krx_pre_close_price'],
    ['NXT', 'pre_market', '2026-01-02', '08:10', 'closed'],
    ['NXT', 'regular', '2026-01-02', '10:00:30', 'nxt_main'],
    // CSAT 2025 (Regime A): one hour later
    ['KRX', 'regular', '2025-11-13', '09:30', 'unverified'],
    ['KRX', 'regular', '2025-11-13', '16:25', 'krx_closing_auction'],
    ['KRX', 'post_close_price', '2025-11-13', '16:45', 'krx_post_close_price'],
    // CSAT 2026 (Regime B): only 10:00–15:20 is certain
    ['KRX', 'regular', '2026-11-19', '09:10', 'unverified'],
    ['KRX', 'regular', '2026-11-19', '10:00', 'krx_continuous'],
    ['KRX', 'regular', '2026-11-19', '15:25', 'unverified'],
    ['KRX', 'after_market', '2026-11-19', '17:00', 'unverified'],
    ['NXT', 'regular', '2026-11-19', '11:00', 'unverified'],
    // Before the NXT launch nothing is covered
    ['KRX', 'regular', '2025-02-28', '10:00', 'uncovered'],
  ]
  it.each(rows)('%s %s on %s at %s → %s', (venue, session, date, time, expected) => {
    const r = rules.resolvePhase(venue, session, day(date), parseClock(time), 30_000)
    expect(r.status === 'open' ? r.phase.id : r.status).toBe(expected)
  })

  it('reports the possibly-running auction during the random-end grace (§1.1 notes)', () => {
    const r = rules.resolvePhase('KRX', 'regular', day('2026-11-24'), parseClock('09:00:10'), 30_000)
    expect(r.status === 'open' && r.possiblyStillOpen?.id).toBe('krx_opening_auction')
    const later = rules.resolvePhase('KRX', 'regular', day('2026-11-24'), parseClock('09:00:30'), 30_000)
    expect(later.status === 'open' && later.possiblyStillOpen).toBeUndefined()
    const post = rules.resolvePhase(
      'KRX',
      'post_close_price',
      day('2026-11-24'),
      parseClock('15:30:05'),
      30_000,
    )
    expect(post.status === 'open' && post.possiblyStillOpen?.id).toBe('krx_closing_auction')
  })

  it('gives the end of the whole session for entry cut-offs', () => {
    const r = rules.resolvePhase('KRX', 'regular', day('2026-11-24'), parseClock('10:00'), 0)
    expect(r.status === 'open' && formatClock(r.sessionEndMs)).toBe('15:30')
  })
})
