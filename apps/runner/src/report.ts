import {
  type BrokerGateway,
  type BrokerOrder,
  type BrokerOrderStatus,
  capabilitiesOf,
} from '@vellab/broker-gateway'
import type { KisEvent } from '@vellab/broker-kis'
import { ORDER_STATES, type OrderState, type OrderStore } from '@vellab/order-fsm'
import type { SessionStats } from './session'

/** The subset of the simulator's ledger the report reads. */
export interface LedgerView {
  /** Every order request the broker got: refused ones too (no number handed out). */
  orders: readonly { appkey: string; odno: string; outcome: string }[]
  rateViolations: readonly unknown[]
}

/** Orders that exist at the broker for an appkey: requests it gave a number, accepted or not answered. */
function ordersAtBroker(ledger: LedgerView | undefined, appkey: string): number {
  return (ledger?.orders ?? []).filter(
    (o) => o.appkey === appkey && o.odno !== '' && o.outcome !== 'rejected',
  ).length
}

/** What the KIS adapter reported through its events during the session. */
export interface AdapterTelemetry {
  /** Requests that waited for a rate-limit slot, and how long in total / at most. */
  limiterWaits: number
  limiterWaitMsTotal: number
  limiterWaitMsMax: number
  /** WebSocket reconnects the adapter scheduled, stream gaps and stale streams it saw. */
  reconnects: number
  streamGaps: number
  staleStreams: number
  /** Broker refusals by the broker's code. */
  rejectsByCode: Record<string, number>
}

/** An empty telemetry record, filled from the adapter's events by {@link recordAdapterEvent}. */
export function emptyTelemetry(): AdapterTelemetry {
  return {
    limiterWaits: 0,
    limiterWaitMsTotal: 0,
    limiterWaitMsMax: 0,
    reconnects: 0,
    streamGaps: 0,
    staleStreams: 0,
    rejectsByCode: {},
  }
}

/** Count one adapter event into `t` (events the summary does not show are ignored). */
export function recordAdapterEvent(t: AdapterTelemetry, e: KisEvent): void {
  switch (e.type) {
    case 'limiter.wait':
      t.limiterWaits += 1
      t.limiterWaitMsTotal += e.waitedMs
      t.limiterWaitMsMax = Math.max(t.limiterWaitMsMax, e.waitedMs)
      break
    case 'ws.reconnect_scheduled':
      t.reconnects += 1
      break
    case 'ws.gap':
      t.streamGaps += 1
      break
    case 'ws.stale':
      t.staleStreams += 1
      break
    case 'rest.reject':
      t.rejectsByCode[e.code] = (t.rejectsByCode[e.code] ?? 0) + 1
      break
    default:
      break
  }
}

/** What the closing reconciliation pass found. */
export interface ReconciliationSummary {
  status: 'clean' | 'ticketed' | 'pending' | 'failed'
  breaks: number
  autoResolved: number
  ticketed: number
  /** What the environment cannot answer (e.g. no order listing). */
  limits: string[]
}

export interface RunReport {
  stats: SessionStats
  adapter: AdapterTelemetry
  /** Fills applied to the order store: shares and KRW notional (sum of quantity × price per fill). */
  fills: number
  notional: number
  ordersByState: Partial<Record<OrderState, number>>
  filledShares: number
  brokerOrdersReceived: number
  rateViolations: number
  /** Orders whose local state or filled quantity disagrees with the broker's books. */
  drift: { intentId: string; brokerOrderId: string; local: string; broker: string }[]
  reconciliation?: ReconciliationSummary
  checks: { name: string; ok: boolean; detail: string }[]
}

/**
 * What the run did, and the stack's promises checked against the simulator's own ledger: every
 * order the broker received belongs to exactly one intent we sent, no rate limit was exceeded, and
 * no order is left in a state nobody can explain.
 */
