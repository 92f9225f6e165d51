import { seededRandom } from '@vellab/broker-gateway'
import { flushMicrotasks, InMemoryBroker, ManualClock } from '@vellab/broker-gateway/testing'
import { createOrderStore, migrateOrderFsm, type OrderFsmTables, type OrderStore } from '@vellab/order-fsm'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import type { Kysely } from 'kysely'
import {
  ExecutionEngine,
  type ExecutionEngineOptions,
  type ExecutionEvent,
  type ExecutionTables,
  migrateExecution,
  type ParentOrderInput,
  type RiskVerdict,
} from '../src'

/** 2026-11-24 09:30 KST. */
export const T0 = Date.UTC(2026, 10, 24, 0, 30, 0)
export const MIN = 60_000
export const ACCOUNT = '50000001-01'
export const SYMBOL = '005930'

export let tdb: TestDatabase
/** The app composes the packages' table interfaces into one database type. */
type AppDatabase = ExecutionTables & OrderFsmTables
let db: Kysely<AppDatabase>

export interface Rig {
  clock: ManualClock
  broker: InMemoryBroker
  store: OrderStore
  engine: ExecutionEngine<AppDatabase>
  events: ExecutionEvent[]
  verdict: { current: RiskVerdict }
  /** Apply every broker event delivered so far to the store. */
  settle(): Promise<void>
  newEngine(options?: Partial<ExecutionEngineOptions<AppDatabase>>): ExecutionEngine<AppDatabase>
}

let n = 0
export async function rig(options: Partial<ExecutionEngineOptions<AppDatabase>> = {}): Promise<Rig> {
  if (!tdb) {
    tdb = await createTestDatabase('exec')
    db = tdb.db<AppDatabase>()
    await migrateOrderFsm(db)
    await migrateExecution(db)
  }
  const clock = new ManualClock(T0 + n++ * 24 * 60 * MIN)
  // Each rig shares the database: its broker numbers (and so event ids) must not repeat another's.
  const broker = new InMemoryBroker({
    clock,
    idPrefix: `R${n}-`,
    accounts: [{ account: ACCOUNT, cash: 10_000_000_000 }],
  })
  broker.setPrice(SYMBOL, 70_000)
  const store = createOrderStore({ db, clock })
  let applying: Promise<unknown> = Promise.resolve()
  broker.streamOrderEvents(ACCOUNT, (e) => {
    applying = applying.then(async () => {
      const out = await store.applyBrokerEvent(e)
      if (out.status === 'rejected') throw new Error(`event ${e.type} refused: ${JSON.stringify(out)}`)
    })
  })
  const events: ExecutionEvent[] = []
  const verdict = { current: { outcome: 'allow', reasons: [] } as RiskVerdict }
  const newEngine = (extra: Partial<ExecutionEngineOptions<AppDatabase>> = {}) =>
    new ExecutionEngine({
      db,
      store,
      gateway: broker,
      // Cancels reduce risk: allowed even while new orders are blocked (as risk-kr does under a kill switch).
      check: (req) => (req.kind === 'cancel' ? { outcome: 'allow', reasons: [] } : verdict.current),
      clock,
      random: seededRandom(1),
      onEvent: (e) => events.push(e),
      ...options,
      ...extra,
    })
  const settle = async () => {
    await flushMicrotasks()
    await applying
    await flushMicrotasks()
    await applying
  }
  return { clock, broker, store, engine: newEngine(), events, verdict, settle, newEngine }
}

export function parent(over: Partial<ParentOrderInput> = {}): ParentOrderInput {
  return {
    parentId: `p${n}-${Math.random().toString(36).slice(2, 8)}`,
    account: ACCOUNT,
    strategyId: 'twap-test',
    symbol: SYMBOL,
    side: 'buy',
    quantity: 100,
    limitPrice: 71_000,
    urgency: 'high',
    schedule: { kind: 'twap', slices: 10 },
    startAt: 0,
    deadline: 0,
    ...over,
  }
}

export function timed(r: Rig, over: Partial<ParentOrderInput> = {}): ParentOrderInput {
  const now = r.clock.now()
  return parent({ startAt: now, deadline: now + 10 * MIN, ...over })
}

/** Step, let the market trade through every working buy, apply the events. */
export async function stepAndFill(r: Rig): Promise<void> {
  await r.engine.step()
  r.broker.setPrice(SYMBOL, 70_000)
  await r.settle()
}
