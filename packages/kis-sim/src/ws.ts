import type { IncomingMessage } from 'node:http'
import type { WebSocket } from 'ws'
import type { SimApp } from './auth'
import type { SimTimer } from './clock'
import type { SimCore } from './core'
import type { ExchangeNotice, SimEnv } from './exchange'
import type { FaultRule, MarketDataFaultEffect, NoticeFaultEffect, WsConnectFaultEffect } from './faults'
import {
  bookRecord,
  dataFrame,
  encryptNotice,
  noticeRecord,
  type ReceiptQtyMode,
  tradeRecord,
} from './frames'
import { kstCompact } from './kst'
import type { SymbolState, Trade } from './market'
import { WS_MESSAGES } from './messages'
import { randomString } from './random'

/** WebSocket behaviour options (reference §7, §8). */
export interface WsOptions {
  /** Sim-time interval of PINGPONG frames (reference §7.4: UNVERIFIED, ~10 s to ~110 s). @default 10_000 */
  pingIntervalMs?: number
  /**
   * Send PINGPONG only when nothing else was sent during the interval. KIS was seen sending one about
   * every 10 s whatever else flowed (reference §7.10), and with this on a socket with market data
   * never gets one, so a client that ignores PINGPONG is never caught. @default false
   */
  pingWhenIdleOnly?: boolean
  /**
   * Close (uncleanly, no close frame) a session that has not answered a PINGPONG this many ms after
   * it was sent. Several reports say KIS disconnects such a client after ~100 s (reference §7.10),
   * UNVERIFIED officially. @default undefined (never)
   */
  pongTimeoutMs?: number
  /** Registrations per session (reference §8: 41; the 42nd → OPSP0008). @default 41 */
  maxRegistrations?: number
  /** After an unclean close the appkey's slot stays taken this long (reference §8, UNVERIFIED). @default 0 */
  deadSessionHoldMs?: number
  /** Block an appkey that starts more than `maxPerMinute` sessions in 60 s, for `blockMs`. UNVERIFIED. @default undefined */
  reconnectLimit?: { maxPerMinute: number; blockMs: number }
  /** Max H0STCNT0 records bundled in one frame (reference §7.5: up to 020 observed). @default 20 */
  bundleMax?: number
  /** Wrong HTS ID on the notice TR: drop the socket without close frame (reference §7.5) or answer OPSP8992. @default 'terminate' */
  wrongHtsId?: 'terminate' | 'error'
  /** Field 9/10 of 접수 notices: order qty/price (legacy comment) or 0 (fixture). UNVERIFIED. @default 'order-qty' */
  receiptQty?: ReceiptQtyMode
  /** Include `output {iv,key}` in market-data acks too (reference §7.3: usually present). @default true */
  keysOnMarketDataAcks?: boolean
  /**
   * Send a 확인 notice (CNTG_YN 1, ACPT_YN 2, RCTF_CLS 1/2, ODER_NO = the modify/cancel, OODER_NO =
   * the original, CNTG_QTY/ODER_QTY = the shares actually cancelled/moved) when a modify/cancel takes
   * effect at the exchange, after its 접수. A modify/cancel refused at confirmation gets the RFUS_YN 1
   * notice and no 확인. Reference §7.9 lists ACPT_YN 2 확인 but not when KIS sends it: UNVERIFIED.
   * `false`: only the 접수 (and any refusal) is sent. @default true
   */
  confirmNotices?: boolean
}

/** A live (bound) session as the control API reports it. */
export interface WsSessionInfo {
  appkey: string
  env: SimEnv
  subscriptions: { trId: string; trKey: string }[]
  stalled: boolean
  connectedAt: number
}

const MARKET_TRS = new Set(['H0STCNT0', 'H0STASP0'])
const NOTICE_TR: Record<SimEnv, string> = { real: 'H0STCNI0', paper: 'H0STCNI9' }
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const HEX = '0123456789abcdef'

