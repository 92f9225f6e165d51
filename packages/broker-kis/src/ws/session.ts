import type { Clock, RandomSource, TimerHandle } from '@vellab/broker-gateway'
import { KisError } from '../errors'
import type { KisEventListener } from '../events'
import { kstCompactDate, kstMinuteOfDay } from '../kst'
import { decryptNoticePayload, type NoticeCipherKey } from './aes'
import {
  type Decoded,
  decodeBookFrame,
  decodeNoticeRecords,
  decodeTradeFrame,
  type ExecutionNotice,
} from './decoders'
import { type KisControlFrame, type KisDataFrame, parseKisFrame } from './frame'
import { ReconnectPolicy, type ReconnectReason } from './reconnect'
import { SubscriptionBudget } from './subscription-budget'

/** The slice of a `ws` WebSocket the session uses. */
export interface KisSocket {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  terminate(): void
  on(event: 'open', listener: () => void): unknown
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown
  on(event: 'close', listener: (code: number, reason: unknown) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  removeAllListeners(): unknown
}

/** Opens a socket (e.g. `(url) => new WebSocket(url)` from `ws`). */
export type KisSocketFactory = (url: string) => KisSocket

/** A consumer of one subscription's decoded items. */
export type StreamListener = (item: unknown) => void

/** Hooks of one registration (used for execution notices, see `KisGateway.streamOrderEvents`). */
export interface SubscriptionHooks {
  /**
   * Runs before every (re)subscribe request of this registration is sent, on every connection;
   * the request waits for it (a rejection is ignored: the request is sent anyway). Used to take a
   * REST snapshot while nothing can be in flight on the stream.
   */
  beforeSubscribe?: () => Promise<void>
  /** Called once per connection when the broker acknowledges the registration. */
  onAcknowledged?: () => void
}

/** Options of {@link KisStreamSession}. */
export interface KisStreamSessionOptions {
  url: string
  createSocket: KisSocketFactory
  /** Supplies the approval key (an `ApprovalKeyManager`). */
  approvals: { get(): Promise<string>; invalidate(reason: string): void }
  clock: Clock
  random: RandomSource
  emit: KisEventListener
  custType: string
  /** Registration cap. */
  budget: number
  reconnect: {
    baseMs: number
    maxMs: number
    appKeyInUseMs: number
    threshold: number
    windowMs: number
    openMs: number
    /** See `ReconnectPolicyOptions.slotHoldMs`. @default appKeyInUseMs */
    slotHoldMs?: number
    /** See `ReconnectPolicyOptions.stableSessionMs`. @default 60000 */
    stableSessionMs?: number
    /** Connection attempts per minute the session allows itself. @default unlimited */
    connectsPerMinute?: number
    /** Added to the budget's minute (see `ConnectionBudgetOptions.marginMs`). @default 0 */
    connectBudgetMarginMs?: number
  }
  /** Socket-level silence (no frame at all, PINGPONG included) that closes the socket cleanly. */
  socketIdleMs: number
  streamIdleMs: number
  /**
   * A silent stream is re-subscribed (never a reconnect); each further re-subscription of the same
   * silent stream waits twice as long, up to this. @default 600000
   */
  streamResubscribeMaxMs?: number
  watchdogIntervalMs: number
  connectTimeoutMs: number
  /**
   * Silence threshold of a stream at `now`, or `undefined` for "no watchdog now". The default
   * watches market data during the KRX regular session (09:00–15:30 KST, weekdays) only, and never
   * watches execution notices (they are silent whenever nothing trades).
   */
  streamIdleThreshold?: (trId: string, now: number) => number | undefined
  /** Called when data may have been missed (reconnect after being live, stale stream). */
  onGap: (reason: string) => void
  /** Real-time TRs whose payloads are encrypted notices. */
  noticeTrIds: readonly string[]
}

interface Subscription {
  trId: string
  trKey: string
  pinned: boolean
  listeners: Set<StreamListener>
  acked: boolean
  /** The registration was sent (or its hook started) on the current connection. */
  sent: boolean
  lastDataAt: number
  /** Re-subscriptions since this stream last delivered data (doubles its silence allowance). */
  resubscribes: number
  hooks: SubscriptionHooks | undefined
}

type State = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed'

const keyOf = (trId: string, trKey: string) => `${trId}|${trKey}`

/**
 * One WebSocket session per app key (reference §8): opened with the approval key, multiplexing
 * every subscription, resubscribing after every reconnect, answering PINGPONG, decoding frames,
 * and watching for silence. Malformed frames become `ws.decode_error` events and never throw.
 */
export class KisStreamSession {
  readonly #o: KisStreamSessionOptions
  readonly #subs = new Map<string, Subscription>()
  readonly budget: SubscriptionBudget
  readonly #policy: ReconnectPolicy
  readonly #ciphers = new Map<string, NoticeCipherKey>()
  readonly #driftReported = new Set<string>()
  #state: State = 'idle'
  #socket: KisSocket | undefined
  #reconnectTimer: TimerHandle | undefined
  #connectTimer: TimerHandle | undefined
  #watchdog: TimerHandle | undefined
  #lastFrameAt = 0
  #wasLive = false
  #healthy = false
  #pendingReason: ReconnectReason | undefined
  #connectAttempts = 0
  #gapSince = 0
  /** The broker accepted the current connection's session (first registration answered). */
  #accepted = false
  /** The first registration of the current connection, sent alone until the session is accepted. */
  #probe: Subscription | undefined
  /** The current socket opened (so an unclean end may leave the broker holding its slot). */
  #opened = false

