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
  ReplacePatch,
  Tick,
  Unsubscribe,
} from '@vellab/broker-gateway'
import { sleep, systemClock, systemRandom } from '@vellab/broker-gateway'
import WebSocket from 'ws'
import { type KisConfig, type KisConfigInput, parseKisConfig } from './config'
import { type KisEvent, type KisEventListener, safeEmitter } from './events'
import type { GatewayContext } from './gateway/context'
import { KisOrders } from './gateway/orders'
import { KisQueries } from './gateway/queries'
import { KisStreams } from './gateway/streams'
import { type AppKeyLimiterLease, acquireAppKeyLimiters } from './limiter-registry'
import type { ListingStore } from './listing-store'
import { NoticeSync, type NoticeSyncTuning } from './notice-sync'
import { SlidingWindowLimiter } from './rate-limiter'
import type { KisReplaceAck, ReplaceLeftover } from './replace-ack'
import { type FetchLike, KisRestClient } from './rest-client'
import { SecretRegistry } from './secrets'
import { ApprovalKeyManager, TokenManager } from './token-manager'
import { type TokenStore, tokenStoreKey } from './token-store'
import { KIS_WS_TR } from './tr-ids'
import { OrderNoticeTracker } from './ws/notice-tracker'
import { type KisSocket, type KisSocketFactory, KisStreamSession } from './ws/session'

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
  /**
   * Where today's order listing survives a restart, so that a process taking over (a standby, a
   * restart) reads the day incrementally from its first listing instead of paging the whole day
   * (on paper, 15 rows a page: late in a busy day, hundreds of requests before reconciliation can
   * run). Give every process of the account the same store (`PostgresListingStore` on the
   * deployment's database). @default none (each process's first listing of the day is whole)
   */
  listingStore?: ListingStore
  /**
   * Called right before every REST request leaves (after its rate slot is granted); throwing stops
   * the request, and the error reaches the caller unchanged (nothing was sent). For a lease on the
   * appkey: `() => lease.assertFresh()` (`@vellab/lease`), so a process that may have lost the
   * appkey to a standby spends none of its rate budget. WebSocket reconnects are not hooked: after
   * an unclean close the first retry waits `websocket.slotHoldMs` (20 s), by which time such a
   * process has stopped.
   */
  beforeRequest?: () => void
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

/**
 * The KIS implementation of `BrokerGateway`. Strategy code sees contract types only: no TR ids,
 * string numbers or `^` frames.
 */
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
  readonly #noticeSync: NoticeSync
  readonly #limiterLease: AppKeyLimiterLease | undefined
  readonly #queries: KisQueries
  readonly #orders: KisOrders
  readonly #streams: KisStreams
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
        holdFirstWindow: config.limits.holdFirstWindow,
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
      ...(options.beforeRequest ? { beforeRequest: options.beforeRequest } : {}),
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
      onGap: (reason) => this.#streams.tellGap(reason),
      noticeTrIds: [KIS_WS_TR.notice.real, KIS_WS_TR.notice.paper],
    })
    const ctx: GatewayContext = {
      config,
      capabilities: this.capabilities,
      rest: this.rest,
      clock: this.#clock,
      emit: this.#emit,
      ...(options.listingStore ? { listingStore: options.listingStore } : {}),
    }
    this.#queries = new KisQueries(ctx)
    this.#orders = new KisOrders(ctx, this.#queries)
    const tracker = new OrderNoticeTracker()
    this.#streams = new KisStreams(ctx, this.stream, tracker)
    this.#noticeSync = new NoticeSync({
      ...options.noticeSync,
      tracker,
      account: config.account,
      clock: this.#clock,
      fetchSnapshot: () => this.#queries.fillSnapshot(),
      canSnapshot: config.capabilities.listOrders,
      onCatchUpUnavailable: () =>
        this.#streams.tellGap(
          'execution notices sent while not subscribed cannot be caught up: this environment cannot list today’s orders',
        ),
      deliver: (events) => this.#streams.deliver(events),
      emit: this.#emit,
      // An unconfirmed modify/cancel is a gap in what the stream told: the owner reconciles it.
      onUnconfirmed: (p) =>
        this.#streams.tellGap(`unconfirmed ${p.kind} ${p.requestNo} of order ${p.target}`),
    })
    this.#streams.attachNoticeSync(this.#noticeSync)
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
    // Let the last listing reach the listing store, but never hold a shutdown for it (2 s).
    const saved = new AbortController()
    await Promise.race([
      this.#queries.savesSettled(),
      // Aborted (its timer cleared) once the saves are done.
      sleep(this.#clock, 2_000, saved.signal).catch(() => {}),
    ])
    saved.abort()
  }

  // ---------------------------------------------------------------- orders (see ./gateway/orders)

  placeOrder(input: OrderIntentInput): Promise<BrokerAck> {
    return this.#orders.placeOrder(input)
  }

  cancelOrder(brokerOrderId: string, ref?: OrderRef): Promise<CancelAck> {
    return this.#orders.cancelOrder(brokerOrderId, ref)
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
  replaceOrder(brokerOrderId: string, patch: ReplacePatch, ref?: OrderRef): Promise<KisReplaceAck> {
    return this.#orders.replaceOrder(brokerOrderId, patch, ref)
  }

  // ---------------------------------------------------------------- queries (see ./gateway/queries)

  getOpenOrders(account: string): Promise<BrokerOrder[]> {
    return this.#queries.getOpenOrders(account)
  }

  getOrders(account: string, query: OrderQuery = {}): Promise<BrokerOrder[]> {
    return this.#queries.getOrders(account, query)
  }

  /**
   * Fills from inquire-daily-ccld. KIS reports per order the cumulative filled quantity and average
   * price, not each execution, so each order yields one fill record keyed by its cumulative
   * quantity (`<odno>:<cum>`): applying it is "advance to cum", idempotent by construction.
   */
  getFills(account: string, query: FillQuery = {}): Promise<Fill[]> {
    return this.#queries.getFills(account, query)
  }

  getPositions(account: string): Promise<Position[]> {
    return this.#queries.getPositions(account)
  }

  getCash(account: string): Promise<CashBalance> {
    return this.#queries.getCash(account)
  }

  getQuote(symbol: string): Promise<Quote> {
    return this.#queries.getQuote(symbol)
  }

  // ---------------------------------------------------------------- streams (see ./gateway/streams)

  streamTicks(symbols: string[], onTick: (tick: Tick) => void): Unsubscribe {
    return this.#streams.streamTicks(symbols, onTick)
  }

  streamOrderBooks(symbols: string[], onBook: (book: OrderBookSnapshot) => void): Unsubscribe {
    return this.#streams.streamOrderBooks(symbols, onBook)
  }

  streamOrderEvents(account: string, onEvent: (event: BrokerOrderEvent) => void): Unsubscribe {
    return this.#streams.streamOrderEvents(account, onEvent)
  }

  /**
   * Resolves once the execution-notice registration (started by `streamOrderEvents`) has been
   * acknowledged by the broker (the first time; later gaps are reported through `onStreamGap`). Where the environment cannot list today's orders
   * (`capabilities.listOrders` false), a notice sent before that moment cannot be caught up, so a
   * caller should not place orders before it; rejects with an `unavailable` error after `timeoutMs`.
   */
  whenOrderEventsLive(timeoutMs = 30_000): Promise<void> {
    return this.#streams.whenOrderEventsLive(timeoutMs)
  }

  /** Register a listener told when stream data may have been missed; reconcile via REST then. */
  onStreamGap(listener: (reason: string) => void): Unsubscribe {
    return this.#streams.onStreamGap(listener)
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
