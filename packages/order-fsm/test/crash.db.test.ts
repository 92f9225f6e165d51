import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BrokerError, type BrokerOrder, type OrderIntent } from '@vellab/broker-gateway'
import { InMemoryBroker } from '@vellab/broker-gateway/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintOfBrokerOrder, fingerprintOfIntent, type OrderStore } from '../src'
import { anIntent } from '../src/testing'
import { expectLogExplainsProjection, type Fixture, setupFixture } from './helpers'

let fx: Fixture
const ACCOUNT = '50123456-01'

beforeAll(async () => {
  fx = await setupFixture()
})
afterAll(async () => {
  await fx?.tdb.drop()
})

/** The caller's submit path up to a chosen step, then abandoned (the process "dies" there). */
async function submitUntil(
  store: OrderStore,
  broker: InMemoryBroker,
  intent: OrderIntent,
  stop: 'after-write-ahead' | 'after-send' | 'complete',
): Promise<string | null> {
  await store.createIntent(intent)
  const claim = await store.beginSubmit(intent.intentId)
  if (!claim.proceed || stop === 'after-write-ahead') return null
  try {
    const ack = await broker.placeOrder(intent)
    if (stop === 'after-send') return ack.brokerOrderId
    await store.recordAck(ack)
    return ack.brokerOrderId
  } catch (e) {
    if (BrokerError.isKind(e, 'unknown_outcome')) {
      await store.recordOutcomeUnknown(intent.intentId, { operation: 'submit', reason: e.message })
      return null
    }
    throw e
  }
}

/**
 * The part of reconciliation this package serves: match the broker's unclaimed orders to
 * RECONCILE_REQUIRED intents by fingerprint and submit window; never guess among several.
 */
async function reconcile(store: OrderStore, broker: InMemoryBroker, windowMs: number) {
  const brokerOrders = await broker.getOrders(ACCOUNT)
  const claimed = new Set<string>()
  for (const bo of brokerOrders) {
    if (await store.findByBrokerOrderId(ACCOUNT, bo.brokerOrderId)) {
      claimed.add(bo.brokerOrderId)
      continue
    }
    const candidates = await store.findReconcileCandidates(fingerprintOfBrokerOrder(bo), {
      from: bo.submittedAt - windowMs,
      to: bo.submittedAt + windowMs,
    })
    const rivals = brokerOrders.filter(
      (o: BrokerOrder) =>
        o !== bo &&
        !claimed.has(o.brokerOrderId) &&
        sameFingerprint(o, bo) &&
        Math.abs(o.submittedAt - bo.submittedAt) <= windowMs,
    )
    if (candidates.length === 1 && rivals.length === 0) {
      await store.apply(
        candidates[0]!.intentId,
        {
          type: 'reconcile_matched',
          brokerOrderId: bo.brokerOrderId,
          reason: 'unique fingerprint match',
          at: fx.clock.now(),
        },
        { actor: 'test-reconcile' },
      )
      claimed.add(bo.brokerOrderId)
    } else {
      for (const c of candidates) {
        await store.apply(
          c.intentId,
          {
            type: 'reconcile_ambiguous',
            candidates: [bo.brokerOrderId, ...rivals.map((r) => r.brokerOrderId)],
            reason: 'several matches',
            at: fx.clock.now(),
          },
          { actor: 'test-reconcile' },
        )
      }
    }
  }
  for (const o of await store.listByState('RECONCILE_REQUIRED')) {
    if (o.brokerOrderId !== null) {
      const bo = brokerOrders.find((b) => b.brokerOrderId === o.brokerOrderId)
      if (bo?.status === 'open' || bo?.status === 'partially_filled') {
        await store.apply(o.intentId, {
          type: 'reconcile_matched',
          brokerOrderId: bo.brokerOrderId,
          reason: 'still working',
          at: fx.clock.now(),
        })
      }
      continue
    }
    const stillCandidate = brokerOrders.some(
      (b) => !claimed.has(b.brokerOrderId) && sameFingerprint(b, o.intent as unknown as BrokerOrder),
    )
    if (!stillCandidate) {
      await store.apply(
        o.intentId,
        { type: 'reconcile_not_found', reason: 'no broker order matches', at: fx.clock.now() },
        { actor: 'test-reconcile' },
      )
    }
  }
}

