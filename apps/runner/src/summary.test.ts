import { describe, expect, it } from 'vitest'
import { emptyTelemetry, type RunReport, recordAdapterEvent } from './report'
import { formatSummary } from './summary'

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    stats: {
      parents: 0,
      strategyErrors: 0,
      decisions: 10,
      intents: 6,
      riskRejects: { RISK_MAX_QTY: 2 },
      phaseStops: { PILOT_ORDER_NOTIONAL: 1 },
      sent: 6,
      acked: 5,
      brokerRejects: 1,
      rateLimited: 0,
      unknownOutcomes: 0,
      cancelsSent: 2,
      eventsApplied: 12,
      eventErrors: 0,
    },
    adapter: emptyTelemetry(),
    fills: 3,
    notional: 1_234_500,
    ordersByState: { FILLED: 3, CANCELED: 2, REJECTED: 1 },
    filledShares: 3,
    brokerOrdersReceived: 8,
    rateViolations: 0,
    drift: [],
    checks: [
      { name: 'nothing sent twice', ok: true, detail: 'fine' },
      { name: 'local books match the broker', ok: false, detail: '1 orders drifted' },
    ],
    ...overrides,
  }
}

describe('formatSummary', () => {
  it('shows orders by state, notional with separators, and each check with ✓ or ✗', () => {
    const text = formatSummary(report())
    expect(text).toMatch(/Orders \(6\) by final state/)
    expect(text).toMatch(/FILLED\s+3/)
    expect(text).toContain('1,234,500')
    expect(text).toMatch(/✓ nothing sent twice\s+fine/)
    expect(text).toMatch(/✗ local books match the broker\s+1 orders drifted/)
    expect(text).toContain('1 check(s) FAILED')
    expect(text).toMatch(/RISK_MAX_QTY\s+2/)
  })

  it('counts the adapter events it summarises and ignores the rest', () => {
    const t = emptyTelemetry()
    recordAdapterEvent(t, {
      type: 'limiter.wait',
      limiter: 'rest',
      lane: 'order',
      waitedMs: 40,
      queueDepth: 0,
    })
    recordAdapterEvent(t, {
      type: 'limiter.wait',
      limiter: 'rest',
      lane: 'cancel',
      waitedMs: 15,
      queueDepth: 1,
    })
    recordAdapterEvent(t, { type: 'ws.reconnect_scheduled', attempt: 1, delayMs: 1000, reason: 'closed' })
    recordAdapterEvent(t, {
      type: 'rest.reject',
      operation: 'placeOrder',
      trId: 'TTTC0012U',
      code: 'APBK0918',
      kind: 'rejected',
      httpStatus: 200,
    })
    recordAdapterEvent(t, { type: 'ws.pingpong' })
    expect(t).toMatchObject({ limiterWaits: 2, limiterWaitMsTotal: 55, limiterWaitMsMax: 40, reconnects: 1 })
    expect(t.rejectsByCode).toEqual({ APBK0918: 1 })
    const text = formatSummary(report({ adapter: t, checks: [{ name: 'x', ok: true, detail: 'y' }] }))
    expect(text).toContain('2 (total 55 ms, max 40 ms)')
    expect(text).toMatch(/APBK0918\s+1/)
    expect(text).toContain('all 1 checks passed')
  })
})
