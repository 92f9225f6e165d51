import { type BrokerOrderEvent, seededRandom } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { KisEvent } from './events'
import { createKisGateway } from './gateway'
import type { NoticeSyncTuning } from './notice-sync'
import {
  encryptNoticePayload,
  type FakeKisSocket,
  fakeKisCredentials,
  fakeSocketFactory,
  noticeRecord,
  subscribeAck,
} from './testing'

// Gateway-level tests of the REST seeding of execution-notice totals (NoticeSync): a fake socket
// plays the notice stream, msw plays inquire-daily-ccld (reference §4.4) from a mutable book.

const BASE = 'http://kis-sync.test'
const T = '/uapi/domestic-stock/v1/trading'
const KEY = 'abcdefghijklmnopqrstuvwxyzabcdef'
const IV = 'fedcba9876543210'
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const hhmmss = (t: number) => {
  const d = new Date(t + 9 * 3_600_000)
  return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    .map((v) => String(v).padStart(2, '0'))
    .join('')
}

interface BookOrder {
  odno: string
  qty: number
  filled: number
  amount: number
  canceled?: boolean
  /** A cancel request's row (cncl_yn Y): the order it canceled and the shares confirmed. */
  cancelOf?: { orderNo: string; confirmed: number; refused?: boolean }
}

// These tests drive the REST seeding, so the paper account here lists its orders (KIS paper as
// reported does not, reference §7.10: see the 'cannot list' tests for that default).
const LISTING = { listOrders: true, listFills: true }

function setup(tuning: NoticeSyncTuning = {}, capabilities: { listOrders?: boolean } = LISTING) {
  const creds = fakeKisCredentials()
  // 2026-11-24 10:00 KST.
  const clock = new ManualClock(Date.parse('2026-11-24T01:00:00Z'))
  const events: KisEvent[] = []
  const sockets = fakeSocketFactory()
  const book = new Map<string, BookOrder>()
  /** Subscriptions the client had sent on the newest socket when each daily-ccld query arrived. */
  const queries: number[] = []
  let failNext = 0
  server.use(
    http.post(`${BASE}/oauth2/tokenP`, () =>
      HttpResponse.json({
        access_token: `eyJ.${'t'.repeat(40)}`,
        token_type: 'Bearer',
        expires_in: 86400,
        access_token_token_expired: '2026-11-25 10:00:00',
      }),
    ),
    http.post(`${BASE}/oauth2/Approval`, () => HttpResponse.json({ approval_key: 'approval-key-1' })),
    http.get(`${BASE}${T}/inquire-daily-ccld`, () => {
      const last = sockets.sockets[sockets.sockets.length - 1]
      queries.push(last ? last.subscriptions().filter((s) => s.trType === '1').length : 0)
      if (failNext > 0) {
        failNext--
        return HttpResponse.json({ rt_cd: '1', msg_cd: 'OPSQ2000', msg1: 'account error' })
      }
      const output1 = [...book.values()].map((o) => ({
        ord_dt: '20261124',
        ord_gno_brno: '00950',
        odno: o.odno,
        orgn_odno: o.cancelOf?.orderNo ?? '',
        sll_buy_dvsn_cd: '02',
        pdno: '005930',
        ord_qty: String(o.qty),
        ord_unpr: '70000',
        ord_tmd: '093000',
        tot_ccld_qty: String(o.filled),
        avg_prvs: o.filled > 0 ? String(o.amount / o.filled) : '0',
        cncl_yn: o.cancelOf ? 'Y' : 'N',
        tot_ccld_amt: String(o.amount),
        ord_dvsn_cd: '00',
        cnc_cfrm_qty: o.cancelOf ? String(o.cancelOf.confirmed) : o.canceled ? String(o.qty - o.filled) : '0',
        rmn_qty: o.canceled || o.cancelOf ? '0' : String(o.qty - o.filled),
        rjct_qty: o.cancelOf?.refused ? String(o.qty) : '0',
        excg_id_dvsn_Cd: 'KRX',
      }))
      return HttpResponse.json({ rt_cd: '0', msg_cd: '20310000', msg1: 'ok', output1, output2: {} })
    }),
  )
  const gw = createKisGateway({
    config: {
      environment: 'paper',
      appKey: creds.appKey,
      appSecret: creds.appSecret,
      account: creds.account,
      htsId: creds.htsId,
      restBaseUrl: BASE,
      wsUrl: 'ws://kis-sync.test/tryitout',
      limits: { restPerSecond: 50 },
      websocket: { reconnectBaseMs: 100, slotHoldMs: 0 },
      capabilities,
    },
    clock,
    random: seededRandom(7),
    createSocket: sockets.create,
    onEvent: (e) => events.push(e),
    noticeSync: tuning,
  })
  const got: BrokerOrderEvent[] = []
  const acct = creds.account.replace('-', '')
  /** Let I/O and the clock move (5 ms of virtual time per step) until `cond` holds. */
  const until = async (what: string, cond: () => boolean, steps = 400) => {
    for (let i = 0; i < steps; i++) {
      if (cond()) return
      await clock.advanceAsync(5)
      await new Promise((r) => setImmediate(r))
    }
    throw new Error(`timed out waiting for ${what}`)
  }
  const latest = () => sockets.sockets[sockets.sockets.length - 1] as FakeKisSocket
  const fillNotice = (s: FakeKisSocket, orderNo: string, quantity: number, time: string) =>
    s.receive(
      `1|H0STCNI9|001|${encryptNoticePayload(
        noticeRecord({
          htsId: creds.htsId,
          account: acct,
          orderNo,
          side: 'buy',
          symbol: '005930',
          quantity,
          price: 70000,
          time,
          fill: true,
          orderQuantity: 10,
          orderPrice: 70000,
        }).join('^'),
        KEY,
        IV,
      )}`,
    )
  /** A cancel (RCTF_CLS 2) receipt that names no quantity (fields 9 and 16 are 0, §10 item 10). */
  const cancelNotice = (
    s: FakeKisSocket,
    orderNo: string,
    originalOrderNo: string,
    time: string,
    o: { acceptance?: '1' | '2'; refused?: boolean } = {},
  ) =>
    s.receive(
      `1|H0STCNI9|001|${encryptNoticePayload(
        noticeRecord({
          htsId: creds.htsId,
          account: acct,
          orderNo,
          originalOrderNo,
          correction: '2',
          ...o,
          side: 'buy',
          symbol: '005930',
          quantity: 0,
          price: 0,
          time,
          fill: false,
          orderQuantity: 0,
          orderPrice: 0,
        }).join('^'),
        KEY,
        IV,
      )}`,
    )
  const fillLevels = (odno: string) =>
    got.flatMap((e) => (e.type === 'filled' && e.brokerOrderId === odno ? [e.cumulativeQuantity] : []))
  const syncs = () => events.filter((e) => e.type === 'notice.sync')
  return {
    gw,
    clock,
    creds,
    sockets,
    book,
    queries,
    got,
    events,
    until,
    latest,
    fillNotice,
    cancelNotice,
    fillLevels,
    syncs,
    failNext: (n: number) => {
      failNext = n
    },
    start: () => gw.streamOrderEvents(creds.account, (e) => got.push(e)),
  }
}