interface Session {
  socket: WebSocket
  app: SimApp | undefined
  subs: Map<string, { trId: string; trKey: string }>
  key: string
  iv: string
  lastSentAt: number
  awaitingSince: number | undefined
  pingTimer: SimTimer | undefined
  pongTimer: SimTimer | undefined
  stalled: boolean
  closed: boolean
  connectedAt: number
  trades: Map<string, string[]>
  books: Map<string, SymbolState>
  held: string[]
}

/** Resolved {@link WsOptions}. */
export type ResolvedWsOptions = Required<Omit<WsOptions, 'pongTimeoutMs' | 'reconnectLimit'>> & {
  pongTimeoutMs: number | undefined
  reconnectLimit: { maxPerMinute: number; blockMs: number } | undefined
}

/** Resolves {@link WsOptions} defaults. */
export function resolveWsOptions(o: WsOptions = {}): ResolvedWsOptions {
  return {
    pingIntervalMs: o.pingIntervalMs ?? 10_000,
    pingWhenIdleOnly: o.pingWhenIdleOnly ?? false,
    pongTimeoutMs: o.pongTimeoutMs,
    maxRegistrations: o.maxRegistrations ?? 41,
    deadSessionHoldMs: o.deadSessionHoldMs ?? 0,
    reconnectLimit: o.reconnectLimit,
    bundleMax: o.bundleMax ?? 20,
    wrongHtsId: o.wrongHtsId ?? 'terminate',
    receiptQty: o.receiptQty ?? 'order-qty',
    keysOnMarketDataAcks: o.keysOnMarketDataAcks ?? true,
    confirmNotices: o.confirmNotices ?? true,
  }
}

/** The WebSocket side: sessions, subscriptions, heartbeats, market data and execution notices. */
export class WsHub {
  private readonly all = new Set<Session>()
  private readonly live = new Map<string, Session>()
  private readonly deadHolds = new Map<string, number>()
  private readonly blocks = new Map<string, number>()
  private readonly attempts = new Map<string, number[]>()
  private flushQueued = false
  readonly options: ResolvedWsOptions

  constructor(
    private readonly core: SimCore,
    options: WsOptions,
  ) {
    this.options = resolveWsOptions(options)
    core.exchange.subscribe({
      trade: (t, s) => this.onTrade(t, s),
      book: (s) => this.onBook(s),
      notice: (n) => this.onNotice(n),
    })
  }

  // ---------------------------------------------------------------- connection

  attach(socket: WebSocket, _req: IncomingMessage): void {
    const core = this.core
    const s: Session = {
      socket,
      app: undefined,
      subs: new Map(),
      // reference §7.3: key 32 lower-case letters, iv 16 hex chars, used as UTF-8 bytes.
      key: randomString(core.rng, 32, LOWER),
      iv: randomString(core.rng, 16, HEX),
      lastSentAt: core.clock.now(),
      awaitingSince: undefined,
      pingTimer: undefined,
      pongTimer: undefined,
      stalled: false,
      closed: false,
      connectedAt: core.clock.now(),
      trades: new Map(),
      books: new Map(),
      held: [],
    }
    this.all.add(s)
    socket.on('message', (data, isBinary) => {
      if (isBinary) return
      try {
        this.onMessage(s, data.toString())
      } catch (err) {
        // A simulator bug must not take the process down: answer like the server's own internal
        // error (reference §6.3 OPSP0007) and report it.
        core.log({ type: 'internal-error', message: err instanceof Error ? err.message : String(err) })
        this.control(s, { tr_id: '', tr_key: '', encrypt: 'N' }, '1', 'OPSP0007')
      }
    })
    // reference §7.4: a pong frame or a ping frame also answers PINGPONG.
    socket.on('pong', () => this.answered(s, 'pong'))
    socket.on('ping', () => this.answered(s, 'ping'))
    socket.on('close', (code) => this.onClose(s, code !== 1000 && code !== 1001 && code !== 1005))
    socket.on('error', () => {
      /* a reset socket also emits close */
    })
  }

  private answered(s: Session, kind: 'text' | 'pong' | 'ping'): void {
    s.awaitingSince = undefined
    this.core.clock.clear(s.pongTimer)
    s.pongTimer = undefined
    if (s.app) this.core.ledger.recordPong(s.app.appkey, kind)
  }

