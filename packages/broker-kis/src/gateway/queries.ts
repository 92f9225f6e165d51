import type {
  BrokerOrder,
  CashBalance,
  Fill,
  FillQuery,
  OrderQuery,
  Position,
  Quote,
} from '@vellab/broker-gateway'
import {
  BrokerError,
  FillQuerySchema,
  OrderQuerySchema,
  parseOrThrow,
  SymbolSchema,
} from '@vellab/broker-gateway'
import { type DailyOrder, summariseDailyRows } from '../daily-orders'
import {
  BalancePositionSchema,
  BalanceSummarySchema,
  type DailyCcldRow,
  DailyCcldRowSchema,
  InquirePriceSchema,
  PsblOrderSchema,
  type PsblRvsecnclRow,
  PsblRvsecnclRowSchema,
} from '../envelope'
import { isoToCompactDate, kstCompactToEpoch } from '../kst'
import { type ListingStore, listingStoreKey, type SavedListing } from '../listing-store'
import { describeOrdDvsn } from '../order-mapping'
import { normaliseOrderNo } from '../ws/decoders'
import type { OrderFillSnapshot } from '../ws/notice-tracker'
import {
  accountFields,
  checkAccount,
  type GatewayContext,
  kstToday,
  orderNumber,
  parseRows,
  requireListing,
} from './context'

/**
 * How long an unfiltered all-orders listing (CCLD_DVSN 00) answers a fills listing (01) of the same
 * dates: the filled rows are the listing's rows with a filled quantity. Reconciliation reads orders,
 * then fills; on paper (15 rows a page) the second listing of a busy day cost as many requests as
 * the first, and both came from the same inquiry.
 */
export const FILLS_FROM_ORDERS_MS = 2_000

/** Pages one daily-ccld listing may take (paper: 15 rows a page, real: 100). */
const LISTING_MAX_PAGES = 2_000

/** An order number as a number (KIS numbers a day's orders in sequence; NaN if not digits). */
const orderNo = (r: Pick<DailyCcldRow, 'odno'>): number =>
  /^\d+$/.test(r.odno.trim()) ? Number(r.odno) : Number.NaN

/** Settled: nothing remaining, and filled, cancel-confirmed and rejected make up the quantity. */
const settled = (r: DailyCcldRow): boolean =>
  r.rmn_qty === 0 && r.tot_ccld_qty + (r.cnc_cfrm_qty ?? 0) + (r.rjct_qty ?? 0) >= r.ord_qty

/**
 * The lowest order number an incremental listing must read again: the oldest row not settled in
 * `rows` (newest first), else the one after the newest; `undefined` (read the whole day) when an
 * order number is not a plain number.
 */
function readFrom(rows: readonly DailyCcldRow[]): number | undefined {
  let from = Number.POSITIVE_INFINITY
  let newest = 0
  for (const r of rows) {
    const n = orderNo(r)
    if (Number.isNaN(n)) return undefined
    newest = Math.max(newest, n)
    if (!settled(r)) from = Math.min(from, n)
  }
  return Math.min(from, newest + 1)
}

/**
 * One row per order number, where it was first listed, with the last copy read. Orders placed while
 * a newest-first listing pages push the older rows down, so a row can come again on the next page
 * (kis-sim's cursor is an offset; how KIS's CTX_AREA_NK100 behaves is UNVERIFIED).
 */
function onePerOrder(rows: DailyCcldRow[]): DailyCcldRow[] {
  const at = new Map<string, number>()
  const out: DailyCcldRow[] = []
  for (const r of rows) {
    const key = `${r.ord_dt}|${r.odno.trim()}`
    const i = at.get(key)
    if (i === undefined) {
      at.set(key, out.length)
      out.push(r)
    } else out[i] = r
  }
  return out
}

/** Whether `rows` run newest first (strictly falling order numbers), and are not empty. */
function descending(rows: readonly DailyCcldRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if (!(orderNo(rows[i]!) < orderNo(rows[i - 1]!))) return false
  return rows.length > 0
}

