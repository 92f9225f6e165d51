import { z } from 'zod'
import { type RandomSource, randomNormal } from './random'

/** A latency draw, in ms. */
export type LatencySpec =
  | number
  | { dist: 'fixed'; ms: number }
  | { dist: 'uniform'; min: number; max: number }
  | { dist: 'normal'; mean: number; sd: number; min?: number }
  | { dist: 'exponential'; mean: number; max?: number }

/** Effects on REST requests. */
export type RestFaultEffect =
  /** Delay the request (`before`, default: the broker sees it late) or only its response (`after`). */
  | { type: 'latency'; latency: LatencySpec; phase?: 'before' | 'after'; timebase?: 'sim' | 'host' }
  /** The broker commits the request, then the response is lost: socket reset, or never answered. */
  | { type: 'drop-response'; mode?: 'reset' | 'hang' }
  /** Answer with an error envelope; `commit: true` processes the request first (ambiguous outcome). */
  | { type: 'http-error'; status?: number; msgCd?: string; msg1?: string; commit?: boolean }
  /** Answer HTTP 500 EGW00201 without processing (recorded as a forced violation). */
  | { type: 'rate-limit' }
  /** Treat the token as expired (EGW00123, default) or invalid (EGW00121). */
  | { type: 'token-invalid'; code?: 'EGW00123' | 'EGW00121' }
  /** Append `extraFields` unknown keys to every output object/row. */
  | { type: 'schema-drift'; extraFields?: number }

/** Effects on execution notices (H0STCNI0/H0STCNI9). */
export type NoticeFaultEffect =
  | { type: 'duplicate'; copies?: number }
  | { type: 'delay'; ms: number }
  /** Hold `window` notices and release them in reverse order. */
  | { type: 'reorder'; window?: number }
  | { type: 'drop' }
  | { type: 'schema-drift'; extraFields?: number }

/** Effects on market-data frames (H0STCNT0/H0STASP0). */
export type MarketDataFaultEffect = { type: 'schema-drift'; extraFields?: number } | { type: 'drop' }

/** Effects on a WebSocket session attempt. */
export type WsConnectFaultEffect =
  /** Refuse with OPSP8996 and close, as if a dead session held the slot. */
  | { type: 'in-use' }
  /** Drop the connection without a close frame. */
  | { type: 'terminate' }

interface RuleBase {
  /** Assigned when added if absent. */
  id?: string
  /** Only requests/sessions of this appkey. */
  appkey?: string
  /** Let the first `skip` matches through untouched. @default 0 */
  skip?: number
  /** Apply to at most `count` matches, then the rule is spent. @default unlimited */
  count?: number
  /** Apply with this probability (seeded). @default 1 */
  probability?: number
}

/** One fault rule. A plan is a list of rules; every matching rule applies. */
export type FaultRule =
  | (RuleBase & {
      on: 'rest'
      /** Substring of the URL path, e.g. `order-cash`. */
      path?: string
      trId?: string
      method?: string
      effect: RestFaultEffect
    })
  | (RuleBase & { on: 'notice'; effect: NoticeFaultEffect })
  | (RuleBase & { on: 'market-data'; trId?: string; effect: MarketDataFaultEffect })
  | (RuleBase & { on: 'ws-connect'; effect: WsConnectFaultEffect })

/** A stored rule with its counters. */
export interface ActiveFault {
  rule: FaultRule & { id: string }
  matched: number
  applied: number
}

const latencySchema = z.union([
  z.number().nonnegative(),
  z.object({ dist: z.literal('fixed'), ms: z.number().nonnegative() }),
  z.object({ dist: z.literal('uniform'), min: z.number().nonnegative(), max: z.number().nonnegative() }),
  z.object({
    dist: z.literal('normal'),
    mean: z.number(),
    sd: z.number().nonnegative(),
    min: z.number().optional(),
  }),
  z.object({ dist: z.literal('exponential'), mean: z.number().positive(), max: z.number().optional() }),
])

const base = {
  id: z.string().optional(),
  appkey: z.string().optional(),
  skip: z.number().int().nonnegative().optional(),
  count: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
}

const drift = z.object({
  type: z.literal('schema-drift'),
  extraFields: z.number().int().positive().optional(),
})