  private onClose(s: Session, unclean: boolean): void {
    if (s.closed) return
    s.closed = true
    this.all.delete(s)
    this.core.clock.clear(s.pingTimer)
    this.core.clock.clear(s.pongTimer)
    if (s.app && this.live.get(s.app.appkey) === s) {
      this.live.delete(s.app.appkey)
      // reference §8: after an abnormal close the slot can stay taken (OPSP8996 storm). UNVERIFIED.
      if (unclean && this.options.deadSessionHoldMs > 0) {
        this.deadHolds.set(s.app.appkey, this.core.limitNow() + this.options.deadSessionHoldMs)
      }
      this.core.log({ type: 'ws-close', appkey: s.app.appkey, clean: !unclean })
    }
  }

  private send(s: Session, text: string): void {
    if (s.closed || s.socket.readyState !== 1) return
    s.socket.send(text)
    s.lastSentAt = this.core.clock.now()
  }

  private control(
    s: Session,
    header: { tr_id: string; tr_key: string; encrypt: string },
    rtCd: string,
    msgCd: keyof typeof WS_MESSAGES,
    extraMsg = '',
    output?: { iv: string; key: string },
  ): undefined {
    const body: Record<string, unknown> = { rt_cd: rtCd, msg_cd: msgCd, msg1: WS_MESSAGES[msgCd] + extraMsg }
    if (output) body.output = output
    this.send(s, JSON.stringify({ header, body }))
    return undefined
  }

  private onMessage(s: Session, text: string): undefined {
    const core = this.core
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch {
      this.control(s, { tr_id: '', tr_key: '', encrypt: 'N' }, '1', 'OPSP9999')
      return
    }
    const m = (msg ?? {}) as { header?: Record<string, unknown>; body?: Record<string, unknown> }
    const header = m.header
    // reference §7.4: an echoed PINGPONG text frame is an answer.
    if (header && header.tr_id === 'PINGPONG') {
      this.answered(s, 'text')
      return
    }
    const input = (m.body?.input ?? undefined) as Record<string, unknown> | undefined
    const trId = typeof input?.tr_id === 'string' ? input.tr_id : ''
    const trKey = typeof input?.tr_key === 'string' ? input.tr_key : ''
    const h = { tr_id: trId, tr_key: trKey, encrypt: 'N' }
    if (!header || typeof header !== 'object') return this.control(s, h, '1', 'OPSP9998')
    const approvalKey = typeof header.approval_key === 'string' ? header.approval_key : ''
    // reference §2.3: the key is checked when the session is established; an established session
    // keeps working after the key's 24 h, so a bound session accepts its own appkey's keys for good.
    const known = core.auth.approvals.get(approvalKey)
    const rec =
      s.app && known?.appkey === s.app.appkey ? known : core.auth.checkApproval(approvalKey, core.clock.now())
    if (!rec) {
      // reference §6.3: "invalid approval : <approval_key>"
      return this.control(s, h, '1', 'OPSP0011', approvalKey)
    }
    if (!s.app) {
      const app = core.auth.apps.get(rec.appkey)
      if (!app || !this.bind(s, app)) return
    }
    const app = s.app
    if (!app) return
    const custtype = header.custtype
    if (custtype !== undefined && custtype !== 'P' && custtype !== 'B')
      return this.control(s, h, '1', 'OPSP8998')
    const trType = header.tr_type
    if (trType !== '1' && trType !== '2') return this.control(s, h, '1', 'OPSP8997')
    if (!m.body) return this.control(s, h, '1', 'OPSP9992')
    if (!input) return this.control(s, h, '1', 'OPSP9991')
    if (!trKey) return this.control(s, h, '1', 'OPSP9990')
    const isNotice = trId === NOTICE_TR[app.env]
    if (!isNotice && !MARKET_TRS.has(trId)) return this.control(s, h, '1', 'OPSP8991')
    if (isNotice) h.encrypt = 'Y'
    const id = `${trId}|${trKey}`
    if (trType === '2') {
      if (!s.subs.delete(id)) return this.control(s, h, '1', 'OPSP0003')
      return this.control(s, h, '0', 'OPSP0001')
    }
    if (isNotice && trKey !== app.htsId) {
      // reference §7.5: a wrong HTS ID drops the connection without a close frame.
      if (this.options.wrongHtsId === 'terminate') {
        s.socket.terminate()
        return
      }
      return this.control(s, h, '1', 'OPSP8992')
    }
    if (!isNotice && !/^[0-9A-Z]{6,7}$/.test(trKey)) return this.control(s, h, '1', 'OPSP8992')
    if (s.subs.has(id)) return this.control(s, h, '1', 'OPSP0002')
    // reference §8: 41 registrations per session, summed over all TRs.
    if (s.subs.size >= this.options.maxRegistrations) return this.control(s, h, '1', 'OPSP0008')
    s.subs.set(id, { trId, trKey })
    const withKeys = isNotice || this.options.keysOnMarketDataAcks
    this.control(s, h, '0', 'OPSP0000', '', withKeys ? { iv: s.iv, key: s.key } : undefined)
  }