describe('NoticeSync where the environment cannot list orders (paper default, reference §7.10)', () => {
  it('fetches nothing, reports every would-be snapshot unavailable, tells gap listeners on each subscription, and still delivers notices', async () => {
    const h = setup({}, {})
    expect(h.gw.capabilities.listOrders).toBe(false)
    // The broker's books hold a fill this process never heard of: nothing may be read as "none".
    h.book.set('0000000301', { odno: '0000000301', qty: 10, filled: 4, amount: 280_000 })
    const gaps: string[] = []
    h.gw.onStreamGap((r) => gaps.push(r))
    h.start()
    await h.until('socket', () => h.sockets.sockets.length === 1)
    const s = h.latest()
    s.open()
    await h.until('subscribe sent', () => s.subscriptions().length === 1)
    const live = h.gw.whenOrderEventsLive(10_000)
    s.receive(subscribeAck('H0STCNI9', h.creds.htsId, { key: KEY, iv: IV }))
    await live
    await h.clock.advanceAsync(10)
    expect(h.queries).toEqual([])
    expect(h.syncs().map((e) => e.type === 'notice.sync' && [e.phase, e.outcome])).toEqual([
      ['baseline', 'unavailable'],
      ['subscribed', 'unavailable'],
    ])
    expect(gaps).toHaveLength(1)
    expect(gaps[0]).toMatch(/cannot be caught up/)
    // No catch-up event invented from nothing, and live notices still flow.
    expect(h.got).toEqual([])
    h.fillNotice(s, '0000000301', 2, hhmmss(h.clock.now()))
    expect(h.got.filter((e) => e.type === 'filled')).toHaveLength(1)
    // A reconnect re-registers: the gap is told again.
    s.serverClose(1006)
    await h.until('reconnect', () => h.sockets.sockets.length === 2, 2_000)
    const s2 = h.latest()
    s2.open()
    await h.until('resubscribed', () => s2.subscriptions().length === 1)
    expect(gaps.filter((g) => /cannot be caught up/.test(g))).toHaveLength(2)
    expect(h.queries).toEqual([])
    await h.gw.close()
  })

  it('whenOrderEventsLive rejects with an unavailable error when no acknowledgement comes', async () => {
    const h = setup({}, {})
    h.start()
    const live = h.gw.whenOrderEventsLive(1_000).catch((e: unknown) => e)
    await h.clock.advanceAsync(1_001)
    const err = await live
    expect(err).toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/not live after 1000 ms/),
    })
    await h.gw.close()
  })
})

