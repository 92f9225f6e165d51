import type { BrokerCapabilities, Clock } from '@vellab/broker-gateway'
import { BrokerError, notSupportedInEnvironment } from '@vellab/broker-gateway'
import { z } from 'zod'
import type { KisConfig } from '../config'
import type { KisEventListener } from '../events'
import { kstCompactDate } from '../kst'
import type { ListingStore } from '../listing-store'
import type { KisRestClient } from '../rest-client'
import { normaliseOrderNo } from '../ws/decoders'

/** What the gateway's parts (orders, queries, streams) share. */
export interface GatewayContext {
  readonly config: KisConfig
  readonly capabilities: BrokerCapabilities
  readonly rest: KisRestClient
  readonly clock: Clock
  readonly emit: KisEventListener
  /** Where today's listing survives a restart (`KisGatewayOptions.listingStore`). */
  readonly listingStore?: ListingStore
}

/** What the gateway knows of an order it placed today (branch and division for modify/cancel). */
export interface KnownOrder {
  branch: string
  ordDvsn: string
  venue: string
  symbol: string
  price: number
  /** CNDT_PRIC of a stop-limit (22): a modify must send it again (reference §4.2). 0 when unknown. */
  conditionPrice?: number
}

const LooseArray = z.array(z.unknown())

/** Refuse, before anything is sent, an account other than the configured one. */
export function checkAccount(ctx: GatewayContext, account: string, operation: string): void {
  if (account !== ctx.config.account) {
    throw new BrokerError('invalid_request', `account ${account} is not the configured account`, {
      operation,
    })
  }
}

/** `CANO` and `ACNT_PRDT_CD` of the configured account (reference §4.1). */
export function accountFields(ctx: GatewayContext): { CANO: string; ACNT_PRDT_CD: string } {
  return { CANO: ctx.config.cano, ACNT_PRDT_CD: ctx.config.productCode }
}

/** Today's KST date, `YYYYMMDD`, on the gateway's clock. */
export function kstToday(ctx: GatewayContext): string {
  return kstCompactDate(ctx.clock.now())
}

/** Rows of a KIS list: an empty list may come as [], as a missing key, or as one all-empty object. */
export function parseRows<S extends z.ZodType>(
  ctx: GatewayContext,
  schema: S,
  value: unknown,
  operation: string,
): z.output<S>[] {
  if (value === undefined || value === null || value === '') return []
  const arr = ctx.rest.parse(LooseArray, Array.isArray(value) ? value : [value], operation)
  return arr
    .filter((r) => !(r && typeof r === 'object' && Object.values(r).every((v) => v === '' || v === null)))
    .map((r) => ctx.rest.parse(schema, r, operation))
}

/** A broker order id as KIS's 10-digit ODNO, or `invalid_request`. */
export function orderNumber(id: string, operation: string): string {
  try {
    return normaliseOrderNo(id)
  } catch {
    throw new BrokerError('invalid_request', `not a KIS order number: ${JSON.stringify(id.slice(0, 20))}`, {
      operation,
    })
  }
}

/** Refuse a listing the environment cannot answer (see `capabilities`), never an empty list. */
export function requireListing(
  ctx: GatewayContext,
  capability: 'listOrders' | 'listFills',
  operation: string,
): void {
  if (ctx.capabilities[capability]) return
  throw notSupportedInEnvironment(
    operation,
    capability === 'listOrders'
      ? `the ${ctx.config.environment} environment cannot list today's orders (reference §7.10; set capabilities.listOrders if yours can)`
      : `the ${ctx.config.environment} environment cannot list fills (reference §7.10; set capabilities.listFills if yours can)`,
  )
}