  /** Binds a socket to an appkey: one session per appkey (reference §8). */
  private bind(s: Session, app: SimApp): boolean {
    const core = this.core
    const now = core.limitNow()
    const appkey = app.appkey
    const refuse = (outcome: 'in-use' | 'blocked'): false => {
      core.ledger.wsConnects.push({ at: now, appkey, outcome })
      core.log({ type: 'ws-session', appkey, outcome })
      // reference §6.3: {"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}
      this.control(s, { tr_id: '', tr_key: '', encrypt: 'N' }, '9', 'OPSP8996')
      s.socket.close()
      return false
    }
    const rules = core.faults.match({ on: 'ws-connect', appkey })
    for (const r of rules) {
      const e = (r as FaultRule & { effect: WsConnectFaultEffect }).effect
      core.log({ type: 'fault', id: r.id, on: 'ws-connect', effect: e.type })
      if (e.type === 'terminate') {
        core.ledger.wsConnects.push({ at: now, appkey, outcome: 'in-use' })
        s.socket.terminate()
        return false
      }
      if (e.type === 'in-use') return refuse('in-use')
    }
    const blockedUntil = this.blocks.get(appkey)
    if (blockedUntil !== undefined && now < blockedUntil) return refuse('blocked')
    const limit = this.options.reconnectLimit
    if (limit) {
      const list = (this.attempts.get(appkey) ?? []).filter((t) => now - t < 60_000)
      list.push(now)
      this.attempts.set(appkey, list)
      if (list.length > limit.maxPerMinute) {
        this.blocks.set(appkey, now + limit.blockMs)
        return refuse('blocked')
      }
    }
    const existing = this.live.get(appkey)
    if (existing && existing !== s && !existing.closed) return refuse('in-use')
    const hold = this.deadHolds.get(appkey)
    if (hold !== undefined && now < hold) return refuse('in-use')
    this.deadHolds.delete(appkey)
    s.app = app
    this.live.set(appkey, s)
    core.ledger.wsConnects.push({ at: now, appkey, outcome: 'ok' })
    core.log({ type: 'ws-session', appkey, outcome: 'ok' })
    this.startPing(s)
    return true
  }

  /**
   * PINGPONG: the first one interval after the session was accepted, then every interval (with
   * `pingWhenIdleOnly`, an interval after whatever was sent last). An unanswered PINGPONG closes the
   * session (without a close frame) `pongTimeoutMs` after it was sent, if that is set.
   */
  private startPing(s: Session): void {
    const o = this.options
    const clock = this.core.clock
    const interval = o.pingIntervalMs
    if (interval <= 0) return
    const arm = (at: number): void => {
      s.pingTimer = clock.setTimeout(fire, Math.max(1, at - clock.now()))
    }
    const fire = (): void => {
      s.pingTimer = undefined
      if (s.closed) return
      const now = clock.now()
      // A stalled session sends nothing, PINGPONG included (see `stall`).
      if (s.stalled) {
        arm(now + interval)
        return
      }
      if (o.pingWhenIdleOnly && now - s.lastSentAt < interval) {
        arm(s.lastSentAt + interval)
        return
      }
      // reference §7.4: {"header":{"tr_id":"PINGPONG","datetime":"YYYYMMDDHHMMSS"}}, no body.
      this.send(s, JSON.stringify({ header: { tr_id: 'PINGPONG', datetime: kstCompact(now) } }))
      if (s.awaitingSince === undefined) {
        s.awaitingSince = now
        if (o.pongTimeoutMs !== undefined) {
          s.pongTimer = clock.setTimeout(() => {
            s.pongTimer = undefined
            if (!s.closed && s.awaitingSince !== undefined) {
              if (s.app) this.core.log({ type: 'ws-pong-timeout', appkey: s.app.appkey })
              s.socket.terminate()
            }
          }, o.pongTimeoutMs)
        }
      }
      arm(now + interval)
    }
    arm(clock.now() + interval)
  }

