// Test helpers shipped with @vellab/broker-kis: fake credentials, a scriptable in-memory socket and
// frame builders for writing adapter tests without a network. Import from
// `@vellab/broker-kis/testing`.
import { createCipheriv, randomBytes } from 'node:crypto'
import type { KisSocket, KisSocketFactory } from '../ws/session'

/** Fake credentials with realistic lengths (reference §3.1: appkey 36, appsecret 180). */
export interface FakeKisCredentials {
  appKey: string
  appSecret: string
  htsId: string
  account: string
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function randomText(n: number): string {
  const bytes = randomBytes(n)
  let s = ''
  for (let i = 0; i < n; i++) s += ALNUM[bytes[i]! % ALNUM.length]
  return s
}

/**
 * Generate throw-away credentials at test time, so no real-looking secret is ever committed.
 * Every call returns new values.
 */
export function fakeKisCredentials(): FakeKisCredentials {
  return {
    appKey: `PS${randomText(34)}`,
    appSecret: randomText(180),
    htsId: `u${randomText(7).toLowerCase()}`,
    account: `5${String(Math.floor(1_000_000 + (randomBytes(3).readUIntBE(0, 3) % 8_999_999))).padStart(7, '0')}-01`,
  }
}

/** Encrypt a notice record like the broker does (AES-256-CBC, PKCS#7, base64; reference §7.5). */
export function encryptNoticePayload(plaintext: string, key: string, iv: string): string {
  const c = createCipheriv('aes-256-cbc', Buffer.from(key, 'utf8'), Buffer.from(iv, 'utf8'))
  return Buffer.concat([c.update(plaintext, 'utf8'), c.final()]).toString('base64')
}

/** A data frame `<enc>|<tr_id>|<count>|<payload>` (reference §7.5). */
export function dataFrame(trId: string, records: readonly (readonly string[])[], encrypted = false): string {
  return `${encrypted ? 1 : 0}|${trId}|${String(records.length).padStart(3, '0')}|${records.map((r) => r.join('^')).join('^')}`
}

/** An H0STCNT0 record of 46 fields (reference §7.7) with the given key fields. */
export function tradeRecord(o: {
  symbol: string
  time: string
  price: number
  volume: number
  cumulative: number
  side?: '1' | '5' | '3'
  date: string
  ask?: number
  bid?: number
}): string[] {
  const f = new Array<string>(46).fill('0')
  f[0] = o.symbol
  f[1] = o.time
  f[2] = String(o.price)
  f[3] = '2'
  f[10] = String(o.ask ?? o.price + 100)
  f[11] = String(o.bid ?? o.price)
  f[12] = String(o.volume)
  f[13] = String(o.cumulative)
  f[21] = o.side ?? '1'
  f[33] = o.date
  f[34] = '20'
  f[35] = 'N'
  f[43] = '0'
  return f
}

/** An H0STCNI0 record of 26 fields (reference §7.9). */
export function noticeRecord(o: {
  htsId: string
  account: string
  orderNo: string
  originalOrderNo?: string
  side: 'buy' | 'sell'
  correction?: '0' | '1' | '2'
  symbol: string
  quantity: number
  price: number
  time: string
  refused?: boolean
  fill: boolean
  acceptance?: '1' | '2' | '3'
  orderQuantity: number
  orderPrice: number
}): string[] {
  return [
    o.htsId,
    o.account,
    o.orderNo,
    o.originalOrderNo ?? '',
    o.side === 'sell' ? '01' : '02',
    o.correction ?? '0',
    '00',
    '0',
    o.symbol,
    String(o.quantity),
    String(o.price),
    o.time,
    o.refused ? '1' : '0',
    o.fill ? '2' : '1',
    o.acceptance ?? '1',
    '00950',
    String(o.orderQuantity),
    'TEST',
    '0',
    '1',
    'N',
    '',
    '',
    '',
    'TESTNAME',
    String(o.orderPrice),
  ]
}

type Listener = (...args: never[]) => void

/**
 * An in-memory socket for session tests: records what the client sends and lets the test play the
 * server (`open`, `receive`, `serverClose`).
 */
export class FakeKisSocket implements KisSocket {
  readyState = 0
  readonly url: string
  readonly sent: string[] = []
  readonly #listeners = new Map<string, Listener[]>()
  closedWith: { code?: number | undefined; reason?: string | undefined } | undefined
  terminated = false

  constructor(url: string) {
    this.url = url
  }

  on(event: string, listener: Listener): this {
    const l = this.#listeners.get(event) ?? []
    l.push(listener)
    this.#listeners.set(event, l)
    return this
  }

  removeAllListeners(): this {
    this.#listeners.clear()
    return this
  }

  #fire(event: string, ...args: unknown[]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) (l as (...a: unknown[]) => void)(...args)
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('socket not open')
    this.sent.push(data)
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.serverClose(code ?? 1000, reason ?? '')
  }

  terminate(): void {
    this.terminated = true
    this.serverClose(1006, '')
  }

  /** Server accepted the connection. */
  open(): void {
    this.readyState = 1
    this.#fire('open')
  }

  /** Server sent a text frame. */
  receive(text: string): void {
    this.#fire('message', Buffer.from(text, 'utf8'), false)
  }

  /** Server (or network) closed the connection. */
  serverClose(code = 1006, reason = ''): void {
    if (this.readyState === 3) return
    this.readyState = 3
    this.#fire('close', code, Buffer.from(reason))
  }

  /** Parsed subscription requests sent so far. */
  subscriptions(): { trType: string; trId: string; trKey: string; approvalKey: string }[] {
    return this.sent
      .filter((s) => s.startsWith('{') && s.includes('"input"'))
      .map((s) => {
        const m = JSON.parse(s) as {
          header: { tr_type: string; approval_key: string }
          body: { input: { tr_id: string; tr_key: string } }
        }
        return {
          trType: m.header.tr_type,
          trId: m.body.input.tr_id,
          trKey: m.body.input.tr_key,
          approvalKey: m.header.approval_key,
        }
      })
  }
}

/** A socket factory that records every socket it creates. */
export function fakeSocketFactory(): { create: KisSocketFactory; sockets: FakeKisSocket[] } {
  const sockets: FakeKisSocket[] = []
  return {
    sockets,
    create: (url: string) => {
      const s = new FakeKisSocket(url)
      sockets.push(s)
      return s
    },
  }
}

/** A subscribe ack (reference §7.3), optionally with key/iv. */
export function subscribeAck(
  trId: string,
  trKey: string,
  cipher?: { key: string; iv: string },
  code = 'OPSP0000',
  msg = 'SUBSCRIBE SUCCESS',
): string {
  return JSON.stringify({
    header: { tr_id: trId, tr_key: trKey, encrypt: cipher ? 'Y' : 'N' },
    body: {
      rt_cd: code === 'OPSP0000' ? '0' : '1',
      msg_cd: code,
      msg1: msg,
      ...(cipher ? { output: cipher } : {}),
    },
  })
}
