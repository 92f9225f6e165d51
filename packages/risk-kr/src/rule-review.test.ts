// Regression tests from the rule-by-rule review against reference/krx-market-rules.md. Each case
// names the section it enforces; the expected values are read off the reference, not the code.
import { readFileSync } from 'node:fs'
import type { OrderIntent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { RiskError } from './errors'
import { addKstDays, formatKstDay, kstToEpochMs, kstWeekday, parseClock, parseKstDate } from './kst'
import { createKrxMarketRules, KRX_RULES_DATA, KrxMarketRules } from './market-rules'
import { REASON_CATALOGUE } from './reasons'
import type { RiskDecision } from './risk-gateway'
import type { PhaseId } from './sessions-data'
import { brokerQuote, createRiskFixture, stockReference } from './testing'

const SYM = '005930'
const at = (date: string, time: string) => kstToEpochMs(date, time)
const codes = (d: RiskDecision) => d.reasons.map((r) => r.code)
const rules = createKrxMarketRules()

/** Every weekday of `year` that the calendar reports closed. */
function closedWeekdays(r: KrxMarketRules, year: number): string[] {
  const out: string[] = []
  for (let d = year * 10_000 + 101; Math.floor(d / 10_000) === year; d = addKstDays(d, 1)) {
    const w = kstWeekday(d)
    if (w === 0 || w === 6) continue
    if (r.dayStatus(d).kind === 'closed') out.push(formatKstDay(d))
  }
  return out
}

describe('calendar data equals the reference tables exactly (§5.1, §5.2)', () => {
  it('2026: the weekday closures are exactly those of §5.1, and the year is reviewed', () => {
    // §5.1, row by row (2026-01-02 and 2026-11-19 are open: special days, not closures).
    expect(closedWeekdays(rules, 2026)).toEqual([
      '2026-01-01',
      '2026-02-16',
      '2026-02-17',
      '2026-02-18',
      '2026-03-02',
      '2026-05-01',
      '2026-05-05',
      '2026-05-25',
      '2026-06-03',
      '2026-07-17',
      '2026-08-17',
      '2026-09-24',
      '2026-09-25',
      '2026-10-05',
      '2026-10-09',
      '2026-12-25',
      '2026-12-31',
    ])
    expect(rules.coverageOf(20260101)?.status).toBe('reviewed')
  })

  it('2027: the weekday closures are exactly the §5.2 projection, and the year is provisional', () => {
    expect(closedWeekdays(rules, 2027)).toEqual([
      '2027-01-01',
      '2027-02-08',
      '2027-02-09',
      '2027-03-01',
      '2027-05-03',
      '2027-05-05',
      '2027-05-13',
      '2027-07-19',
      '2027-08-16',
      '2027-09-14',
      '2027-09-15',
      '2027-09-16',
      '2027-10-04',
      '2027-10-11',
      '2027-12-27',
      '2027-12-31',
    ])
    expect(rules.coverageOf(20270101)?.status).toBe('provisional')
    for (const c of rules.data.closures.filter(
      (c) => c.date.startsWith('2027-') && c.date !== '2027-12-31',
    )) {
      expect(c.source.confidence).toBe('UNVERIFIED')
    }
  })

  it('the last trading day of each covered year is Dec 30 (§1.3 [K5] year-end closure)', () => {
    for (const year of [2025, 2026, 2027]) {
      expect(rules.isTradingDay(`${year}-12-30`)).toBe(true)
      expect(rules.isTradingDay(`${year}-12-31`)).toBe(false)
    }
    expect(rules.nextTradingDay('2025-12-30')).toBe('2026-01-02')
  })
})

describe('session timetables equal the reference (§1.1, §2.1)', () => {
  // [phase, open, close] per regime, copied from the §1.1 and §2.1 tables.
  const common: [PhaseId, string, string][] = [
    ['krx_pre_close_price', '08:30', '08:40'],
    ['krx_opening_auction', '08:30', '09:00'],
    ['krx_continuous', '09:00', '15:20'],
    ['krx_closing_auction', '15:20', '15:30'],
    ['krx_post_close_price', '15:30', '16:00'],
    ['nxt_pre_market', '08:00', '08:50'],
    ['nxt_main', '09:00:30', '15:20'],
    ['nxt_after_market_call', '15:30', '15:40'],
    ['nxt_after_market', '15:40', '20:00'],
    ['nxt_closing_price', '15:00', '16:00'],
  ]
  it.each([
    ['2026-09-11', [...common, ['krx_single_price', '16:00', '18:00']]],
    ['2026-09-14', [...common, ['krx_after_market', '16:00', '20:00']]],
    ['2025-03-04', [...common, ['krx_single_price', '16:00', '18:00']]],
  ] as const)('%s', (date, expected) => {
    const schedule = rules.scheduleFor(parseKstDate(date))!
    const actual = schedule.phases.map((p) => [p.id, p.openMs, p.closeMs, p.status])
    expect(actual).toEqual(
      expected.map(([id, open, close]) => [id, parseClock(open), parseClock(close), 'scheduled']),
    )
  })

  it('the day before the NXT launch is outside every regime (fail closed)', () => {
    expect(rules.scheduleFor(parseKstDate('2025-03-03'))).toBeUndefined()
  })

  it('rejects rule data whose special-day window opens after it closes (§1.3 reviewed overrides)', () => {
    expect(
      () =>
        new KrxMarketRules({
          ...KRX_RULES_DATA,
          overrides: [
            {
              date: '2027-01-04',
              reason: 'typo',
              source: { section: '§1.3', confidence: 'V-PRIMARY' },
              phases: { krx_continuous: { open: '15:20', close: '10:00' } },
            },
          ],
        }),
    ).toThrow(RiskError)
    expect(() =>
      rules.withReviewedUpdate({
        reviewedBy: 'ops',
        reviewedOn: '2026-12-16',
        notice: 'x',
        sessionOverrides: [
          {
            date: '2027-01-04',
            reason: 'typo',
            phases: { krx_continuous: { open: '10:00', close: '25:00' } },
          },
        ],
      }),
    ).toThrow(RiskError)
  })
})

describe('VI in the KRX after-market (§4.2, §1.2 call-auction column, Regime B)', () => {
  it('accepts a plain after-market limit (41) during VI and rejects IOC/FOK and best/top-priority codes', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '17:00') })
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now, { state: { viActive: true } }))
    const limit = f.gateway.check({ kind: 'new', intent: f.intent({ session: 'after_market' }) }, f.state)
    expect(codes(limit)).toEqual([])
    expect(limit.orderCode).toBe('41')
    for (const overrides of [
      { timeInForce: 'ioc' as const },
      { timeInForce: 'fok' as const },
      { orderType: 'best_limit' as const, limitPrice: undefined },
      { orderType: 'top_priority_limit' as const, limitPrice: undefined },
    ]) {
      const d = f.gateway.check(
        { kind: 'new', intent: f.intent({ session: 'after_market', ...overrides }) },
        f.state,
      )
      expect(codes(d)).toContain('ORDER_TYPE_NOT_ACCEPTED')
    }
  })

  it('without VI the whole 41–47 family stays available', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '17:00') })
    const d = f.gateway.check(
      { kind: 'new', intent: f.intent({ session: 'after_market', timeInForce: 'ioc' }) },
      f.state,
    )
    expect(d.outcome).toBe('allow')
    expect(d.orderCode).toBe('42')
  })
})

