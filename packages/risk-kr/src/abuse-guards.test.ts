import type { OrderBookSnapshot, OrderIntent } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { kstToEpochMs } from './kst'
import type { RiskDecision } from './risk-gateway'
import type { RiskAlert } from './risk-state'
import { RiskState } from './risk-state'
import type { RiskFixture } from './testing'
import { accountProfile, brokerQuote, createRiskFixture } from './testing'

const SYM = '005930'
const NOW = kstToEpochMs('2026-11-24', '10:00')
const codes = (d: RiskDecision) => d.reasons.map((r) => r.code)
const warns = (d: RiskDecision) => d.warnings.map((r) => r.code)

function book(at: number, bid = 69_900, ask = 70_000, qty = 1_000): OrderBookSnapshot {
  const levels = (start: number, step: number) =>
    Array.from({ length: 10 }, (_, i) => ({ price: start + i * step, quantity: qty }))
  return { symbol: SYM, bids: levels(bid, -100), asks: levels(ask, 100), at }
}

let seq = 0
function send(f: RiskFixture, intent: OrderIntent, at: number): string {
  const id = `X${++seq}`
  f.state.recordSent({ kind: 'new', intent }, at)
  f.state.recordAck(intent.intentId, id)
  return id
}

async function fixture(
  now = NOW,
  gateway?: Parameters<typeof createRiskFixture>[0]['gateway'],
): Promise<RiskFixture> {
  const f = await createRiskFixture({ now, accounts: ['A1', 'A2', 'B1'], ...(gateway ? { gateway } : {}) })
  f.state.upsertAccount(accountProfile('A2', { beneficialOwner: 'A1' })) // same person, two accounts
  f.state.applyBook(book(now))
  return f
}

describe('H1 self-trade prevention', () => {
  it('rejects an order marketable against our own resting order of the same owner, across accounts', async () => {
    const f = await fixture()
    send(f, f.intent({ account: 'A2', side: 'sell', limitPrice: 70_000 }), NOW)
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_000 }) }, f.state)
    expect(codes(d)).toContain('SELF_TRADE')
    // not marketable: below our ask
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_900 }) }, f.state)),
    ).not.toContain('SELF_TRADE')
    // another beneficial owner is not a self-trade
    expect(
      codes(
        f.gateway.check({ kind: 'new', intent: f.intent({ account: 'B1', limitPrice: 70_000 }) }, f.state),
      ),
    ).not.toContain('SELF_TRADE')
  })

  it('lists the resting orders to cancel in cancel_resting mode', async () => {
    const f = await fixture(NOW, {
      defaultStrategy: { sessions: ['regular'] },
      guards: { h1: { mode: 'cancel_resting' } },
    })
    const resting = send(f, f.intent({ side: 'sell', limitPrice: 70_000 }), NOW)
    const d = f.gateway.check(
      { kind: 'new', intent: f.intent({ orderType: 'market', limitPrice: undefined }) },
      f.state,
    )
    expect(d.outcome).toBe('reject')
    expect(d.cancelFirst).toEqual([resting])
  })
})

describe('H2 cross-account pairing', () => {
  it('blocks the later order at the same price from another account within 5 s', async () => {
    const f = await fixture()
    send(f, f.intent({ account: 'B1', side: 'sell', limitPrice: 70_500 }), NOW)
    f.state.applyOrderEvent({
      type: 'canceled',
      eventId: 'c',
      account: 'B1',
      brokerOrderId: `X${seq}`,
      at: NOW,
      canceledQuantity: 10,
    })
    f.state.advanceTo(NOW + 4_999)
    f.state.applyQuote(brokerQuote(SYM, 70_000, NOW + 4_999))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_500 }) }, f.state)),
    ).toContain('CROSS_ACCOUNT_PAIRING')
    f.state.advanceTo(NOW + 5_001)
    f.state.applyQuote(brokerQuote(SYM, 70_000, NOW + 5_001))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_500 }) }, f.state)),
    ).not.toContain('CROSS_ACCOUNT_PAIRING')
  })
})

