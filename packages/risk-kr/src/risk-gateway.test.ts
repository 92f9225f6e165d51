import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { kstToEpochMs } from './kst'
import type { RiskDecision } from './risk-gateway'
import { createRiskGateway } from './risk-gateway'
import { accountProfile, brokerQuote, createRiskFixture, stockReference } from './testing'

const SYM = '005930'
const at = (date: string, time: string) => kstToEpochMs(date, time)
const codes = (d: RiskDecision) => d.reasons.map((r) => r.code)
const warns = (d: RiskDecision) => d.warnings.map((r) => r.code)

describe('check: a plain order', () => {
  it('allows a regular-session limit buy and says where it goes', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    const d = f.gateway.check({ kind: 'new', intent: f.intent() }, f.state)
    expect(d).toMatchObject({
      outcome: 'allow',
      reasons: [],
      warnings: [],
      phase: 'krx_continuous',
      orderCode: '00',
    })
    expect(d.at).toBe(at('2026-11-24', '10:00'))
  })

  it('refuses to start co-located without HFT registration (H17)', () => {
    expect(() => createRiskGateway({ colocated: true })).toThrow(/H17/)
    expect(() => createRiskGateway({ colocated: true, hftRegistered: true })).not.toThrow()
  })

  it('rejects unknown accounts, strategies and symbols (fail closed)', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ account: 'ZZ' }) }, f.state))).toContain(
      'ACCOUNT_UNKNOWN',
    )
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ strategyId: 'nope' }) }, f.state)),
    ).toContain('STRATEGY_UNKNOWN')
    expect(
      codes(
        f.gateway.check(
          { kind: 'new', intent: f.intent({ symbol: '000660', limitPrice: 100_000 }) },
          f.state,
        ),
      ),
    ).toEqual(['SYMBOL_UNKNOWN'])
  })

  it('rejects a stale or missing quote', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    f.state.advanceTo(at('2026-11-24', '10:00') + 5_001)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toEqual(['QUOTE_STALE'])
  })
})

describe('check: calendar (§5) and coverage', () => {
  it.each([
    ['2026-06-03', '10:00', 'MARKET_CLOSED_DAY'],
    ['2026-12-31', '10:00', 'MARKET_CLOSED_DAY'],
    ['2026-11-22', '10:00', 'MARKET_CLOSED_DAY'],
    ['2027-01-05', '10:00', 'CALENDAR_PROVISIONAL'],
    ['2028-01-04', '10:00', 'CALENDAR_UNCOVERED'],
  ])('%s %s → %s', async (date, time, code) => {
    const f = await createRiskFixture({ now: at(date, time) })
    const d = f.gateway.check({ kind: 'new', intent: f.intent() }, f.state)
    expect(d.outcome).toBe('reject')
    expect(codes(d)).toContain(code)
  })

  it('accepts provisional years only when told to', async () => {
    const f = await createRiskFixture({
      now: at('2027-01-05', '10:00'),
      gateway: { allowProvisionalCalendar: true, defaultStrategy: { sessions: ['regular'] } },
    })
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).outcome).toBe('allow')
  })

  it('refuses to trade when the broker holiday API disagrees (§5)', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    expect(f.state.recordHolidayCheck('2026-11-24', false)).toBe(true)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toContain(
      'CALENDAR_BROKER_MISMATCH',
    )
    f.state.recordHolidayCheck('2026-11-24', true)
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).outcome).toBe('allow')
  })

  it('takes KIS’s opnd_yn as it comes (Y/N), and refuses anything else instead of guessing', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    // 'N' is a truthy string: read as a boolean it would have said "open".
    expect(f.state.recordHolidayCheck('2026-11-24', 'N')).toBe(true)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toContain(
      'CALENDAR_BROKER_MISMATCH',
    )
    expect(f.state.recordHolidayCheck('2026-11-24', 'Y')).toBe(false)
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).outcome).toBe('allow')
    expect(() => f.state.recordHolidayCheck('2026-11-24', 'y' as 'Y')).toThrow(/opnd_yn must be 'Y', 'N'/)
    expect(() => f.state.recordHolidayCheck('2026-11-24', '' as 'N')).toThrow(/opnd_yn/)
  })
})