describe('Regime A single-price session excludes NXT-eligible stocks (§1.1 [N2][N3])', () => {
  it.each([
    [true, 'SINGLE_PRICE_EXCLUDED'],
    [false, 'allow'],
  ] as const)('nxtEligible=%s → %s', async (nxtEligible, expected) => {
    const f = await createRiskFixture({ now: at('2026-09-11', '16:30') })
    f.state.upsertSymbol(stockReference(SYM, { todayClose: 70_000, nxtEligible }))
    const d = f.gateway.check(
      { kind: 'new', intent: f.intent({ session: 'after_hours_single_price' }) },
      f.state,
    )
    if (expected === 'allow') expect(codes(d)).toEqual([])
    else expect(codes(d)).toContain(expected)
  })
})

describe('short-sale market-wide ban until 2025-03-30 (§6 "Resumption")', () => {
  const strategies = { s1: { sessions: ['regular' as const] } }
  it.each([
    ['2025-03-28', 'SHORT_SALE_BANNED'],
    ['2025-03-31', 'allow'],
  ])('short on %s → %s', async (date, expected) => {
    const now = at(date, '10:00')
    const f = await createRiskFixture({ now, gateway: { strategies, allowProvisionalCalendar: true } })
    f.state.addBorrow({
      lotId: 'L1',
      lender: 'KSFC',
      account: 'A1',
      symbol: SYM,
      quantity: 100,
      expiresOn: '2025-06-30',
    })
    f.state.applyTick({
      symbol: SYM,
      price: 70_000,
      quantity: 1,
      cumulativeVolume: 1,
      aggressor: 'buy',
      at: now,
    })
    const d = f.gateway.check(
      { kind: 'new', intent: f.intent({ side: 'sell', shortSale: true, limitPrice: 70_100 }) },
      f.state,
    )
    if (expected === 'allow') expect(codes(d)).toEqual([])
    else expect(codes(d)).toContain(expected)
  })
})

describe('prices that cannot be checked are not waved through (§4.1, §1.2 KIS practice)', () => {
  it('a close-price order carrying a price is rejected: the price is fixed (§4.1)', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '15:45') })
    // An intent built without the contract's parser: the check must not trust its shape.
    const intent: OrderIntent = {
      ...f.intent({ session: 'post_close_price', limitPrice: undefined }),
      limitPrice: 75_000,
    }
    expect(codes(f.gateway.check({ kind: 'new', intent }, f.state))).toContain('INVALID_REQUEST')
  })

  it('a limit order without a price is rejected instead of skipping the tick and band checks', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    const intent: OrderIntent = { ...f.intent(), limitPrice: undefined }
    expect(codes(f.gateway.check({ kind: 'new', intent }, f.state))).toContain('INVALID_REQUEST')
  })

  it('values a pre-open close-price order at the base price (previous close, §1.1), not a stale close', async () => {
    const f = await createRiskFixture({
      now: at('2026-11-24', '08:35'),
      gateway: {
        strategies: { s1: { sessions: ['pre_close_price'] } },
        limits: { global: { maxOrderValue: 700_000 } },
      },
    })
    // todayClose left over from an earlier day must not be used for the pre-open session.
    f.state.upsertSymbol(stockReference(SYM, { todayClose: 80_000 }))
    const d = f.gateway.check(
      { kind: 'new', intent: f.intent({ session: 'pre_close_price', limitPrice: undefined, quantity: 10 }) },
      f.state,
    )
    expect(codes(d)).toEqual([])
    const over = f.gateway.check(
      { kind: 'new', intent: f.intent({ session: 'pre_close_price', limitPrice: undefined, quantity: 11 }) },
      f.state,
    )
    expect(codes(over)).toEqual(['ORDER_MAX_VALUE'])
  })
})

describe('README rule catalogue', () => {
  it('lists every reason code with its rule', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    for (const [code, { rule }] of Object.entries(REASON_CATALOGUE)) {
      expect(readme).toContain(`| \`${code}\` | ${rule} |`)
    }
  })
})