describe('NoticeSync (REST seeding of notice totals)', () => {
  it('snapshots before subscribing, again after the ack, and emits a fill that fell between them', async () => {
    const h = setup()
    // Before this process started: 4 of 10 filled (a restart).
    h.book.set('0000000101', { odno: '0000000101', qty: 10, filled: 4, amount: 280_000 })
    h.start()
    await h.until('socket', () => h.sockets.sockets.length === 1)
    const s = h.latest()
    s.open()
    await h.until('subscribe sent', () => s.subscriptions().length === 1)
    // The baseline query was answered before the subscription went out.
    expect(h.queries).toEqual([0])
    expect(h.got.map((e) => e.eventId)).toEqual(['0000000101:accepted', '0000000101:fill:4'])
    // A fill lands after the baseline but before the registration: no notice will ever say so.
    h.book.get('0000000101')!.filled = 6
    h.book.get('0000000101')!.amount = 280_000 + 2 * 70_100
    s.receive(subscribeAck('H0STCNI9', h.creds.htsId, { key: KEY, iv: IV }))
    await h.until('after-ack snapshot', () => h.fillLevels('0000000101').includes(6))
    expect(h.queries).toEqual([0, 1])
    expect(h.got.at(-1)).toMatchObject({ fillQuantity: 2, fillPrice: 70_100, cumulativeQuantity: 6 })
    // The next fill's notice (2 s later, past the snapshot's cutoff) continues from the broker's level.
    await h.clock.advanceAsync(2_000)
    h.book.get('0000000101')!.filled = 7
    h.book.get('0000000101')!.amount += 70_000
    h.fillNotice(s, '0000000101', 1, hhmmss(h.clock.now()))
    expect(h.fillLevels('0000000101')).toEqual([4, 6, 7])
    // The after-ack snapshot raised a level, so one verifying snapshot follows after settleMs.
    await h.until(
      'verification',
      () => h.syncs().some((e) => e.type === 'notice.sync' && e.phase === 'verify'),
      1_000,
    )
    expect(h.fillLevels('0000000101')).toEqual([4, 6, 7])
    await h.gw.close()
  })

  it('after a reconnect: a baseline before resubscribing catches up fills and a cancel missed in the gap', async () => {
    const h = setup()
    h.book.set('0000000201', { odno: '0000000201', qty: 10, filled: 0, amount: 0 })
    h.start()
    await h.until('socket', () => h.sockets.sockets.length === 1)
    const s1 = h.latest()
    s1.open()
    await h.until('subscribe sent', () => s1.subscriptions().length === 1)
    s1.receive(subscribeAck('H0STCNI9', h.creds.htsId, { key: KEY, iv: IV }))
    await h.until('after-ack snapshot', () => h.queries.length === 2)
    await h.clock.advanceAsync(5_000)
    h.fillNotice(s1, '0000000201', 3, hhmmss(h.clock.now()))
    h.book.get('0000000201')!.filled = 3
    h.book.get('0000000201')!.amount = 210_000
    expect(h.fillLevels('0000000201')).toEqual([3])
    s1.serverClose(1006)
    // During the gap: 2 more fill, then the rest is cancelled. KIS does not replay those notices.
    h.book.set('0000000201', { odno: '0000000201', qty: 10, filled: 5, amount: 350_000, canceled: true })
    await h.until('reconnect', () => h.sockets.sockets.length === 2, 2_000)
    const s2 = h.latest()
    const before = h.queries.length
    s2.open()
    await h.until('resubscribed', () => s2.subscriptions().length === 1)
    expect(h.queries.slice(before)).toEqual([0])
    expect(h.fillLevels('0000000201')).toEqual([3, 5])
    expect(h.got.slice(-2).map((e) => [e.type, e.eventId])).toEqual([
      ['filled', '0000000201:fill:5'],
      ['canceled', '0000000201:canceled'],
    ])
    expect(h.got.at(-1)).toMatchObject({ canceledQuantity: 5 })
    await h.gw.close()
  })

  it('a cancel notice of 0 shares for an order never seen is reported from REST, not as 0, under the same id', async () => {
    const h = setup()
    h.start()
    await h.until('socket', () => h.sockets.sockets.length === 1)
    const s = h.latest()
    s.open()
    await h.until('subscribe sent', () => s.subscriptions().length === 1)
    s.receive(subscribeAck('H0STCNI9', h.creds.htsId, { key: KEY, iv: IV }))
    await h.until('after-ack snapshot', () => h.queries.length === 2)
    // An order whose receipt notice never arrived is canceled in full; the cancel's receipt says 0.
    h.book.set('0000000401', { odno: '0000000401', qty: 10, filled: 0, amount: 0, canceled: true })
    h.book.set('0000000402', {
      odno: '0000000402',
      qty: 10,
      filled: 0,
      amount: 0,
      cancelOf: { orderNo: '0000000401', confirmed: 10 },
    })
    h.cancelNotice(s, '0000000402', '0000000401', hhmmss(h.clock.now()))
    expect(h.got.filter((e) => e.type === 'canceled')).toEqual([])
    await h.until('REST settles the cancel', () => h.got.some((e) => e.type === 'canceled'), 2_000)
    expect(h.got.filter((e) => e.type === 'canceled')).toEqual([
      expect.objectContaining({
        eventId: '0000000401:canceled:0000000402',
        brokerOrderId: '0000000401',
        canceledQuantity: 10,
      }),
    ])
    await h.gw.close()
  })

  it('a failed baseline does not block the subscription; the after-ack snapshot catches up', async () => {
    const h = setup()
    h.book.set('0000000301', { odno: '0000000301', qty: 10, filled: 2, amount: 140_000 })
    h.failNext(1)
    h.start()
    await h.until('socket', () => h.sockets.sockets.length === 1)
    const s = h.latest()
    s.open()
    await h.until('subscribe sent', () => s.subscriptions().length === 1)
    expect(h.syncs()).toEqual([expect.objectContaining({ phase: 'baseline', outcome: 'failed' })])
    expect(h.got).toEqual([])
    s.receive(subscribeAck('H0STCNI9', h.creds.htsId, { key: KEY, iv: IV }))
    await h.until('catch-up', () => h.fillLevels('0000000301').includes(2))
    expect(h.syncs().at(-1)).toMatchObject({ phase: 'subscribed', outcome: 'ok', raised: 1 })
    await h.gw.close()
  })
})