describe('H4 fat finger and the human-approval hook', () => {
  it('warns above 1.5 bn and holds (review) above 3 bn for individuals; approvals release the hold', async () => {
    const f = await fixture()
    const warn = f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 25_000 }) }, f.state) // 1.75 bn
    expect(warn.outcome).toBe('allow')
    expect(warns(warn)).toContain('FAT_FINGER_WARN')
    const big = f.intent({ quantity: 50_000 }) // 3.5 bn
    const held = f.gateway.check({ kind: 'new', intent: big }, f.state)
    expect(held.outcome).toBe('review')
    expect(codes(held)).toEqual(['FAT_FINGER_HOLD'])
    const approved = new RiskState({
      killSwitches: f.board,
      approvals: { isApproved: (id, code) => id === big.intentId && code === 'FAT_FINGER_HOLD' },
    })
    approved.advanceTo(NOW)
    approved.upsertSymbol({
      symbol: SYM,
      kind: 'stock',
      market: 'KOSPI',
      listedShares: 100_000_000,
      marketCap: 1e13,
      nxtEligible: true,
    })
    approved.applyQuote(brokerQuote(SYM, 70_000, NOW))
    approved.upsertAccount(accountProfile('A1'))
    const d = f.gateway.check({ kind: 'new', intent: big }, approved)
    expect(d.outcome).toBe('allow')
    expect(warns(d)).toContain('REVIEW_APPROVED')
  })
})

describe('H5–H9', () => {
  it('H5 warns far from the best opposite quote', async () => {
    const f = await fixture()
    const d = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 65_000 }) }, f.state)
    expect(d.outcome).toBe('allow')
    expect(warns(d)).toContain('PRICE_COLLAR_WARN')
  })

  it('H6 throttles the symbol for 5 min after a quote-and-cancel burst', async () => {
    const alerts: RiskAlert[] = []
    const f = await fixture()
    const state = new RiskState({ killSwitches: f.board, onAlert: (a) => alerts.push(a) })
    state.advanceTo(NOW)
    state.upsertSymbol({
      symbol: SYM,
      kind: 'stock',
      market: 'KOSPI',
      listedShares: 1e8,
      marketCap: 1e13,
      nxtEligible: true,
    })
    state.applyQuote(brokerQuote(SYM, 70_000, NOW))
    state.applyBook(book(NOW))
    state.upsertAccount(accountProfile('A1'))
    for (let i = 0; i < 11; i++) {
      const intent = f.intent({ limitPrice: 69_900 })
      state.recordSent({ kind: 'new', intent }, NOW + i * 2_000)
      state.recordAck(intent.intentId, `H6-${i}`)
      state.recordSent({ kind: 'cancel', brokerOrderId: `H6-${i}` }, NOW + i * 2_000 + 1_000)
    }
    expect(alerts.map((a) => a.type)).toContain('quote_cancel_burst')
    state.applyQuote(brokerQuote(SYM, 70_000, state.now))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_000 }) }, state)),
    ).toContain('QUOTE_CANCEL_THROTTLE')
    const later = state.now + 300_001
    state.advanceTo(later)
    state.applyQuote(brokerQuote(SYM, 70_000, later))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_000 }) }, state)),
    ).not.toContain('QUOTE_CANCEL_THROTTLE')
  })

  it('H6 also trips on more than 5 cancels within 500 ms of entry per minute', async () => {
    const f = await fixture()
    for (let i = 0; i < 6; i++) {
      const id = send(f, f.intent({ limitPrice: 65_000 }), NOW + i * 5_000)
      f.state.recordSent({ kind: 'cancel', brokerOrderId: id }, NOW + i * 5_000 + 100)
    }
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 65_000 }) }, f.state)),
    ).toContain('QUOTE_CANCEL_THROTTLE')
  })

  it('H7 rejects a large passive order far from the last price unless justified', async () => {
    const f = await fixture()
    const intent = f.intent({ limitPrice: 66_000, quantity: 600 }) // 5.7 % below, 6 % of displayed bids
    expect(codes(f.gateway.check({ kind: 'new', intent }, f.state))).toContain('UNLIKELY_TO_EXECUTE')
    const ok = f.gateway.check({ kind: 'new', intent, justification: 'index rebalance bid' }, f.state)
    expect(codes(ok)).not.toContain('UNLIKELY_TO_EXECUTE')
    expect(warns(ok)).toContain('UNLIKELY_TO_EXECUTE_JUSTIFIED')
    // ≥ 10 % of the 10-level depth at any distance
    expect(
      codes(
        f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_800, quantity: 1_000 }) }, f.state),
      ),
    ).toContain('UNLIKELY_TO_EXECUTE')
    expect(
      codes(
        f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_800, quantity: 100 }) }, f.state),
      ),
    ).toEqual([])
  })

  it('H8 blocks trading against our own layered orders on the other side', async () => {
    const f = await fixture()
    for (const p of [70_300, 70_400, 70_500])
      send(f, f.intent({ side: 'sell', limitPrice: p, quantity: 700 }), NOW)
    f.state.setPositions('A1', [
      { account: 'A1', symbol: SYM, quantity: 5_000, sellableQuantity: 5_000, averagePrice: 60_000 },
    ])
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_000 }) }, f.state)),
    ).toContain('LAYERING')
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_900 }) }, f.state)),
    ).not.toContain('LAYERING')
  })

  it('H9 alerts above 20 and blocks passive orders above 50 after 200 messages', async () => {
    const f = await fixture(NOW, {
      defaultStrategy: { sessions: ['regular'] },
      guards: { h14: { action: 'off' }, h6: { action: 'off' } },
    })
    const churn = (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = send(f, f.intent({ limitPrice: 65_000 }), NOW + i)
        f.state.recordSent({ kind: 'cancel', brokerOrderId: id }, NOW + i)
      }
      f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now))
    }
    churn(50) // 100 messages, no fills
    const alert = f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_000 }) }, f.state)
    expect(warns(alert)).toContain('ORDER_TO_TRADE_ALERT')
    expect(codes(alert)).toEqual([])
    churn(50) // 200 messages
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_000 }) }, f.state)),
    ).toEqual(['ORDER_TO_TRADE_BLOCK'])
    // aggressive orders (which trade) are not blocked
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_000 }) }, f.state)),
    ).toEqual([])
  })
})

