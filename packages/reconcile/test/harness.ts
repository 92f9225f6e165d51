import {
  type BrokerCapabilities,
  BrokerError,
  type BrokerGateway,
  type OrderIntentInput,
} from '@vellab/broker-gateway'
import { flushMicrotasks, InMemoryBroker, ManualClock } from '@vellab/broker-gateway/testing'
import {
  createOrderStore,
  migrateOrderFsm,
  type Order,
  type OrderFsmTables,
  type OrderStore,
} from '@vellab/order-fsm'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import type { Kysely } from 'kysely'
import { expect } from 'vitest'
import {
  createReconciler,
  migrateReconcile,
  type ReconcileEvent,
  type Reconciler,
  type ReconcilerOptions,
  type ReconcileTables,
} from '../src'

/** 2026-11-24 10:00 KST (a Tuesday morning session). */
export const T0 = Date.UTC(2026, 10, 24, 1, 0, 0)
export const SYMBOL = '005930'
let nextWorld = Math.floor(Math.random() * 500)
export type Db = ReconcileTables & OrderFsmTables

/** One private database with order-fsm's and reconcile's tables. */
export async function setupDatabase(): Promise<{ tdb: TestDatabase; db: Kysely<Db> }> {
  const tdb = await createTestDatabase('recon')
  const db = tdb.db<Db>()
  await migrateOrderFsm(db)
  await migrateReconcile(db)
  return { tdb, db }
}

/** A world: clock, paper broker, order store, reconciler; the stream may be attached or not. */
export class World {
  readonly clock = new ManualClock(T0)
  readonly broker: InMemoryBroker
  readonly store: OrderStore
  readonly events: ReconcileEvent[] = []
  readonly account: string
  reconciler: Reconciler
  #unsubscribe: (() => void) | null = null
  #seq = 0

  constructor(
    readonly db: Kysely<Db>,
    options: Partial<ReconcilerOptions<Db>> = {},
    readonly prefix = `w${(nextWorld++).toString().padStart(3, '0')}`,
    brokerCapabilities: Partial<BrokerCapabilities> = {},
  ) {
    this.account = `${prefix}-01`
    const ACCOUNT = this.account
    this.broker = new InMemoryBroker({
      clock: this.clock,
      idPrefix: prefix.toUpperCase(),
      capabilities: brokerCapabilities,
      accounts: [
        {
          account: ACCOUNT,
          cash: 100_000_000,
          positions: [{ symbol: SYMBOL, quantity: 100, averagePrice: 60_000 }],
        },
      ],
    })
    this.broker.setPrice(SYMBOL, 70_000)
    this.store = createOrderStore({ db, clock: this.clock })
    this.reconciler = this.makeReconciler(options)
  }

  makeReconciler(options: Partial<ReconcilerOptions<Db>> = {}): Reconciler {
    return createReconciler<Db>({
      db: this.db,
      store: this.store,
      broker: this.broker,
      accounts: [this.account],
      clock: this.clock,
      random: () => 0.5,
      reportingDelayMs: 10_000,
      onEvent: (e) => this.events.push(e),
      ...options,
    })
  }

  /** Apply the broker's order events to the store, as the runner's notice worker does. */
  attachStream(): void {
    this.#unsubscribe = this.broker.streamOrderEvents(this.account, (e) => {
      void this.store.applyBrokerEvent(e)
    })
  }

  detachStream(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = null
  }

  intent(patch: Partial<OrderIntentInput> = {}): OrderIntentInput {
    this.#seq++
    return {
      intentId: `${this.prefix}-${this.#seq}`,
      account: this.account,
      strategyId: 'test',
      symbol: SYMBOL,
      side: 'buy',
      quantity: 10,
      orderType: 'limit',
      limitPrice: 69_000,
      ...patch,
    }
  }

  /**
   * Send as the runner does: write-ahead, one send, record the answer. `fault` is injected into
   * the broker's placeOrder first (`lost_ack`: the broker takes the order, the answer is lost).
   */
  async send(input: OrderIntentInput, fault?: 'lost_ack' | 'lost_request'): Promise<Order> {
    await this.store.createIntent(input)
    const claim = await this.store.beginSubmit(input.intentId)
    if (!claim.proceed) throw new Error(`claim refused: ${claim.reason}`)
    if (fault)
      this.broker.injectFault('placeOrder', { kind: 'unknown_outcome', commit: fault === 'lost_ack' })
    try {
      await this.store.recordAck(await this.broker.placeOrder(input))
    } catch (e) {
      if (BrokerError.isKind(e, 'rejected'))
        await this.store.recordReject(input.intentId, { reason: e.message })
      else await this.store.recordOutcomeUnknown(input.intentId, { operation: 'submit', reason: String(e) })
    }
    await flushMicrotasks()
    return (await this.store.get(input.intentId))!
  }

  async order(intentId: string): Promise<Order> {
    return (await this.store.get(intentId))!
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await flushMicrotasks()
    await new Promise((r) => setImmediate(r))
  }
}

/**
 * After a pass: every broker order of the day belongs to exactly one local order with the same
 * fills and the same end, and no intent reached the broker twice.
 */
export async function expectBooksAgree(
  w: World,
  gateway: BrokerGateway = w.broker,
  except: string[] = [],
): Promise<void> {
  const orders = await gateway.getOrders(w.account)
  for (const b of orders) {
    if (except.includes(b.brokerOrderId)) continue
    const o = await w.store.findByBrokerOrderId(w.account, b.brokerOrderId)
    expect(o, `local owner of ${b.brokerOrderId}`).toBeDefined()
    const leg = o!.legs.find((l) => l.brokerOrderId === b.brokerOrderId && l.role !== 'cancel')!
    expect(leg.filledQuantity, `fills of ${b.brokerOrderId}`).toBe(b.filledQuantity)
    const working = b.status === 'open' || b.status === 'partially_filled'
    if (!working && b.status !== 'replaced') {
      expect(['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED'], `state of ${o!.intentId}`).toContain(o!.state)
    }
    if (working) expect(['ACKED', 'PARTIAL_FILLED', 'CANCEL_PENDING', 'REPLACE_PENDING']).toContain(o!.state)
  }
}

/** Every intent reached the broker at most once. */
export function expectNothingSentTwice(w: World, intentIds: string[]): void {
  for (const id of intentIds) expect(w.broker.submissions(id), `submissions of ${id}`).toBeLessThanOrEqual(1)
}