/** Whether a page (newest first) reached down to `boundary`: every row from it upwards is read. */
function pageReaches(body: Record<string, unknown>, boundary: number): boolean {
  const rows = Array.isArray(body.output1) ? body.output1 : []
  const last = rows[rows.length - 1] as { odno?: unknown } | undefined
  if (typeof last?.odno !== 'string') return false
  const n = orderNo({ odno: last.odno })
  return !Number.isNaN(n) && n <= boundary
}

/** Today's orders, fills, positions, cash and quotes (REST inquiries, reference §4.3–§4.7). */
export class KisQueries {
  readonly #ctx: GatewayContext
  /**
   * The last unfiltered all-orders listing (CCLD_DVSN 00) of each date range, by `from|to`: its rows
   * (newest first), when it completed, and when the range was last read whole (a listing of today
   * may be incremental). It answers fills listings of the same range for `FILLS_FROM_ORDERS_MS`, and
   * today's entry is the base of the next incremental listing. Today's entry and the last other
   * range are kept, so a listing of another day never costs today its base.
   */
  #listings = new Map<string, { rows: DailyCcldRow[]; at: number; wholeAt: number }>()
  /** The KST day whose saved listing was asked for (`listingStore`: once a day per process). */
  #storeAskedFor: string | undefined
  /** Saves to the listing store, one after the other. */
  #saves: Promise<void> = Promise.resolve()
  /**
   * Whether the store holds every row this process's next incremental listing leaves out: after a
   * failed save, only a whole listing is saved (an incremental one would leave the older rows out).
   */
  #storeHasBase = false

  constructor(ctx: GatewayContext) {
    this.#ctx = ctx
  }