describe('check: sessions × order types × venues (§1.1, §1.2, §2.1, §2.3)', () => {
  type Row = {
    name: string
    date: string
    time: string
    intent: Record<string, unknown>
    expect: string
    code?: string
  }
  const rows: Row[] = [
    {
      name: 'opening auction limit',
      date: '2026-11-24',
      time: '08:45',
      intent: {},
      expect: 'allow',
      code: '00',
    },
    {
      name: 'opening auction market',
      date: '2026-11-24',
      time: '08:45',
      intent: { orderType: 'market', limitPrice: undefined },
      expect: 'allow',
      code: '01',
    },
    {
      name: 'opening auction best-limit (§1.2 b)',
      date: '2026-11-24',
      time: '08:45',
      intent: { orderType: 'best_limit', limitPrice: undefined },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'opening auction IOC (§1.2 c)',
      date: '2026-11-24',
      time: '08:45',
      intent: { timeInForce: 'ioc' },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'opening auction conditional ⚠️ → reject',
      date: '2026-11-24',
      time: '08:45',
      intent: { orderType: 'conditional_limit' },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'IOC inside the random-end grace',
      date: '2026-11-24',
      time: '09:00:10',
      intent: { timeInForce: 'ioc' },
      expect: 'AUCTION_RANDOM_END',
    },
    {
      name: 'IOC after the grace',
      date: '2026-11-24',
      time: '09:00:30',
      intent: { timeInForce: 'ioc' },
      expect: 'allow',
      code: '11',
    },
    {
      name: 'midpoint in continuous',
      date: '2026-11-24',
      time: '11:00',
      intent: { orderType: 'midpoint', limitPrice: undefined },
      expect: 'allow',
      code: '21',
    },
    {
      name: 'top-priority FOK has no code',
      date: '2026-11-24',
      time: '11:00',
      intent: { orderType: 'top_priority_limit', timeInForce: 'fok', limitPrice: undefined },
      expect: 'ORDER_TYPE_UNSUPPORTED',
    },
    {
      name: 'closing auction conditional (§1.2 a)',
      date: '2026-11-24',
      time: '15:25',
      intent: { orderType: 'conditional_limit' },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'closing auction limit',
      date: '2026-11-24',
      time: '15:25',
      intent: {},
      expect: 'allow',
      code: '00',
    },
    { name: 'regular after 15:30', date: '2026-11-24', time: '15:30', intent: {}, expect: 'SESSION_CLOSED' },
    {
      name: 'pre-open close price',
      date: '2026-11-24',
      time: '08:35',
      intent: { session: 'pre_close_price', limitPrice: undefined },
      expect: 'allow',
      code: '05',
    },
    {
      name: 'post close price during the closing auction grace',
      date: '2026-11-24',
      time: '15:30:10',
      intent: { session: 'post_close_price', limitPrice: undefined },
      expect: 'AUCTION_RANDOM_END',
    },
    {
      name: 'post close price',
      date: '2026-11-24',
      time: '15:45',
      intent: { session: 'post_close_price', limitPrice: undefined },
      expect: 'allow',
      code: '06',
    },
    // Effective date 2026-09-14, both sides
    {
      name: 'single price on 2026-09-11 (Regime A)',
      date: '2026-09-11',
      time: '16:30',
      intent: { session: 'after_hours_single_price' },
      expect: 'allow',
      code: '07',
    },
    {
      name: 'single price on 2026-09-14 (abolished)',
      date: '2026-09-14',
      time: '16:30',
      intent: { session: 'after_hours_single_price' },
      expect: 'SESSION_NOT_IN_REGIME',
    },
    {
      name: 'KRX after-market on 2026-09-11',
      date: '2026-09-11',
      time: '16:30',
      intent: { session: 'after_market' },
      expect: 'SESSION_NOT_IN_REGIME',
    },
    {
      name: 'KRX after-market on 2026-09-14 (41)',
      date: '2026-09-14',
      time: '16:30',
      intent: { session: 'after_market' },
      expect: 'allow',
      code: '41',
    },
    {
      name: 'KRX after-market best-IOC (45)',
      date: '2026-09-14',
      time: '19:59',
      intent: { session: 'after_market', orderType: 'best_limit', timeInForce: 'ioc', limitPrice: undefined },
      expect: 'allow',
      code: '45',
    },
    {
      name: 'KRX after-market market order',
      date: '2026-09-14',
      time: '16:30',
      intent: { session: 'after_market', orderType: 'market', limitPrice: undefined },
      expect: 'ORDER_TYPE_UNSUPPORTED',
    },
    {
      name: 'KRX after-market at 20:00',
      date: '2026-09-14',
      time: '20:00',
      intent: { session: 'after_market' },
      expect: 'SESSION_CLOSED',
    },
    {
      name: 'KRX pre-market never launched',
      date: '2026-11-24',
      time: '07:30',
      intent: { session: 'pre_market' },
      expect: 'SESSION_NOT_IN_REGIME',
    },
    // NXT
    {
      name: 'NXT pre-market limit',
      date: '2026-11-24',
      time: '08:10',
      intent: { venue: 'NXT', session: 'pre_market' },
      expect: 'allow',
      code: '00',
    },
    {
      name: 'NXT pre-market best (§2.3 default)',
      date: '2026-11-24',
      time: '08:10',
      intent: { venue: 'NXT', session: 'pre_market', orderType: 'best_limit', limitPrice: undefined },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'NXT main market order (§2.3: no 01)',
      date: '2026-11-24',
      time: '10:00',
      intent: { venue: 'NXT', orderType: 'market', limitPrice: undefined },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'NXT main before 09:00:30',
      date: '2026-11-24',
      time: '09:00:10',
      intent: { venue: 'NXT' },
      expect: 'SESSION_CLOSED',
    },
    {
      name: 'NXT after-market limit',
      date: '2026-11-24',
      time: '17:00',
      intent: { venue: 'NXT', session: 'after_market' },
      expect: 'allow',
      code: '00',
    },
    {
      name: 'NXT close-price market unreachable',
      date: '2026-11-24',
      time: '15:45',
      intent: { venue: 'NXT', session: 'post_close_price', limitPrice: undefined },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    {
      name: 'SOR after-market',
      date: '2026-11-24',
      time: '17:00',
      intent: { venue: 'SOR', session: 'after_market' },
      expect: 'SOR_SESSION_UNSUPPORTED',
    },
    {
      name: 'SOR midpoint',
      date: '2026-11-24',
      time: '11:00',
      intent: { venue: 'SOR', orderType: 'midpoint', limitPrice: undefined },
      expect: 'ORDER_TYPE_NOT_ACCEPTED',
    },
    // KST vs UTC and midnight: 08:10 KST Monday is Sunday 23:10 UTC
    {
      name: 'Monday 08:10 KST (Sunday in UTC)',
      date: '2026-11-23',
      time: '08:10',
      intent: { venue: 'NXT', session: 'pre_market' },
      expect: 'allow',
    },
    {
      name: 'NXT after-market 19:59:59',
      date: '2026-11-24',
      time: '19:59:59',
      intent: { venue: 'NXT', session: 'after_market' },
      expect: 'allow',
    },
    {
      name: 'one second before midnight',
      date: '2026-11-24',
      time: '23:59:59',
      intent: { venue: 'NXT', session: 'after_market' },
      expect: 'SESSION_CLOSED',
    },
    {
      name: 'midnight into Saturday',
      date: '2026-11-28',
      time: '00:00',
      intent: {},
      expect: 'MARKET_CLOSED_DAY',
    },
    // Special days
    {
      name: 'first trading day 09:45 auction unverified',
      date: '2026-01-02',
      time: '09:45',
      intent: {},
      expect: 'SESSION_UNVERIFIED',
    },
    { name: 'first trading day 10:00', date: '2026-01-02', time: '10:00', intent: {}, expect: 'allow' },
    {
      name: 'CSAT 2026 09:10 (delayed open)',
      date: '2026-11-19',
      time: '09:10',
      intent: {},
      expect: 'SESSION_UNVERIFIED',
    },
    {
      name: 'CSAT 2026 after-market unverified',
      date: '2026-11-19',
      time: '17:00',
      intent: { session: 'after_market' },
      expect: 'SESSION_UNVERIFIED',
    },
    {
      name: 'CSAT 2025 15:45 still continuous',
      date: '2025-11-13',
      time: '15:45',
      intent: {},
      expect: 'CALENDAR_PROVISIONAL',
    },
    {
      name: 'before NXT launch',
      date: '2025-02-28',
      time: '10:00',
      intent: {},
      expect: 'CALENDAR_PROVISIONAL',
    },
  ]
  it.each(rows)('$name ($date $time) → $expect', async (row) => {
    const f = await createRiskFixture({ now: at(row.date, row.time) })
    // §1.1: only names outside the NXT universe trade in the Regime A single-price session.
    const single = (row.intent as { session?: string }).session === 'after_hours_single_price'
    f.state.upsertSymbol(stockReference(SYM, { todayClose: 70_000, nxtEligible: !single }))
    const d = f.gateway.check({ kind: 'new', intent: f.intent(row.intent) }, f.state)
    if (row.expect === 'allow') {
      expect(d.reasons).toEqual([])
      expect(d.outcome).toBe('allow')
      if (row.code) expect(d.orderCode).toBe(row.code)
    } else expect(codes(d)).toContain(row.expect)
  })

  it('CSAT 2025 runs one hour later (Regime A special day), with provisional 2025 accepted', async () => {
    const gateway = { allowProvisionalCalendar: true, defaultStrategy: { sessions: ['regular' as const] } }
    const late = await createRiskFixture({ now: at('2025-11-13', '16:10'), gateway })
    expect(late.gateway.check({ kind: 'new', intent: late.intent() }, late.state).phase).toBe(
      'krx_continuous',
    )
    const early = await createRiskFixture({ now: at('2025-11-13', '09:10'), gateway })
    expect(codes(early.gateway.check({ kind: 'new', intent: early.intent() }, early.state))).toContain(
      'SESSION_UNVERIFIED',
    )
    const before = await createRiskFixture({ now: at('2025-02-28', '10:00'), gateway })
    expect(codes(before.gateway.check({ kind: 'new', intent: before.intent() }, before.state))).toEqual([
      'SESSION_UNCOVERED',
    ])
  })

  it('applies the call-auction column while VI is active or the name is short-term overheated (§4.2, §4.5)', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now, { state: { viActive: true } }))
    expect(
      codes(
        f.gateway.check(
          { kind: 'new', intent: f.intent({ orderType: 'best_limit', limitPrice: undefined }) },
          f.state,
        ),
      ),
    ).toContain('ORDER_TYPE_NOT_ACCEPTED')
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).outcome).toBe('allow')
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now, { state: { shortTermOverheated: true } }))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ timeInForce: 'ioc' }) }, f.state)),
    ).toContain('ORDER_TYPE_NOT_ACCEPTED')
  })

  it('excludes ETPs and overheated names from the KRX after-market; checks NXT eligibility', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '17:00') })
    f.state.upsertSymbol(stockReference(SYM, { kind: 'etf' }))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ session: 'after_market' }) }, f.state)),
    ).toContain('AFTER_MARKET_EXCLUDED')
    f.state.upsertSymbol(stockReference(SYM, { nxtEligible: false }))
    expect(
      codes(
        f.gateway.check(
          { kind: 'new', intent: f.intent({ venue: 'NXT', session: 'after_market' }) },
          f.state,
        ),
      ),
    ).toContain('NXT_INELIGIBLE')
  })

  it('keeps paper accounts on KRX, and strategies inside their declared sessions and cut-off', async () => {
    const f = await createRiskFixture({
      now: at('2026-11-24', '15:21'),
      gateway: {
        strategies: { s1: { sessions: ['regular'], venues: ['KRX', 'NXT'], entryCutoffMs: 600_000 } },
      },
    })
    f.state.upsertAccount(accountProfile('A1', { paper: true }))
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ venue: 'NXT' }) }, f.state))).toContain(
      'PAPER_VENUE_NOT_KRX',
    )
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toEqual(['ENTRY_CUTOFF'])
    expect(
      codes(
        f.gateway.check(
          { kind: 'new', intent: f.intent({ session: 'post_close_price', limitPrice: undefined }) },
          f.state,
        ),
      ),
    ).toContain('STRATEGY_SESSION_NOT_ALLOWED')
    f.state.advanceTo(at('2026-11-24', '15:21')) // no-op: time never goes back
    const early = await createRiskFixture({
      now: at('2026-11-24', '15:19:59'),
      gateway: { strategies: { s1: { sessions: ['regular'], entryCutoffMs: 600_000 } } },
    })
    expect(early.gateway.check({ kind: 'new', intent: early.intent() }, early.state).outcome).toBe('allow')
  })
})

