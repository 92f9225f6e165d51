import type {
  BrokerAck,
  BrokerCapabilities,
  BrokerGateway,
  BrokerOrder,
  BrokerOrderEvent,
  CancelAck,
  CashBalance,
  Clock,
  Fill,
  FillQuery,
  OrderBookSnapshot,
  OrderIntentInput,
  OrderQuery,
  OrderRef,
  Position,
  Quote,
  RandomSource,
  ReplaceAck,
  ReplacePatch,
  Tick,
  Unsubscribe,
} from '@vellab/broker-gateway'
import {
  BrokerError,
  FillQuerySchema,
  notSupportedInEnvironment,
  OrderIntentSchema,
  OrderQuerySchema,
  parseOrThrow,
  ReplacePatchSchema,
  SymbolSchema,
  systemClock,
  systemRandom,
} from '@vellab/broker-gateway'
import WebSocket from 'ws'
import { z } from 'zod'
import { type KisConfig, type KisConfigInput, parseKisConfig } from './config'
import { type DailyOrder, summariseDailyRows } from './daily-orders'
import {
  BalancePositionSchema,
  BalanceSummarySchema,
  type DailyCcldRow,
  DailyCcldRowSchema,
  InquirePriceSchema,
  OrderOutputSchema,
  PsblOrderSchema,
  type PsblRvsecnclRow,
  PsblRvsecnclRowSchema,
} from './envelope'
import { KisError } from './errors'
import { type KisEvent, type KisEventListener, safeEmitter } from './events'
import { isoToCompactDate, kstCompactDate, kstCompactToEpoch } from './kst'
import { type AppKeyLimiterLease, acquireAppKeyLimiters } from './limiter-registry'
import { NoticeSync, type NoticeSyncTuning } from './notice-sync'
import { describeOrdDvsn, mapOrderIntent } from './order-mapping'
import { SlidingWindowLimiter } from './rate-limiter'
import type { KisReplaceAck, ReplaceLeftover } from './replace-ack'
import { type FetchLike, KisRestClient } from './rest-client'
import { SecretRegistry } from './secrets'
import { ApprovalKeyManager, TokenManager } from './token-manager'
import { type TokenStore, tokenStoreKey } from './token-store'
import { KIS_WS_TR } from './tr-ids'
import { type ExecutionNotice, normaliseOrderNo } from './ws/decoders'
import { type OrderFillSnapshot, OrderNoticeTracker } from './ws/notice-tracker'
import { type KisSocket, type KisSocketFactory, KisStreamSession, type SubscriptionHooks } from './ws/session'

/** Options of {@link createKisGateway}. */
export interface KisGatewayOptions {
  /** The configuration (validated here). */
  config: KisConfigInput | KisConfig
  /** Transport for REST. @default globalThis.fetch */
  fetch?: FetchLike
  /** Opens WebSockets. @default `(url) => new WebSocket(url)` from `ws` */
  createSocket?: KisSocketFactory
  /** @default systemClock */
  clock?: Clock
  /** Jitter source. @default systemRandom */
  random?: RandomSource
  /** Where access tokens survive restarts. @default in memory */
  tokenStore?: TokenStore
  /** Telemetry hook (limiter waits, rejects, reconnects, stale streams, latencies). */
  onEvent?: KisEventListener
  /** Stale-stream thresholds (see `KisStreamSessionOptions.streamIdleThreshold`). */
  streamIdleThreshold?: (trId: string, now: number) => number | undefined
  /**
   * Tuning of the REST snapshots that anchor execution-notice totals (see `NoticeSync`).
   * @default { settleMs: 3_000, clockSkewMs: 1_000, maxVerifications: 3, retryBaseMs: 1_000, retryMaxMs: 30_000, maxRetries: 5 }
   */
  noticeSync?: NoticeSyncTuning
  /**
   * Share the REST, token and approval limiters with every other gateway of this process on the
   * same app key, environment and clock (reference §8: the limits are per app key). The first
   * gateway's `limits` apply to all. @default true
   */
  shareLimiters?: boolean
}

interface KnownOrder {
  branch: string
  ordDvsn: string
  venue: string
  symbol: string
  price: number
}

/** A diagnostic snapshot with no secrets in it. */
export interface KisGatewaySnapshot {
  environment: string
  account: string
  restBaseUrl: string
  wsUrl: string
  limiter: { limit: number; windowMs: number; queueDepth: number }
  tokenExpiresAt: number | undefined
  tokensIssued: number
  approvalKeysIssued: number
  ws: { state: string; subscriptions: number; acknowledged: number; budget: number; connectAttempts: number }
}

const LooseArray = z.array(z.unknown())

// reference §5: divisions that carry no price (ORD_UNPR "0"); a reprice makes them limit orders.
const PRICELESS_ORD_DVSN: ReadonlySet<string> = new Set([
  '01',
  '03',
  '04',
  '05',
  '06',
  '13',
  '14',
  '15',
  '16',
])

