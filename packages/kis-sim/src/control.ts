import type { ServerResponse } from 'node:http'
import { z } from 'zod'
import type { ClockMode } from './clock'
import type { SimCore } from './core'
import type { AccountConfig, PositionSeed, SimAccount, SimEnv, SimOrder, SimOrderStatus } from './exchange'
import { type ActiveFault, type FaultRule, faultRuleSchema } from './faults'
import { parseKstInstant } from './kst'
import type { LedgerSnapshot } from './ledger'
import { ensureBook, markBookStale, type SymbolConfig, type SymbolFlags } from './market'
import type { RestRequest } from './rest'
import type { SidecarInfo } from './sidecar'
import { dailyLimits, stepTicks } from './ticks'
import type { OrderRoute, Venue } from './venues'
import type { WsHub, WsSessionInfo } from './ws'

/** A JSON-friendly copy of a simulated order. */
export interface SimOrderView {
  odno: string
  origOdno: string
  kind: 'new' | 'modify' | 'cancel'
  branch: string
  appkey: string
  env: SimEnv
  cano: string
  productCode: string
  trId: string
  date: string
  time: string
  side: 'buy' | 'sell'
  symbol: string
  ordDvsn: string
  price: number
  qty: number
  filledQty: number
  filledAmount: number
  cancelledQty: number
  movedQty: number
  remaining: number
  status: SimOrderStatus
  fills: { at: number; qty: number; price: number; source: string }[]
  /** `EXCG_ID_DVSN_CD` as sent: KRX, NXT or SOR. */
  route: OrderRoute
  /** Where it trades (SOR's choice for SOR orders). */
  venue: Venue
  /** CNDT_PRIC of a stop-limit (22), else 0. */
  condPrice: number
  /** When a stop-limit's condition was met (virtual epoch ms), `null` while it sleeps or for other types. */
  stopTriggeredAt: number | null
  /** A sidecar holds it unmatched until then (virtual epoch ms); 0 when not held. */
  suspendedUntil: number
}

/** A JSON-friendly copy of an account. */
export interface SimAccountView {
  cano: string
  productCode: string
  env: SimEnv
  appkey: string
  htsId: string
  branch: string
  /** 예수금 (settled). */
  settledCash: number
  d1Cash: number
  d2Cash: number
  reservedCash: number
  orderableCash: number
  pending: { date: string; amount: number }[]
  positions: { symbol: string; qty: number; sellable: number; purchaseAmount: number; avgPrice: number }[]
  /** Its orders count as program trading (sidecars hold them). */
  programTrading: boolean
}

/** A quote snapshot (the values inquire-price serves). */
export interface SimQuote {
  symbol: string
  name: string
  price: number
  base: number
  upper: number
  lower: number
  open: number
  high: number
  low: number
  volume: number
  flags: SymbolFlags
  bestAsk: number
  bestBid: number
}

/** Patch for {@link SimControl.setSymbol}. */
export interface SymbolPatch {
  name?: string
  /** New base price (stck_sdpr); limits are recomputed unless given. */
  basePrice?: number
  upper?: number
  lower?: number
  halted?: boolean
  vi?: SymbolFlags['vi']
  warning?: SymbolFlags['warning']
  shortOverheated?: boolean
  overheated?: boolean
  caution?: boolean
}

/** Filter of {@link SimControl.orders}. */
export interface OrderFilter {
  /** KST day (`YYYYMMDD`) the order was placed; every day when absent. */
  date?: string
  appkey?: string
  cano?: string
  symbol?: string
  status?: SimOrderStatus
}