function sameFingerprint(
  a: Pick<BrokerOrder, 'account' | 'symbol' | 'side' | 'quantity' | 'limitPrice' | 'orderType' | 'venue'>,
  b: typeof a,
) {
  return (
    JSON.stringify(fingerprintOfBrokerOrder(a as BrokerOrder)) ===
    JSON.stringify(fingerprintOfBrokerOrder(b as BrokerOrder))
  )
}

describe('crash between the steps of a flow, then recover()', () => {
  it('leaves no order unexplained and sends nothing twice', async () => {
    const broker = new InMemoryBroker({
      clock: fx.clock,
      accounts: [{ account: ACCOUNT, cash: 10_000_000_000 }],
    })
    const before = fx.store({ actor: 'runner-before-crash' })
    const i = (symbol: string, extra: Parameters<typeof anIntent>[0] = {}) =>
      anIntent({ account: ACCOUNT, symbol, quantity: 10, limitPrice: 50_000, ...extra })
    const A = i('000001') // crash after the write-ahead, before the send
    const B = i('000002') // crash after the send, before the ack was recorded
    const C = i('000003') // the response was lost (unknown_outcome), no crash
    const D = i('000004') // acked; crash after the cancel's write-ahead, before sending it
    const E = i('000005') // acked; cancel sent and acked; crash before the cancel confirmation
    const F = i('000006') // intent only
    const G1 = i('000007', { strategyId: 'twin-1' }) // two identical orders, both acks lost
    const G2 = i('000007', { strategyId: 'twin-2' })

    await submitUntil(before, broker, A, 'after-write-ahead')
    const bId = await submitUntil(before, broker, B, 'after-send')
    broker.fill(bId!, 4)
    broker.injectFault('placeOrder', {
      kind: 'unknown_outcome',
      commit: true,
      message: 'read timeout after 5000 ms',
    })
    await submitUntil(before, broker, C, 'complete')
    const dId = await submitUntil(before, broker, D, 'complete')
    expect((await before.requestCancel(D.intentId)).proceed).toBe(true)
    const eId = await submitUntil(before, broker, E, 'complete')
    expect((await before.requestCancel(E.intentId)).proceed).toBe(true)
    await before.recordCancelAck(E.intentId, await broker.cancelOrder(eId!))
    await before.createIntent(F)
    await submitUntil(before, broker, G1, 'after-send')
    await submitUntil(before, broker, G2, 'after-send')
    expect(dId).not.toBeNull()

    // ---- restart ----
    fx.clock.advance(30_000)
    const after = fx.store({ actor: 'runner-after-restart' })
    const report = await after.recover()
    expect(report.movedToReconcile.map((m) => [m.intentId, m.from, m.operation]).sort()).toEqual(
      [
        [A.intentId, 'SUBMITTED', 'submit'],
        [B.intentId, 'SUBMITTED', 'submit'],
        [D.intentId, 'CANCEL_PENDING', 'cancel'],
        [G1.intentId, 'SUBMITTED', 'submit'],
        [G2.intentId, 'SUBMITTED', 'submit'],
      ].sort(),
    )
    expect(report.openByState).toMatchObject({ RECONCILE_REQUIRED: 6, CANCEL_PENDING: 1, INTENT_CREATED: 1 })
    expect(await after.recover()).toMatchObject({ movedToReconcile: [], parkedApplied: 0 }) // idempotent

    // The stream replays what the broker said while we were down: unclaimed numbers are parked.
    for (const e of broker.eventLog) await after.applyBrokerEvent(e)
    await reconcile(after, broker, 60_000)

    const states = Object.fromEntries(
      await Promise.all(
        [A, B, C, D, E, F, G1, G2].map(async (x) => [
          x.intentId,
          (await expectLogExplainsProjection(after, x.intentId)).state,
        ]),
      ),
    )
    expect(states).toEqual({
      [A.intentId]: 'REJECTED', // proven never sent: not found at the broker
      [B.intentId]: 'PARTIAL_FILLED', // lost ack healed by fingerprint; its parked fill applied
      [C.intentId]: 'ACKED',
      [D.intentId]: 'ACKED', // the cancel never left; the order is still working
      [E.intentId]: 'CANCELED', // the broker's cancel confirmation was replayed
      [F.intentId]: 'INTENT_CREATED', // never sent; free to submit or cancel
      [G1.intentId]: 'RECONCILE_REQUIRED', // ambiguous: a ticket, never a guess
      [G2.intentId]: 'RECONCILE_REQUIRED',
    })
    expect((await after.get(B.intentId))?.filledQuantity).toBe(4)
    for (const x of [A, B, C, D, E, F, G1, G2]) expect(broker.submissions(x.intentId)).toBeLessThanOrEqual(1)
    const g1Audit = await after.events(G1.intentId)
    expect(g1Audit.at(-1)?.event.type).toBe('reconcile_ambiguous')
    expect(await after.listUnmatched({ account: ACCOUNT })).toHaveLength(2) // the twins' accepted events, unclaimed
  })
})