describe('check: ticks, limits and broker disagreement (§3, §4.1)', () => {
  it.each([
    [70_050, 'PRICE_OFF_TICK'],
    [91_100, 'PRICE_ABOVE_UPPER_LIMIT'],
    [48_900, 'PRICE_BELOW_LOWER_LIMIT'],
    [91_000, 'allow'],
    [49_000, 'allow'],
  ])('base 70,000: limit %i → %s', async (price, expected) => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: price, quantity: 1 }) }, f.state)
    if (expected === 'allow') expect(codes(d)).toEqual([])
    else expect(codes(d)).toContain(expected)
  })

  it('uses the stricter band when the broker disagrees, and reports it', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00'), symbols: { [SYM]: 9_980 } })
    f.state.applyQuote(brokerQuote(SYM, 9_980, f.state.now, { upperLimit: 12_900 }))
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 12_950 }) }, f.state)
    expect(codes(d)).toContain('PRICE_ABOVE_UPPER_LIMIT')
    expect(warns(d)).toContain('BROKER_LIMIT_MISMATCH')
    const ok = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 12_900 }) }, f.state)
    expect(ok.outcome).toBe('allow')
    expect(warns(ok)).toContain('BROKER_LIMIT_MISMATCH')
    // a broker limit looser than ours does not widen the band
    f.state.applyQuote(brokerQuote(SYM, 9_980, f.state.now, { upperLimit: 13_000 }))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 12_980 }) }, f.state)),
    ).toContain('PRICE_ABOVE_UPPER_LIMIT')
  })

  it('intersects bands from the master base price and the broker base price', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00'), symbols: { [SYM]: 10_000 } })
    f.state.upsertSymbol(stockReference(SYM, { basePrice: 9_980 }))
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 13_000 }) }, f.state)
    expect(codes(d)).toContain('PRICE_ABOVE_UPPER_LIMIT')
    expect(warns(d)).toContain('BROKER_BASE_PRICE_MISMATCH')
  })

  it('requires the coarser tick when the broker tick disagrees at the last price', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00'), symbols: { [SYM]: 10_000 } })
    f.state.applyQuote(brokerQuote(SYM, 10_000, f.state.now, { tickSize: 50 }))
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 10_010 }) }, f.state)
    expect(codes(d)).toEqual(['PRICE_OFF_TICK'])
    expect(warns(d)).toContain('BROKER_TICK_MISMATCH')
    expect(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 10_050 }) }, f.state).outcome).toBe(
      'allow',
    )
  })

  it('every accepted price is on the grid and inside the band; every such price is accepted (property)', async () => {
    // Oracle written from the reference tables, independent of TickGrid/percentBand:
    // §3.1 stocks, §3.2 ETF/ETN, §4.1 steps 1–3, §4.1 single-price ±10 % of today's close.
    const STOCK: [number, number][] = [
      [2_000, 1],
      [5_000, 5],
      [20_000, 10],
      [50_000, 50],
      [200_000, 100],
      [500_000, 500],
      [Number.POSITIVE_INFINITY, 1_000],
    ]
    const ETP: [number, number][] = [
      [2_000, 1],
      [Number.POSITIVE_INFINITY, 5],
    ]
    const tickOf = (t: [number, number][], p: number) => t.find(([below]) => p < below)![1]
    const onGrid = (t: [number, number][], p: number) =>
      Number.isInteger(p) && p > 0 && p % tickOf(t, p) === 0
    const floorGrid = (t: [number, number][], p: number) => p - (p % tickOf(t, p))
    const krxBand = (t: [number, number][], base: number, pct: number) => {
      let amount = Math.floor((base * pct) / 100) // step 1
      amount -= amount % tickOf(t, base) // step 2
      return { lower: base - amount, upper: floorGrid(t, base + amount) } // step 3
    }
    const regular = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    const single = await createRiskFixture({ now: at('2026-09-11', '16:30') })
    let accepted = 0
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom('stock' as const, 'etf' as const),
          leverage: fc.constantFrom(1, 2),
          // Log-uniform, so every tick band (1 … 1,000 KRW) gets bases.
          baseExp: fc.double({ min: 2.3, max: 6.2, noNaN: true }),
          session: fc.constantFrom('regular' as const, 'after_hours_single_price' as const),
          closeFrac: fc.double({ min: 0, max: 1, noNaN: true }),
          brokerUpperTicks: fc.constantFrom(0, 0, 0, -1, 1, -2, 2),
          brokerLowerTicks: fc.constantFrom(0, 0, 0, -1, 1, -2, 2),
          // Most prices sit at an edge of the band, where rounding mistakes show.
          anchor: fc.constantFrom('lower' as const, 'upper' as const, 'inside' as const),
          where: fc.double({ min: 0, max: 1, noNaN: true }),
          ticks: fc.integer({ min: -2, max: 2 }),
          units: fc.constantFrom(0, 0, 0, 0, 1, -1, 2, -3),
        }),
        (r) => {
          const table = r.kind === 'stock' ? STOCK : ETP
          const leverage = r.kind === 'etf' ? r.leverage : 1
          const base = Math.max(1, floorGrid(table, Math.floor(10 ** r.baseExp)))
          const daily = krxBand(table, base, 30 * leverage)
          // Broker limits a few ticks off ours either way (never crossing the base: schema rule).
          const bu = Math.max(base, daily.upper + r.brokerUpperTicks * tickOf(table, daily.upper))
          const bl = Math.min(base, daily.lower + r.brokerLowerTicks * tickOf(table, daily.lower))
          let lower = Math.max(daily.lower, bl)
          let upper = Math.min(daily.upper, bu)
          let todayClose: number | undefined
          if (r.session === 'after_hours_single_price') {
            todayClose = floorGrid(table, lower + Math.floor((upper - lower) * r.closeFrac))
            if (todayClose < lower) todayClose += tickOf(table, todayClose)
            const ten = krxBand(table, todayClose, 10)
            lower = Math.max(lower, ten.lower)
            upper = Math.min(upper, ten.upper)
          }
          const f = r.session === 'regular' ? regular : single
          f.state.upsertSymbol(
            stockReference(SYM, {
              kind: r.kind,
              ...(leverage !== 1 ? { leverage } : {}),
              nxtEligible: r.session === 'regular',
              ...(todayClose !== undefined ? { todayClose } : {}),
            }),
          )
          f.state.applyQuote({
            symbol: SYM,
            lastPrice: base,
            basePrice: base,
            upperLimit: bu,
            lowerLimit: bl,
            tickSize: tickOf(table, base),
            at: f.state.now,
            state: {
              halted: false,
              viActive: false,
              marketWarning: 'none',
              shortTermOverheated: false,
              shortSaleOverheated: false,
              administrative: false,
            },
          })
          const edge = r.anchor === 'lower' ? lower : r.anchor === 'upper' ? upper : undefined
          const price = Math.max(
            1,
            edge !== undefined
              ? edge + r.ticks * tickOf(table, edge) + r.units
              : Math.round(lower + (upper - lower) * r.where) + r.units,
          )
          const d = f.gateway.check(
            { kind: 'new', intent: f.intent({ limitPrice: price, quantity: 1, session: r.session }) },
            f.state,
          )
          const valid = onGrid(table, price) && price >= lower && price <= upper
          if (d.outcome === 'allow') accepted++
          expect({ price, base, lower, upper, outcome: d.outcome, reasons: codes(d) }).toMatchObject({
            outcome: valid ? 'allow' : 'reject',
          })
        },
      ),
      { numRuns: 1_500 },
    )
    // The generator must actually exercise both outcomes, or the property proves nothing.
    expect(accepted).toBeGreaterThan(200)
    expect(accepted).toBeLessThan(1_300)
  })

  it('applies the ±10 % single-price band around today’s close in Regime A, or fails closed without it', async () => {
    const f = await createRiskFixture({ now: at('2026-09-11', '16:30'), symbols: { [SYM]: 10_000 } })
    f.state.upsertSymbol(stockReference(SYM, { todayClose: 12_000, nxtEligible: false }))
    const session = 'after_hours_single_price' as const
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ session, limitPrice: 10_790 }) }, f.state)),
    ).toContain('PRICE_BELOW_LOWER_LIMIT')
    expect(
      f.gateway.check({ kind: 'new', intent: f.intent({ session, limitPrice: 13_000 }) }, f.state).outcome,
    ).toBe('allow')
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ session, limitPrice: 13_050 }) }, f.state)),
    ).toContain('PRICE_ABOVE_UPPER_LIMIT')
    f.state.upsertSymbol(stockReference(SYM, { nxtEligible: false }))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ session, limitPrice: 12_000 }) }, f.state)),
    ).toContain('REFERENCE_MISSING')
  })

  it('enforces lot sizes, halts and circuit breakers (§8, §4.3, §4.5)', async () => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00') })
    f.state.upsertSymbol(stockReference(SYM, { lotSize: 10 }))
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 15 }) }, f.state))).toEqual([
      'LOT_SIZE',
    ])
    f.state.upsertSymbol(stockReference(SYM))
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now, { state: { halted: true } }))
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toEqual(['SYMBOL_HALTED'])
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now))
    f.state.setCircuitBreaker('KOSPI', 1)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toEqual(['MARKET_HALTED'])
  })

  // §7.2 [N46]: qty > 1 % of listed shares (5 % below a 20 bn cap) or value > 100 bn is refused;
  // orders under 1 bn KRW are always accepted. Each row isolates one limb.
  it.each([
    ['above 1 % and ≥ 1 bn', 10_000_000, 100e9, 10_000, 100_001, true],
    ['exactly 1 %', 10_000_000, 100e9, 10_000, 100_000, false],
    ['above 1 % but under 1 bn: always accepted', 1_000_000, 100e9, 10_000, 20_000, false],
    ['small cap: 5 % applies', 10_000_000, 10e9, 10_000, 500_000, false],
    ['small cap: above 5 %', 10_000_000, 10e9, 10_000, 500_001, true],
    ['under 1 % but above 100 bn', 1_000_000_000, 100e12, 70_000, 1_500_000, true],
  ])('H3 %s', async (_name, listedShares, marketCap, base, quantity, hit) => {
    const f = await createRiskFixture({ now: at('2026-11-24', '10:00'), symbols: { [SYM]: base } })
    f.state.upsertSymbol(stockReference(SYM, { listedShares, marketCap }))
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ quantity }) }, f.state)
    expect(codes(d).includes('EXCHANGE_SIZE_LIMIT')).toBe(hit)
    if (hit) expect(d.outcome).toBe('reject')
  })
})