describe('H10/H11 auctions', () => {
  const closing = kstToEpochMs('2026-11-24', '15:26')

  it('H10 caps our share of the indicative volume and warns when it is unknown', async () => {
    const f = await fixture(closing)
    expect(warns(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toContain(
      'AUCTION_VOLUME_UNKNOWN',
    )
    f.state.setAuctionIndicative(SYM, { price: 70_000, volume: 10_000 }, closing)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 1_001 }) }, f.state))).toContain(
      'AUCTION_SHARE_CAP',
    )
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 1_000 }) }, f.state))).toEqual(
      [],
    )
  })

  it('H10 rejects a late cancel of an order that moved the expected price ≥ 1 %, unless a kill switch is engaged', async () => {
    const f = await fixture(kstToEpochMs('2026-11-24', '15:26'))
    f.state.setAuctionIndicative(SYM, { price: 70_000, volume: 100_000 }, f.state.now)
    const id = send(f, f.intent({ limitPrice: 71_000, quantity: 5_000 }), f.state.now)
    f.state.setAuctionIndicative(SYM, { price: 71_000, volume: 105_000 }, f.state.now)
    expect(f.state.openOrder(id)?.movedAuctionPrice).toBe(true)
    expect(codes(f.gateway.check({ kind: 'cancel', brokerOrderId: id }, f.state))).toEqual([
      'AUCTION_INTERFERENCE',
    ])
    await f.board.engage({ scope: 'account', key: 'A1', actor: 'ops', reason: 'drill' })
    const d = f.gateway.check({ kind: 'cancel', brokerOrderId: id }, f.state)
    expect(d.outcome).toBe('allow')
    expect(warns(d)).toContain('AUCTION_INTERFERENCE')
  })

  it('H11 rejects aggressive and priceless orders in the last 10 min of the closing auction', async () => {
    const f = await fixture(closing)
    f.state.setAuctionIndicative(SYM, { price: 70_000, volume: 1_000_000 }, closing)
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_800 }) }, f.state)),
    ).toContain('MARKING_THE_CLOSE')
    expect(
      codes(
        f.gateway.check(
          { kind: 'new', intent: f.intent({ orderType: 'market', limitPrice: undefined }) },
          f.state,
        ),
      ),
    ).toContain('MARKING_THE_CLOSE')
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 70_700 }) }, f.state)),
    ).toEqual([])
  })
})