  // ---------------------------------------------------------------- market data

  private onTrade(t: Trade, s: SymbolState): void {
    if (this.live.size === 0) return
    let record: string | undefined
    for (const sess of this.live.values()) {
      if (sess.stalled || !sess.subs.has(`H0STCNT0|${t.symbol}`)) continue
      record ??= tradeRecord(t, s)
      let buf = sess.trades.get(t.symbol)
      if (!buf) {
        buf = []
        sess.trades.set(t.symbol, buf)
      }
      buf.push(record)
      this.queueFlush()
    }
  }

  private onBook(s: SymbolState): void {
    if (this.live.size === 0) return
    for (const sess of this.live.values()) {
      if (sess.stalled || !sess.subs.has(`H0STASP0|${s.code}`)) continue
      sess.books.set(s.code, s)
      this.queueFlush()
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      this.flush()
    })
  }

  /** Sends buffered market data: H0STCNT0 bundled up to `bundleMax` records, H0STASP0 one per frame. */
  flush(): void {
    const core = this.core
    const now = core.clock.now()
    for (const sess of this.live.values()) {
      const appkey = sess.app?.appkey ?? ''
      for (const [, records] of sess.trades) {
        const max = this.options.bundleMax
        for (let i = 0; i < records.length; i += max) {
          const chunk = records.slice(i, i + max)
          const fx = this.marketFaults(appkey, 'H0STCNT0')
          if (fx.drop) continue
          const payload =
            fx.drift > 0 ? chunk.map((r) => r + '^'.repeat(fx.drift)).join('^') : chunk.join('^')
          this.send(sess, dataFrame(false, 'H0STCNT0', chunk.length, payload))
        }
      }
      sess.trades.clear()
      for (const s of sess.books.values()) {
        const fx = this.marketFaults(appkey, 'H0STASP0')
        if (fx.drop) continue
        this.send(sess, dataFrame(false, 'H0STASP0', 1, bookRecord(s, now, fx.drift)))
      }
      sess.books.clear()
    }
  }

  private marketFaults(appkey: string, trId: string): { drop: boolean; drift: number } {
    const out = { drop: false, drift: 0 }
    if (this.core.faults.size === 0) return out
    for (const r of this.core.faults.match({ on: 'market-data', appkey, trId })) {
      const e = (r as FaultRule & { effect: MarketDataFaultEffect }).effect
      if (e.type === 'drop') out.drop = true
      else out.drift += e.extraFields ?? 1
    }
    return out
  }

  // ---------------------------------------------------------------- execution notices

  private onNotice(n: ExchangeNotice): void {
    const core = this.core
    // reference §7.9: when KIS sends ACPT_YN 2 확인 is UNVERIFIED; `confirmNotices: false` keeps the
    // stream to 접수 + refusal only.
    if (n.kind === 'confirm' && !this.options.confirmNotices) return
    const paper = n.order.env === 'paper' ? core.paper : undefined
    // reference §7.10: on paper no cancel 접수 notice was reported, only the confirmation.
    if (paper?.cancelNotices === 'confirm-only' && n.order.kind === 'cancel' && n.kind === 'receipt') return
    for (const sess of this.live.values()) {
      const app = sess.app
      if (!app || app.env !== n.order.env || app.htsId !== n.order.htsId) continue
      const trId = NOTICE_TR[app.env]
      if (!sess.subs.has(`${trId}|${app.htsId}`) || sess.stalled) continue
      let copies = 1
      let delay = 0
      let reorder = 0
      let drift = 0
      let drop = false
      for (const r of core.faults.match({ on: 'notice', appkey: app.appkey })) {
        const e = (r as FaultRule & { effect: NoticeFaultEffect }).effect
        core.log({ type: 'fault', id: r.id, on: 'notice', effect: e.type })
        if (e.type === 'drop') drop = true
        else if (e.type === 'duplicate') copies += e.copies ?? 1
        else if (e.type === 'delay') delay += e.ms
        else if (e.type === 'reorder') reorder = Math.max(reorder, e.window ?? 2)
        else drift += e.extraFields ?? 1
      }
      if (drop) continue
      const acct = core.exchange.account(n.order.cano, n.order.productCode)
      const plain = noticeRecord(
        n,
        {
          accountName: acct?.name ?? '',
          symbolName: core.exchange.symbols.get(n.order.symbol)?.name ?? n.order.symbol,
          receiptQty: this.options.receiptQty,
          layout: paper?.noticeFields ?? 26,
          cancelConfirmPriceZero: paper?.cancelNotices === 'confirm-only',
        },
        drift,
      )
      // reference §7.5: `1|H0STCNI0|001|<base64>` encrypted with the session's key/iv.
      const frame = dataFrame(true, trId, 1, encryptNotice(plain, sess.key, sess.iv))
      const deliver = (): void => {
        for (let i = 0; i < copies; i++) this.send(sess, frame)
      }
      if (reorder > 1) {
        for (let i = 0; i < copies; i++) sess.held.push(frame)
        if (sess.held.length >= reorder) this.releaseHeld(sess)
      } else if (delay > 0) core.clock.setTimeout(deliver, delay)
      else deliver()
    }
  }

  private releaseHeld(sess: Session): void {
    const frames = sess.held.splice(0).reverse()
    for (const f of frames) this.send(sess, f)
  }

  // ---------------------------------------------------------------- control

  /** Releases notices held by a `reorder` fault (in reverse order). */
  releaseHeldNotices(appkey?: string): void {
    for (const s of this.live.values())
      if (appkey === undefined || s.app?.appkey === appkey) this.releaseHeld(s)
  }

  /** Drops an appkey's session: `clean` sends a close frame; otherwise the socket is destroyed. */
  disconnect(appkey: string, clean: boolean): boolean {
    const s = this.live.get(appkey)
    if (!s) return false
    if (clean) s.socket.close(1000, 'kis-sim')
    else {
      // terminate() never emits a close frame: the client sees 1006.
      s.socket.terminate()
      this.onClose(s, true)
    }
    return true
  }

  /** A stale stream: the socket stays open but no data or PINGPONG is sent. */
  stall(appkey: string, stalled: boolean): boolean {
    const s = this.live.get(appkey)
    if (!s) return false
    s.stalled = stalled
    if (stalled) {
      s.trades.clear()
      s.books.clear()
    }
    return true
  }

  /** Holds the appkey's slot as if a dead session kept it (OPSP8996) for `ms` (limit timebase). */
  holdSlot(appkey: string, ms: number): void {
    this.deadHolds.set(appkey, this.core.limitNow() + ms)
  }

  /** Blocks new sessions of an appkey for `ms`. */
  block(appkey: string, ms: number): void {
    this.blocks.set(appkey, this.core.limitNow() + ms)
  }

  sessions(): WsSessionInfo[] {
    return [...this.live.values()].map((s) => ({
      appkey: s.app?.appkey ?? '',
      env: s.app?.env ?? 'real',
      subscriptions: [...s.subs.values()],
      stalled: s.stalled,
      connectedAt: s.connectedAt,
    }))
  }

  /** Session key/iv for an appkey (tests decrypt notices with it). */
  sessionKeys(appkey: string): { key: string; iv: string } | undefined {
    const s = this.live.get(appkey)
    return s ? { key: s.key, iv: s.iv } : undefined
  }

  closeAll(): void {
    for (const s of [...this.all]) {
      s.socket.terminate()
      this.onClose(s, false)
    }
  }
}
