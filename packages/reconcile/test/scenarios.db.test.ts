import { NOT_SUPPORTED_IN_ENVIRONMENT } from '@vellab/broker-gateway'
import type { TestDatabase } from '@vellab/testkit/postgres'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReconcileError } from '../src'
import { type Db, expectBooksAgree, expectNothingSentTwice, SYMBOL, setupDatabase, World } from './harness'

let tdb: TestDatabase
let db: Kysely<Db>
beforeAll(async () => {
  ;({ tdb, db } = await setupDatabase())
})
afterAll(async () => {
  await tdb.drop()
})

describe('scenarios against the InMemoryBroker on real Postgres', () => {
  it('lost ack: the one matching broker order is linked and its fills applied; nothing is re-sent', async () => {
    const w = new World(db)
    const intent = w.intent()
    const o = await w.send(intent, 'lost_ack')
    expect(o.state).toBe('RECONCILE_REQUIRED')
    w.broker.setPrice(SYMBOL, 69_000, { liquidity: 4 })
    w.clock.advance(1_000)
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('clean')
    const after = await w.order(intent.intentId)
    expect(after.state).toBe('PARTIAL_FILLED')
    expect(after.filledQuantity).toBe(4)
    expect(report.findings.map((f) => [f.kind, f.resolution])).toEqual([
      ['unlinked_at_broker', 'auto_resolved'],
      ['fill_quantity_mismatch', 'auto_resolved'],
    ])
    await expectBooksAgree(w)
    expectNothingSentTwice(w, [intent.intentId])
    const mttr = w.events.filter((e) => e.type === 'auto_resolved')
    expect(mttr).toHaveLength(2)
  })

  it('lost ack with two identical candidates: a ticket and reconcile_ambiguous, never a guess', async () => {
    const w = new World(db)
    const intent = w.intent()
    await w.send(intent, 'lost_ack')
    // Someone places the same order from the broker's app a moment later.
    await w.broker.placeOrder({ ...intent, intentId: 'from-the-app' })
    w.clock.advance(11_000)
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('ticketed')
    const o = await w.order(intent.intentId)
    expect(o.state).toBe('RECONCILE_REQUIRED')
    expect(o.brokerOrderId).toBeNull()
    const ambiguous = report.findings.find((f) => f.kind === 'unlinked_at_broker')!
    expect(ambiguous.resolution).toBe('ticketed')
    const ticket = await w.reconciler.tickets.get(ambiguous.ticketId!)
    expect(ticket?.state).toBe('open')
    expect((await w.store.events(intent.intentId)).map((e) => e.event.type)).toContain('reconcile_ambiguous')
    // The guard refuses a new intent with the same fingerprint meanwhile.
    await expect(w.reconciler.guard.assert(w.intent())).rejects.toSatisfy((e) =>
      ReconcileError.isCode(e, 'duplicate_fingerprint'),
    )
    expect((await w.reconciler.guard.check(w.intent({ quantity: 11 }))).allowed).toBe(true)
    // A second pass keeps the same ticket (deduplicated) and still guesses nothing.
    const again = await w.reconciler.run(w.account)
    expect(again.findings.find((f) => f.kind === 'unlinked_at_broker')?.ticketId).toBe(ambiguous.ticketId)
    expect((await w.reconciler.tickets.get(ambiguous.ticketId!))?.seenCount).toBe(2)
    expectNothingSentTwice(w, [intent.intentId])
    const barrier = await w.reconciler.barrier(w.account)
    expect(barrier.open).toBe(true)
    expect(barrier.reasons.join('\n')).toMatch(/ambiguous/)
  })

  it('crash after the write-ahead, before the send: pending inside the delay, then closed as not placed, never sent', async () => {
    const w = new World(db)
    const intent = w.intent()
    await w.store.createIntent(intent)
    await w.store.beginSubmit(intent.intentId)
    // The process dies here; on restart recovery moves it to RECONCILE_REQUIRED.
    const recovery = await w.store.recover()
    expect(recovery.movedToReconcile.map((m) => m.intentId)).toContain(intent.intentId)
    w.clock.advance(2_000)
    const early = await w.reconciler.run(w.account)
    expect(early.status).toBe('pending')
    expect(w.reconciler.barrierState(w.account).open).toBe(false)
    expect((await w.order(intent.intentId)).state).toBe('RECONCILE_REQUIRED')
    w.clock.advance(10_000)
    const late = await w.reconciler.run(w.account)
    expect(late.status).toBe('clean')
    const o = await w.order(intent.intentId)
    expect(o.state).toBe('REJECTED')
    expect(late.findings).toMatchObject([{ kind: 'orphan_reconcile_required', resolution: 'auto_resolved' }])
    expect(w.broker.submissions(intent.intentId)).toBe(0)
    expect(w.reconciler.barrierState(w.account).open).toBe(true)
  })

  it('an order placed outside this system: recorded as foreign with a ticket, not adopted', async () => {
    const w = new World(db)
    await w.reconciler.run(w.account) // the day's opening book
    const ack = await w.broker.placeOrder({
      ...w.intent(),
      intentId: 'manual-1',
      side: 'sell',
      quantity: 5,
      limitPrice: 71_000,
    })
    const young = await w.reconciler.run(w.account)
    expect(young.findings).toMatchObject([{ kind: 'missing_locally', resolution: 'pending' }])
    w.clock.advance(11_000)
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('ticketed')
    expect(report.findings).toMatchObject([
      { kind: 'missing_locally', resolution: 'ticketed', brokerOrderId: ack.brokerOrderId },
    ])
    expect(await w.store.findByBrokerOrderId(w.account, ack.brokerOrderId)).toBeUndefined()
    // Its reserved shares explain the broker's sellable quantity: no position break on top.
    expect(report.findings.some((f) => f.kind === 'position_mismatch')).toBe(false)
    const [ticket] = await w.reconciler.tickets.list({ account: w.account })
    expect(ticket).toMatchObject({ kind: 'missing_locally', state: 'open' })
    const ackd = await w.reconciler.tickets.acknowledge(
      ticket!.id,
      'operator:kim',
      'checking with the desk',
      w.clock.now(),
    )
    expect(ackd.acknowledged).toMatchObject({ by: 'operator:kim' })
    const done = await w.reconciler.tickets.resolve(
      ticket!.id,
      'operator:kim',
      'placed by hand from the app',
      w.clock.now(),
    )
    expect(done.state).toBe('resolved')
    await expect(w.reconciler.tickets.resolve(ticket!.id, 'x', 'y', 0)).rejects.toSatisfy((e) =>
      ReconcileError.isCode(e, 'ticket_state'),
    )
  })

  it('a cash difference the fills do not explain: a critical ticket, an alarm and the kill switch', async () => {
    const engaged: unknown[] = []
    const w = new World(db)
    w.reconciler = w.makeReconciler({ killSwitch: { engage: async (i) => void engaged.push(i) } })
    w.attachStream()
    const intent = w.intent({ limitPrice: 70_000 })
    await w.send(intent) // fills at once against the last price
    await w.settle()
    expect((await w.reconciler.run(w.account)).status).toBe('clean')
    expect(engaged).toEqual([])
    // A withdrawal nobody told us about.
    w.broker.openAccount({
      account: w.account,
      cash: 100_000_000 - 700_000 - 5_000_000,
      positions: [{ symbol: SYMBOL, quantity: 110, averagePrice: (100 * 60_000 + 10 * 70_000) / 110 }],
    })
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('ticketed')
    expect(report.findings).toMatchObject([
      { kind: 'cash_mismatch', severity: 'critical', resolution: 'ticketed' },
    ])
    expect(w.events.some((e) => e.type === 'alarm' && e.code === 'recon_cash_mismatch')).toBe(true)
    expect(engaged).toMatchObject([{ scope: 'account', key: w.account, source: 'auto:reconcile' }])
  })

  it('a broker read that fails halfway: the run fails and nothing is resolved from half the data', async () => {
    const w = new World(db)
    const intent = w.intent()
    await w.send(intent, 'lost_ack')
    w.broker.injectFault('getPositions', { kind: 'unavailable', message: 'socket hang up' })
    w.clock.advance(11_000)
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('failed')
    expect(report.error?.code).toBe('broker_read_failed')
    expect((await w.order(intent.intentId)).state).toBe('RECONCILE_REQUIRED')
    expect(w.reconciler.barrierState(w.account)).toMatchObject({ open: false, status: 'failed' })
    const run = await db
      .selectFrom('recon_runs')
      .selectAll()
      .where('id', '=', report.runId)
      .executeTakeFirstOrThrow()
    expect(run).toMatchObject({ status: 'failed', breaks_resolved: 0 })
    expect(run.error).toMatch(/getPositions/)
    // The next complete pass resolves it.
    const next = await w.reconciler.run(w.account)
    expect(next.status).toBe('clean')
    expect((await w.order(intent.intentId)).state).toBe('ACKED')
    expectNothingSentTwice(w, [intent.intentId])
  })

  it('an environment that cannot list orders: the lost ack stays unresolved with a ticket, never "not placed"', async () => {
    const w = new World(db)
    w.reconciler = w.makeReconciler({ capabilities: { listOrders: false, listFills: false } })
    const intent = w.intent()
    await w.send(intent, 'lost_ack')
    w.clock.advance(60_000)
    const report = await w.reconciler.run(w.account)
    expect(report.status).toBe('ticketed')
    expect(report.findings).toMatchObject([{ kind: 'orphan_reconcile_required', resolution: 'ticketed' }])
    expect((await w.order(intent.intentId)).state).toBe('RECONCILE_REQUIRED')
    const barrier = await w.reconciler.barrier(w.account)
    expect(barrier.reasons.join('\n')).toMatch(/cannot list today's orders/)
    expect(barrier.reasons).toContain(
      "environment: cannot list today's orders: a lost ack is never proven absent, foreign orders are not seen",
    )
    expect((await w.reconciler.guard.check(w.intent())).allowed).toBe(false)
    expectNothingSentTwice(w, [intent.intentId])
  })

  it('takes the environment’s limits from the gateway’s own declaration, and from a listing it refuses as not supported', async () => {
    // Declared by the gateway (no reconciler option).
    const declared = new World(db, {}, undefined, { listOrders: false, listFills: false })
    const a = declared.intent()
    await declared.send(a, 'lost_ack')
    declared.clock.advance(60_000)
    const r1 = await declared.reconciler.run(declared.account)
    expect(r1.status).toBe('ticketed')
    expect(r1.limits).toContain("cannot list today's fills")
    expect((await declared.order(a.intentId)).state).toBe('RECONCILE_REQUIRED')
    expectNothingSentTwice(declared, [a.intentId])
    // Undeclared, but the listing is refused as not supported: unavailable, never an empty list.
    const undeclared = new World(db)
    const b = undeclared.intent()
    await undeclared.send(b, 'lost_ack')
    undeclared.clock.advance(60_000)
    undeclared.broker.injectFault('getOrders', {
      kind: 'invalid_request',
      brokerCode: NOT_SUPPORTED_IN_ENVIRONMENT,
      message: 'not supported in this environment',
    })
    const r2 = await undeclared.reconciler.run(undeclared.account)
    expect(r2.status).toBe('ticketed')
    expect(r2.limits.join('\n')).toMatch(/cannot list today's orders/)
    expect((await undeclared.order(b.intentId)).state).toBe('RECONCILE_REQUIRED')
    // The next pass, with the listing back, proves the order was placed.
    const r3 = await undeclared.reconciler.run(undeclared.account)
    expect(r3.limits).toEqual([])
    expect((await undeclared.order(b.intentId)).state).toBe('ACKED')
    expectNothingSentTwice(undeclared, [b.intentId])
  })
})
