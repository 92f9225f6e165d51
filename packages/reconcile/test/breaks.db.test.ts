import type { TestDatabase } from '@vellab/testkit/postgres'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BREAK_KINDS, type BreakKind } from '../src'
import { type Db, expectBooksAgree, SYMBOL, setupDatabase, World } from './harness'

let tdb: TestDatabase
let db: Kysely<Db>
beforeAll(async () => {
  ;({ tdb, db } = await setupDatabase())
})
afterAll(async () => {
  await tdb.drop()
})

const covered = new Set<BreakKind>()
const kinds = (findings: { kind: BreakKind; resolution: string }[]) =>
  findings.map((f) => {
    covered.add(f.kind)
    return `${f.kind}:${f.resolution}`
  })

describe('break catalogue: one test per kind', () => {
  it('missing_locally: a broker order nobody here placed is ticketed', async () => {
    const w = new World(db)
    await w.broker.placeOrder({ ...w.intent(), intentId: 'hand-made' })
    w.clock.advance(11_000)
    expect(kinds((await w.reconciler.run(w.account)).findings)).toEqual(['missing_locally:ticketed'])
  })

  it('unlinked_at_broker: a lost ack with exactly one candidate is matched', async () => {
    const w = new World(db)
    const intent = w.intent()
    await w.send(intent, 'lost_ack')
    const rep = await w.reconciler.run(w.account)
    expect(kinds(rep.findings)).toEqual(['unlinked_at_broker:auto_resolved'])
    expect((await w.order(intent.intentId)).state).toBe('ACKED')
    await expectBooksAgree(w)
  })

  it('missing_at_broker: a linked number the broker does not list is ticketed after the delay only', async () => {
    const w = new World(db)
    const intent = w.intent()
    await w.store.createIntent(intent)
    await w.store.beginSubmit(intent.intentId)
    await w.store.recordAck({
      intentId: intent.intentId,
      brokerOrderId: 'X000000001',
      acceptedAt: w.clock.now(),
    })
    expect((await w.reconciler.run(w.account)).findings).toEqual([])
    w.clock.advance(11_000)
    const report = await w.reconciler.run(w.account)
    expect(kinds(report.findings)).toEqual(['missing_at_broker:ticketed'])
    expect(report.findings[0]?.severity).toBe('critical')
  })

  it('status_mismatch: missed cancel and missed replace are applied; closed here but live there is ticketed', async () => {
    const w = new World(db)
    const a = await w.send(w.intent())
    const b = await w.send(w.intent({ quantity: 7 }))
    const c = await w.send(w.intent({ quantity: 3 }))
    await w.broker.cancelOrder(a.brokerOrderId!)
    const r = await w.broker.replaceOrder(b.brokerOrderId!, { limitPrice: 68_500 })
    // The store hears of a cancel the broker never made.
    await w.store.applyBrokerEvent({
      type: 'canceled',
      eventId: 'bogus-cancel',
      account: w.account,
      brokerOrderId: c.brokerOrderId!,
      canceledQuantity: 3,
      at: w.clock.now(),
    })
    const report = await w.reconciler.run(w.account)
    expect(kinds(report.findings).sort()).toEqual(
      ['status_mismatch:auto_resolved', 'status_mismatch:auto_resolved', 'status_mismatch:ticketed'].sort(),
    )
    expect((await w.order(a.intentId)).state).toBe('CANCELED')
    const replaced = await w.order(b.intentId)
    expect(replaced.brokerOrderId).toBe(r.newBrokerOrderId)
    expect(replaced.limitPrice).toBe(68_500)
    expect(report.findings.find((f) => f.resolution === 'ticketed')).toMatchObject({
      intentId: c.intentId,
      severity: 'critical',
    })
    await expectBooksAgree(w, w.broker, [c.brokerOrderId!])
  })

  it('fill_quantity_mismatch: missed fills are applied at the broker prices, deduplicated with the stream; local ahead is ticketed', async () => {
    const w = new World(db)
    const a = await w.send(w.intent())
    w.broker.setPrice(SYMBOL, 69_000, { liquidity: 3 })
    w.broker.setPrice(SYMBOL, 68_900, { liquidity: 7 })
    const report = await w.reconciler.run(w.account)
    expect(kinds(report.findings)).toEqual(['fill_quantity_mismatch:auto_resolved'])
    const filled = await w.order(a.intentId)
    expect(filled).toMatchObject({
      state: 'FILLED',
      filledQuantity: 10,
      filledNotional: 3 * 69_000 + 7 * 68_900,
    })
    // The stream delivers the same notices late, duplicated and reordered: nothing changes.
    const log = w.broker.eventLog.filter((e) => e.brokerOrderId === a.brokerOrderId)
    for (const e of [...log].reverse().concat(log)) await w.store.applyBrokerEvent(e)
    expect((await w.order(a.intentId)).version).toBe(filled.version)
    await expectBooksAgree(w)

    const b = await w.send(w.intent({ limitPrice: 60_000 }))
    await w.store.applyBrokerEvent({
      type: 'filled',
      eventId: 'bogus-fill',
      account: w.account,
      brokerOrderId: b.brokerOrderId!,
      symbol: SYMBOL,
      side: 'buy',
      fillQuantity: 5,
      fillPrice: 60_000,
      cumulativeQuantity: 5,
      at: w.clock.now(),
    })
    const ahead = await w.reconciler.run(w.account)
    expect(kinds(ahead.findings).filter((k) => k.startsWith('fill_'))).toEqual([
      'fill_quantity_mismatch:ticketed',
    ])
  })

  it('fill_price_mismatch: same shares, different money is ticketed', async () => {
    const w = new World(db)
    const a = await w.send(w.intent())
    await w.store.applyBrokerEvent({
      type: 'filled',
      eventId: 'wrong-price',
      account: w.account,
      brokerOrderId: a.brokerOrderId!,
      symbol: SYMBOL,
      side: 'buy',
      fillQuantity: 10,
      fillPrice: 68_000,
      cumulativeQuantity: 10,
      at: w.clock.now(),
    })
    w.broker.fill(a.brokerOrderId!, 10, 69_000)
    expect(kinds((await w.reconciler.run(w.account)).findings)).toEqual(['fill_price_mismatch:ticketed'])
  })

  it('position_mismatch: shares the day’s fills do not explain are ticketed, over the union of symbols', async () => {
    const w = new World(db)
    w.attachStream()
    await w.send(w.intent({ limitPrice: 70_000 }))
    await w.settle()
    expect((await w.reconciler.run(w.account)).status).toBe('clean')
    w.broker.openAccount({
      account: w.account,
      cash: 100_000_000 - 700_000,
      positions: [
        { symbol: SYMBOL, quantity: 110, averagePrice: (100 * 60_000 + 10 * 70_000) / 110 },
        { symbol: '000660', quantity: 5, averagePrice: 180_000 },
      ],
    })
    const report = await w.reconciler.run(w.account)
    expect(kinds(report.findings)).toEqual(['position_mismatch:ticketed'])
    expect(report.findings[0]?.symbol).toBe('000660')
  })

  it('cash_mismatch: D+2 cash the fills do not explain is ticketed', async () => {
    const w = new World(db)
    await w.reconciler.run(w.account)
    w.broker.openAccount({
      account: w.account,
      cash: 100_000_000 + 3_000_000,
      positions: [{ symbol: SYMBOL, quantity: 100, averagePrice: 60_000 }],
    })
    expect(kinds((await w.reconciler.run(w.account)).findings)).toEqual(['cash_mismatch:ticketed'])
  })

  it('orphan_reconcile_required: a cancel of unknown outcome the broker never saw returns the order to work after the delay', async () => {
    const w = new World(db)
    const a = await w.send(w.intent())
    await w.store.requestCancel(a.intentId)
    await w.store.recordOutcomeUnknown(a.intentId, { operation: 'cancel', reason: 'timeout' })
    expect(kinds((await w.reconciler.run(w.account)).findings)).toEqual(['orphan_reconcile_required:pending'])
    w.clock.advance(11_000)
    expect(kinds((await w.reconciler.run(w.account)).findings)).toEqual([
      'orphan_reconcile_required:auto_resolved',
    ])
    expect((await w.order(a.intentId)).state).toBe('ACKED')
    await expectBooksAgree(w)
  })

  it('orphan_reconcile_required: a lost ack of an earlier day is ticketed, never closed from today’s list', async () => {
    const w = new World(db)
    const intent = w.intent()
    await w.store.createIntent(intent)
    await w.store.beginSubmit(intent.intentId)
    await w.store.recover()
    w.clock.advance(24 * 3_600_000)
    expect(kinds((await w.reconciler.run(w.account)).findings)).toEqual([
      'orphan_reconcile_required:ticketed',
    ])
    expect((await w.order(intent.intentId)).state).toBe('RECONCILE_REQUIRED')
  })

  it('covers every kind of the catalogue', () => {
    expect([...covered].sort()).toEqual([...BREAK_KINDS].sort())
  })
})
