import type { Clock } from '@vellab/broker-gateway'
import { createKisGateway } from '@vellab/broker-kis'
import { createKisSim } from '@vellab/kis-sim'
import { createOrderStore, migrateOrderFsm, type OrderFsmTables } from '@vellab/order-fsm'
import { createReconciler, migrateReconcile, type ReconcileTables } from '@vellab/reconcile'
import { createTestDatabase } from '@vellab/testkit/postgres'
import { describe, expect, it } from 'vitest'
import { ExecutionEngine, type ExecutionEvent, type ExecutionTables, migrateExecution } from '../src'

// The whole order path end to end: parents sliced by the engine, every child a durable intent in
// order-fsm on real PostgreSQL, sent through broker-kis over real HTTP and WebSocket to kis-sim,
// which loses answers, fails with 5xx and refuses bursts with EGW00201 (its fault plan), with
// @vellab/reconcile settling the children whose outcome was unknown. The simulator's own books
// are the judge.

type Db = ExecutionTables & OrderFsmTables & ReconcileTables

describe('execution end to end against kis-sim (faults on)', () => {
  it('two 1,000-share parents on two symbols complete; fills equal the simulator’s; no child reaches the broker twice', async () => {
    const tdb = await createTestDatabase('exec_e2e')
    const db = tdb.db<Db>()
    await migrateOrderFsm(db)
    await migrateReconcile(db)
    await migrateExecution(db)
    const sim = await createKisSim({
      clock: { mode: 'real', start: '2026-11-24 10:00:00' },
      market: { priceModel: 'static', fillModel: 'manual' },
    })
    const app = sim.apps.find((a) => a.env === 'real')!
    const { cano, productCode } = app.accounts[0]!
    sim.control.seedAccount(cano, { productCode, cash: 2_000_000_000 })
    const account = `${cano}-${productCode}`
    const clock: Clock = sim.clientClock()
    const gateway = createKisGateway({
      config: {
        environment: 'real',
        appKey: app.appkey,
        appSecret: app.appsecret,
        account,
        htsId: app.htsId,
        restBaseUrl: sim.restUrl,
        wsUrl: `${sim.wsUrl}/tryitout`,
      },
      clock,
    })
    const store = createOrderStore({ db, clock })
    const applying: Promise<unknown>[] = []
    const off = gateway.streamOrderEvents(account, (e) => {
      applying.push(store.applyBrokerEvent(e))
    })
    await gateway.whenOrderEventsLive(10_000)
    const reconciler = createReconciler<Db>({
      db,
      store,
      broker: gateway,
      accounts: [account],
      clock,
      reportingDelayMs: 500,
    })
    const events: ExecutionEvent[] = []
    const engine = new ExecutionEngine<Db>({
      db,
      store,
      gateway,
      check: () => ({ outcome: 'allow', reasons: [] }),
      guard: reconciler.guard,
      barrier: async (a) => reconciler.barrier(a),
      clock,
      childTtlMs: 30_000,
      retry: { baseDelayMs: 50, maxDelayMs: 400 },
      onEvent: (e) => events.push(e),
    })
    // The fault plan: two answers lost after the order was placed, one 5xx after it was placed,
    // three EGW00201 refusals (nothing placed), spread over the first orders.
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      skip: 1,
      count: 1,
      effect: { type: 'drop-response', mode: 'reset' },
    })
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      skip: 4,
      count: 1,
      effect: { type: 'http-error', status: 500, commit: true },
    })
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      skip: 6,
      count: 3,
      effect: { type: 'rate-limit' },
    })
    sim.control.faults.add({
      on: 'rest',
      path: 'order-cash',
      skip: 9,
      count: 1,
      effect: { type: 'drop-response', mode: 'reset' },
    })

    const now = clock.now()
    const parents = ['005930', '000660'].map((symbol, i) => ({
      parentId: `e2e-${symbol}`,
      account,
      strategyId: 'e2e',
      symbol,
      side: 'buy' as const,
      quantity: 1_000,
      urgency: 'high' as const,
      schedule: { kind: 'twap' as const, slices: 5 },
      startAt: now,
      deadline: now + 5_000 + i * 500,
      onDeadline: 'finish' as const,
    }))
    for (const p of parents) await engine.submit(p)

    // The market: every open order of this app is filled in full shortly after it arrives.
    const deadline = Date.now() + 60_000
    let lastReconcile = 0
    while (Date.now() < deadline) {
      for (const o of sim.control.orders({ appkey: app.appkey })) {
        if (o.kind === 'new' && o.status === 'open' && o.remaining > 0) sim.control.fill(o.odno)
      }
      await engine.step()
      await Promise.all(applying.splice(0))
      if (Date.now() - lastReconcile > 700) {
        lastReconcile = Date.now()
        await reconciler.run(account)
      }
      const views = await Promise.all(parents.map((p) => engine.get(p.parentId)))
      if (views.every((v) => v.state === 'completed')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const views = await Promise.all(parents.map((p) => engine.get(p.parentId)))
    expect(views.map((v) => [v.parent.symbol, v.state, v.progress.filled])).toEqual([
      ['005930', 'completed', 1_000],
      ['000660', 'completed', 1_000],
    ])

    // The faults happened: unknown outcomes settled by reconciliation, refusals retried.
    expect(events.some((e) => e.type === 'child.unknown_outcome')).toBe(true)
    expect(events.some((e) => e.type === 'child.retry')).toBe(true)
    // The simulator's books: per symbol, the shares it filled for this app equal the parent's.
    const simOrders = sim.control.orders({ appkey: app.appkey }).filter((o) => o.kind === 'new')
    for (const symbol of ['005930', '000660']) {
      const filled = simOrders.filter((o) => o.symbol === symbol).reduce((a, o) => a + o.filledQty, 0)
      expect(filled, symbol).toBe(1_000)
    }
    // No child reached the broker twice: every order the simulator took belongs to exactly one
    // child, and each child has at most one broker order.
    const owners = new Set<string>()
    for (const o of simOrders) {
      const owner = await store.findByBrokerOrderId(account, o.odno)
      expect(owner, `owner of ${o.odno}`).toBeDefined()
      expect(owners.has(owner!.intentId), `${owner!.intentId} sent twice`).toBe(false)
      owners.add(owner!.intentId)
    }
    const children = await db.selectFrom('exec_children').select(['intent_id']).execute()
    expect(owners.size).toBeLessThanOrEqual(children.length)

    off()
    await engine.stop()
    await reconciler.stop()
    await gateway.close()
    await sim.close()
    await tdb.drop()
  }, 90_000)
})