describe('a worker process killed with SIGKILL', () => {
  const hooks = fileURLToPath(new URL('../scripts/ts-hooks.mjs', import.meta.url))
  const worker = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url))

  async function runUntil(mode: string, intentId: string, marker: string): Promise<void> {
    const child = spawn(process.execPath, ['--import', hooks, worker, fx.tdb.url, mode, intentId], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stderr.on('data', (d) => {
      err += String(d)
    })
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d)
        if (out.includes(marker)) resolve()
      })
      child.on('exit', (code) => reject(new Error(`worker exited (${code}) before ${marker}: ${err}`)))
    })
    const exited = new Promise((r) => child.on('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  it('between the write-ahead and the send, and between the send and the ack: recover() explains both', async () => {
    await sql`CREATE TABLE crash_fake_broker (broker_order_id text, intent_id text, submitted_at bigint)`.execute(
      fx.db,
    )
    await runUntil('before-send', 'kill-before-send', 'WRITE_AHEAD_DONE')
    await runUntil('after-send', 'kill-after-send', 'SENT')
    const store = fx.store({ actor: 'restarted' })
    expect((await store.get('kill-before-send'))?.state).toBe('SUBMITTED')
    const report = await store.recover()
    expect(report.movedToReconcile.map((m) => m.intentId).sort()).toEqual([
      'kill-after-send',
      'kill-before-send',
    ])
    const { rows } = await sql<{
      broker_order_id: string
      intent_id: string
    }>`SELECT * FROM crash_fake_broker`.execute(fx.db)
    expect(rows.map((r) => r.intent_id)).toEqual(['kill-after-send']) // sent once, by the killed worker
    const sent = (await store.get('kill-after-send'))!
    const candidates = await store.findReconcileCandidates(fingerprintOfIntent(sent.intent), {
      from: sent.submittedAt! - 60_000,
      to: sent.submittedAt! + 60_000,
    })
    // Both crashed intents have the same fingerprint: the time window and the broker's list decide,
    // here the broker has exactly one order, and two candidates remain: ambiguous, not guessed.
    expect(candidates.map((c) => c.intentId).sort()).toEqual(['kill-after-send', 'kill-before-send'])
    for (const id of ['kill-before-send', 'kill-after-send']) {
      const o = await expectLogExplainsProjection(store, id)
      expect(o).toMatchObject({ state: 'RECONCILE_REQUIRED', unresolved: { operation: 'submit' } })
      const audit = await store.auditTrail(id)
      expect(audit.at(-1)).toMatchObject({ decision: 'applied', source: 'recovery', actor: 'restarted' })
    }
  })

  it('in the middle of applying a fill stream: every committed step is whole', async () => {
    await runUntil('mid-stream', 'kill-mid-stream', 'STREAMING')
    const store = fx.store()
    const o = await expectLogExplainsProjection(store, 'kill-mid-stream')
    expect(o.filledQuantity).toBeGreaterThanOrEqual(20)
    expect(o.filledQuantity).toBeLessThan(100)
    const fills = await store.fills('kill-mid-stream')
    expect(fills.reduce((s, f) => s + f.quantity, 0)).toBe(o.filledQuantity)
    expect(await store.recover()).toMatchObject({ movedToReconcile: [] })
  })
})
