import { OrderIntentSchema } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { PhaseCapsSchema, PhaseGate } from './phase'

let n = 0
const intent = (symbol: string, quantity: number, limitPrice: number, intentId = `i-${++n}`) =>
  OrderIntentSchema.parse({
    intentId,
    account: '50000001-01',
    strategyId: 's',
    symbol,
    side: 'buy',
    quantity,
    orderType: 'limit',
    limitPrice,
  })

describe('PhaseGate', () => {
  const caps = PhaseCapsSchema.parse({
    symbols: ['005930'],
    maxOrderNotional: 1_000_000,
    maxDailyNotional: 2_500_000,
    maxDailyLoss: 50_000,
  })

  it('shadow stops everything; paper lets everything through', () => {
    expect(new PhaseGate('shadow', caps).admit(intent('005930', 1, 70_000))).toBe('SHADOW_NOT_SENT')
    expect(new PhaseGate('paper', caps).admit(intent('000660', 100, 180_000))).toBeUndefined()
  })

  it('pilot: allowlist, per-order and daily notional, in that order, counting only what it admits', () => {
    const g = new PhaseGate('pilot', caps)
    expect(g.admit(intent('000660', 1, 180_000))).toBe('PILOT_SYMBOL_NOT_ALLOWED')
    expect(g.admit(intent('005930', 15, 70_000))).toBe('PILOT_ORDER_NOTIONAL') // 1,050,000
    expect(g.admit(intent('005930', 14, 70_000))).toBeUndefined() // 980,000
    expect(g.admit(intent('005930', 14, 70_000))).toBeUndefined() // 1,960,000
    expect(g.admit(intent('005930', 14, 70_000))).toBe('PILOT_DAILY_NOTIONAL') // would be 2,940,000
    expect(g.admit(intent('005930', 7, 70_000))).toBeUndefined() // 2,450,000
  })

  it('pilot: an intent asked about again (the engine re-checks a held child) counts once', () => {
    const g = new PhaseGate('pilot', caps)
    const same = intent('005930', 14, 70_000, 'held-child')
    for (let i = 0; i < 5; i++) expect(g.admit(same)).toBeUndefined() // 980,000 once, not 4,900,000
    expect(g.admit(intent('005930', 14, 70_000))).toBeUndefined() // 1,960,000
    expect(g.admit(intent('005930', 14, 70_000))).toBe('PILOT_DAILY_NOTIONAL')
  })

  it('pilot: the day’s marked-to-market loss stops new orders at the cap', () => {
    const g = new PhaseGate('pilot', caps)
    g.onFill('005930', 'buy', 10, 70_000)
    g.mark('005930', 66_000)
    expect(g.pnl).toBe(-40_000)
    expect(g.admit(intent('005930', 1, 66_000))).toBeUndefined()
    g.mark('005930', 65_000)
    expect(g.pnl).toBe(-50_000)
    expect(g.admit(intent('005930', 1, 65_000))).toBe('PILOT_DAILY_LOSS')
    g.onFill('005930', 'sell', 10, 71_000)
    expect(g.pnl).toBe(10_000)
  })

  it('ramp raises the pilot caps by the factor', () => {
    const g = new PhaseGate('ramp', { ...caps, rampFactor: 3 })
    expect(g.admit(intent('005930', 40, 70_000))).toBeUndefined() // 2,800,000 ≤ 3,000,000
    expect(g.admit(intent('005930', 45, 70_000))).toBe('PILOT_ORDER_NOTIONAL') // 3,150,000
  })
})
