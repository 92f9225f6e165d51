/**
 * The simulator's own record of what clients did, so tests can assert "no order was sent twice"
 * and "no limit was exceeded" without trusting the client under test.
 */

/** One order-cash / order-rvsecncl request as received. */
export interface LedgerOrderEntry {
  at: number
  appkey: string
  env: 'real' | 'paper'
  cano: string
  trId: string
  kind: 'new' | 'modify' | 'cancel'
  /** Canonical content (account, side, symbol, type, qty, price…) used to find duplicates. */
  contentKey: string
  /** KST day the request arrived: with `odno` it names the order (numbers restart every day). */
  date: string
  /** ODNO handed out, or '' when refused before an order existed. */
  odno: string
  outcome: 'accepted' | 'rejected' | 'error'
  msgCd: string
  /** The broker committed the order but the client never saw the answer (fault injection). */
  responseLost: boolean
}

/** A request refused (or forced) with EGW00201 / EGW00133. */
export interface RateViolation {
  at: number
  appkey: string
  channel: 'rest' | 'token' | 'approval'
  path: string
  trId: string
  /** Requests admitted in the window when this one arrived. */
  inWindow: number
  limit: number
  /** True when a fault rule forced it (not the client's fault). */
  forced: boolean
}

/** A WebSocket session attempt. */
export interface WsConnectEntry {
  at: number
  appkey: string
  outcome: 'ok' | 'in-use' | 'blocked' | 'invalid-approval'
}

/** A request the simulator answered. */
export interface LedgerRequestEntry {
  at: number
  appkey: string
  method: string
  path: string
  trId: string
  status: number
  msgCd: string
  /** Ids of fault rules that touched it. */
  faults: string[]
}

/** Duplicate orders: the same content received more than once on the same day. */
export interface DuplicateOrderGroup {
  contentKey: string
  appkey: string
  entries: LedgerOrderEntry[]
}

/** A JSON-friendly snapshot of the ledger. */
export interface LedgerSnapshot {
  requests: number
  requestsByAppkey: Record<string, number>
  /** REST requests of each appkey by TR id (the path where a request carries none). */
  requestsByTrId: Record<string, Record<string, number>>
  orders: LedgerOrderEntry[]
  ordersByAppkey: Record<string, number>
  duplicates: DuplicateOrderGroup[]
  rateViolations: RateViolation[]
  tokenIssues: { at: number; appkey: string; reused: boolean }[]
  approvalIssues: { at: number; appkey: string }[]
  wsConnects: WsConnectEntry[]
  /** Max WebSocket session attempts of each appkey inside any 60-second window. */
  maxConnectsPerMinute: Record<string, number>
  pongs: Record<string, { text: number; pong: number; ping: number }>
  /**
   * The most REST requests of each appkey that arrived (reached the rate check, refused ones
   * included) inside any sliding 1,000 ms, in the rate-limit timebase: the number a client's
   * limiter must keep at or under the limit.
   */
  maxRequestsPerSecond: Record<string, number>
}

/** Options for the ledger. */
export interface LedgerOptions {
  /** Keep at most this many request entries (oldest dropped). @default 10_000 */
  maxRequests?: number
  /** Calendar-day key for duplicate detection. */
  dayOf: (at: number) => string
}

/** The ledger. Read it with `control.ledger()` or `GET /__sim/ledger`. */
export class Ledger {
  readonly requests: LedgerRequestEntry[] = []
  readonly orders: LedgerOrderEntry[] = []
  readonly rateViolations: RateViolation[] = []
  readonly tokenIssues: { at: number; appkey: string; reused: boolean }[] = []
  readonly approvalIssues: { at: number; appkey: string }[] = []
  readonly wsConnects: WsConnectEntry[] = []
  readonly pongs = new Map<string, { text: number; pong: number; ping: number }>()
  /** Per appkey: arrival times inside the last second, and the worst count seen. */
  private readonly arrivals = new Map<string, { window: number[]; max: number }>()
  private requestTotal = 0
  private readonly requestCounts = new Map<string, number>()
  private readonly trCounts = new Map<string, Map<string, number>>()
  private readonly maxRequests: number