export async function summarize(input: {
  store: OrderStore
  gateway: BrokerGateway
  account: string
  strategyId: string
  stats: SessionStats
  adapter: AdapterTelemetry
  /** The broker's own ledger (a simulator's); undefined against KIS, and those checks say so. */
  ledger: LedgerView | undefined
  /** The ledger when the session started (earlier sessions' orders are not this one's). */
  ledgerAtStart?: LedgerView
  appkey: string
  /** The closing reconciliation pass. */
  reconciliation?: ReconciliationSummary
  /** The broker's side of the books check. @default `gateway.getOrders(account)` */
  brokerOrders?: () => Promise<Pick<BrokerOrder, 'brokerOrderId' | 'filledQuantity' | 'status'>[]>
}): Promise<RunReport> {
  const states = ORDER_STATES
  const ordersByState: Partial<Record<OrderState, number>> = {}
  let filledShares = 0
  let fills = 0
  let notional = 0
  for (const s of states) {
    const orders = await input.store.listByState(s, {
      account: input.account,
      strategyId: input.strategyId,
      limit: 100_000,
    })
    if (orders.length) ordersByState[s] = orders.length
    for (const o of orders) {
      filledShares += o.filledQuantity
      if (o.filledQuantity === 0) continue
      for (const f of await input.store.fills(o.intentId)) {
        fills += 1
        notional += f.quantity * f.price
      }
    }
  }
  // Local projection vs the broker's books: what reconciliation would act on.
  // Without a listing (the gateway's capabilities) and without `brokerOrders` the check cannot run.
  const booksReadable = input.brokerOrders !== undefined || capabilitiesOf(input.gateway).listOrders
  // The broker may refuse to answer at the end of the day (a throttled token, an outage): the
  // summary still comes, with this check failed and the reason, rather than no summary at all.
  let booksError: string | undefined
  const listed = booksReadable
    ? await (input.brokerOrders?.() ?? input.gateway.getOrders(input.account)).catch((err: unknown) => {
        booksError = (err as Error)?.message ?? String(err)
        return []
      })
    : []
  const brokerOrders = new Map(listed.map((o) => [o.brokerOrderId, o]))
  const drift: RunReport['drift'] = []
  for (const s of states) {
    if (!booksReadable || booksError !== undefined) break
    for (const o of await input.store.listByState(s, {
      account: input.account,
      strategyId: input.strategyId,
      limit: 100_000,
    })) {
      if (!o.brokerOrderId) continue
      const b = brokerOrders.get(o.brokerOrderId)
      const localStatus = LOCAL_TO_BROKER[o.state]
      if (!b || b.filledQuantity !== o.filledQuantity || (localStatus && !localStatus.includes(b.status))) {
        drift.push({
          intentId: o.intentId,
          brokerOrderId: o.brokerOrderId,
          local: `${o.state} filled ${o.filledQuantity}`,
          broker: b ? `${b.status} filled ${b.filledQuantity}` : 'unknown to the broker',
        })
      }
    }
  }
  const ledger = input.ledger
  // Requests the broker refused (a reject, EGW00201) made no order there: only numbered ones count.
  const received = ordersAtBroker(ledger, input.appkey) - ordersAtBroker(input.ledgerAtStart, input.appkey)
  const egw00201 = input.adapter.rejectsByCode.EGW00201 ?? 0
  const violations = (ledger?.rateViolations.length ?? 0) - (input.ledgerAtStart?.rateViolations.length ?? 0)
  const { stats } = input
  // Cancels are orders too at KIS (order-rvsecncl gets its own number), as are acked sends.
  const expectedAtBroker = stats.acked + stats.unknownOutcomes
  const checks = [
    ledger
      ? {
          name: 'nothing sent twice',
          ok: received <= expectedAtBroker + stats.cancelsSent,
          detail: `broker holds ${received} orders and cancels of ours; we sent ${stats.sent} orders (${stats.acked} acked, ${stats.unknownOutcomes} unknown, ${stats.brokerRejects} refused) and ${stats.cancelsSent} cancels`,
        }
      : {
          name: 'nothing sent twice',
          ok: stats.unknownOutcomes === 0,
          detail: `no broker ledger to count against (KIS); ${stats.unknownOutcomes} unknown outcomes left for reconciliation`,
        },
    ledger
      ? {
          name: 'no rate limit exceeded',
          ok: violations === 0,
          detail: `${violations} violations`,
        }
      : {
          name: 'no rate limit exceeded',
          ok: egw00201 === 0,
          detail: `${egw00201} EGW00201 answers (no broker ledger: KIS)`,
        },
    {
      name: 'no order left unexplained',
      ok: (ordersByState.SUBMITTED ?? 0) === 0 && (ordersByState.INTENT_CREATED ?? 0) === 0,
      detail: `${ordersByState.SUBMITTED ?? 0} SUBMITTED, ${ordersByState.INTENT_CREATED ?? 0} INTENT_CREATED after drain`,
    },
    {
      name: 'local books match the broker',
      ok: drift.length === 0 && booksError === undefined,
      detail: !booksReadable
        ? 'not checked: the environment cannot list orders (reconciliation tickets what it cannot prove)'
        : booksError !== undefined
          ? `could not read the broker's books: ${booksError}`
          : drift.length
            ? `${drift.length} orders drifted`
            : `${brokerOrders.size} broker orders agree`,
    },
    ...(input.reconciliation
      ? [
          {
            name: 'reconciliation',
            ok: input.reconciliation.status === 'clean',
            detail: `${input.reconciliation.status}: ${input.reconciliation.breaks} breaks, ${input.reconciliation.autoResolved} auto-resolved, ${input.reconciliation.ticketed} ticketed${input.reconciliation.limits.length ? `; ${input.reconciliation.limits.join('; ')}` : ''}`,
          },
        ]
      : []),
    {
      name: 'every broker event applied',
      ok: stats.eventErrors === 0,
      detail: `${stats.eventsApplied} applied, ${stats.eventErrors} failed`,
    },
  ]
  return {
    stats,
    adapter: input.adapter,
    fills,
    notional,
    ordersByState,
    filledShares,
    brokerOrdersReceived: received,
    rateViolations: violations,
    drift,
    ...(input.reconciliation ? { reconciliation: input.reconciliation } : {}),
    checks,
  }
}

/** Broker statuses consistent with each local state (settled states only; in-flight ones are skipped). */
const LOCAL_TO_BROKER: Partial<Record<OrderState, readonly BrokerOrderStatus[]>> = {
  ACKED: ['open'],
  PARTIAL_FILLED: ['partially_filled'],
  FILLED: ['filled'],
  CANCELED: ['canceled', 'partially_filled', 'filled'],
  REJECTED: ['rejected'],
  EXPIRED: ['expired', 'canceled'],
}
