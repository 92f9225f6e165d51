import type { OrderIntent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { KillSwitchAutomation } from './kill-switch'
import { kstToEpochMs } from './kst'
import type { RiskDecision } from './risk-gateway'
import type { RiskState } from './risk-state'
import { brokerQuote, createRiskFixture } from './testing'

const SYM = '005930'
const NOW = kstToEpochMs('2026-11-24', '10:00')
const codes = (d: RiskDecision) => d.reasons.map((r) => r.code)
const strategies = {
  s1: { sessions: ['regular' as const, 'after_market' as const], venues: ['KRX' as const, 'NXT' as const] },
}

let seq = 0
function fill(state: RiskState, intent: OrderIntent, price: number, at: number, qty = intent.quantity): void {
  const id = `B${++seq}`
  state.recordSent({ kind: 'new', intent }, at)
  state.recordAck(intent.intentId, id)
  state.applyOrderEvent({
    type: 'filled',
    eventId: `${id}-f`,
    account: intent.account,
    brokerOrderId: id,
    at,
    symbol: intent.symbol,
    side: intent.side,
    fillQuantity: qty,
    fillPrice: price,
    cumulativeQuantity: qty,
  })
}

describe('limits per order and per scope', () => {
  it('rejects above max quantity / value at any scope', async () => {
    const f = await createRiskFixture({
      now: NOW,
      gateway: {
        strategies,
        limits: { global: { maxOrderQuantity: 100 }, strategies: { s1: { maxOrderValue: 6_990_000 } } },
      },
    })
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 101 }) }, f.state))).toContain(
      'ORDER_MAX_QUANTITY',
    )
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 100 }) }, f.state))).toContain(
      'ORDER_MAX_VALUE',
    )
    expect(
      f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 100, limitPrice: 69_000 }) }, f.state)
        .outcome,
    ).toBe('allow')
  })

  it('values priceless orders at the upper limit (§4.1 KIS practice)', async () => {
    const f = await createRiskFixture({
      now: NOW,
      gateway: { strategies, limits: { accounts: { A1: { maxOrderValue: 9_000_000 } } } },
    })
    // 100 × 91,000 (upper limit) = 9.1 M
    expect(
      codes(
        f.gateway.check(
          { kind: 'new', intent: f.intent({ quantity: 100, orderType: 'market', limitPrice: undefined }) },
          f.state,
        ),
      ),
    ).toEqual(['ORDER_MAX_VALUE'])
  })

  it('counts positions and open buys toward the position limit', async () => {
    const f = await createRiskFixture({
      now: NOW,
      gateway: { strategies, limits: { symbols: { [SYM]: { maxPositionQuantity: 100 } } } },
    })
    fill(f.state, f.intent({ quantity: 60 }), 70_000, NOW)
    f.state.recordSent({ kind: 'new', intent: f.intent({ quantity: 30 }) }, NOW)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 11 }) }, f.state))).toEqual([
      'POSITION_LIMIT',
    ])
    expect(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 10 }) }, f.state).outcome).toBe(
      'allow',
    )
  })

  it('limits gross exposure including open buys and the order', async () => {
    const f = await createRiskFixture({
      now: NOW,
      symbols: { [SYM]: 70_000, '000660': 100_000 },
      gateway: { strategies, limits: { accounts: { A1: { maxGrossExposure: 20_000_000 } } } },
    })
    f.state.setPositions('A1', [
      { account: 'A1', symbol: '000660', quantity: 100, sellableQuantity: 100, averagePrice: 90_000 },
    ])
    // 10 M held + 7 M open + 3.5 M new > 20 M
    f.state.recordSent({ kind: 'new', intent: f.intent({ quantity: 100 }) }, NOW)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 50 }) }, f.state))).toEqual([
      'GROSS_EXPOSURE_LIMIT',
    ])
    expect(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 40 }) }, f.state).outcome).toBe(
      'allow',
    )
  })

  it('limits orders per rolling minute', async () => {
    const f = await createRiskFixture({
      now: NOW,
      gateway: { strategies, limits: { strategies: { s1: { maxOrdersPerMinute: 3 } } } },
    })
    for (let i = 0; i < 3; i++) f.state.recordSent({ kind: 'new', intent: f.intent() }, NOW + i * 1_000)
    f.state.advanceTo(NOW + 59_999)
    f.state.applyQuote(brokerQuote(SYM, 70_000, NOW + 59_999))
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toEqual(['ORDER_RATE_LIMIT'])
    f.state.advanceTo(NOW + 60_001)
    f.state.applyQuote(brokerQuote(SYM, 70_000, NOW + 60_001))
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).outcome).toBe('allow')
  })

  it('stops new risk at the daily loss cap (realized + marked) but lets positions be sold down', async () => {
    const f = await createRiskFixture({
      now: NOW,
      gateway: { strategies, limits: { strategies: { s1: { maxDailyLoss: 500_000 } } } },
    })
    fill(f.state, f.intent({ quantity: 100 }), 70_000, NOW)
    f.state.setPositions('A1', [
      { account: 'A1', symbol: SYM, quantity: 100, sellableQuantity: 100, averagePrice: 70_000 },
    ])
    f.state.applyTick({
      symbol: SYM,
      price: 65_000,
      quantity: 1,
      cumulativeVolume: 1,
      aggressor: 'sell',
      at: NOW + 1,
    })
    f.state.applyQuote(brokerQuote(SYM, 70_000, NOW + 1, { lastPrice: 65_000 }))
    expect(f.state.strategyExposure('s1')?.dailyPnl).toBe(-500_000)
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 65_000 }) }, f.state)),
    ).toEqual(['DAILY_LOSS_CAP'])
    expect(
      f.gateway.check({ kind: 'new', intent: f.intent({ side: 'sell', limitPrice: 65_000 }) }, f.state)
        .outcome,
    ).toBe('allow')
    // the automation turns the breach into an audited, persisted kill switch with cancel-all
    const auto = new KillSwitchAutomation(f.board)
    const engaged = await auto.evaluateLossCaps(f.state, f.gateway.options.limits)
    expect(engaged).toEqual([
      expect.objectContaining({ scope: 'strategy', key: 's1', source: 'auto:loss_cap', cancelAll: true }),
    ])
    expect(await auto.evaluateLossCaps(f.state, f.gateway.options.limits)).toEqual([])
    const blocked = f.gateway.check(
      { kind: 'new', intent: f.intent({ side: 'sell', limitPrice: 65_000 }) },
      f.state,
    )
    expect(blocked.reasons[0]?.code).toBe('KILL_SWITCH_ENGAGED')
    expect((await f.board.audit())[0]).toMatchObject({ action: 'engage', actor: 'risk-kr/automation' })
  })

  it('resets realized P&L at the KST day boundary and marks from the new day', async () => {
    const f = await createRiskFixture({ now: NOW, gateway: { strategies } })
    fill(f.state, f.intent({ quantity: 10 }), 70_000, NOW)
    fill(f.state, f.intent({ side: 'sell', quantity: 10 }), 69_000, NOW + 1)
    expect(f.state.strategyExposure('s1')?.dailyPnl).toBe(-10_000)
    f.state.advanceTo(kstToEpochMs('2026-11-25', '00:00'))
    expect(f.state.strategyExposure('s1')?.dailyPnl).toBe(0)
  })
})

