import {
  type BrokerGateway,
  type BrokerOrder,
  type CashBalance,
  type Fill,
  isNotSupportedInEnvironment,
  type Position,
} from '@vellab/broker-gateway'
import { ReconcileError } from './errors'

/**
 * The part of a gateway a pass reads. Pass the adapter itself, or a wrapper that sends these calls
 * through its lowest-priority lane so reconciliation never delays an order or a cancel
 * (`@vellab/broker-kis` already sends every inquiry through its `reconcile` lane).
 */
export type BrokerReader = Pick<
  BrokerGateway,
  'getOrders' | 'getFills' | 'getPositions' | 'getCash' | 'capabilities'
>

/**
 * What the account's broker environment can answer. By default taken from the gateway's own
 * `capabilities` declaration (`capabilitiesOf`); the reconciler's `capabilities` option overrides it
 * per account.
 */
export interface ReadCapabilities {
  /** The environment lists today's orders (KIS paper may not: reference/kis-openapi.md §7.10). @default true */
  listOrders?: boolean
  /** The environment lists today's fills. @default true */
  listFills?: boolean
}

/** Everything one pass read from the broker for one account, all of it or nothing. */
export interface BrokerSnapshot {
  account: string
  /** The KST day the pass reconciles. */
  date: string
  /** When the first read was sent: the reporting delay is measured up to here. */
  readStartedAt: number
  /** `null` when the environment cannot list orders. */
  orders: BrokerOrder[] | null
  /** `null` when the environment cannot list fills. */
  fills: Fill[] | null
  positions: Position[]
  cash: CashBalance
  /**
   * Inquiries made. The contract does not expose an adapter's pages (it reads every page before it
   * answers, or fails), so this counts one page per inquiry.
   */
  requests: number
}

/**
 * Read every view a pass compares. Any failure — an error, or an answer for another account — fails
 * the read as a whole (`broker_read_failed`): a pass never resolves anything from half the data.
 */
export async function readBroker(
  reader: BrokerReader,
  account: string,
  date: string,
  readStartedAt: number,
  capabilities: ReadCapabilities,
): Promise<BrokerSnapshot> {
  let requests = 0
  const read = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    requests++
    try {
      return await call()
    } catch (error) {
      throw new ReconcileError(
        'broker_read_failed',
        `reconcile ${account}: ${what} failed, so the pass stops and resolves nothing: ${(error as Error)?.message ?? String(error)}`,
        { cause: error, account },
      )
    }
  }
  // A gateway that did not declare it, but refuses a listing as not supported in its environment,
  // is taken at its word: that view is unavailable (null), never an empty list, and the pass goes on.
  const listing = async <T>(what: string, call: () => Promise<T>): Promise<T | null> => {
    try {
      return await read(what, call)
    } catch (error) {
      if (isNotSupportedInEnvironment((error as ReconcileError).cause)) return null
      throw error
    }
  }
  // Sequential on purpose: the reads share the adapter's rate budget with order flow.
  const orders =
    capabilities.listOrders === false
      ? null
      : await listing('getOrders', () => reader.getOrders(account, { from: date, to: date }))
  const fills =
    capabilities.listFills === false
      ? null
      : await listing('getFills', () => reader.getFills(account, { from: date, to: date }))
  const positions = await read('getPositions', () => reader.getPositions(account))
  const cash = await read('getCash', () => reader.getCash(account))
  const foreign =
    (orders ?? []).find((o) => o.account !== account) ??
    (fills ?? []).find((f) => f.account !== account) ??
    positions.find((p) => p.account !== account) ??
    (cash.account === account ? undefined : cash)
  if (foreign) {
    throw new ReconcileError(
      'broker_read_failed',
      `reconcile ${account}: the broker answered for account ${foreign.account}; refusing the read`,
      { account },
    )
  }
  return { account, date, readStartedAt, orders, fills, positions, cash, requests }
}