/**
 * The KIS implementation of `BrokerGateway`. Strategy code sees contract types only: no TR ids,
 * string numbers or `^` frames.
 */
export class KisGateway implements BrokerGateway {
  readonly config: KisConfig
  /**
   * What this environment can answer (`config.capabilities`; by default the paper environment
   * lists neither orders nor fills, see `KIS_DEFAULT_CAPABILITIES`).
   */
  readonly capabilities: BrokerCapabilities
  readonly limiter: SlidingWindowLimiter
  readonly tokens: TokenManager
  readonly approvals: ApprovalKeyManager
  readonly rest: KisRestClient
  readonly stream: KisStreamSession
  readonly #secrets = new SecretRegistry()
  readonly #clock: Clock
  readonly #emit: KisEventListener
  readonly #known = new Map<string, KnownOrder>()
  #knownDay = ''
  readonly #checkQuotes = new Map<string, { quote: Quote; at: number }>()
  readonly #tracker = new OrderNoticeTracker()
  readonly #orderListeners = new Set<(e: BrokerOrderEvent) => void>()
  readonly #gapListeners = new Set<(reason: string) => void>()
  readonly #noticeSync: NoticeSync
  readonly #limiterLease: AppKeyLimiterLease | undefined
  #noticeRelease: Unsubscribe | undefined
  #noticesLive = false
  readonly #liveWaiters: (() => void)[] = []