describe('cancel confirmation (gateway, fake socket + msw): a receipt is not an outcome', () => {
  const ORDER = '0000000501'
  const CXL = '0000000502'
  /** Subscribed, with one working order of 10 the consumer saw accepted; returns the socket. */
  async function ready(h: ReturnType<typeof setup>) {
    h.book.set(ORDER, { odno: ORDER, qty: 10, filled: 0, amount: 0 })
    h.start()
    await h.until('socket', () => h.sockets.sockets.length === 1)
    const s = h.latest()
    s.open()
    await h.until('subscribe sent', () => s.subscriptions().length === 1)
    s.receive(subscribeAck('H0STCNI9', h.creds.htsId, { key: KEY, iv: IV }))
    await h.until('after-ack snapshot', () => h.queries.length === 2)
    expect(h.got.map((e) => e.eventId)).toEqual([`${ORDER}:accepted`])
    // The cancel request is in the books, not confirmed yet (cnc_cfrm_qty 0).
    h.book.set(CXL, { odno: CXL, qty: 10, filled: 0, amount: 0, cancelOf: { orderNo: ORDER, confirmed: 0 } })
    return s
  }
  const canceled = (h: ReturnType<typeof setup>) => h.got.filter((e) => e.type === 'canceled')
  const confirmSyncs = (h: ReturnType<typeof setup>) =>
    h.events.filter((e) => e.type === 'notice.sync' && e.phase === 'confirm')

  it('the receipt emits nothing; the 확인 notice emits `canceled`, and REST later adds nothing', async () => {
    const h = setup({ settleMs: 500 })
    const s = await ready(h)
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()))
    expect(canceled(h)).toEqual([])
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()), { acceptance: '2' })
    expect(canceled(h)).toEqual([
      expect.objectContaining({
        eventId: `${ORDER}:canceled:${CXL}`,
        brokerOrderId: ORDER,
        canceledQuantity: 10,
      }),
    ])
    h.book.set(ORDER, { odno: ORDER, qty: 10, filled: 0, amount: 0, canceled: true })
    h.book.get(CXL)!.cancelOf!.confirmed = 10
    await h.clock.advanceAsync(5_000)
    expect(canceled(h)).toHaveLength(1)
    expect(h.events.some((e) => e.type === 'notice.unconfirmed')).toBe(false)
    await h.gw.close()
  })

  it('no 확인: a confirm snapshot after settleMs reports the cancel from cnc_cfrm_qty, same id', async () => {
    const h = setup({ settleMs: 500 })
    const s = await ready(h)
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()))
    // The first confirm snapshot still sees it pending.
    await h.until('first confirm snapshot', () => confirmSyncs(h).length === 1)
    expect(canceled(h)).toEqual([])
    h.book.set(ORDER, { odno: ORDER, qty: 10, filled: 0, amount: 0, canceled: true })
    h.book.get(CXL)!.cancelOf!.confirmed = 10
    await h.until('REST confirms', () => canceled(h).length === 1, 1_000)
    expect(canceled(h)).toEqual([
      expect.objectContaining({ eventId: `${ORDER}:canceled:${CXL}`, canceledQuantity: 10 }),
    ])
    // Confirmed: the snapshots stop.
    const n = confirmSyncs(h).length
    await h.clock.advanceAsync(60_000)
    expect(confirmSyncs(h).length).toBe(n)
    await h.gw.close()
  })

  it('a fill beats the cancel: `rejected` for the cancel number, no `canceled`, ever', async () => {
    const h = setup({ settleMs: 500 })
    const s = await ready(h)
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()))
    h.fillNotice(s, ORDER, 10, hhmmss(h.clock.now()))
    h.book.set(ORDER, { odno: ORDER, qty: 10, filled: 10, amount: 700_000 })
    h.book.get(CXL)!.cancelOf!.refused = true
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()), { refused: true })
    await h.clock.advanceAsync(60_000)
    await h.until('settled', () => true)
    expect(h.got.map((e) => [e.type, e.eventId])).toEqual([
      ['accepted', `${ORDER}:accepted`],
      ['filled', `${ORDER}:fill:10`],
      ['rejected', `${CXL}:rejected`],
    ])
    expect(h.events.some((e) => e.type === 'notice.unconfirmed')).toBe(false)
    await h.gw.close()
  })

  it('never confirmed nor refused: after the checks, `notice.unconfirmed` and onStreamGap, no guess', async () => {
    const h = setup({ settleMs: 500, maxConfirmationChecks: 3 })
    const gaps: string[] = []
    h.gw.onStreamGap((r) => gaps.push(r))
    const s = await ready(h)
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()))
    // 500 + 1 000 + 2 000 ms of checks.
    await h.until('given up', () => h.events.some((e) => e.type === 'notice.unconfirmed'), 2_000)
    expect(confirmSyncs(h)).toHaveLength(3)
    expect(h.events.filter((e) => e.type === 'notice.unconfirmed')).toEqual([
      { type: 'notice.unconfirmed', kind: 'cancel', brokerOrderId: ORDER, requestNo: CXL, checks: 3 },
    ])
    expect(gaps).toEqual([`unconfirmed cancel ${CXL} of order ${ORDER}`])
    expect(canceled(h)).toEqual([])
    await h.clock.advanceAsync(60_000)
    expect(confirmSyncs(h)).toHaveLength(3)
    await h.gw.close()
  })

  it("confirmation 'notice': no REST snapshot for the receipt; the 확인 still confirms", async () => {
    const h = setup({ settleMs: 500, confirmation: 'notice', maxConfirmationChecks: 2 })
    const s = await ready(h)
    const queries = h.queries.length
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()))
    await h.until('given up', () => h.events.some((e) => e.type === 'notice.unconfirmed'), 2_000)
    expect(h.queries.length).toBe(queries)
    expect(canceled(h)).toEqual([])
    h.cancelNotice(s, CXL, ORDER, hhmmss(h.clock.now()), { acceptance: '2' })
    expect(canceled(h)).toEqual([expect.objectContaining({ eventId: `${ORDER}:canceled:${CXL}` })])
    await h.gw.close()
  })
})