/** Test control over a running simulator. Every method is synchronous and deterministic. */
export interface SimControl {
  /** The virtual clock. `advance`/`set` run the market up to the new time (trades, auctions, expiries). */
  readonly clock: {
    now(): number
    set(instant: number | string | Date): void
    advance(ms: number): void
    setMode(mode: ClockMode, speed?: number): void
  }
  /** Runs the market up to the clock's current time and flushes WebSocket frames. */
  sync(): void
  /**
   * Rolls to the next trading day at `at` (`HH:MM` KST, default `08:00`): open day orders expire,
   * T+2 amounts settle, order numbers restart, and today's orders become history for the
   * date-range inquiries.
   */
  nextTradingDay(at?: string): { date: string; now: number }
  /**
   * Fires a market-wide circuit breaker (reference/krx-market-rules.md §4.3): stages 1–2 halt the
   * market 20 minutes (cancels accepted, new orders and modifies refused with APBK0573 *sim*) and
   * resume through a 10-minute call auction; stage 3 ends the market's day (APBK0574 *sim*).
   */
  circuitBreaker(
    market: 'KOSPI' | 'KOSDAQ',
    stage: 1 | 2 | 3,
  ): { stage: number; haltUntil: number; auctionUntil: number }
  /**
   * Starts a sidecar (reference/krx-market-rules.md §4.4): for `durationMs` (default 5 minutes) new
   * orders of accounts marked `programTrading` in `direction` on `market` (either venue) are
   * accepted but not matched; when it ends they enter the market as if just placed. Unless `force`,
   * KRX's limits hold and a refusal throws: once a day per market, not in the first 5 minutes after
   * the open nor the last 40 minutes before the close.
   */
  sidecar(
    market: 'KOSPI' | 'KOSDAQ',
    direction: 'buy' | 'sell',
    options?: { durationMs?: number; force?: boolean },
  ): SidecarInfo
  /** Account snapshot. */
  account(cano: string, productCode?: string): SimAccountView
  /** Replaces settled cash and/or positions of an account. */
  seedAccount(
    cano: string,
    seed: {
      productCode?: string
      cash?: number
      positions?: readonly PositionSeed[]
      /** Mark (or unmark) the account's orders as program trading. */
      programTrading?: boolean
    },
  ): SimAccountView
  setPosition(cano: string, position: PositionSeed, productCode?: string): SimAccountView
  /** Adds a symbol to the market. */
  addSymbol(config: SymbolConfig): SimQuote
  /** Moves the last price (clamped to the daily limit); crossing resting orders fill. */
  setPrice(symbol: string, price: number, qty?: number): SimQuote
  /** Moves the price by `ticks` grid steps (negative = down). */
  stepPrice(symbol: string, ticks: number): SimQuote
  /** Sets base price, limits and status flags returned by inquire-price. */
  setSymbol(symbol: string, patch: SymbolPatch): SimQuote
  quote(symbol: string): SimQuote
  /** The simulator's view of orders (new, modify and cancel records). */
  orders(filter?: OrderFilter): SimOrderView[]
  /** The order numbered `odno` on `date` (`YYYYMMDD`, KST; default: the simulator's current day). */
  order(odno: string, date?: string): SimOrderView | undefined
  /** Forces a fill on an open order (full by default). */
  fill(odno: string, options?: { qty?: number; price?: number }): SimOrderView
  /** The exchange refuses an accepted open order (RFUS notice). */
  rejectOrder(odno: string): SimOrderView
  /**
   * An order placed for the account through another channel (the HTS or MTS, or another desk's
   * app): it trades and notifies like any other, but no REST request of the account's app sent it,
   * so it is not in the ledger's `orders`. A business refusal throws with its message key.
   */
  placeExternalOrder(
    cano: string,
    order: {
      productCode?: string
      symbol: string
      side: 'buy' | 'sell'
      qty: number
      price: number
      ordDvsn?: string
    },
  ): SimOrderView
  /** Confirms a pending modify/cancel now (with `market.amendConfirmDelayMs` > 0). */
  confirmAmend(odno: string): boolean
  /** Fault plan. */
  readonly faults: {
    add(rule: FaultRule): string
    remove(id: string): boolean
    clear(): void
    list(): ActiveFault[]
  }
  ledger(): LedgerSnapshot
  resetLedger(): void
  /** Marks tokens expired (EGW00123) or invalid (EGW00121). Returns how many. */
  invalidateTokens(appkey?: string, how?: 'expired' | 'invalid'): number
  /** Changes the REST per-second limit of an environment. */
  setRestLimit(env: SimEnv, perSecond: number): void
  readonly ws: {
    sessions(): WsSessionInfo[]
    disconnect(appkey: string, options?: { clean?: boolean }): boolean
    stall(appkey: string, stalled?: boolean): boolean
    holdSlot(appkey: string, ms: number): void
    block(appkey: string, ms: number): void
    sessionKeys(appkey: string): { key: string; iv: string } | undefined
    releaseHeldNotices(appkey?: string): void
  }
}