describe('sell-side checks (§6)', () => {
  it('rejects a sale above the sellable quantity', async () => {
    const f = await createRiskFixture({ now: NOW, gateway: { strategies } })
    f.state.setPositions('A1', [
      { account: 'A1', symbol: SYM, quantity: 10, sellableQuantity: 5, averagePrice: 70_000 },
    ])
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ side: 'sell', quantity: 6 }) }, f.state)),
    ).toEqual(['SELL_EXCEEDS_SELLABLE'])
    expect(
      f.gateway.check({ kind: 'new', intent: f.intent({ side: 'sell', quantity: 5 }) }, f.state).outcome,
    ).toBe('allow')
  })

  type Case = {
    name: string
    setup?: (f: Awaited<ReturnType<typeof createRiskFixture>>) => void
    intent: Record<string, unknown>
    expect: string
    now?: number
  }
  const cases: Case[] = [
    { name: 'no borrow', intent: {}, expect: 'SHORT_NO_BORROW', setup: () => {} },
    { name: 'borrow covers it, price above last', intent: { limitPrice: 70_100 }, expect: 'allow' },
    {
      name: 'expired borrow',
      intent: { limitPrice: 70_100 },
      expect: 'SHORT_NO_BORROW',
      setup: (f) =>
        f.state.addBorrow({
          lotId: 'L2',
          lender: 'KSFC',
          account: 'A2',
          symbol: SYM,
          quantity: 1,
          expiresOn: '2026-11-23',
        }),
    },
    {
      name: 'at the last price after a downtick',
      intent: { limitPrice: 70_000 },
      expect: 'SHORT_UPTICK_RULE',
    },
    { name: 'below the last price', intent: { limitPrice: 69_900 }, expect: 'SHORT_UPTICK_RULE' },
    {
      name: 'at the last price after an uptick',
      intent: { limitPrice: 70_000 },
      expect: 'allow',
      setup: (f) => {
        f.state.applyTick({
          symbol: SYM,
          price: 69_900,
          quantity: 1,
          cumulativeVolume: 2,
          aggressor: 'sell',
          at: NOW,
        })
        f.state.applyTick({
          symbol: SYM,
          price: 70_000,
          quantity: 1,
          cumulativeVolume: 3,
          aggressor: 'buy',
          at: NOW,
        })
      },
    },
    {
      name: 'market short',
      intent: { orderType: 'market', limitPrice: undefined },
      expect: 'SHORT_PRICELESS',
    },
    {
      name: 'NXT after-market short',
      intent: { venue: 'NXT', session: 'after_market', limitPrice: 70_100 },
      expect: 'SHORT_SESSION_BANNED',
      now: kstToEpochMs('2026-11-24', '17:00'),
    },
    {
      name: 'short-sale overheated',
      intent: { limitPrice: 70_100 },
      expect: 'SHORT_OVERHEATED',
      setup: (f) =>
        f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now, { state: { shortSaleOverheated: true } })),
    },
  ]
  it.each(cases)('short sale: $name → $expect', async (c) => {
    const now = c.now ?? NOW
    const f = await createRiskFixture({ now, gateway: { strategies } })
    f.state.applyTick({
      symbol: SYM,
      price: 70_100,
      quantity: 1,
      cumulativeVolume: 1,
      aggressor: 'buy',
      at: now,
    })
    f.state.applyTick({
      symbol: SYM,
      price: 70_000,
      quantity: 1,
      cumulativeVolume: 2,
      aggressor: 'sell',
      at: now,
    })
    if (c.setup) c.setup(f)
    if (c.name !== 'no borrow' && c.name !== 'expired borrow') {
      f.state.addBorrow({
        lotId: 'L1',
        lender: 'KSFC',
        account: 'A1',
        symbol: SYM,
        quantity: 100,
        expiresOn: '2026-12-31',
      })
    }
    const intent = f.intent({
      side: 'sell',
      shortSale: true,
      ...c.intent,
      ...(c.name === 'expired borrow' ? { account: 'A2' } : {}),
    })
    if (c.name === 'expired borrow')
      f.state.upsertAccount({
        account: 'A2',
        paper: false,
        beneficialOwner: 'A2',
        holderType: 'individual',
        nsdsReady: true,
      })
    const d = f.gateway.check({ kind: 'new', intent }, f.state)
    if (c.expect === 'allow') expect(codes(d)).toEqual([])
    else expect(codes(d)).toContain(c.expect)
  })

  it('requires NSDS readiness and honours configured bans', async () => {
    const f = await createRiskFixture({ now: NOW, gateway: { strategies, shortSaleBans: [SYM] } })
    f.state.upsertAccount({
      account: 'A1',
      paper: false,
      beneficialOwner: 'A1',
      holderType: 'corporate',
      nsdsReady: false,
    })
    f.state.addBorrow({
      lotId: 'L1',
      lender: 'KSFC',
      account: 'A1',
      symbol: SYM,
      quantity: 100,
      expiresOn: '2026-12-31',
    })
    const d = f.gateway.check(
      { kind: 'new', intent: f.intent({ side: 'sell', shortSale: true, limitPrice: 70_100 }) },
      f.state,
    )
    expect(codes(d)).toEqual(expect.arrayContaining(['SHORT_SALE_BANNED', 'SHORT_NSDS_NOT_READY']))
  })

  it('consumes borrowed shares with open and filled short sales', async () => {
    const f = await createRiskFixture({ now: NOW, gateway: { strategies } })
    f.state.addBorrow({
      lotId: 'L1',
      lender: 'KSFC',
      account: 'A1',
      symbol: SYM,
      quantity: 100,
      expiresOn: '2026-12-31',
    })
    fill(f.state, f.intent({ side: 'sell', shortSale: true, quantity: 60, limitPrice: 70_100 }), 70_100, NOW)
    f.state.recordSent(
      { kind: 'new', intent: f.intent({ side: 'sell', shortSale: true, quantity: 30, limitPrice: 70_200 }) },
      NOW,
    )
    expect(f.state.borrowAvailable('A1', SYM, 20261124)).toBe(10)
    expect(
      codes(
        f.gateway.check(
          {
            kind: 'new',
            intent: f.intent({ side: 'sell', shortSale: true, quantity: 11, limitPrice: 70_200 }),
          },
          f.state,
        ),
      ),
    ).toContain('SHORT_NO_BORROW')
  })
})