describe('H12–H14', () => {
  it('H12 caps our share of market volume in the 5-min window', async () => {
    const f = await fixture()
    f.state.applyTick({
      symbol: SYM,
      price: 70_000,
      quantity: 10_000,
      cumulativeVolume: 10_000,
      aggressor: 'buy',
      at: NOW,
    })
    const id = send(f, f.intent({ quantity: 1_100 }), NOW)
    f.state.applyOrderEvent({
      type: 'filled',
      eventId: 'p',
      account: 'A1',
      brokerOrderId: id,
      at: NOW,
      symbol: SYM,
      side: 'buy',
      fillQuantity: 1_100,
      fillPrice: 70_000,
      cumulativeQuantity: 1_100,
    })
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toContain(
      'PARTICIPATION_CAP',
    )
    f.state.applyTick({
      symbol: SYM,
      price: 70_000,
      quantity: 2_000,
      cumulativeVolume: 12_000,
      aggressor: 'buy',
      at: NOW,
    })
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).not.toContain(
      'PARTICIPATION_CAP',
    )
  })

  it('H13 blocks the 21st small order through the best quote within 3 min', async () => {
    const f = await fixture(NOW, {
      defaultStrategy: { sessions: ['regular'] },
      guards: { h14: { action: 'off' } },
    })
    for (let i = 0; i < 20; i++) send(f, f.intent({ quantity: 1, limitPrice: 70_000 }), NOW + i * 100)
    f.state.applyQuote(brokerQuote(SYM, 70_000, f.state.now))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 1, limitPrice: 70_100 }) }, f.state)),
    ).toContain('ODD_LOT_SPAM')
    expect(
      codes(
        f.gateway.check({ kind: 'new', intent: f.intent({ quantity: 11, limitPrice: 70_100 }) }, f.state),
      ),
    ).not.toContain('ODD_LOT_SPAM')
  })

  it('H14 limits messages per second per symbol and per account; cancels are never rate-blocked', async () => {
    const f = await fixture(NOW, {
      defaultStrategy: { sessions: ['regular'] },
      guards: { h6: { action: 'off' } },
    })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(send(f, f.intent({ limitPrice: 69_000 }), NOW))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_000 }) }, f.state)),
    ).toEqual(['MESSAGE_RATE_SYMBOL'])
    expect(f.gateway.check({ kind: 'cancel', brokerOrderId: ids[0]! }, f.state).outcome).toBe('allow')
    f.state.advanceTo(NOW + 1_001)
    f.state.applyQuote(brokerQuote(SYM, 70_000, NOW + 1_001))
    expect(
      codes(f.gateway.check({ kind: 'new', intent: f.intent({ limitPrice: 69_000 }) }, f.state)),
    ).toEqual([])
  })
})

describe('replace and cancel', () => {
  it('checks the new price of a replace and allows quantity reductions under a kill switch', async () => {
    const f = await fixture()
    const id = send(f, f.intent({ limitPrice: 69_000 }), NOW)
    expect(
      codes(f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { limitPrice: 69_050 } }, f.state)),
    ).toEqual(['PRICE_OFF_TICK'])
    expect(
      codes(f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { quantity: 11 } }, f.state)),
    ).toEqual(['INVALID_REQUEST'])
    expect(
      f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { limitPrice: 69_100 } }, f.state).outcome,
    ).toBe('allow')
    await f.board.engage({ scope: 'symbol', key: SYM, actor: 'ops', reason: 'news' })
    expect(
      codes(f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { limitPrice: 69_100 } }, f.state)),
    ).toEqual(['KILL_SWITCH_ENGAGED'])
    expect(
      f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { quantity: 5 } }, f.state).outcome,
    ).toBe('allow')
    expect(f.gateway.check({ kind: 'cancel', brokerOrderId: id }, f.state).outcome).toBe('allow')
    expect(
      codes(f.gateway.check({ kind: 'replace', brokerOrderId: 'nope', patch: { quantity: 1 } }, f.state)),
    ).toEqual(['ORDER_UNKNOWN'])
  })

  it('rejects a replace into our own resting opposite order (H1) and outside the session', async () => {
    const f = await fixture()
    send(f, f.intent({ side: 'sell', limitPrice: 70_500 }), NOW)
    const id = send(f, f.intent({ limitPrice: 69_000 }), NOW)
    expect(
      codes(f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { limitPrice: 70_500 } }, f.state)),
    ).toContain('SELF_TRADE')
    f.state.advanceTo(kstToEpochMs('2026-11-24', '15:31'))
    expect(
      codes(f.gateway.check({ kind: 'replace', brokerOrderId: id, patch: { quantity: 5 } }, f.state)),
    ).toEqual(['SESSION_CLOSED'])
  })

  it('cancels: allowed during a stage-1/2 halt, refused after stage 3; unknown ids only warn (§4.3)', async () => {
    const f = await fixture()
    const id = send(f, f.intent({ limitPrice: 69_000 }), NOW)
    f.state.setCircuitBreaker('KOSPI', 2)
    expect(codes(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state))).toContain('MARKET_HALTED')
    expect(f.gateway.check({ kind: 'cancel', brokerOrderId: id }, f.state).outcome).toBe('allow')
    f.state.setCircuitBreaker('KOSPI', 3)
    expect(codes(f.gateway.check({ kind: 'cancel', brokerOrderId: id }, f.state))).toEqual([
      'MARKET_CLOSED_CB3',
    ])
    const unknown = f.gateway.check({ kind: 'cancel', brokerOrderId: 'zz' }, f.state)
    expect(unknown.outcome).toBe('allow')
    expect(warns(unknown)).toEqual(['ORDER_UNKNOWN'])
  })
})