  constructor(options: KisStreamSessionOptions) {
    this.#o = options
    this.budget = new SubscriptionBudget(options.budget)
    this.#policy = new ReconnectPolicy({
      baseMs: options.reconnect.baseMs,
      maxMs: options.reconnect.maxMs,
      appKeyInUseMs: options.reconnect.appKeyInUseMs,
      ...(options.reconnect.slotHoldMs !== undefined ? { slotHoldMs: options.reconnect.slotHoldMs } : {}),
      ...(options.reconnect.stableSessionMs !== undefined
        ? { stableSessionMs: options.reconnect.stableSessionMs }
        : {}),
      ...(options.reconnect.connectsPerMinute !== undefined
        ? {
            budget: {
              maxPerWindow: options.reconnect.connectsPerMinute,
              windowMs: 60_000,
              marginMs: options.reconnect.connectBudgetMarginMs ?? 0,
            },
          }
        : {}),
      random: options.random,
      breaker: {
        threshold: options.reconnect.threshold,
        windowMs: options.reconnect.windowMs,
        openMs: options.reconnect.openMs,
      },
    })
  }

  /** Connection attempts made so far (for tests and diagnostics). */
  get connectAttempts(): number {
    return this.#connectAttempts
  }

  /** `idle` | `connecting` | `open` | `waiting` (for a reconnect) | `closed`. */
  get state(): State {
    return this.#state
  }

  /** Registrations acknowledged by the broker. */
  get acknowledged(): number {
    let n = 0
    for (const s of this.#subs.values()) if (s.acked) n++
    return n
  }

  /**
   * Register listeners for several (trId, trKey) pairs at once, all or nothing against the budget
   * (throws `KisError` `KIS_SUBSCRIPTION_BUDGET`). Returns a function that releases them.
   */
  subscribe(
    pairs: readonly { trId: string; trKey: string }[],
    listener: StreamListener,
    pinned = false,
    hooks?: SubscriptionHooks,
  ): () => void {
    if (this.#state === 'closed') throw new KisError('KIS_SESSION_CLOSED', 'the stream session is closed')
    const keys = pairs.map((p) => keyOf(p.trId, p.trKey))
    this.budget.reserve(keys)
    const fresh: Subscription[] = []
    for (const p of pairs) {
      const k = keyOf(p.trId, p.trKey)
      let s = this.#subs.get(k)
      if (!s) {
        s = {
          trId: p.trId,
          trKey: p.trKey,
          pinned,
          listeners: new Set(),
          acked: false,
          sent: false,
          lastDataAt: this.#o.clock.now(),
          resubscribes: 0,
          hooks,
        }
        this.#subs.set(k, s)
        fresh.push(s)
      }
      if (pinned) s.pinned = true
      s.listeners.add(listener)
    }
    if (this.#state === 'open') this.#sendPending()
    else this.#ensureConnecting()
    let released = false
    return () => {
      if (released) return
      released = true
      for (const k of keys) {
        const s = this.#subs.get(k)
        if (!s) continue
        s.listeners.delete(listener)
        if (s.listeners.size === 0 && !s.pinned) {
          this.#subs.delete(k)
          this.budget.release(k)
          if (this.#state === 'open' && this.#accepted && s.sent) this.#sendSub(s, '2')
          if (this.#probe === s) {
            // The probe left before its answer; the next registration probes instead.
            this.#probe = undefined
            if (this.#state === 'open' && !this.#accepted) this.#sendPending()
          }
          this.#o.emit({
            type: 'ws.subscription',
            action: 'unsubscribe',
            trId: s.trId,
            trKey: s.trKey,
            result: 'released',
          })
        }
      }
    }
  }

  /** Close the session for good. */
  close(): void {
    this.#state = 'closed'
    for (const t of [this.#reconnectTimer, this.#connectTimer, this.#watchdog])
      if (t) this.#o.clock.clearTimeout(t)
    this.#reconnectTimer = this.#connectTimer = this.#watchdog = undefined
    const s = this.#socket
    this.#socket = undefined
    if (s) {
      s.removeAllListeners()
      s.on('error', () => {})
      try {
        s.close(1000, 'client closing')
      } catch {
        s.terminate()
      }
    }
  }

  #ensureConnecting(): void {
    if (this.#state === 'idle') void this.#connect()
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed') return
    const now = this.#o.clock.now()
    const wait = this.#policy.budgetWait(now)
    if (wait > 0) {
      // The adapter never exceeds its own connection budget, whatever asked for the connection.
      this.#state = 'waiting'
      const budget = this.#policy.budget!
      this.#o.emit({
        type: 'ws.connect_budget',
        waitMs: wait,
        used: budget.used(now),
        maxPerMinute: budget.maxPerWindow,
      })
      this.#reconnectTimer = this.#o.clock.setTimeout(() => {
        this.#reconnectTimer = undefined
        void this.#connect()
      }, wait)
      return
    }
    this.#policy.onAttempt(now)
    this.#state = 'connecting'
    this.#healthy = false
    this.#accepted = false
    this.#probe = undefined
    this.#opened = false
    this.#pendingReason = undefined
    this.#connectAttempts++
    this.#o.emit({ type: 'ws.connecting', attempt: this.#connectAttempts })
    let approval: string
    try {
      approval = await this.#o.approvals.get()
    } catch {
      this.#scheduleReconnect('approval_failed')
      return
    }
    if (this.#state !== 'connecting') return
    let socket: KisSocket
    try {
      socket = this.#o.createSocket(this.#o.url)
    } catch {
      this.#scheduleReconnect('error')
      return
    }
    this.#socket = socket
    this.#connectTimer = this.#o.clock.setTimeout(() => {
      this.#connectTimer = undefined
      if (this.#socket === socket && this.#state === 'connecting') this.#drop(socket, 'connect_timeout')
    }, this.#o.connectTimeoutMs)
    socket.on('open', () => {
      if (this.#socket !== socket) return
      if (this.#connectTimer) this.#o.clock.clearTimeout(this.#connectTimer)
      this.#connectTimer = undefined
      this.#state = 'open'
      this.#opened = true
      this.#approvalKey = approval
      this.#lastFrameAt = this.#o.clock.now()
      this.#o.emit({ type: 'ws.open' })
      for (const s of this.#subs.values()) {
        s.acked = false
        s.sent = false
        s.lastDataAt = this.#o.clock.now()
      }
      // Only the first registration goes out now; the rest wait until the broker accepts the
      // session (a refused socket must cost one counted attempt, not one per registration).
      this.#sendPending()
      this.#armWatchdog()
    })
    socket.on('message', (data, isBinary) => {
      if (this.#socket !== socket) return
      this.#lastFrameAt = this.#o.clock.now()
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data)
      this.#onText(text)
    })
    socket.on('error', () => {
      // 'close' follows; the reconnect is scheduled there.
    })
    socket.on('close', (code, reason) => {
      if (this.#socket !== socket) return
      const r = this.#pendingReason ?? (code === 1000 ? 'closed' : 'error')
      // A close frame came (1005: one without a status code): the broker ended the session itself.
      const clean = code === 1000 || code === 1001 || code === 1005
      this.#o.emit({ type: 'ws.closed', code, reason: String(reason ?? ''), clean })
      this.#socket = undefined
      this.#scheduleReconnect(r, !clean && this.#opened)
    })
  }

  #approvalKey = ''

  /**
   * Leave `socket` and schedule a reconnect for `reason`. An open socket always gets a close frame
   * (1000): a session we end ourselves must never look like a dead one that holds the appkey's slot
   * (reference §8). A socket still connecting has no session and is aborted.
   */
  #drop(socket: KisSocket, reason: ReconnectReason): void {
    this.#pendingReason = reason
    const wasOpen = socket.readyState === 1
    try {
      if (wasOpen) socket.close(1000, reason)
      else socket.terminate()
    } catch {
      try {
        socket.terminate()
      } catch {
        // Already gone.
      }
    }
    // `ws` emits 'close' after terminate; a fake socket may not, so make sure we move on.
    if (this.#socket === socket) {
      this.#socket = undefined
      socket.removeAllListeners()
      // `ws` reports an aborted handshake (terminate while CONNECTING) as an 'error' on the next
      // tick: an EventEmitter 'error' with no listener would crash the process.
      socket.on('error', () => {})
      this.#o.emit({ type: 'ws.closed', code: wasOpen ? 1000 : 1006, reason, clean: wasOpen })
      this.#scheduleReconnect(reason, false)
    }
  }

  #scheduleReconnect(reason: ReconnectReason, unclean = false): void {
    if (this.#state === 'closed') return
    if (this.#watchdog) this.#o.clock.clearTimeout(this.#watchdog)
    this.#watchdog = undefined
    if (this.#healthy && !this.#wasLive) {
      this.#wasLive = true
      this.#gapSince = this.#o.clock.now()
    }
    if (this.#connectTimer) this.#o.clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    this.#state = 'waiting'
    this.#accepted = false
    this.#probe = undefined
    for (const s of this.#subs.values()) {
      s.acked = false
      s.sent = false
    }
    const now = this.#o.clock.now()
    this.#healthy = false
    const before = this.#policy.breaker.state(now)
    const { delayMs, circuit, budgetWaitMs } = this.#policy.onFailure(now, { reason, unclean })
    if (budgetWaitMs > 0) {
      const budget = this.#policy.budget!
      this.#o.emit({
        type: 'ws.connect_budget',
        waitMs: budgetWaitMs,
        used: budget.used(now),
        maxPerMinute: budget.maxPerWindow,
      })
    }
    if (circuit !== before || circuit === 'open') {
      this.#o.emit({
        type: 'ws.circuit',
        state: circuit,
        failuresInWindow: this.#policy.breaker.failuresInWindow(now),
      })
    }
    this.#o.emit({ type: 'ws.reconnect_scheduled', attempt: this.#policy.attempt, delayMs, reason })
    this.#reconnectTimer = this.#o.clock.setTimeout(() => {
      this.#reconnectTimer = undefined
      void this.#connect()
    }, delayMs)
  }

  /**
   * Send what the current connection still owes: before the session is accepted, only one
   * registration (pinned ones, i.e. execution notices, first); after, every unsent one.
   */
  #sendPending(): void {
    if (this.#state !== 'open') return
    if (!this.#accepted) {
      if (this.#probe) return
      const first = [...this.#subs.values()].sort((a, b) => Number(b.pinned) - Number(a.pinned))[0]
      if (!first) return
      this.#probe = first
      this.#register(first)
      return
    }
    for (const s of this.#subs.values()) if (!s.sent) this.#register(s)
  }

  /** No answer to the first registration within `connectTimeoutMs`: leave (cleanly) and retry. */
  #armAcceptTimer(socket: KisSocket): void {
    if (this.#connectTimer) this.#o.clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = this.#o.clock.setTimeout(() => {
      this.#connectTimer = undefined
      if (this.#socket === socket && this.#state === 'open' && !this.#accepted)
        this.#drop(socket, 'connect_timeout')
    }, this.#o.connectTimeoutMs)
  }

  /** The broker answered a registration: the session is ours; send the rest. */
  #accept(): void {
    if (this.#accepted) return
    this.#accepted = true
    this.#probe = undefined
    if (this.#connectTimer) this.#o.clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    this.#sendPending()
  }

  /** Send a registration, after its `beforeSubscribe` hook when it has one. */
  #register(s: Subscription): void {
    s.sent = true
    const before = s.hooks?.beforeSubscribe
    if (!before) {
      this.#sendSub(s, '1')
      return
    }
    const socket = this.#socket
    const send = () => {
      // Only on the connection the hook ran for, and only if the registration still exists.
      if (this.#socket !== socket || this.#state !== 'open') return
      if (this.#subs.get(keyOf(s.trId, s.trKey)) !== s) return
      this.#sendSub(s, '1')
    }
    let p: Promise<void>
    try {
      p = before()
    } catch {
      p = Promise.resolve()
    }
    void p.then(send, send)
  }

  #acked(s: Subscription): void {
    const first = !s.acked
    s.acked = true
    if (!first) return
    try {
      s.hooks?.onAcknowledged?.()
    } catch {
      // A hook's bug must not break the session.
    }
  }

  #sendSub(s: Subscription, trType: '1' | '2'): void {
    // reference/kis-openapi.md §7.2: one JSON frame per (tr_id, tr_key); tr_type 1 register, 2 release.
    const msg = {
      header: {
        approval_key: this.#approvalKey,
        custtype: this.#o.custType,
        tr_type: trType,
        'content-type': 'utf-8',
      },
      body: { input: { tr_id: s.trId, tr_key: s.trKey } },
    }
    try {
      const socket = this.#socket
      socket?.send(JSON.stringify(msg))
      if (socket && trType === '1' && this.#probe === s && !this.#accepted) this.#armAcceptTimer(socket)
      this.#o.emit({
        type: 'ws.subscription',
        action: trType === '1' ? 'subscribe' : 'unsubscribe',
        trId: s.trId,
        trKey: s.trKey,
        result: 'sent',
      })
    } catch {
      // The close handler reconnects and resubscribes.
    }
  }

  #markHealthy(): void {
    if (!this.#healthy) {
      this.#healthy = true
      this.#policy.onSuccess(this.#o.clock.now())
      if (this.#wasLive) {
        // Back after an outage (once, however many attempts it took): whatever happened meanwhile
        // is only in REST now, so consumers reconcile.
        this.#wasLive = false
        this.#o.emit({ type: 'ws.gap', reason: 'reconnected', since: this.#gapSince })
        this.#o.onGap('reconnected')
      }
    }
  }

  #onText(text: string): void {
    let frame: ReturnType<typeof parseKisFrame>
    try {
      frame = parseKisFrame(text)
    } catch (e) {
      this.#decodeError(undefined, e)
      return
    }
    if (frame.kind === 'pingpong') {
      // reference §7.4: echo the heartbeat as a text frame.
      try {
        this.#socket?.send(frame.raw)
      } catch {
        // The close handler takes over.
      }
      this.#o.emit({ type: 'ws.pingpong' })
      return
    }
    if (frame.kind === 'control') this.#onControl(frame)
    else this.#onData(frame)
  }

  #onControl(c: KisControlFrame): void {
    const code = c.msgCd ?? ''
    this.#o.emit({ type: 'ws.control', trId: c.trId, trKey: c.trKey, code, message: c.msg1 ?? '' })
    const s = c.trId && c.trKey !== undefined ? this.#subs.get(keyOf(c.trId, c.trKey)) : undefined
    // Any answer to a registration other than a refusal of the session itself means the broker
    // bound this socket to the appkey: the remaining registrations may go.
    if (code !== 'OPSP8996' && code !== 'OPSP0011' && s) this.#accept()
    // reference §6.3 / §7.3 control codes.
    switch (code) {
      case 'OPSP0000':
      case 'OPSP0002': // already subscribed: the registration exists
        if (c.trId && c.cipher) this.#ciphers.set(c.trId, c.cipher)
        if (s) {
          this.#acked(s)
          s.lastDataAt = this.#o.clock.now()
          this.#o.emit({
            type: 'ws.subscription',
            action: 'subscribe',
            trId: s.trId,
            trKey: s.trKey,
            result: 'acked',
          })
        }
        this.#markHealthy()
        return
      case 'OPSP0008':
        if (s) {
          s.acked = false
          this.#o.emit({
            type: 'ws.subscription',
            action: 'subscribe',
            trId: s.trId,
            trKey: s.trKey,
            result: 'refused',
          })
        }
        return
      case 'OPSP0011':
        // Invalid approval key: get a fresh one before reconnecting (closing with a close frame).
        this.#o.approvals.invalidate(code)
        if (this.#socket) this.#drop(this.#socket, 'auth')
        return
      case 'OPSP8996':
        // reference §8: the slot is held by a stale session; back off long, never loop tightly.
        // Do not wait for the broker to close this socket (§9 says it does, but if it does not the
        // session would sit on a refused socket until the idle watchdog fires with a short backoff).
        // Nothing more is sent on a refused socket: it is closed at once, with a close frame.
        if (this.#socket) this.#drop(this.#socket, 'appkey_in_use')
        else this.#pendingReason = 'appkey_in_use'
        return
      default:
        if (c.rtCd === '0' && c.msg1?.startsWith('UNSUB')) return
        if (c.rtCd === '0' && s) {
          this.#acked(s)
          this.#markHealthy()
        }
    }
  }

  #decodeError(trId: string | undefined, e: unknown): void {
    const code = KisError.isInstance(e) ? e.code : 'KIS_FRAME_MALFORMED'
    const message = e instanceof Error ? e.message : String(e)
    this.#o.emit({ type: 'ws.decode_error', trId, code, message })
  }

  #drift<T>(trId: string, d: Decoded<T>): void {
    // More fields than the layout knows, or (notices) a count no known layout has: decoded, reported.
    if (d.fieldsPerRecord !== d.expectedFields) {
      const k = `${trId}:${d.fieldsPerRecord}`
      if (!this.#driftReported.has(k)) {
        this.#driftReported.add(k)
        this.#o.emit({
          type: 'ws.drift',
          trId,
          expectedFields: d.expectedFields,
          actualFields: d.fieldsPerRecord,
        })
      }
    }
  }

  #dispatch(trId: string, trKey: string, item: unknown): void {
    const s = this.#subs.get(keyOf(trId, trKey))
    if (!s) return
    s.lastDataAt = this.#o.clock.now()
    s.resubscribes = 0
    for (const l of s.listeners) {
      try {
        l(item)
      } catch {
        // A consumer's bug must not kill the socket for everyone else.
      }
    }
  }

  #onData(f: KisDataFrame): void {
    this.#accept()
    this.#markHealthy()
    const now = this.#o.clock.now()
    try {
      if (f.trId === 'H0STCNT0') {
        const d = decodeTradeFrame(f.payload, f.count)
        this.#drift(f.trId, d)
        for (const t of d.items) this.#dispatch(f.trId, t.symbol, t)
      } else if (f.trId === 'H0STASP0') {
        const d = decodeBookFrame(f.payload, f.count, kstCompactDate(now))
        this.#drift(f.trId, d)
        for (const b of d.items) this.#dispatch(f.trId, b.symbol, b)
      } else if (this.#o.noticeTrIds.includes(f.trId)) {
        let plain = f.payload
        if (f.encrypted) {
          const k = this.#ciphers.get(f.trId)
          if (!k)
            throw new KisError('KIS_DECRYPT_FAILED', 'no key/iv received for this TR yet', { trId: f.trId })
          plain = decryptNoticePayload(f.payload, k, f.trId)
        }
        const d = decodeNoticeRecords(plain, f.count, f.trId)
        this.#drift(f.trId, d)
        for (const n of d.items) this.#dispatchNotice(f.trId, n)
      } else {
        this.#o.emit({
          type: 'ws.decode_error',
          trId: f.trId,
          code: 'KIS_FRAME_MALFORMED',
          message: 'unknown real-time TR',
        })
      }
    } catch (e) {
      this.#decodeError(f.trId, e)
    }
  }

  #dispatchNotice(trId: string, n: ExecutionNotice): void {
    // Notices are keyed by HTS id, which the record carries as CUST_ID; deliver to every notice
    // subscription of this TR (one per HTS id in practice).
    for (const s of this.#subs.values()) if (s.trId === trId) this.#dispatch(trId, s.trKey, n)
  }

  /** Default stale thresholds: market data during the regular session only. */
  #threshold(trId: string, now: number): number | undefined {
    if (this.#o.streamIdleThreshold) return this.#o.streamIdleThreshold(trId, now)
    if (this.#o.noticeTrIds.includes(trId)) return undefined
    const day = new Date(now + 9 * 3_600_000).getUTCDay()
    const m = kstMinuteOfDay(now)
    // reference §9 session times: regular 09:00–15:30 KST.
    if (day === 0 || day === 6 || m < 9 * 60 || m >= 15 * 60 + 30) return undefined
    return this.#o.streamIdleMs
  }

  #armWatchdog(): void {
    if (this.#watchdog) this.#o.clock.clearTimeout(this.#watchdog)
    this.#watchdog = this.#o.clock.setTimeout(() => {
      this.#watchdog = undefined
      if (this.#state !== 'open' || !this.#socket) return
      const now = this.#o.clock.now()
      const silent = now - this.#lastFrameAt
      if (silent > this.#o.socketIdleMs) {
        this.#stale('socket', silent, this.#o.socketIdleMs)
        return
      }
      if (this.#accepted) {
        for (const s of [...this.#subs.values()]) {
          if (!s.sent) continue
          const th = this.#threshold(s.trId, now)
          if (th === undefined) continue
          const allowance = Math.min(
            th * 2 ** s.resubscribes,
            Math.max(th, this.#o.streamResubscribeMaxMs ?? 600_000),
          )
          const quiet = now - s.lastDataAt
          if (quiet > allowance) this.#resubscribe(s, quiet, allowance)
        }
      }
      this.#armWatchdog()
    }, this.#o.watchdogIntervalMs)
  }

  /** The whole socket went silent: close it cleanly (close frame) and reconnect. */
  #stale(stream: string, silentMs: number, thresholdMs: number): void {
    this.#o.emit({ type: 'ws.stale', stream, silentMs, thresholdMs })
    if (this.#socket) this.#drop(this.#socket, 'stale')
  }

  /**
   * One stream went silent while the socket is alive (frames keep arriving: PINGPONG, other
   * streams): a halted or illiquid symbol, or a registration the broker forgot. Release and
   * register it again on the same session, with a doubling allowance; never a reconnect, which would
   * spend the appkey's connection budget and risk the OPSP8996 lockout.
   */
  #resubscribe(s: Subscription, silentMs: number, allowanceMs: number): void {
    this.#o.emit({ type: 'ws.stale', stream: keyOf(s.trId, s.trKey), silentMs, thresholdMs: allowanceMs })
    s.resubscribes++
    s.lastDataAt = this.#o.clock.now()
    s.acked = false
    this.#sendSub(s, '2')
    this.#register(s)
    const next = Math.min(allowanceMs * 2, Math.max(allowanceMs, this.#o.streamResubscribeMaxMs ?? 600_000))
    this.#o.emit({
      type: 'ws.resubscribed',
      stream: keyOf(s.trId, s.trKey),
      silentMs,
      attempt: s.resubscribes,
      nextCheckMs: next,
    })
    if (s.hooks) {
      // A re-registered notice stream may have missed notices: its owner reconciles.
      this.#o.emit({ type: 'ws.gap', reason: 'resubscribed', since: this.#o.clock.now() - silentMs })
      this.#o.onGap('resubscribed')
    }
  }
}
