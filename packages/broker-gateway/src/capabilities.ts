import { BrokerError } from './errors'
import type { BrokerGateway } from './gateway'

/**
 * What a gateway's environment can answer. Reconciliation and recovery decide with these facts:
 * an environment that cannot list today's orders must never be read as "the broker has none"
 * (reference/kis-openapi.md §7.10: KIS's paper environment returned no order rows at all).
 */
export interface BrokerCapabilities {
  /** `getOrders` / `getOpenOrders` list today's orders. */
  readonly listOrders: boolean
  /** `getFills` lists executions. */
  readonly listFills: boolean
  /** `getFills` returns one record per execution (not one summary per order). */
  readonly perExecutionFills: boolean
  /** `getPositions` answers. */
  readonly positions: boolean
  /** `getCash` answers. */
  readonly cash: boolean
}

/** A gateway that answers everything. */
export const FULL_CAPABILITIES: BrokerCapabilities = Object.freeze({
  listOrders: true,
  listFills: true,
  perExecutionFills: true,
  positions: true,
  cash: true,
})

/** The capabilities a gateway declares, or {@link FULL_CAPABILITIES} when it declares none. */
export function capabilitiesOf(gateway: Pick<BrokerGateway, 'capabilities'>): BrokerCapabilities {
  return gateway.capabilities ?? FULL_CAPABILITIES
}

/** `brokerCode` of the error a gateway throws for a query its environment cannot answer. */
export const NOT_SUPPORTED_IN_ENVIRONMENT = 'NOT_SUPPORTED_IN_ENVIRONMENT'

/**
 * The error for a query this environment cannot answer: `invalid_request` (never retried), with
 * `brokerCode` {@link NOT_SUPPORTED_IN_ENVIRONMENT}. Thrown instead of an empty answer, which would
 * read as "nothing there".
 */
export function notSupportedInEnvironment(operation: string, detail: string): BrokerError {
  return new BrokerError('invalid_request', `not supported in this environment: ${detail}`, {
    operation,
    brokerCode: NOT_SUPPORTED_IN_ENVIRONMENT,
  })
}

/** Whether `err` says the environment cannot answer this query (see {@link notSupportedInEnvironment}). */
export function isNotSupportedInEnvironment(err: unknown): boolean {
  return BrokerError.isInstance(err) && err.brokerCode === NOT_SUPPORTED_IN_ENVIRONMENT
}