  async openRows(
    lane: 'cancel' | 'reconcile',
    operation: string,
  ): Promise<
    {
      odno: string
      predecessor: string
      branch: string
      ordDvsn: string
      venue: string
      symbol: string
      side: 'buy' | 'sell'
      quantity: number
      price: number
      filled: number
      remaining: number
      /** A stop-limit's condition price; 0 when none or not given. */
      conditionPrice: number
      at: number
    }[]
  > {
    const today = kstToday(this.#ctx)
    if (this.#ctx.config.environment === 'real') {
      // reference §4.3: inquire-psbl-rvsecncl lists what can still be modified or cancelled.
      const pages = await this.#ctx.rest.paginate({
        op: 'inquire-psbl-rvsecncl',
        lane,
        operation,
        query: { ...accountFields(this.#ctx), INQR_DVSN_1: '0', INQR_DVSN_2: '0' },
      })
      return pages
        .flatMap((p) => parseRows(this.#ctx, PsblRvsecnclRowSchema, p.output, operation))
        .filter((r: PsblRvsecnclRow) => r.psbl_qty > 0)
        .map((r) => ({
          odno: normaliseOrderNo(r.odno),
          predecessor: r.orgn_odno && Number(r.orgn_odno) > 0 ? normaliseOrderNo(r.orgn_odno) : '',
          branch: r.ord_gno_brno,
          ordDvsn: r.ord_dvsn_cd,
          venue: r.excg_id_dvsn_cd,
          symbol: r.pdno.trim(),
          side: r.sll_buy_dvsn_cd === '01' ? ('sell' as const) : ('buy' as const),
          quantity: r.ord_qty,
          price: r.ord_unpr,
          filled: r.tot_ccld_qty,
          remaining: r.psbl_qty,
          conditionPrice: r.stpm_cndt_pric ?? 0,
          at: kstCompactToEpoch(today, r.ord_tmd) ?? this.#ctx.clock.now(),
        }))
    }
    // reference §4.3: not offered on paper; use inquire-daily-ccld with CCLD_DVSN 02 (unfilled).
    const rows = await this.dailyRows({ from: today, to: today, ccld: '02' }, lane, operation)
    return rows
      .filter((r) => r.rmn_qty > 0 && r.cncl_yn !== 'Y')
      .map((r) => ({
        odno: normaliseOrderNo(r.odno),
        predecessor: r.orgn_odno && Number(r.orgn_odno) > 0 ? normaliseOrderNo(r.orgn_odno) : '',
        branch: r.ord_gno_brno,
        ordDvsn: r.ord_dvsn_cd,
        venue: r.excg_id_dvsn_cd || r.excg_id_dvsn_Cd,
        symbol: r.pdno.trim(),
        side: r.sll_buy_dvsn_cd === '01' ? ('sell' as const) : ('buy' as const),
        quantity: r.ord_qty,
        price: r.ord_unpr,
        filled: r.tot_ccld_qty,
        remaining: r.rmn_qty,
        conditionPrice: r.stpm_cndt_pric ?? 0,
        at: kstCompactToEpoch(r.ord_dt, r.ord_tmd) ?? this.#ctx.clock.now(),
      }))
  }

  async dailyRows(
    q: {
      from: string
      to: string
      ccld: '00' | '01' | '02'
      side?: 'buy' | 'sell'
      symbol?: string
      odno?: string
    },
    lane: 'cancel' | 'reconcile',
    operation: string,
  ): Promise<DailyCcldRow[]> {
    const unfiltered = !q.side && !q.symbol && !q.odno
    const key = `${q.from}|${q.to}`
    let listed = unfiltered ? this.#listings.get(key) : undefined
    const now = this.#ctx.clock.now()
    if (q.ccld === '01' && listed && now - listed.at <= FILLS_FROM_ORDERS_MS) {
      return listed.rows.filter((r) => r.tot_ccld_qty > 0)
    }
    const today = kstToday(this.#ctx)
    const todayOnly = unfiltered && q.from === today && q.to === today
    if (q.ccld === '01' && todayOnly && this.#ctx.config.listingFullRefreshMs > 0) {
      // Today's fills are today's orders with a filled quantity: the incremental listing of the
      // orders costs a page or two where a fills listing pages every fill of the day.
      return (await this.dailyRows({ ...q, ccld: '00' }, lane, operation)).filter((r) => r.tot_ccld_qty > 0)
    }
    if (q.ccld === '00' && todayOnly && !listed && this.#ctx.listingStore && this.#storeAskedFor !== today) {
      // This process has not listed today: start from what another process saved (a takeover).
      this.#storeAskedFor = today
      listed = await this.#loadSaved(this.#ctx.listingStore, key, today)
    }
    // reference §4.4: ≤3 months TTTC0081R, older CTSC9215R (same path).
    const ageDays =
      (this.#ctx.clock.now() - (kstCompactToEpoch(q.from, '000000') ?? this.#ctx.clock.now())) / 86_400_000
    // Today's whole listing, newest first, can stop at the oldest row that was not settled when last
    // read (see `listingFullRefreshMs`): older rows are settled and come from that listing.
    const base =
      q.ccld === '00' && todayOnly && listed && now - listed.wholeAt < this.#ctx.config.listingFullRefreshMs
        ? listed
        : undefined
    const boundary = base ? readFrom(base.rows) : undefined
    const { pages, complete } = await this.#ctx.rest.paginateUntil(
      {
        op: ageDays > 90 ? 'inquire-daily-ccld-archive' : 'inquire-daily-ccld',
        lane,
        operation,
        query: {
          ...accountFields(this.#ctx),
          INQR_STRT_DT: q.from,
          INQR_END_DT: q.to,
          SLL_BUY_DVSN_CD: q.side === 'sell' ? '01' : q.side === 'buy' ? '02' : '00',
          INQR_DVSN: '00',
          PDNO: q.symbol ?? '',
          CCLD_DVSN: q.ccld,
          ORD_GNO_BRNO: '',
          ODNO: q.odno ?? '',
          INQR_DVSN_3: '00',
          INQR_DVSN_1: '',
          EXCG_ID_DVSN_CD: this.#ctx.config.environment === 'paper' ? 'KRX' : 'ALL',
        },
      },
      // A busy day on paper is more than 200 pages (15 rows each); the cursor check still stops loops.
      LISTING_MAX_PAGES,
      boundary === undefined ? undefined : (body) => pageReaches(body, boundary),
    )
    const read = onePerOrder(
      pages.flatMap((p) => parseRows(this.#ctx, DailyCcldRowSchema, p.output1, operation)),
    )
    let rows = read
    if (!complete && base) {
      // Stopped early: the rows below the last one read are the settled rows of the last listing.
      // Only if the broker listed newest first as asked; otherwise read the whole day.
      if (!descending(rows)) {
        this.#listings.delete(key)
        return this.dailyRows(q, lane, operation)
      }
      const lowest = orderNo(rows[rows.length - 1]!)
      rows = [...rows, ...base.rows.filter((r) => orderNo(r) < lowest)]
    }
    if (q.ccld === '00' && unfiltered) {
      const at = this.#ctx.clock.now()
      const todayKey = `${today}|${today}`
      for (const k of this.#listings.keys()) if (k !== todayKey) this.#listings.delete(k)
      const wholeAt = base ? base.wholeAt : at
      this.#listings.set(key, { rows, at, wholeAt })
      if (todayOnly && this.#ctx.listingStore)
        this.#save(this.#ctx.listingStore, today, read, complete, wholeAt)
    }
    return rows
  }

  /** Today's listing as saved by the last process that listed it, or undefined (read the day whole). */
  async #loadSaved(store: ListingStore, key: string, day: string) {
    const { environment, account } = this.#ctx.config
    const refuse = (error: string) => {
      this.#ctx.emit({ type: 'listing.store', outcome: 'load_failed', rows: 0, error })
      return undefined
    }
    let saved: SavedListing | undefined
    try {
      saved = await store.load(listingStoreKey(environment, account), day)
    } catch (e) {
      return refuse(e instanceof Error ? e.message : String(e))
    }
    if (!saved) return undefined
    const rows: DailyCcldRow[] = []
    for (const raw of saved.rows) {
      const r = DailyCcldRowSchema.safeParse(raw)
      if (!r.success)
        return refuse(`a saved row is not a daily-ccld row: ${r.error.issues[0]?.message ?? ''}`)
      rows.push(r.data)
    }
    rows.sort((a, b) => orderNo(b) - orderNo(a))
    // `at` in the past: a fills query does not take these rows for a listing just read.
    const entry = {
      rows,
      at: Number.NEGATIVE_INFINITY,
      wholeAt: Math.min(saved.wholeAt, this.#ctx.clock.now()),
    }
    this.#listings.set(key, entry)
    this.#storeHasBase = true
    this.#ctx.emit({ type: 'listing.store', outcome: 'loaded', rows: rows.length })
    return entry
  }

  /**
   * Save the rows a listing of today read, after the saves before it. An incremental listing's rows
   * are saved only while the store holds the rest (it does after a load or a saved whole listing).
   * A failure is reported, never thrown: the listing was read and is returned all the same.
   */
  #save(store: ListingStore, day: string, read: readonly DailyCcldRow[], whole: boolean, wholeAt: number) {
    const { environment, account } = this.#ctx.config
    const rows = read.map((r) => ({ orderNo: r.odno.trim(), row: r }))
    this.#saves = this.#saves.then(async () => {
      if (!whole && !this.#storeHasBase) return
      try {
        await store.save(listingStoreKey(environment, account), day, rows, wholeAt)
        this.#storeHasBase = true
      } catch (e) {
        this.#storeHasBase = false
        this.#ctx.emit({
          type: 'listing.store',
          outcome: 'save_failed',
          rows: rows.length,
          error: e instanceof Error ? e.message : String(e),
        })
      }
    })
  }

  /** Resolves when every save to the listing store begun so far has ended (for tests and shutdown). */
  savesSettled(): Promise<void> {
    return this.#saves
  }

  /** Today's orders as the notice tracker's snapshot (reference §4.4, CCLD_DVSN 00). */
  async fillSnapshot(): Promise<OrderFillSnapshot[]> {
    const today = kstToday(this.#ctx)
    const rows = await this.dailyRows({ from: today, to: today, ccld: '00' }, 'reconcile', 'noticeSync')
    return summariseDailyRows(rows).map((o) => ({
      orderNo: o.orderNo,
      symbol: o.symbol,
      side: o.side,
      orderQuantity: o.quantity,
      filledQuantity: o.filled,
      averagePrice: o.averagePrice,
      filledAmount: o.filledAmount,
      limitPrice: o.price,
      remainingQuantity: o.remaining,
      canceledQuantity: o.cancelConfirmed,
      movedQuantity: o.moved,
      cancels: o.cancelRequests.map((c) => ({ requestNo: c.orderNo, quantity: c.canceled })),
      predecessor: o.predecessor,
      ...terminalOf(o),
    }))
  }

  async getOpenOrders(account: string): Promise<BrokerOrder[]> {
    checkAccount(this.#ctx, account, 'getOpenOrders')
    requireListing(this.#ctx, 'listOrders', 'getOpenOrders')
    const rows = await this.openRows('reconcile', 'getOpenOrders')
    return rows.map((r) => {
      const k = describeOrdDvsn(r.ordDvsn)
      return {
        brokerOrderId: r.odno,
        ...(r.predecessor ? { predecessorId: r.predecessor } : {}),
        account,
        symbol: r.symbol,
        side: r.side,
        orderType: k.orderType,
        timeInForce: k.timeInForce,
        venue: (r.venue === 'NXT' || r.venue === 'SOR' ? r.venue : 'KRX') as 'KRX' | 'NXT' | 'SOR',
        quantity: r.quantity,
        ...(r.price > 0 ? { limitPrice: r.price } : {}),
        filledQuantity: r.filled,
        remainingQuantity: r.remaining,
        status: r.filled > 0 ? ('partially_filled' as const) : ('open' as const),
        submittedAt: r.at,
      }
    })
  }

  async getOrders(account: string, queryInput: OrderQuery = {}): Promise<BrokerOrder[]> {
    checkAccount(this.#ctx, account, 'getOrders')
    requireListing(this.#ctx, 'listOrders', 'getOrders')
    const q = parseOrThrow(OrderQuerySchema, queryInput, { operation: 'getOrders' })
    const today = kstToday(this.#ctx)
    const rows = await this.dailyRows(
      {
        from: q.from ? isoToCompactDate(q.from) : today,
        to: q.to ? isoToCompactDate(q.to) : today,
        ccld: '00',
        ...(q.side ? { side: q.side } : {}),
        ...(q.symbol ? { symbol: q.symbol } : {}),
        ...(q.brokerOrderId ? { odno: orderNumber(q.brokerOrderId, 'getOrders') } : {}),
      },
      'reconcile',
      'getOrders',
    )
    const orders = this.#ordersFromDaily(rows, account)
    const filtered = orders.filter((o) => {
      if (q.brokerOrderId && o.brokerOrderId !== normaliseOrderNo(q.brokerOrderId)) return false
      if (q.state === 'open') return o.status === 'open' || o.status === 'partially_filled'
      if (q.state === 'done') return o.status !== 'open' && o.status !== 'partially_filled'
      return true
    })
    return filtered.sort(
      (a, b) => a.submittedAt - b.submittedAt || a.brokerOrderId.localeCompare(b.brokerOrderId),
    )
  }

  /**
   * Orders from daily-ccld rows. Rows of cancel requests (`cncl_yn` Y, or a row whose only purpose
   * is to point at its original) are requests, not orders: they mark their original instead.
   */
  #ordersFromDaily(rows: DailyCcldRow[], account: string): BrokerOrder[] {
    return summariseDailyRows(rows).map((o) => {
      const k = describeOrdDvsn(o.ordDvsn)
      return {
        brokerOrderId: o.orderNo,
        ...(o.predecessor ? { predecessorId: o.predecessor } : {}),
        account,
        symbol: o.symbol,
        side: o.side,
        orderType: k.orderType,
        timeInForce: k.timeInForce,
        venue: o.venue === 'NXT' || o.venue === 'SOR' ? o.venue : 'KRX',
        quantity: o.quantity,
        ...(o.price > 0 ? { limitPrice: o.price } : {}),
        filledQuantity: o.filled,
        ...(o.filled > 0 && o.averagePrice > 0 ? { averageFillPrice: o.averagePrice } : {}),
        remainingQuantity: o.remaining,
        status: o.status,
        submittedAt: kstCompactToEpoch(o.orderDate, o.orderTime) ?? this.#ctx.clock.now(),
      }
    })
  }

  /**
   * Fills from inquire-daily-ccld. KIS reports per order the cumulative filled quantity and average
   * price, not each execution, so each order yields one fill record keyed by its cumulative
   * quantity (`<odno>:<cum>`): applying it is "advance to cum", idempotent by construction.
   */
  async getFills(account: string, queryInput: FillQuery = {}): Promise<Fill[]> {
    checkAccount(this.#ctx, account, 'getFills')
    requireListing(this.#ctx, 'listFills', 'getFills')
    const q = parseOrThrow(FillQuerySchema, queryInput, { operation: 'getFills' })
    const today = kstToday(this.#ctx)
    const rows = await this.dailyRows(
      {
        from: q.from ? isoToCompactDate(q.from) : today,
        to: q.to ? isoToCompactDate(q.to) : today,
        ccld: '01',
        ...(q.symbol ? { symbol: q.symbol } : {}),
        ...(q.brokerOrderId ? { odno: orderNumber(q.brokerOrderId, 'getFills') } : {}),
      },
      'reconcile',
      'getFills',
    )
    const want = q.brokerOrderId ? normaliseOrderNo(q.brokerOrderId) : undefined
    const fills: Fill[] = []
    for (const r of rows) {
      const odno = normaliseOrderNo(r.odno)
      if (want && odno !== want) continue
      if (r.tot_ccld_qty <= 0) continue
      const price = Math.round(r.avg_prvs > 0 ? r.avg_prvs : (r.tot_ccld_amt ?? 0) / r.tot_ccld_qty)
      if (!(price > 0)) continue
      fills.push({
        fillId: `${odno}:${r.tot_ccld_qty}`,
        brokerOrderId: odno,
        account,
        symbol: r.pdno.trim(),
        side: r.sll_buy_dvsn_cd === '01' ? 'sell' : 'buy',
        quantity: r.tot_ccld_qty,
        price,
        cumulativeQuantity: r.tot_ccld_qty,
        at: kstCompactToEpoch(r.ord_dt, r.ord_tmd) ?? this.#ctx.clock.now(),
      })
    }
    return fills
  }

  #balanceQuery(): Record<string, string> {
    // reference §4.5 query parameters.
    return {
      ...accountFields(this.#ctx),
      AFHR_FLPR_YN: 'N',
      OFL_YN: '',
      INQR_DVSN: '02',
      UNPR_DVSN: '01',
      FUND_STTL_ICLD_YN: 'N',
      FNCG_AMT_AUTO_RDPT_YN: 'N',
      PRCS_DVSN: '00',
    }
  }

  async getPositions(account: string): Promise<Position[]> {
    checkAccount(this.#ctx, account, 'getPositions')
    const pages = await this.#ctx.rest.paginate({
      op: 'inquire-balance',
      lane: 'reconcile',
      operation: 'getPositions',
      query: this.#balanceQuery(),
    })
    const merged = new Map<string, Position>()
    for (const p of pages) {
      for (const r of parseRows(this.#ctx, BalancePositionSchema, p.output1, 'getPositions')) {
        const symbol = r.pdno.trim()
        if (!SymbolSchema.safeParse(symbol).success) continue
        const quantity = Math.max(0, r.hldg_qty)
        // Merge idempotently (peers.md §(d): the same holding may be listed twice): last wins.
        merged.set(symbol, {
          account,
          symbol,
          quantity,
          sellableQuantity: Math.min(quantity, Math.max(0, r.ord_psbl_qty)),
          averagePrice: Math.max(0, r.pchs_avg_pric),
          ...(r.prpr && r.prpr > 0 ? { lastPrice: r.prpr } : {}),
        })
      }
    }
    return [...merged.values()]
  }

  async getCash(account: string): Promise<CashBalance> {
    checkAccount(this.#ctx, account, 'getCash')
    const bal = await this.#ctx.rest.call({
      op: 'inquire-balance',
      lane: 'reconcile',
      operation: 'getCash',
      query: { ...this.#balanceQuery(), CTX_AREA_FK100: '', CTX_AREA_NK100: '' },
    })
    // reference §3.2: output2 is an array with one element (accept a bare object too).
    const summaryRaw = Array.isArray(bal.body.output2) ? bal.body.output2[0] : bal.body.output2
    const summary = this.#ctx.rest.parse(BalanceSummarySchema, summaryRaw, 'getCash')
    const psbl = await this.#ctx.rest.call({
      op: 'inquire-psbl-order',
      lane: 'reconcile',
      operation: 'getCash',
      query: {
        ...accountFields(this.#ctx),
        PDNO: '',
        ORD_UNPR: '',
        ORD_DVSN: '01',
        CMA_EVLU_AMT_ICLD_YN: 'N',
        OVRS_ICLD_YN: 'N',
      },
    })
    const orderable = this.#ctx.rest.parse(PsblOrderSchema, psbl.body.output, 'getCash')
    return {
      account,
      currency: 'KRW',
      deposit: summary.dnca_tot_amt,
      d1: summary.nxdy_excc_amt,
      d2: summary.prvs_rcdl_excc_amt,
      orderable: orderable.ord_psbl_cash,
    }
  }

  async getQuote(symbolInput: string): Promise<Quote> {
    const symbol = parseOrThrow(SymbolSchema, symbolInput, { operation: 'getQuote' })
    const res = await this.#ctx.rest.call({
      op: 'inquire-price',
      lane: 'market_data',
      operation: 'getQuote',
      // reference §4.7: J = KRX.
      query: { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: symbol },
    })
    const o = this.#ctx.rest.parse(InquirePriceSchema, res.body.output, 'getQuote')
    // reference §4.7 lists these flags by name only; the code meanings below are KIS's published
    // ones for mrkt_warn_cls_code (00 none, 01 caution, 02 warning, 03 risk) and Y/N flags.
    const warn = o.mrkt_warn_cls_code
    const quote: Quote = {
      symbol,
      lastPrice: o.stck_prpr,
      basePrice: o.stck_sdpr,
      upperLimit: o.stck_mxpr,
      lowerLimit: o.stck_llam,
      tickSize: o.aspr_unit,
      ...(o.stck_oprc && o.stck_oprc > 0 ? { open: o.stck_oprc } : {}),
      ...(o.stck_hgpr && o.stck_hgpr > 0 ? { high: o.stck_hgpr } : {}),
      ...(o.stck_lwpr && o.stck_lwpr > 0 ? { low: o.stck_lwpr } : {}),
      ...(o.acml_vol !== undefined && o.acml_vol >= 0 ? { volume: o.acml_vol } : {}),
      state: {
        halted: o.temp_stop_yn === 'Y' || o.iscd_stat_cls_code === '58',
        viActive: o.vi_cls_code !== '' && o.vi_cls_code !== 'N' && o.vi_cls_code !== '0',
        marketWarning:
          warn === '01' ? 'caution' : warn === '02' ? 'warning' : warn === '03' ? 'risk' : 'none',
        shortTermOverheated: o.iscd_stat_cls_code === '59',
        shortSaleOverheated: o.short_over_yn === 'Y',
        administrative: o.mang_issu_cls_code === 'Y' || o.iscd_stat_cls_code === '51',
      },
      at: this.#ctx.clock.now(),
    }
    if (
      !(
        quote.lastPrice > 0 &&
        quote.basePrice > 0 &&
        quote.upperLimit > 0 &&
        quote.lowerLimit > 0 &&
        quote.tickSize > 0
      )
    ) {
      throw new BrokerError('protocol', 'inquire-price returned a non-positive price, limit or tick', {
        operation: 'getQuote',
      })
    }
    return quote
  }
}

function terminalOf(o: DailyOrder): Pick<OrderFillSnapshot, 'terminal'> {
  switch (o.status) {
    case 'canceled':
    case 'rejected':
    case 'expired':
      return { terminal: { type: o.status } }
    case 'replaced':
      return o.replacedBy ? { terminal: { type: 'replaced', newOrderNo: o.replacedBy } } : {}
    default:
      return {}
  }
}
