import { createDecipheriv } from 'node:crypto'
import { expect } from 'vitest'
import WebSocket from 'ws'
import { createKisSim, type KisSim, type KisSimOptions, type SimAppInfo } from '../src/index'

// biome-ignore lint/suspicious/noExplicitAny: test JSON
export type Reply = { status: number; headers: Headers; body: any }

/** A Tuesday in Regime B, mid continuous session. */
export const TRADING_TIME = '2026-11-24 10:00:00'

export async function startSim(options: KisSimOptions = {}): Promise<KisSim> {
  return createKisSim({
    clock: { mode: 'manual', start: TRADING_TIME },
    market: { priceModel: 'static', ...options.market },
    ...options,
    ...(options.market ? { market: { priceModel: 'static', ...options.market } } : {}),
  })
}

export function realApp(sim: KisSim): SimAppInfo {
  const a = sim.apps.find((x) => x.env === 'real')
  if (!a) throw new Error('no real app')
  return a
}

export function paperApp(sim: KisSim): SimAppInfo {
  const a = sim.apps.find((x) => x.env === 'paper')
  if (!a) throw new Error('no paper app')
  return a
}

export async function post(
  sim: KisSim,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const r = await fetch(`${sim.restUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  return { status: r.status, headers: r.headers, body: (await r.json()) as any }
}

export async function get(
  sim: KisSim,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
): Promise<Reply> {
  const qs = new URLSearchParams(query).toString()
  const r = await fetch(`${sim.restUrl}${path}?${qs}`, { headers })
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  return { status: r.status, headers: r.headers, body: (await r.json()) as any }
}

export async function token(sim: KisSim, app: SimAppInfo): Promise<string> {
  const r = await post(sim, '/oauth2/tokenP', {
    grant_type: 'client_credentials',
    appkey: app.appkey,
    appsecret: app.appsecret,
  })
  if (r.status !== 200) throw new Error(`tokenP ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.access_token as string
}

export function headers(app: SimAppInfo, tok: string, trId: string, extra: Record<string, string> = {}) {
  return {
    authorization: `Bearer ${tok}`,
    appkey: app.appkey,
    appsecret: app.appsecret,
    tr_id: trId,
    custtype: 'P',
    ...extra,
  }
}

export const ORDER_CASH = '/uapi/domestic-stock/v1/trading/order-cash'
export const ORDER_RVSECNCL = '/uapi/domestic-stock/v1/trading/order-rvsecncl'
export const BALANCE = '/uapi/domestic-stock/v1/trading/inquire-balance'
export const DAILY_CCLD = '/uapi/domestic-stock/v1/trading/inquire-daily-ccld'
export const PSBL_RVSECNCL = '/uapi/domestic-stock/v1/trading/inquire-psbl-rvsecncl'
export const PSBL_SELL = '/uapi/domestic-stock/v1/trading/inquire-psbl-sell'
export const PSBL_ORDER = '/uapi/domestic-stock/v1/trading/inquire-psbl-order'
export const PRICE = '/uapi/domestic-stock/v1/quotations/inquire-price'
export const HOLIDAY = '/uapi/domestic-stock/v1/quotations/chk-holiday'

export function orderBody(app: SimAppInfo, over: Record<string, string> = {}) {
  const acct = app.accounts[0]
  if (!acct) throw new Error('no account')
  return {
    CANO: acct.cano,
    ACNT_PRDT_CD: acct.productCode,
    PDNO: '005930',
    ORD_DVSN: '00',
    ORD_QTY: '10',
    ORD_UNPR: '70000',
    ...over,
  }
}

/** Places an order, asserting success; returns the output. */
export async function placeOrder(
  sim: KisSim,
  app: SimAppInfo,
  tok: string,
  over: Record<string, string> = {},
  trId = app.env === 'real' ? 'TTTC0012U' : 'VTTC0012U',
): Promise<Reply> {
  const r = await post(sim, ORDER_CASH, orderBody(app, over), headers(app, tok, trId))
  return r
}

/** A WebSocket client that queues messages. */
export class WsClient {
  readonly messages: string[] = []
  private waiters: { pred: (m: string) => boolean; resolve: (m: string) => void }[] = []
  closed = false
  closeCode = 0

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (d) => {
      const m = d.toString()
      const i = this.waiters.findIndex((w) => w.pred(m))
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1)
        w?.resolve(m)
      } else this.messages.push(m)
    })
    socket.on('close', (code) => {
      this.closed = true
      this.closeCode = code
      for (const w of this.waiters.splice(0)) w.resolve('__closed__')
    })
    socket.on('error', () => {})
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    const ws = new WebSocket(url, options)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return new WsClient(ws)
  }

  /** Resolves with the next message matching `pred` (or `__closed__`). */
  next(pred: (m: string) => boolean = () => true, timeoutMs = 3000): Promise<string> {
    const i = this.messages.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0] as string)
    if (this.closed) return Promise.resolve('__closed__')
    return new Promise((resolve, reject) => {
      const w = { pred, resolve }
      this.waiters.push(w)
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w)
        reject(new Error(`ws: no matching message in ${timeoutMs} ms`))
      }, timeoutMs)
      t.unref()
      const orig = w.resolve
      w.resolve = (m) => {
        clearTimeout(t)
        orig(m)
      }
    })
  }

  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  async json(pred: (j: Record<string, any>) => boolean = () => true): Promise<Record<string, any>> {
    const m = await this.next((s) => s.startsWith('{') && pred(JSON.parse(s)))
    return m === '__closed__' ? { closed: true } : JSON.parse(m)
  }

  send(obj: unknown): void {
    this.socket.send(typeof obj === 'string' ? obj : JSON.stringify(obj))
  }

  subscribe(approvalKey: string, trId: string, trKey: string, trType = '1'): void {
    this.send({
      header: { approval_key: approvalKey, custtype: 'P', tr_type: trType, 'content-type': 'utf-8' },
      body: { input: { tr_id: trId, tr_key: trKey } },
    })
  }

  /** Sync point: a round trip through the server. */
  async roundTrip(approvalKey: string): Promise<void> {
    this.subscribe(approvalKey, 'H0STCNT0', '999999', '2')
    await this.json((j) => j.body?.msg_cd === 'OPSP0003' && j.header?.tr_key === '999999')
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      this.socket.close()
    })
  }
}