  constructor(private readonly options: LedgerOptions) {
    this.maxRequests = options.maxRequests ?? 10_000
  }

  recordRequest(e: LedgerRequestEntry): void {
    this.requestTotal++
    this.requestCounts.set(e.appkey, (this.requestCounts.get(e.appkey) ?? 0) + 1)
    let byTr = this.trCounts.get(e.appkey)
    if (!byTr) {
      byTr = new Map()
      this.trCounts.set(e.appkey, byTr)
    }
    const tr = e.trId || e.path
    byTr.set(tr, (byTr.get(tr) ?? 0) + 1)
    this.requests.push(e)
    if (this.requests.length > this.maxRequests)
      this.requests.splice(0, this.requests.length - this.maxRequests)
  }

  /** A REST request of `appkey` reached the rate check at `at` (rate-limit timebase). */
  recordArrival(appkey: string, at: number): void {
    const a = this.arrivals.get(appkey) ?? { window: [], max: 0 }
    a.window.push(at)
    while (a.window.length > 0 && at - (a.window[0] ?? at) >= 1_000) a.window.shift()
    a.max = Math.max(a.max, a.window.length)
    this.arrivals.set(appkey, a)
  }

  recordPong(appkey: string, kind: 'text' | 'pong' | 'ping'): void {
    const p = this.pongs.get(appkey) ?? { text: 0, pong: 0, ping: 0 }
    p[kind]++
    this.pongs.set(appkey, p)
  }

  /** Orders with the same content received more than once on the same KST day. */
  duplicates(): DuplicateOrderGroup[] {
    const groups = new Map<string, LedgerOrderEntry[]>()
    for (const o of this.orders) {
      const k = `${o.appkey}|${this.options.dayOf(o.at)}|${o.contentKey}`
      const g = groups.get(k)
      if (g) g.push(o)
      else groups.set(k, [o])
    }
    const out: DuplicateOrderGroup[] = []
    for (const entries of groups.values()) {
      const first = entries[0]
      if (entries.length > 1 && first)
        out.push({ contentKey: first.contentKey, appkey: first.appkey, entries })
    }
    return out
  }

  /** The largest number of session attempts by `appkey` inside any 60-second window. */
  maxConnectsPerMinute(appkey: string): number {
    const ts = this.wsConnects.filter((c) => c.appkey === appkey).map((c) => c.at)
    let best = 0
    let lo = 0
    for (let hi = 0; hi < ts.length; hi++) {
      while ((ts[hi] ?? 0) - (ts[lo] ?? 0) >= 60_000) lo++
      best = Math.max(best, hi - lo + 1)
    }
    return best
  }

  snapshot(): LedgerSnapshot {
    const ordersByAppkey: Record<string, number> = {}
    for (const o of this.orders) ordersByAppkey[o.appkey] = (ordersByAppkey[o.appkey] ?? 0) + 1
    const maxConnectsPerMinute: Record<string, number> = {}
    for (const k of new Set(this.wsConnects.map((c) => c.appkey))) {
      maxConnectsPerMinute[k] = this.maxConnectsPerMinute(k)
    }
    return {
      requests: this.requestTotal,
      requestsByAppkey: Object.fromEntries(this.requestCounts),
      requestsByTrId: Object.fromEntries([...this.trCounts].map(([k, v]) => [k, Object.fromEntries(v)])),
      orders: [...this.orders],
      ordersByAppkey,
      duplicates: this.duplicates(),
      rateViolations: [...this.rateViolations],
      tokenIssues: [...this.tokenIssues],
      approvalIssues: [...this.approvalIssues],
      wsConnects: [...this.wsConnects],
      maxConnectsPerMinute,
      pongs: Object.fromEntries(this.pongs),
      maxRequestsPerSecond: Object.fromEntries([...this.arrivals].map(([k, v]) => [k, v.max])),
    }
  }

  clear(): void {
    this.requests.length = 0
    this.orders.length = 0
    this.rateViolations.length = 0
    this.tokenIssues.length = 0
    this.approvalIssues.length = 0
    this.wsConnects.length = 0
    this.pongs.clear()
    this.requestCounts.clear()
    this.trCounts.clear()
    this.arrivals.clear()
    this.requestTotal = 0
  }
}