  constructor(options: KisGatewayOptions) {
    const config = 'cano' in options.config ? options.config : parseKisConfig(options.config)
    this.config = config
    this.capabilities = config.capabilities
    this.#secrets.add(config.appKey)
    this.#secrets.add(config.appSecret)
    this.#clock = options.clock ?? systemClock
    const random = options.random ?? systemRandom
    const user = safeEmitter(options.onEvent)
    // Every event passes the redactor: even a broker message echoing a key cannot leak it.
    this.#emit = (e: KisEvent) => user(this.#secrets.redactDeep(e))
    const createLimiters = (emit: KisEventListener) => ({
      rest: new SlidingWindowLimiter({
        name: 'rest',
        limit: config.limits.restPerSecond,
        safetyMarginMs: config.limits.safetyMarginMs,
        clock: this.#clock,
        onEvent: emit,
      }),
      // reference §8: tokenP and Approval have separate published limits (1 req/s each). One shared
      // limiter would make the approval key of a cold start wait a whole window behind the token.
      token: new SlidingWindowLimiter({
        name: 'token',
        limit: config.limits.tokenPerSecond,
        clock: this.#clock,
        onEvent: emit,
      }),
      approval: new SlidingWindowLimiter({
        name: 'approval',
        limit: config.limits.approvalPerSecond,
        clock: this.#clock,
        onEvent: emit,
      }),
    })
    this.#limiterLease =
      options.shareLimiters === false
        ? undefined
        : acquireAppKeyLimiters(
            tokenStoreKey(config.environment, config.appKey),
            this.#clock,
            this.#emit,
            createLimiters,
          )
    const limiters = this.#limiterLease?.limiters ?? createLimiters(this.#emit)
    this.limiter = limiters.rest
    const tokenLimiter = limiters.token
    const approvalLimiter = limiters.approval
    this.rest = new KisRestClient({
      config,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      clock: this.#clock,
      random,
      limiter: this.limiter,
      tokenLimiter,
      approvalLimiter,
      secrets: this.#secrets,
      emit: this.#emit,
    })
    this.tokens = new TokenManager({
      issue: () => this.rest.issueToken(),
      storeKey: tokenStoreKey(config.environment, config.appKey),
      ...(options.tokenStore ? { store: options.tokenStore } : {}),
      clock: this.#clock,
      minIssueIntervalMs: config.limits.tokenMinIntervalMs,
      onEvent: this.#emit,
      onSecret: (v) => this.#secrets.add(v),
    })
    this.rest.useTokens(this.tokens)
    this.approvals = new ApprovalKeyManager({
      issue: () => this.rest.issueApprovalKey(),
      clock: this.#clock,
      onEvent: this.#emit,
      onSecret: (v) => this.#secrets.add(v),
    })
    const ws = config.websocket
    const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as KisSocket)
    this.stream = new KisStreamSession({
      url: config.wsUrl,
      createSocket,
      approvals: this.approvals,
      clock: this.#clock,
      random,
      emit: this.#emit,
      custType: config.custType,
      budget: config.limits.subscriptionBudget,
      reconnect: {
        baseMs: ws.reconnectBaseMs,
        maxMs: ws.reconnectMaxMs,
        appKeyInUseMs: ws.appKeyInUseBackoffMs,
        threshold: ws.circuitFailureThreshold,
        windowMs: ws.circuitWindowMs,
        openMs: ws.circuitOpenMs,
        slotHoldMs: ws.slotHoldMs,
        stableSessionMs: ws.stableSessionMs,
        connectsPerMinute: ws.connectsPerMinute,
        connectBudgetMarginMs: ws.connectBudgetMarginMs,
      },
      streamResubscribeMaxMs: ws.streamResubscribeMaxMs,
      socketIdleMs: ws.socketIdleMs,
      streamIdleMs: ws.streamIdleMs,
      watchdogIntervalMs: ws.watchdogIntervalMs,
      connectTimeoutMs: ws.connectTimeoutMs,
      ...(options.streamIdleThreshold ? { streamIdleThreshold: options.streamIdleThreshold } : {}),
      onGap: (reason) => {
        for (const l of this.#gapListeners) {
          try {
            l(reason)
          } catch {
            // Listener bugs stay with the listener.
          }
        }
      },
      noticeTrIds: [KIS_WS_TR.notice.real, KIS_WS_TR.notice.paper],
    })
    this.#noticeSync = new NoticeSync({
      ...options.noticeSync,
      tracker: this.#tracker,
      account: config.account,
      clock: this.#clock,
      fetchSnapshot: () => this.#fillSnapshot(),
      canSnapshot: config.capabilities.listOrders,
      onCatchUpUnavailable: () =>
        this.#tellGap(
          'execution notices sent while not subscribed cannot be caught up: this environment cannot list today’s orders',
        ),
      deliver: (events) => this.#deliver(events),
      emit: this.#emit,
      // An unconfirmed modify/cancel is a gap in what the stream told: the owner reconciles it.
      onUnconfirmed: (p) => this.#tellGap(`unconfirmed ${p.kind} ${p.requestNo} of order ${p.target}`),
    })
  }

  /**
   * Orders this process placed today. KIS numbers orders afresh every KST day, so what was known
   * about yesterday's number must never be used for today's order with the same number.
   */
  #knownToday(): Map<string, KnownOrder> {
    const day = this.#today()
    if (day !== this.#knownDay) {
      this.#known.clear()
      this.#knownDay = day
    }
    return this.#known
  }

  /** See `config.priceCheck`. Throws `invalid_request` before anything is sent. */
  async #checkPrice(symbol: string, price: number, operation: string): Promise<void> {
    if (this.config.priceCheck !== 'quote') return
    const now = this.#clock.now()
    let cached = this.#checkQuotes.get(symbol)
    if (
      !cached ||
      now - cached.at > this.config.priceCheckQuoteMaxAgeMs ||
      kstCompactDate(cached.at) !== kstCompactDate(now)
    ) {
      cached = { quote: await this.getQuote(symbol), at: now }
      this.#checkQuotes.set(symbol, cached)
    }
    const q = cached.quote
    if (price > q.upperLimit || price < q.lowerLimit) {
      throw new BrokerError(
        'invalid_request',
        `limit price ${price} is outside today's limits for ${symbol} (${q.lowerLimit}–${q.upperLimit})`,
        { operation },
      )
    }
    if (krxPriceBand(price) === krxPriceBand(q.lastPrice) && price % q.tickSize !== 0) {
      throw new BrokerError(
        'invalid_request',
        `limit price ${price} is not on the ${q.tickSize}-KRW tick grid of ${symbol}`,
        { operation },
      )
    }
  }

  #tellGap(reason: string): void {
    for (const l of this.#gapListeners) {
      try {
        l(reason)
      } catch {
        // Listener bugs stay with the listener.
      }
    }
  }

  #requireListing(capability: 'listOrders' | 'listFills', operation: string): void {
    if (this.capabilities[capability]) return
    throw notSupportedInEnvironment(
      operation,
      capability === 'listOrders'
        ? `the ${this.config.environment} environment cannot list today's orders (reference §7.10; set capabilities.listOrders if yours can)`
        : `the ${this.config.environment} environment cannot list fills (reference §7.10; set capabilities.listFills if yours can)`,
    )
  }

  // ---------------------------------------------------------------- helpers

  #checkAccount(account: string, operation: string): void {
    if (account !== this.config.account) {
      throw new BrokerError('invalid_request', `account ${account} is not the configured account`, {
        operation,
      })
    }
  }

  #accountFields(): { CANO: string; ACNT_PRDT_CD: string } {
    return { CANO: this.config.cano, ACNT_PRDT_CD: this.config.productCode }
  }

  #today(): string {
    return kstCompactDate(this.#clock.now())
  }

  #rows<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S>[] {
    // An empty list may come as [], as a missing key, or as one all-empty object.
    if (value === undefined || value === null || value === '') return []
    const arr = this.rest.parse(LooseArray, Array.isArray(value) ? value : [value], operation)
    return arr
      .filter((r) => !(r && typeof r === 'object' && Object.values(r).every((v) => v === '' || v === null)))
      .map((r) => this.rest.parse(schema, r, operation))
  }

  /**
   * Resolves once the execution-notice registration (started by `streamOrderEvents`) has been
   * acknowledged by the broker (the first time; later gaps are reported through `onStreamGap`). Where the environment cannot list today's orders
   * (`capabilities.listOrders` false), a notice sent before that moment cannot be caught up, so a
   * caller should not place orders before it; rejects with an `unavailable` error after `timeoutMs`.
   */
  whenOrderEventsLive(timeoutMs = 30_000): Promise<void> {
    if (this.#noticesLive) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        const i = this.#liveWaiters.indexOf(done)
        if (i >= 0) this.#liveWaiters.splice(i, 1)
        reject(
          new BrokerError('unavailable', `execution notices not live after ${timeoutMs} ms`, {
            operation: 'whenOrderEventsLive',
          }),
        )
      }, timeoutMs)
      const done = () => {
        this.#clock.clearTimeout(timer)
        resolve()
      }
      this.#liveWaiters.push(done)
    })
  }

  /** Register a listener told when stream data may have been missed; reconcile via REST then. */
  onStreamGap(listener: (reason: string) => void): Unsubscribe {
    this.#gapListeners.add(listener)
    return () => {
      this.#gapListeners.delete(listener)
    }
  }

  /** A snapshot for diagnostics. Contains no secret. */
  snapshot(): KisGatewaySnapshot {
    return this.#secrets.redactDeep({
      environment: this.config.environment,
      account: this.config.account,
      restBaseUrl: this.config.restBaseUrl,
      wsUrl: this.config.wsUrl,
      limiter: {
        limit: this.limiter.limit,
        windowMs: this.limiter.windowMs,
        queueDepth: this.limiter.queueDepth,
      },
      tokenExpiresAt: this.tokens.expiresAt,
      tokensIssued: this.tokens.issuedCount,
      approvalKeysIssued: this.approvals.issuedCount,
      ws: {
        state: this.stream.state,
        subscriptions: this.stream.budget.used,
        acknowledged: this.stream.acknowledged,
        budget: this.stream.budget.max,
        connectAttempts: this.stream.connectAttempts,
      },
    })
  }

  toJSON(): KisGatewaySnapshot {
    return this.snapshot()
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KisGateway ${JSON.stringify(this.snapshot())}`
  }

  /** Close the WebSocket session and stop timers. */
  async close(): Promise<void> {
    this.#noticeSync.close()
    this.stream.close()
    this.#limiterLease?.release()
  }

  // ---------------------------------------------------------------- orders

  async placeOrder(input: OrderIntentInput): Promise<BrokerAck> {
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'placeOrder' })
    this.#checkAccount(intent.account, 'placeOrder')
    const fields = mapOrderIntent(intent, this.config.environment)
    if (intent.limitPrice !== undefined)
      await this.#checkPrice(intent.symbol, intent.limitPrice, 'placeOrder')
    const res = await this.rest.call({
      op: intent.side === 'buy' ? 'order-cash-buy' : 'order-cash-sell',
      lane: 'order',
      operation: 'placeOrder',
      body: { ...this.#accountFields(), PDNO: intent.symbol, ...fields },
    })
    const out = this.#orderOutput(res.body, 'placeOrder')
    this.#knownToday().set(out.odno, {
      branch: out.branch,
      ordDvsn: fields.ORD_DVSN,
      venue: fields.EXCG_ID_DVSN_CD,
      symbol: intent.symbol,
      price: intent.limitPrice ?? 0,
    })
    return { intentId: intent.intentId, brokerOrderId: out.odno, acceptedAt: this.#clock.now() }
  }

  #orderOutput(body: Record<string, unknown>, operation: string): { odno: string; branch: string } {
    try {
      const o = this.rest.parse(OrderOutputSchema, body.output, operation)
      return { odno: normaliseOrderNo(o.ODNO), branch: o.KRX_FWDG_ORD_ORGNO }
    } catch (e) {
      // rt_cd was "0": the broker took the order, we just cannot read its number.
      throw new BrokerError(
        'unknown_outcome',
        'order accepted but the response has no usable ODNO; reconcile',
        {
          operation,
          cause: e,
        },
      )
    }
  }

  /** Branch and division of an order: from our own acks, else from the broker's lists. */
  async #lookup(odno: string, operation: string): Promise<KnownOrder & { remaining: number }> {
    const known = this.#knownToday().get(odno)
    if (!this.capabilities.listOrders) {
      // Nothing to look up in this environment (reference §7.10). An order this process placed is
      // modified from what it knows; the broker checks the quantity (a modify beyond what is left is
      // refused, 40430000), so an unknown remainder is sent as a partial modify.
      if (known) return { ...known, remaining: Number.POSITIVE_INFINITY }
      throw notSupportedInEnvironment(
        operation,
        `order ${odno} was not placed by this process and this environment cannot list orders to look it up`,
      )
    }
    const open = (await this.#openRows('cancel', operation)).find((o) => o.odno === odno)
    if (!open) {
      throw new BrokerError('rejected', `order ${odno} has nothing left to modify or cancel`, { operation })
    }
    return {
      branch: known?.branch || open.branch,
      ordDvsn: known?.ordDvsn ?? open.ordDvsn,
      venue: known?.venue ?? (this.config.environment === 'paper' ? 'KRX' : open.venue || 'KRX'),
      symbol: open.symbol,
      price: open.price,
      remaining: open.remaining,
    }
  }

  async cancelOrder(brokerOrderId: string, ref?: OrderRef): Promise<CancelAck> {
    if (ref?.account) this.#checkAccount(ref.account, 'cancelOrder')
    const odno = this.#orderNo(brokerOrderId, 'cancelOrder')
    const known = this.#knownToday().get(odno)
    // A known order is cancelled straight away (no lookup on the kill-switch path); the broker
    // refuses if nothing is left. Unknown orders (after a restart) are looked up first.
    const info = known ?? (await this.#lookup(odno, 'cancelOrder'))
    // reference §4.2 + §9: cancel = RVSE_CNCL_DVSN_CD 02, QTY_ALL_ORD_YN Y, ORD_QTY "0", ORD_UNPR "0".
    const res = await this.rest.call({
      op: 'order-rvsecncl',
      lane: 'cancel',
      operation: 'cancelOrder',
      body: {
        ...this.#accountFields(),
        KRX_FWDG_ORD_ORGNO: info.branch,
        ORGN_ODNO: odno,
        ORD_DVSN: info.ordDvsn || '00',
        RVSE_CNCL_DVSN_CD: '02',
        ORD_QTY: '0',
        ORD_UNPR: '0',
        QTY_ALL_ORD_YN: 'Y',
        EXCG_ID_DVSN_CD: info.venue || 'KRX',
      },
    })
    const out = this.#orderOutput(res.body, 'cancelOrder')
    return { brokerOrderId: odno, cancelRequestId: out.odno, acceptedAt: this.#clock.now() }
  }

  /**
   * Replace a resting order (reference §4.2). The replacement always gets a new ODNO.
   *
   * - Without a smaller `quantity`: one modify of the whole remainder (RVSE_CNCL_DVSN_CD 01,
   *   QTY_ALL_ORD_YN Y). A priceless division (market, best/top-priority limit…) becomes a limit
   *   order (00) when repriced, since only a priced division carries ORD_UNPR.
   * - With a smaller `quantity` q: a modify of q shares (QTY_ALL_ORD_YN N, ORD_QTY q) creates the
   *   replacement, then the original's rest is cancelled (02, Y). A partial modify alone is not a
   *   reduction: on KRX it moves only ORD_QTY shares under the new number and leaves the rest
   *   working under the original, so without the cancel the exposure would not shrink. Should the
   *   cancel fail, the total working quantity is still what it was before the replace, never more.
   *
   * Once the modify is accepted this resolves with the ack, whatever happens to the cancel of the
   * rest; `leftover` says what did (see {@link ReplaceLeftover}). Rejects only when the modify
   * itself failed (then nothing changed, or `unknown_outcome`).
   */
  async replaceOrder(
    brokerOrderId: string,
    patchInput: ReplacePatch,
    ref?: OrderRef,
  ): Promise<KisReplaceAck> {
    if (ref?.account) this.#checkAccount(ref.account, 'replaceOrder')
    const patch = parseOrThrow(ReplacePatchSchema, patchInput, { operation: 'replaceOrder' })
    const odno = this.#orderNo(brokerOrderId, 'replaceOrder')
    const info = await this.#lookup(odno, 'replaceOrder')
    if (patch.quantity !== undefined && patch.quantity > info.remaining) {
      throw new BrokerError(
        'invalid_request',
        `quantity ${patch.quantity} exceeds the remaining ${info.remaining}`,
        { operation: 'replaceOrder' },
      )
    }
    if (patch.limitPrice !== undefined) await this.#checkPrice(info.symbol, patch.limitPrice, 'replaceOrder')
    const price = patch.limitPrice ?? info.price
    const ordDvsn =
      !info.ordDvsn || (patch.limitPrice !== undefined && PRICELESS_ORD_DVSN.has(info.ordDvsn))
        ? '00'
        : info.ordDvsn
    const priceless = PRICELESS_ORD_DVSN.has(ordDvsn)
    if (!priceless && !(price > 0)) {
      throw new BrokerError('invalid_request', 'replace needs a limitPrice for an unpriced order', {
        operation: 'replaceOrder',
      })
    }
    const partial = patch.quantity !== undefined && patch.quantity < info.remaining
    const common = {
      ...this.#accountFields(),
      KRX_FWDG_ORD_ORGNO: info.branch,
      ORGN_ODNO: odno,
      EXCG_ID_DVSN_CD: info.venue || 'KRX',
    }
    const res = await this.rest.call({
      op: 'order-rvsecncl',
      lane: 'order',
      operation: 'replaceOrder',
      body: {
        ...common,
        ORD_DVSN: ordDvsn,
        RVSE_CNCL_DVSN_CD: '01',
        ORD_QTY: partial ? String(patch.quantity) : '0',
        ORD_UNPR: priceless ? '0' : String(price),
        QTY_ALL_ORD_YN: partial ? 'N' : 'Y',
      },
    })
    const out = this.#orderOutput(res.body, 'replaceOrder')
    this.#knownToday().set(out.odno, {
      ...info,
      ordDvsn,
      branch: out.branch || info.branch,
      price: priceless ? 0 : price,
    })
    const ack: ReplaceAck = { brokerOrderId: odno, newBrokerOrderId: out.odno, acceptedAt: this.#clock.now() }
    if (!partial) return ack
    // Why a failed cancel of the rest still resolves with the ack, and not with a BrokerError:
    // the modify was accepted, so the new number is live and a caller that keeps the order in a
    // durable store must record the replace; the ack is what every caller records on success. A
    // thrown error is read as the outcome of the replace itself: `rejected` would be recorded as a
    // refused replace while the new number works (its fills then land on an order that does not
    // know it), and `rate_limited`/`unavailable` mean "nothing happened, safe to retry" by contract,
    // so a retry would modify another q shares off the rest into a second new number, more than the
    // caller ever asked for. A caller that overlooks `leftover` is left with the rest still working
    // under the original number, which its store already owns (fills there are still applied), and
    // never with more working shares than before the replace. `leftover` is always set on a
    // reducing replace, and a `replace.leftover` event reports a failure to telemetry as well.
    const leftover = await this.#cancelLeftover(odno, info, common, out.odno, patch.quantity ?? 0)
    this.#emit({
      type: 'replace.leftover',
      outcome: leftover.status,
      brokerOrderId: odno,
      newBrokerOrderId: out.odno,
      ...(leftover.status === 'cancel_failed'
        ? { kind: leftover.error.kind, message: leftover.error.message }
        : {}),
    })
    return { ...ack, leftover }
  }

  /** Cancel (02, QTY_ALL_ORD_YN Y) what a partial modify left under the original (reference §4.2). */
  async #cancelLeftover(
    odno: string,
    info: KnownOrder,
    common: Record<string, string>,
    newOdno: string,
    quantity: number,
  ): Promise<ReplaceLeftover> {
    try {
      const res = await this.rest.call({
        op: 'order-rvsecncl',
        lane: 'cancel',
        operation: 'replaceOrder',
        body: {
          ...common,
          ORD_DVSN: info.ordDvsn || '00',
          RVSE_CNCL_DVSN_CD: '02',
          ORD_QTY: '0',
          ORD_UNPR: '0',
          QTY_ALL_ORD_YN: 'Y',
        },
      })
      const out = this.#orderOutput(res.body, 'replaceOrder')
      return { status: 'canceled', brokerOrderId: odno, cancelRequestId: out.odno }
    } catch (e) {
      const cause = BrokerError.isInstance(e)
        ? e
        : new BrokerError('unknown_outcome', e instanceof Error ? e.message : String(e), {
            operation: 'replaceOrder',
            cause: e,
          })
      // Say what did happen: the replacement exists; the original's rest may still be working.
      const error = new BrokerError(
        cause.kind,
        `replacement ${newOdno} holds ${quantity} shares, but cancelling the rest of ${odno} failed; cancel it: ${cause.message}`,
        {
          operation: 'replaceOrder',
          cause,
          ...(cause.brokerCode ? { brokerCode: cause.brokerCode } : {}),
          ...(cause.httpStatus ? { httpStatus: cause.httpStatus } : {}),
          ...(cause.retryAfterMs !== undefined ? { retryAfterMs: cause.retryAfterMs } : {}),
        },
      )
      return { status: 'cancel_failed', brokerOrderId: odno, error }
    }
  }

  #orderNo(id: string, operation: string): string {
    try {
      return normaliseOrderNo(id)
    } catch {
      throw new BrokerError('invalid_request', `not a KIS order number: ${JSON.stringify(id.slice(0, 20))}`, {
        operation,
      })
    }
  }

  // ---------------------------------------------------------------- queries

  async #openRows(
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
      at: number
    }[]
  > {
    const today = this.#today()
    if (this.config.environment === 'real') {
      // reference §4.3: inquire-psbl-rvsecncl lists what can still be modified or cancelled.
      const pages = await this.rest.paginate({
        op: 'inquire-psbl-rvsecncl',
        lane,
        operation,
        query: { ...this.#accountFields(), INQR_DVSN_1: '0', INQR_DVSN_2: '0' },
      })
      return pages
        .flatMap((p) => this.#rows(PsblRvsecnclRowSchema, p.output, operation))
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
          at: kstCompactToEpoch(today, r.ord_tmd) ?? this.#clock.now(),
        }))
    }
    // reference §4.3: not offered on paper; use inquire-daily-ccld with CCLD_DVSN 02 (unfilled).
    const rows = await this.#dailyRows({ from: today, to: today, ccld: '02' }, lane, operation)
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
        at: kstCompactToEpoch(r.ord_dt, r.ord_tmd) ?? this.#clock.now(),
      }))
  }

  async #dailyRows(
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
    // reference §4.4: ≤3 months TTTC0081R, older CTSC9215R (same path).
    const ageDays =
      (this.#clock.now() - (kstCompactToEpoch(q.from, '000000') ?? this.#clock.now())) / 86_400_000
    const pages = await this.rest.paginate({
      op: ageDays > 90 ? 'inquire-daily-ccld-archive' : 'inquire-daily-ccld',
      lane,
      operation,
      query: {
        ...this.#accountFields(),
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
        EXCG_ID_DVSN_CD: this.config.environment === 'paper' ? 'KRX' : 'ALL',
      },
    })
    return pages.flatMap((p) => this.#rows(DailyCcldRowSchema, p.output1, operation))
  }

  /** Today's orders as the notice tracker's snapshot (reference §4.4, CCLD_DVSN 00). */
  async #fillSnapshot(): Promise<OrderFillSnapshot[]> {
    const today = this.#today()
    const rows = await this.#dailyRows({ from: today, to: today, ccld: '00' }, 'reconcile', 'noticeSync')
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
    this.#checkAccount(account, 'getOpenOrders')
    this.#requireListing('listOrders', 'getOpenOrders')
    const rows = await this.#openRows('reconcile', 'getOpenOrders')
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
    this.#checkAccount(account, 'getOrders')
    this.#requireListing('listOrders', 'getOrders')
    const q = parseOrThrow(OrderQuerySchema, queryInput, { operation: 'getOrders' })
    const today = this.#today()
    const rows = await this.#dailyRows(
      {
        from: q.from ? isoToCompactDate(q.from) : today,
        to: q.to ? isoToCompactDate(q.to) : today,
        ccld: '00',
        ...(q.side ? { side: q.side } : {}),
        ...(q.symbol ? { symbol: q.symbol } : {}),
        ...(q.brokerOrderId ? { odno: this.#orderNo(q.brokerOrderId, 'getOrders') } : {}),
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
        submittedAt: kstCompactToEpoch(o.orderDate, o.orderTime) ?? this.#clock.now(),
      }
    })
  }

  /**
   * Fills from inquire-daily-ccld. KIS reports per order the cumulative filled quantity and average
   * price, not each execution, so each order yields one fill record keyed by its cumulative
   * quantity (`<odno>:<cum>`): applying it is "advance to cum", idempotent by construction.
   */
  async getFills(account: string, queryInput: FillQuery = {}): Promise<Fill[]> {
    this.#checkAccount(account, 'getFills')
    this.#requireListing('listFills', 'getFills')
    const q = parseOrThrow(FillQuerySchema, queryInput, { operation: 'getFills' })
    const today = this.#today()
    const rows = await this.#dailyRows(
      {
        from: q.from ? isoToCompactDate(q.from) : today,
        to: q.to ? isoToCompactDate(q.to) : today,
        ccld: '01',
        ...(q.symbol ? { symbol: q.symbol } : {}),
        ...(q.brokerOrderId ? { odno: this.#orderNo(q.brokerOrderId, 'getFills') } : {}),
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
        at: kstCompactToEpoch(r.ord_dt, r.ord_tmd) ?? this.#clock.now(),
      })
    }
    return fills
  }

  #balanceQuery(): Record<string, string> {
    // reference §4.5 query parameters.
    return {
      ...this.#accountFields(),
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
    this.#checkAccount(account, 'getPositions')
    const pages = await this.rest.paginate({
      op: 'inquire-balance',
      lane: 'reconcile',
      operation: 'getPositions',
      query: this.#balanceQuery(),
    })
    const merged = new Map<string, Position>()
    for (const p of pages) {
      for (const r of this.#rows(BalancePositionSchema, p.output1, 'getPositions')) {
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
    this.#checkAccount(account, 'getCash')
    const bal = await this.rest.call({
      op: 'inquire-balance',
      lane: 'reconcile',
      operation: 'getCash',
      query: { ...this.#balanceQuery(), CTX_AREA_FK100: '', CTX_AREA_NK100: '' },
    })
    // reference §3.2: output2 is an array with one element (accept a bare object too).
    const summaryRaw = Array.isArray(bal.body.output2) ? bal.body.output2[0] : bal.body.output2
    const summary = this.rest.parse(BalanceSummarySchema, summaryRaw, 'getCash')
    const psbl = await this.rest.call({
      op: 'inquire-psbl-order',
      lane: 'reconcile',
      operation: 'getCash',
      query: {
        ...this.#accountFields(),
        PDNO: '',
        ORD_UNPR: '',
        ORD_DVSN: '01',
        CMA_EVLU_AMT_ICLD_YN: 'N',
        OVRS_ICLD_YN: 'N',
      },
    })
    const orderable = this.rest.parse(PsblOrderSchema, psbl.body.output, 'getCash')
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
    const res = await this.rest.call({
      op: 'inquire-price',
      lane: 'market_data',
      operation: 'getQuote',
      // reference §4.7: J = KRX.
      query: { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: symbol },
    })
    const o = this.rest.parse(InquirePriceSchema, res.body.output, 'getQuote')
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
      at: this.#clock.now(),
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

  // ---------------------------------------------------------------- streams

  #symbols(symbols: string[], operation: string): string[] {
    return [...new Set(symbols.map((s) => parseOrThrow(SymbolSchema, s, { operation })))]
  }

  streamTicks(symbols: string[], onTick: (tick: Tick) => void): Unsubscribe {
    const list = this.#symbols(symbols, 'streamTicks')
    return this.#subscribe(
      list.map((s) => ({ trId: KIS_WS_TR.trade, trKey: s })),
      (t) => onTick(t as Tick),
      'streamTicks',
    )
  }

  streamOrderBooks(symbols: string[], onBook: (book: OrderBookSnapshot) => void): Unsubscribe {
    const list = this.#symbols(symbols, 'streamOrderBooks')
    return this.#subscribe(
      list.map((s) => ({ trId: KIS_WS_TR.book, trKey: s })),
      (b) => onBook(b as OrderBookSnapshot),
      'streamOrderBooks',
    )
  }

  #subscribe(
    pairs: { trId: string; trKey: string }[],
    l: (x: unknown) => void,
    operation: string,
    pinned = false,
    hooks?: SubscriptionHooks,
  ): Unsubscribe {
    try {
      return this.stream.subscribe(pairs, l, pinned, hooks)
    } catch (e) {
      if (KisError.isInstance(e) && e.code === 'KIS_SUBSCRIPTION_BUDGET') {
        // reference §8: the broker would answer OPSP0008; we refuse before sending anything.
        throw new BrokerError('rejected', e.message, { operation, brokerCode: 'OPSP0008', cause: e })
      }
      throw e
    }
  }

  #onNotice(n: ExecutionNotice): void {
    // ACNT_NO (reference §7.9, 10 chars) is CANO + ACNT_PRDT_CD; one HTS id receives notices for
    // every linked account (§7.9, NOTICE-LIMITS), including other products of the same CANO.
    if (n.accountNo && !this.#isOwnAccountNo(n.accountNo)) return
    // Applied once per notice, then fanned out, so every listener sees the same cumulative events.
    const now = this.#clock.now()
    this.#deliver(this.#tracker.apply(n, this.config.account, kstCompactDate(now), now, now))
  }

  #deliver(events: readonly BrokerOrderEvent[]): void {
    for (const l of this.#orderListeners) {
      for (const e of events) {
        try {
          l(e)
        } catch {
          // A consumer's bug must not stop the others.
        }
      }
    }
  }

  #isOwnAccountNo(accountNo: string): boolean {
    const { cano, productCode } = this.config
    if (accountNo.length >= cano.length + productCode.length) return accountNo === `${cano}${productCode}`
    return accountNo === cano
  }

  streamOrderEvents(account: string, onEvent: (event: BrokerOrderEvent) => void): Unsubscribe {
    this.#checkAccount(account, 'streamOrderEvents')
    const htsId = this.config.htsId
    if (!htsId) {
      throw new BrokerError('invalid_request', 'streamOrderEvents needs config.htsId (the notice tr_key)', {
        operation: 'streamOrderEvents',
      })
    }
    const listener = (e: BrokerOrderEvent) => onEvent(e)
    // Registered first: the catch-up events of the first snapshot go to this listener too.
    this.#orderListeners.add(listener)
    if (!this.#noticeRelease) {
      // The notice subscription is pinned: one registration, kept across reconnects, shared by all.
      const trId = KIS_WS_TR.notice[this.config.environment]
      // Before every (re)subscription a REST snapshot anchors the running totals, and another
      // follows the ack (see NoticeSync): notices carry per-fill quantities only (§7.9) and KIS
      // does not replay what was sent during a gap.
      this.#noticeRelease = this.#subscribe(
        [{ trId, trKey: htsId }],
        (x) => this.#onNotice(x as ExecutionNotice),
        'streamOrderEvents',
        true,
        {
          beforeSubscribe: () => this.#noticeSync.beforeSubscribe(),
          onAcknowledged: () => {
            this.#noticesLive = true
            for (const w of this.#liveWaiters.splice(0)) w()
            this.#noticeSync.onSubscribed()
          },
        },
      )
    }
    return () => {
      this.#orderListeners.delete(listener)
    }
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

/**
 * Create a KIS gateway.
 *
 * @example
 * ```ts
 * const kis = createKisGateway({
 *   config: { environment: 'paper', appKey, appSecret, account: '50123456-01', htsId: 'myhtsid' },
 *   onEvent: (e) => metrics.record(e),
 * })
 * const quote = await kis.getQuote('005930')
 * ```
 */
export function createKisGateway(options: KisGatewayOptions): KisGateway {
  return new KisGateway(options)
}

/**
 * The KRX stock price band a price falls in (tick table effective 2023-01-25,
 * reference/krx-market-rules.md §3.1): within one band the tick size does not change.
 */
function krxPriceBand(price: number): number {
  const edges = [2_000, 5_000, 20_000, 50_000, 200_000, 500_000]
  const i = edges.findIndex((e) => price < e)
  return i === -1 ? edges.length : i
}