function orderView(o: SimOrder): SimOrderView {
  return {
    odno: o.odno,
    origOdno: o.origOdno,
    kind: o.kind,
    branch: o.branch,
    appkey: o.appkey,
    env: o.env,
    cano: o.cano,
    productCode: o.productCode,
    trId: o.trId,
    date: o.date,
    time: o.time,
    side: o.side,
    symbol: o.symbol,
    ordDvsn: o.ordDvsn,
    price: o.price,
    qty: o.qty,
    filledQty: o.filledQty,
    filledAmount: o.filledAmount,
    cancelledQty: o.cancelledQty,
    movedQty: o.movedQty,
    remaining: o.remaining,
    status: o.status,
    fills: o.fills.map((f) => ({ ...f })),
    route: o.route,
    venue: o.venue,
    condPrice: o.condPrice,
    stopTriggeredAt: o.stopTriggeredAt ?? null,
    suspendedUntil: o.suspendedUntil,
  }
}

/** Builds the in-process control API. */
export function createControl(core: SimCore, ws: WsHub, flush: () => void): SimControl {
  const ex = core.exchange
  const sync = (): void => {
    ex.syncTo(core.clock.now())
    flush()
  }
  const acct = (cano: string, productCode = '01'): SimAccount => {
    const a = ex.account(cano, productCode)
    if (!a) throw new Error(`kis-sim: unknown account ${cano}-${productCode}`)
    return a
  }
  const accountView = (a: SimAccount): SimAccountView => ({
    cano: a.cano,
    productCode: a.productCode,
    env: a.env,
    appkey: a.appkey,
    htsId: a.htsId,
    branch: a.branch,
    settledCash: a.settledCash,
    d1Cash: ex.d1Cash(a),
    d2Cash: ex.d2Cash(a),
    reservedCash: a.reservedCash,
    orderableCash: ex.orderableCash(a),
    pending: a.pending.map((p) => ({ ...p })),
    positions: [...a.positions.values()].map((p) => ({
      symbol: p.symbol,
      qty: p.qty,
      sellable: ex.sellableQty(a, p.symbol),
      purchaseAmount: p.purchaseAmount,
      avgPrice: p.qty > 0 ? p.purchaseAmount / p.qty : 0,
    })),
    programTrading: a.programTrading,
  })
  const quote = (code: string): SimQuote => {
    const s = ensureBook(ex.requireSymbol(code))
    return {
      symbol: s.code,
      name: s.name,
      price: s.price,
      base: s.base,
      upper: s.upper,
      lower: s.lower,
      open: s.open,
      high: s.high,
      low: s.low,
      volume: s.volume,
      flags: { ...s.flags },
      bestAsk: s.askPrices[0] ?? 0,
      bestBid: s.bidPrices[0] ?? 0,
    }
  }
  const control: SimControl = {
    clock: {
      now: () => core.clock.now(),
      set(instant) {
        core.clock.set(instant)
        sync()
      },
      advance(ms) {
        core.clock.advance(ms)
        sync()
      },
      setMode(mode, speed) {
        core.clock.setMode(mode, speed)
      },
    },
    sync,
    circuitBreaker(market, stage) {
      const r = ex.circuitBreaker(market, stage)
      flush()
      return r
    },
    sidecar(market, direction, options = {}) {
      const r = ex.sidecar(market, direction, options)
      flush()
      return r
    },
    nextTradingDay(at = '08:00') {
      if (!/^\d{2}:\d{2}$/.test(at))
        throw new RangeError(`kis-sim: nextTradingDay at must be HH:MM, got ${at}`)
      sync()
      const date = ex.calendar.nextTradingDay(ex.today)
      core.clock.set(parseKstInstant(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)} ${at}`))
      sync()
      return { date, now: core.clock.now() }
    },
    account: (cano, productCode) => accountView(acct(cano, productCode)),
    seedAccount(cano, seed) {
      const a = acct(cano, seed.productCode)
      if (seed.cash !== undefined) {
        a.settledCash = seed.cash
        a.pending = []
      }
      if (seed.positions) {
        a.positions.clear()
        for (const p of seed.positions) ex.setPosition(a, p)
      }
      if (seed.programTrading !== undefined) a.programTrading = seed.programTrading
      return accountView(a)
    },
    setPosition(cano, position, productCode) {
      const a = acct(cano, productCode)
      ex.setPosition(a, position)
      return accountView(a)
    },
    addSymbol(config) {
      ex.addSymbol(config)
      return quote(config.code)
    },
    setPrice(symbol, price, qty) {
      ex.setPrice(symbol, price, qty)
      flush()
      return quote(symbol)
    },
    stepPrice(symbol, ticks) {
      const s = ex.requireSymbol(symbol)
      ex.setPrice(symbol, stepTicks(s.price, ticks, s.kind))
      flush()
      return quote(symbol)
    },
    setSymbol(symbol, patch) {
      const s = ex.requireSymbol(symbol)
      if (patch.name !== undefined) s.name = patch.name
      if (patch.basePrice !== undefined) {
        s.base = patch.basePrice
        const l = dailyLimits(s.base, s.kind)
        s.upper = l.upper
        s.lower = l.lower
      }
      if (patch.upper !== undefined) s.upper = patch.upper
      if (patch.lower !== undefined) s.lower = patch.lower
      if (patch.halted !== undefined) s.flags.halted = patch.halted
      if (patch.warning !== undefined) s.flags.warning = patch.warning
      if (patch.shortOverheated !== undefined) s.flags.shortOverheated = patch.shortOverheated
      if (patch.overheated !== undefined) s.flags.overheated = patch.overheated
      if (patch.caution !== undefined) s.flags.caution = patch.caution
      if (patch.vi !== undefined) {
        if (patch.vi === 'none' && s.flags.vi !== 'none') ex.endVi(symbol)
        else s.flags.vi = patch.vi
      }
      s.price = Math.min(s.upper, Math.max(s.lower, s.price))
      markBookStale(s)
      flush()
      return quote(symbol)
    },
    quote,
    orders(filter = {}) {
      const out: SimOrderView[] = []
      for (const o of ex.orders.values()) {
        if (filter.date !== undefined && o.date !== filter.date) continue
        if (filter.appkey !== undefined && o.appkey !== filter.appkey) continue
        if (filter.cano !== undefined && o.cano !== filter.cano) continue
        if (filter.symbol !== undefined && o.symbol !== filter.symbol) continue
        if (filter.status !== undefined && o.status !== filter.status) continue
        out.push(orderView(o))
      }
      return out
    },
    order(odno, date) {
      const o = ex.order(odno, date)
      return o ? orderView(o) : undefined
    },
    fill(odno, options = {}) {
      sync()
      const o = orderView(ex.forceFill(odno, options.qty, options.price))
      flush()
      return o
    },
    rejectOrder(odno) {
      return orderView(ex.forceReject(odno))
    },
    placeExternalOrder(cano, o) {
      const acct = ex.account(cano, o.productCode ?? '01')
      if (!acct) throw new Error(`kis-sim: no account ${cano}-${o.productCode ?? '01'}`)
      // The TR id the HTS's own order would carry in this environment (reference §4.1).
      const trId = `${acct.env === 'paper' ? 'V' : 'T'}TTC${o.side === 'buy' ? '0012' : '0011'}U`
      const r = ex.placeOrder({
        account: acct,
        trId,
        side: o.side,
        symbol: o.symbol,
        ordDvsn: o.ordDvsn ?? '00',
        qty: o.qty,
        price: o.price,
        sllType: '01',
        exchangeId: 'KRX',
      })
      if (!r.ok) throw new Error(`kis-sim: order refused: ${r.key}`)
      sync()
      return orderView(r.order)
    },
    confirmAmend: (odno) => ex.confirmPendingAmend(odno),
    faults: {
      add: (rule) => core.faults.add(faultRuleSchema.parse(rule) as FaultRule),
      remove: (id) => core.faults.remove(id),
      clear: () => core.faults.clear(),
      list: () => core.faults.list(),
    },
    ledger: () => core.ledger.snapshot(),
    resetLedger: () => core.ledger.clear(),
    invalidateTokens: (appkey, how = 'expired') => core.auth.invalidate(appkey, how),
    setRestLimit(env, perSecond) {
      core.limits.restPerSecond[env] = perSecond
    },
    ws: {
      sessions: () => ws.sessions(),
      disconnect: (appkey, options = {}) => ws.disconnect(appkey, options.clean ?? true),
      stall: (appkey, stalled = true) => ws.stall(appkey, stalled),
      holdSlot: (appkey, ms) => ws.holdSlot(appkey, ms),
      block: (appkey, ms) => ws.block(appkey, ms),
      sessionKeys: (appkey) => ws.sessionKeys(appkey),
      releaseHeldNotices: (appkey) => ws.releaseHeldNotices(appkey),
    },
  }
  return control
}

const positionSchema = z.object({
  symbol: z.string(),
  qty: z.number().int().nonnegative(),
  avgPrice: z.number().optional(),
})

const yyyymmdd = z.string().regex(/^\d{8}$/, 'a YYYYMMDD date')

const schemas = {
  orders: z.object({
    date: yyyymmdd.optional(),
    status: z
      .enum(['open', 'pending', 'filled', 'cancelled', 'replaced', 'expired', 'rejected', 'confirmed'])
      .optional(),
    appkey: z.string().optional(),
    cano: z.string().optional(),
    symbol: z.string().optional(),
  }),
  order: z.object({ odno: z.string(), date: yyyymmdd.optional() }),
  breaker: z.object({
    market: z.enum(['KOSPI', 'KOSDAQ']),
    stage: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  }),
  sidecar: z.object({
    market: z.enum(['KOSPI', 'KOSDAQ']),
    direction: z.enum(['buy', 'sell']),
    durationMs: z.number().int().positive().optional(),
    force: z.boolean().optional(),
  }),
  nextDay: z.object({
    at: z
      .string()
      .regex(/^\d{2}:\d{2}$/, 'HH:MM')
      .optional(),
  }),
  fill: z.object({
    odno: z.string(),
    qty: z.number().int().positive().optional(),
    price: z.number().positive().optional(),
  }),
  odno: z.object({ odno: z.string() }),
  externalOrder: z.object({
    cano: z.string(),
    productCode: z.string().optional(),
    symbol: z.string(),
    side: z.enum(['buy', 'sell']),
    qty: z.number().int().positive(),
    price: z.number().int().nonnegative(),
    ordDvsn: z.string().optional(),
  }),
  price: z.object({
    symbol: z.string(),
    price: z.number().positive().optional(),
    ticks: z.number().int().optional(),
    qty: z.number().int().positive().optional(),
  }),
  symbol: z.object({
    symbol: z.string(),
    name: z.string().optional(),
    basePrice: z.number().positive().optional(),
    upper: z.number().positive().optional(),
    lower: z.number().positive().optional(),
    halted: z.boolean().optional(),
    vi: z.enum(['none', 'static', 'dynamic']).optional(),
    warning: z.enum(['00', '01', '02', '03']).optional(),
    shortOverheated: z.boolean().optional(),
    overheated: z.boolean().optional(),
    caution: z.boolean().optional(),
  }),
  account: z.object({
    cano: z.string(),
    productCode: z.string().optional(),
    cash: z.number().nonnegative().optional(),
    positions: z.array(positionSchema).optional(),
    programTrading: z.boolean().optional(),
  }),
  clock: z.object({
    set: z.union([z.number(), z.string()]).optional(),
    advanceMs: z.number().nonnegative().optional(),
    mode: z.enum(['real', 'accelerated', 'manual']).optional(),
    speed: z.number().positive().optional(),
  }),
  tokens: z.object({ appkey: z.string().optional(), how: z.enum(['expired', 'invalid']).optional() }),
  wsDisconnect: z.object({ appkey: z.string(), clean: z.boolean().optional() }),
  wsStall: z.object({ appkey: z.string(), stalled: z.boolean().optional() }),
  wsHold: z.object({ appkey: z.string(), ms: z.number().nonnegative() }),
  limit: z.object({ env: z.enum(['real', 'paper']), perSecond: z.number().positive() }),
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  // The same header case as the KIS routes (reference §3.2).
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  })
  res.end(text)
}

/**
 * The HTTP face of {@link SimControl}, mounted under `/__sim/` on the REST server. Control
 * requests bypass rate limits, faults and the ledger.
 */
export function createControlHttp(
  control: SimControl,
  apps: () => unknown,
): (req: RestRequest, res: ServerResponse) => void {
  return (req, res) => {
    try {
      const route = `${req.method} ${req.path}`
      const body = req.json ?? {}
      const q = req.query
      switch (route) {
        case 'GET /__sim/apps':
          return reply(res, 200, apps())
        case 'GET /__sim/ledger':
          return reply(res, 200, control.ledger())
        case 'POST /__sim/ledger/reset':
          control.resetLedger()
          return reply(res, 200, { ok: true })
        case 'GET /__sim/orders': {
          const f = schemas.orders.parse(q)
          return reply(
            res,
            200,
            control.orders(Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined))),
          )
        }
        case 'GET /__sim/order': {
          const f = schemas.order.parse(q)
          const o = control.order(f.odno, f.date)
          return o ? reply(res, 200, o) : reply(res, 404, { error: `kis-sim: no order ${f.odno}` })
        }
        case 'POST /__sim/circuit-breaker': {
          const b = schemas.breaker.parse(body)
          const r = control.circuitBreaker(b.market, b.stage)
          // Infinity is not JSON: stage 3 has no end.
          return reply(res, 200, {
            stage: r.stage,
            haltUntil: r.stage === 3 ? null : r.haltUntil,
            auctionUntil: r.stage === 3 ? null : r.auctionUntil,
          })
        }
        case 'POST /__sim/sidecar': {
          const b = schemas.sidecar.parse(body)
          const options: { durationMs?: number; force?: boolean } = {}
          if (b.durationMs !== undefined) options.durationMs = b.durationMs
          if (b.force !== undefined) options.force = b.force
          return reply(res, 200, control.sidecar(b.market, b.direction, options))
        }
        case 'POST /__sim/day/next': {
          const b = schemas.nextDay.parse(body)
          return reply(res, 200, control.nextTradingDay(b.at))
        }
        case 'POST /__sim/fill': {
          const b = schemas.fill.parse(body)
          return reply(
            res,
            200,
            control.fill(b.odno, {
              ...(b.qty ? { qty: b.qty } : {}),
              ...(b.price ? { price: b.price } : {}),
            }),
          )
        }
        case 'POST /__sim/external-order': {
          const { cano, ...order } = schemas.externalOrder.parse(body)
          return reply(
            res,
            200,
            control.placeExternalOrder(cano, order as Parameters<SimControl['placeExternalOrder']>[1]),
          )
        }
        case 'POST /__sim/reject':
          return reply(res, 200, control.rejectOrder(schemas.odno.parse(body).odno))
        case 'POST /__sim/confirm-amend':
          return reply(res, 200, { ok: control.confirmAmend(schemas.odno.parse(body).odno) })
        case 'POST /__sim/price': {
          const b = schemas.price.parse(body)
          if (b.ticks !== undefined) return reply(res, 200, control.stepPrice(b.symbol, b.ticks))
          if (b.price === undefined) return reply(res, 400, { error: 'price or ticks required' })
          return reply(res, 200, control.setPrice(b.symbol, b.price, b.qty))
        }
        case 'POST /__sim/symbol': {
          const { symbol, ...patch } = schemas.symbol.parse(body)
          return reply(res, 200, control.setSymbol(symbol, patch as SymbolPatch))
        }
        case 'GET /__sim/quote':
          return reply(res, 200, control.quote(q.symbol ?? ''))
        case 'GET /__sim/account':
          return reply(res, 200, control.account(q.cano ?? '', q.productcode ?? q.acnt_prdt_cd ?? '01'))
        case 'POST /__sim/account': {
          const b = schemas.account.parse(body)
          const seed: {
            productCode?: string
            cash?: number
            positions?: PositionSeed[]
            programTrading?: boolean
          } = {}
          if (b.productCode !== undefined) seed.productCode = b.productCode
          if (b.cash !== undefined) seed.cash = b.cash
          if (b.programTrading !== undefined) seed.programTrading = b.programTrading
          if (b.positions)
            seed.positions = b.positions.map((p) => ({
              symbol: p.symbol,
              qty: p.qty,
              ...(p.avgPrice ? { avgPrice: p.avgPrice } : {}),
            }))
          return reply(res, 200, control.seedAccount(b.cano, seed))
        }
        case 'GET /__sim/faults':
          return reply(res, 200, control.faults.list())
        case 'POST /__sim/faults': {
          const rules = Array.isArray(body) ? body : [body]
          const ids = rules.map((r) => control.faults.add(faultRuleSchema.parse(r) as FaultRule))
          return reply(res, 200, { ids })
        }
        case 'DELETE /__sim/faults':
          control.faults.clear()
          return reply(res, 200, { ok: true })
        case 'GET /__sim/clock':
          return reply(res, 200, { now: control.clock.now() })
        case 'POST /__sim/clock': {
          const b = schemas.clock.parse(body)
          if (b.mode) control.clock.setMode(b.mode, b.speed)
          if (b.set !== undefined) control.clock.set(b.set)
          if (b.advanceMs !== undefined) control.clock.advance(b.advanceMs)
          return reply(res, 200, { now: control.clock.now() })
        }
        case 'POST /__sim/tokens/invalidate': {
          const b = schemas.tokens.parse(body)
          return reply(res, 200, { count: control.invalidateTokens(b.appkey, b.how ?? 'expired') })
        }
        case 'POST /__sim/limits': {
          const b = schemas.limit.parse(body)
          control.setRestLimit(b.env, b.perSecond)
          return reply(res, 200, { ok: true })
        }
        case 'GET /__sim/ws/sessions':
          return reply(res, 200, control.ws.sessions())
        case 'POST /__sim/ws/disconnect': {
          const b = schemas.wsDisconnect.parse(body)
          return reply(res, 200, { ok: control.ws.disconnect(b.appkey, { clean: b.clean ?? true }) })
        }
        case 'POST /__sim/ws/stall': {
          const b = schemas.wsStall.parse(body)
          return reply(res, 200, { ok: control.ws.stall(b.appkey, b.stalled ?? true) })
        }
        case 'POST /__sim/ws/hold': {
          const b = schemas.wsHold.parse(body)
          control.ws.holdSlot(b.appkey, b.ms)
          return reply(res, 200, { ok: true })
        }
        default:
          if (req.method === 'DELETE' && req.path.startsWith('/__sim/faults/')) {
            return reply(res, 200, {
              ok: control.faults.remove(decodeURIComponent(req.path.slice('/__sim/faults/'.length))),
            })
          }
          return reply(res, 404, { error: `kis-sim: no control route ${route}` })
      }
    } catch (err) {
      return reply(res, 400, { error: err instanceof Error ? err.message : String(err) })
    }
  }
}

export type { AccountConfig }