/** zod schema of {@link FaultRule} (used by `POST /__sim/faults`). */
export const faultRuleSchema = z.discriminatedUnion('on', [
  z.object({
    ...base,
    on: z.literal('rest'),
    path: z.string().optional(),
    trId: z.string().optional(),
    method: z.string().optional(),
    effect: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('latency'),
        latency: latencySchema,
        phase: z.enum(['before', 'after']).optional(),
        timebase: z.enum(['sim', 'host']).optional(),
      }),
      z.object({ type: z.literal('drop-response'), mode: z.enum(['reset', 'hang']).optional() }),
      z.object({
        type: z.literal('http-error'),
        status: z.number().int().min(400).max(599).optional(),
        msgCd: z.string().optional(),
        msg1: z.string().optional(),
        commit: z.boolean().optional(),
      }),
      z.object({ type: z.literal('rate-limit') }),
      z.object({ type: z.literal('token-invalid'), code: z.enum(['EGW00123', 'EGW00121']).optional() }),
      drift,
    ]),
  }),
  z.object({
    ...base,
    on: z.literal('notice'),
    effect: z.discriminatedUnion('type', [
      z.object({ type: z.literal('duplicate'), copies: z.number().int().positive().optional() }),
      z.object({ type: z.literal('delay'), ms: z.number().nonnegative() }),
      z.object({ type: z.literal('reorder'), window: z.number().int().min(2).optional() }),
      z.object({ type: z.literal('drop') }),
      drift,
    ]),
  }),
  z.object({
    ...base,
    on: z.literal('market-data'),
    trId: z.string().optional(),
    effect: z.discriminatedUnion('type', [drift, z.object({ type: z.literal('drop') })]),
  }),
  z.object({
    ...base,
    on: z.literal('ws-connect'),
    effect: z.discriminatedUnion('type', [
      z.object({ type: z.literal('in-use') }),
      z.object({ type: z.literal('terminate') }),
    ]),
  }),
])

/** What a REST/WS event looks like to the matcher. */
export interface FaultTarget {
  on: FaultRule['on']
  appkey: string
  path?: string
  trId?: string
  method?: string
}

/** Draws a latency value. */
export function drawLatency(spec: LatencySpec, rng: RandomSource): number {
  if (typeof spec === 'number') return spec
  switch (spec.dist) {
    case 'fixed':
      return spec.ms
    case 'uniform':
      return spec.min + rng.next() * (spec.max - spec.min)
    case 'normal':
      return Math.max(spec.min ?? 0, spec.mean + randomNormal(rng) * spec.sd)
    case 'exponential': {
      const v = -Math.log(1 - rng.next()) * spec.mean
      return spec.max === undefined ? v : Math.min(spec.max, v)
    }
  }
}

/** The fault plan: an ordered list of rules with per-rule counters. */
export class FaultPlan {
  private readonly rules: ActiveFault[] = []
  private nextId = 1

  constructor(private readonly rng: RandomSource) {}

  add(rule: FaultRule): string {
    const id = rule.id ?? `fault-${this.nextId++}`
    this.rules.push({ rule: { ...rule, id }, matched: 0, applied: 0 })
    return id
  }

  remove(id: string): boolean {
    const i = this.rules.findIndex((r) => r.rule.id === id)
    if (i < 0) return false
    this.rules.splice(i, 1)
    return true
  }

  clear(): void {
    this.rules.length = 0
  }

  list(): ActiveFault[] {
    return this.rules.map((r) => ({ ...r }))
  }

  get size(): number {
    return this.rules.length
  }

  /** The rules that fire for this event (counters advance). */
  match(target: FaultTarget): (FaultRule & { id: string })[] {
    if (this.rules.length === 0) return []
    const out: (FaultRule & { id: string })[] = []
    for (const r of this.rules) {
      const rule = r.rule
      if (rule.on !== target.on) continue
      if (rule.appkey !== undefined && rule.appkey !== target.appkey) continue
      if (rule.on === 'rest') {
        if (rule.path !== undefined && !(target.path ?? '').includes(rule.path)) continue
        if (rule.trId !== undefined && rule.trId !== target.trId) continue
        if (rule.method !== undefined && rule.method.toUpperCase() !== target.method) continue
      }
      if (rule.on === 'market-data' && rule.trId !== undefined && rule.trId !== target.trId) continue
      if (rule.count !== undefined && r.applied >= rule.count) continue
      r.matched++
      if (r.matched <= (rule.skip ?? 0)) continue
      if (rule.probability !== undefined && this.rng.next() >= rule.probability) continue
      r.applied++
      out.push(rule)
    }
    return out
  }
}