export async function approvalKey(sim: KisSim, app: SimAppInfo): Promise<string> {
  const r = await post(sim, '/oauth2/Approval', {
    grant_type: 'client_credentials',
    appkey: app.appkey,
    secretkey: app.appsecret,
  })
  if (r.status !== 200) throw new Error(`approval ${r.status}`)
  return r.body.approval_key as string
}

/**
 * An AES-256-CBC decryption written for the tests, independently of the simulator's own helper: key and iv
 * are the ack's strings as UTF-8 bytes, and the PKCS#7 padding is checked by hand (reference §7.5).
 */
export function decryptIndependently(b64: string, key: string, iv: string): string {
  const d = createDecipheriv('aes-256-cbc', Buffer.from(key, 'utf8'), Buffer.from(iv, 'utf8'))
  d.setAutoPadding(false)
  const raw = Buffer.concat([d.update(Buffer.from(b64, 'base64')), d.final()])
  const pad = raw[raw.length - 1] ?? 0
  expect(pad).toBeGreaterThanOrEqual(1)
  expect(pad).toBeLessThanOrEqual(16)
  expect([...raw.subarray(raw.length - pad)].every((b) => b === pad)).toBe(true)
  return raw.subarray(0, raw.length - pad).toString('utf8')
}

/** A data frame (`0|…` plain, `1|…` encrypted, reference §7.5) rather than a JSON control frame. */
export const isData = (m: string): boolean => m.startsWith('0|') || m.startsWith('1|')

/** An inquire-daily-ccld query for the app's first account on the trading day (all sides, all orders). */
export function dailyCcldQuery(app: SimAppInfo, over: Record<string, string> = {}): Record<string, string> {
  return {
    CANO: app.accounts[0]?.cano ?? '',
    ACNT_PRDT_CD: app.accounts[0]?.productCode ?? '',
    INQR_STRT_DT: '20261124',
    INQR_END_DT: '20261124',
    SLL_BUY_DVSN_CD: '00',
    INQR_DVSN: '00',
    PDNO: '',
    CCLD_DVSN: '00',
    ORD_GNO_BRNO: '',
    ODNO: '',
    INQR_DVSN_3: '00',
    INQR_DVSN_1: '',
    CTX_AREA_FK100: '',
    CTX_AREA_NK100: '',
    ...over,
  }
}
