import { inspect } from 'node:util'
import { BrokerError, isNotSupportedInEnvironment, seededRandom } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { KisEvent } from './events'
import { createKisGateway } from './gateway'
import { FILLS_FROM_ORDERS_MS } from './gateway/queries'
import { type ListingRow, type ListingStore, listingStoreKey, MemoryListingStore } from './listing-store'
import {
  encryptNoticePayload,
  fakeKisCredentials,
  fakeSocketFactory,
  noticeRecord,
  subscribeAck,
} from './testing'

const BASE = 'http://kis-gw.test'
const T = '/uapi/domestic-stock/v1/trading'
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

async function drive<T>(clock: ManualClock, p: Promise<T>, stepMs = 50, max = 400): Promise<T> {
  let done = false
  p.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  for (let i = 0; i < max && !done; i++) await clock.advanceAsync(stepMs)
  return p
}

// The paper setups here list orders (the REST paths under test); the paper default that cannot
// (reference §7.10) has its own tests.
function setup(
  env: 'real' | 'paper' = 'paper',
  capabilities: { listOrders?: boolean; listFills?: boolean } = { listOrders: true, listFills: true },
  options: { listingStore?: ListingStore } = {},
) {
  const creds = fakeKisCredentials()
  const clock = new ManualClock(Date.parse('2026-11-24T01:00:00Z'))
  const events: KisEvent[] = []
  const sockets = fakeSocketFactory()
  const tokenValue = `eyJhbGciOiJIUzUxMiJ9.${'a'.repeat(40)}.${'b'.repeat(40)}`
  const approvalKey = '062f61cb-c756-4b8f-9fab-92113c6fbea4'
  server.use(
    http.post(`${BASE}/oauth2/tokenP`, () =>
      HttpResponse.json({
        access_token: tokenValue,
        token_type: 'Bearer',
        expires_in: 86400,
        access_token_token_expired: '2026-11-25 10:00:00',
      }),
    ),
    http.post(`${BASE}/oauth2/Approval`, () => HttpResponse.json({ approval_key: approvalKey })),
  )
  const gw = createKisGateway({
    config: {
      environment: env,
      appKey: creds.appKey,
      appSecret: creds.appSecret,
      account: creds.account,
      htsId: creds.htsId,
      restBaseUrl: BASE,
      wsUrl: 'ws://kis-gw.test/tryitout',
      limits: { restPerSecond: 50 },
      capabilities,
    },
    clock,
    random: seededRandom(1),
    createSocket: sockets.create,
    onEvent: (e) => events.push(e),
    ...options,
  })
  return { gw, clock, events, creds, sockets, tokenValue, approvalKey }
}

const ok = (extra: Record<string, unknown>, headers: Record<string, string> = {}) =>
  HttpResponse.json(
    { rt_cd: '0', msg_cd: '20310000', msg1: '모의투자 조회가 완료되었습니다.', ...extra },
    { headers },
  )

const daily = (o: Record<string, string>) => ({
  ord_dt: '20261124',
  ord_gno_brno: '00950',
  odno: '0000000001',
  orgn_odno: '',
  sll_buy_dvsn_cd: '02',
  pdno: '005930',
  ord_qty: '10',
  ord_unpr: '70000',
  ord_tmd: '100000',
  tot_ccld_qty: '0',
  avg_prvs: '0',
  cncl_yn: 'N',
  tot_ccld_amt: '0',
  ord_dvsn_cd: '00',
  cnc_cfrm_qty: '0',
  rmn_qty: '10',
  rjct_qty: '0',
  excg_id_dvsn_Cd: 'KRX',
  ...o,
})

describe('KisGateway', () => {
  it('places an order with the account split into CANO/ACNT_PRDT_CD and returns the normalised ODNO', async () => {
    const { gw, clock, creds } = setup('paper')
    let body: Record<string, string> | undefined
    server.use(
      http.post(`${BASE}${T}/order-cash`, async ({ request }) => {
        body = (await request.json()) as Record<string, string>
        return HttpResponse.json({
          rt_cd: '0',
          msg_cd: '40600000',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '00950', ODNO: '38614', ORD_TMD: '152556' },
        })
      }),
    )
    const ack = await drive(
      clock,
      gw.placeOrder({
        intentId: 'a1',
        account: creds.account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 3,
        orderType: 'limit',
        limitPrice: 70_000,
      }),
    )
    expect(ack).toMatchObject({ intentId: 'a1', brokerOrderId: '0000038614' })
    expect(ack.acceptedAt).toBeLessThanOrEqual(clock.now())
    expect(body).toEqual({
      CANO: creds.account.slice(0, 8),
      ACNT_PRDT_CD: '01',
      PDNO: '005930',
      ORD_DVSN: '00',
      ORD_QTY: '3',
      ORD_UNPR: '70000',
      EXCG_ID_DVSN_CD: 'KRX',
    })
  })

  it('on paper by default (reference §7.10) lists nothing: order and fill queries refuse with a typed error and send no request; a known order is still modified, an unknown one is not guessed', async () => {
    const { gw, clock, creds } = setup('paper', {})
    expect(gw.capabilities).toMatchObject({
      listOrders: false,
      listFills: false,
      positions: true,
      cash: true,
    })
    const real = setup('real', {})
    expect(real.gw.capabilities).toMatchObject({
      listOrders: true,
      listFills: true,
      perExecutionFills: false,
    })
    let listed = 0
    const bodies: Record<string, string>[] = []
    server.use(
      http.get(`${BASE}${T}/inquire-daily-ccld`, () => {
        listed++
        return ok({ output1: [], output2: {} })
      }),
      http.post(`${BASE}${T}/order-cash`, () =>
        HttpResponse.json({
          rt_cd: '0',
          msg_cd: '40600000',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '00950', ODNO: '500', ORD_TMD: '100000' },
        }),
      ),
      http.post(`${BASE}${T}/order-rvsecncl`, async ({ request }) => {
        bodies.push((await request.json()) as Record<string, string>)
        return HttpResponse.json({
          rt_cd: '0',
          msg_cd: '40620000',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '00950', ODNO: '501', ORD_TMD: '100001' },
        })
      }),
    )
    for (const q of [
      (): Promise<unknown> => gw.getOrders(creds.account),
      (): Promise<unknown> => gw.getOpenOrders(creds.account),
      (): Promise<unknown> => gw.getFills(creds.account),
    ]) {
      const err = await drive(clock, q()).catch((e: unknown) => e)
      expect(isNotSupportedInEnvironment(err)).toBe(true)
      expect(String(err)).toMatch(/cannot list/)
    }
    expect(listed).toBe(0)
    // An order this process did not place cannot be looked up: refused, nothing sent.
    const unknown = await drive(clock, gw.cancelOrder('0000000999')).catch((e: unknown) => e)
    expect(isNotSupportedInEnvironment(unknown)).toBe(true)
    expect(bodies).toEqual([])
    // An order it placed is modified from what it knows (price-only: the whole rest).
    await drive(
      clock,
      gw.placeOrder({
        intentId: 'p1',
        account: creds.account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 5,
        orderType: 'limit',
        limitPrice: 70_000,
      }),
    )
    const rack = await drive(clock, gw.replaceOrder('0000000500', { limitPrice: 69_900 }))
    expect(rack).toMatchObject({ brokerOrderId: '0000000500', newBrokerOrderId: '0000000501' })
    expect(bodies[0]).toMatchObject({ ORGN_ODNO: '0000000500', QTY_ALL_ORD_YN: 'Y', ORD_UNPR: '69900' })
    // Overridden where the account does list: the same query reaches the wire.
    const listing = setup('paper', { listOrders: true })
    await drive(listing.clock, listing.gw.getOrders(listing.creds.account))
    expect(listed).toBe(1)
    await Promise.all([gw.close(), real.gw.close(), listing.gw.close()])
  })

  it('rejects a malformed intent and a foreign account before anything is sent', async () => {
    const { gw, creds } = setup()
    await expect(
      gw.placeOrder({
        intentId: 'x',
        account: creds.account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 0,
        orderType: 'limit',
        limitPrice: 1,
      }),
    ).rejects.toSatisfy((e: unknown) => BrokerError.isKind(e, 'invalid_request'))
    await expect(gw.getPositions('99999999-01')).rejects.toSatisfy((e: unknown) =>
      BrokerError.isKind(e, 'invalid_request'),
    )
  })

  it('derives order status from daily-ccld quantities, linking replacements and hiding cancel requests', async () => {
    const { gw, clock, creds } = setup('paper')
    server.use(
      http.get(`${BASE}${T}/inquire-daily-ccld`, () =>
        ok({
          output1: [
            daily({ odno: '1', tot_ccld_qty: '0', rmn_qty: '10' }),
            daily({ odno: '2', tot_ccld_qty: '4', rmn_qty: '6', avg_prvs: '70000' }),
            daily({ odno: '3', tot_ccld_qty: '10', rmn_qty: '0', avg_prvs: '69950.5' }),
            daily({ odno: '4', tot_ccld_qty: '2', rmn_qty: '0', cnc_cfrm_qty: '8', avg_prvs: '70000' }),
            daily({ odno: '5', orgn_odno: '4', cncl_yn: 'Y', ord_qty: '8', rmn_qty: '0' }),
            daily({ odno: '6', rmn_qty: '0' }),
            daily({ odno: '7', orgn_odno: '6', ord_unpr: '69900', rmn_qty: '10' }),
          ],
          output2: { tot_ord_qty: '0' },
        }),
      ),
    )
    const orders = await drive(clock, gw.getOrders(creds.account))
    const by = Object.fromEntries(orders.map((o) => [o.brokerOrderId.slice(-1), o]))
    expect(Object.keys(by).sort()).toEqual(['1', '2', '3', '4', '6', '7'])
    expect(by['1']).toMatchObject({ status: 'open', filledQuantity: 0, remainingQuantity: 10 })
    expect(by['2']).toMatchObject({
      status: 'partially_filled',
      filledQuantity: 4,
      remainingQuantity: 6,
      averageFillPrice: 70000,
    })
    expect(by['3']).toMatchObject({ status: 'filled', averageFillPrice: 69950.5 })
    expect(by['4']).toMatchObject({ status: 'canceled', filledQuantity: 2, remainingQuantity: 0 })
    expect(by['6']).toMatchObject({ status: 'replaced' })
    expect(by['7']).toMatchObject({ status: 'open', predecessorId: '0000000006', limitPrice: 69900 })
    const fills = await drive(clock, gw.getFills(creds.account, { brokerOrderId: '3' }))
    expect(fills).toEqual([
      expect.objectContaining({
        fillId: '0000000003:10',
        quantity: 10,
        cumulativeQuantity: 10,
        price: 69951,
      }),
    ])
  })

  it('fills right after an unfiltered orders listing come from that listing: one paging of the day, not two', async () => {
    const { gw, clock, creds } = setup('paper')
    const asked: string[] = []
    server.use(
      http.get(`${BASE}${T}/inquire-daily-ccld`, ({ request }) => {
        const ccld = new URL(request.url).searchParams.get('CCLD_DVSN') ?? ''
        asked.push(ccld)
        const rows = [
          daily({ odno: '1', tot_ccld_qty: '0', rmn_qty: '10' }),
          daily({ odno: '2', tot_ccld_qty: '4', rmn_qty: '6', avg_prvs: '70000' }),
        ]
        return ok({ output1: ccld === '01' ? rows.slice(1) : rows, output2: {} })
      }),
    )
    await drive(clock, gw.getOrders(creds.account))
    const fills = await drive(clock, gw.getFills(creds.account))
    expect(asked).toEqual(['00'])
    expect(fills.map((f) => [f.brokerOrderId, f.cumulativeQuantity])).toEqual([['0000000002', 4]])
    // Later: today's fills come from the (incremental) orders listing, not a fills listing;
    // filtered, or with the incremental listing off, the broker is asked for fills.
    clock.advance(FILLS_FROM_ORDERS_MS + 1)
    expect(await drive(clock, gw.getFills(creds.account))).toEqual(fills)
    await drive(clock, gw.getOrders(creds.account))
    await drive(clock, gw.getFills(creds.account, { symbol: '005930' }))
    expect(asked).toEqual(['00', '00', '00', '01'])
    await gw.close()
  })

  it("reads today's listing incrementally: down to the oldest order not settled at the last read, the older rows from that read", async () => {
    const { gw, clock, creds } = setup('paper')
    // A broker with 3 rows a page, newest first; the day's orders change between reads.
    const book = new Map<number, Record<string, string>>()
    const row = (n: number, o: Record<string, string>) =>
      book.set(n, daily({ odno: String(n).padStart(10, '0'), ...o }))
    const filled = { tot_ccld_qty: '10', rmn_qty: '0', avg_prvs: '70000', tot_ccld_amt: '700000' }
    const open = { tot_ccld_qty: '0', rmn_qty: '10' }
    for (let n = 1; n <= 9; n++) row(n, n === 4 ? open : filled)
    let requests = 0
    let ascending = false
    let pageHook = () => {}
    server.use(
      http.get(`${BASE}${T}/inquire-daily-ccld`, ({ request }) => {
        requests += 1
        if (new URL(request.url).searchParams.get('CTX_AREA_NK100')) pageHook()
        const u = new URL(request.url).searchParams
        expect(u.get('INQR_DVSN')).toBe('00')
        const all = [...book.keys()].sort((a, b) => (ascending ? a - b : b - a)).map((n) => book.get(n)!)
        const at = Number(u.get('CTX_AREA_NK100') || 0)
        const more = at + 3 < all.length
        return ok(
          {
            output1: all.slice(at, at + 3),
            output2: {},
            ctx_area_fk100: 'k',
            ctx_area_nk100: String(at + 3),
          },
          { tr_cont: more ? 'M' : 'D' },
        )
      }),
    )
    const list = async () =>
      (await drive(clock, gw.getOrders(creds.account)))
        .map((o) => [Number(o.brokerOrderId), o.filledQuantity, o.remainingQuantity])
        .sort((a, b) => a[0]! - b[0]!)
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
    // The first read is whole: 9 rows, 3 pages.
    expect(await list()).toHaveLength(9)
    expect(requests).toBe(3)
    // Another date range listed in between is read whole and does not cost today's listing its base.
    requests = 0
    await drive(clock, gw.getOrders(creds.account, { from: '2026-11-02', to: '2026-11-03' }))
    expect(requests).toBe(3)
    // Three new orders, and order 4 fills: pages down to order 4 (the oldest not settled), i.e. 12..10,
    // 9..7, 6..4, and orders 3..1 come from the last read.
    for (let n = 10; n <= 12; n++) row(n, filled)
    row(4, filled)
    requests = 0
    clock.advance(10_000)
    const second = await list()
    expect(requests).toBe(3)
    expect(second.map(([n]) => n)).toEqual(upTo(12))
    expect(second.find(([n]) => n === 4)).toEqual([4, 10, 0])
    // Everything settled: one page (the newest), which reaches below the newest known order.
    row(13, open)
    requests = 0
    clock.advance(10_000)
    expect((await list()).map(([n]) => n)).toEqual(upTo(13))
    expect(requests).toBe(1)
    // A settled row that changed anyway (which KIS is not known to do) is seen at the next whole
    // read, listingFullRefreshMs (5 min) after the last one.
    row(2, { ...filled, tot_ccld_qty: '9', rjct_qty: '1' })
    clock.advance(10_000)
    expect((await list()).find(([n]) => n === 2)).toEqual([2, 10, 0])
    clock.advance(300_000)
    requests = 0
    expect((await list()).find(([n]) => n === 2)).toEqual([2, 9, 0])
    expect(requests).toBe(5)
    // An order placed while it pages (an offset cursor, as kis-sim's): the rows pushed down come
    // again on the next page; each order counts once and the listing stays incremental.
    for (let n = 14; n <= 16; n++) row(n, filled)
    pageHook = () => {
      pageHook = () => {}
      row(17, filled) // before page 2, so page 2 repeats order 14
    }
    clock.advance(10_000)
    requests = 0
    expect((await list()).map(([n]) => n)).toEqual(upTo(16))
    expect(requests).toBe(2)
    expect((await list()).map(([n]) => n)).toEqual(upTo(17))
    // A broker that lists oldest first although asked for newest first: a whole read, not a gap.
    ascending = true
    row(18, filled)
    requests = 0
    clock.advance(10_000)
    expect(await list()).toHaveLength(18)
    expect(requests).toBe(1 + 6)
    await gw.close()
  })

  it('with a listing store: a load that fails or finds a bad row reads the day whole; after a failed save only a whole listing is saved', async () => {
    // A store that can be made to fail, counting what reaches it.
    class FlakyStore extends MemoryListingStore {
      failLoad = false
      failSaves = 0
      saves: number[] = []
      override async load(key: string, day: string) {
        if (this.failLoad) throw new Error('database unreachable')
        return super.load(key, day)
      }
      override async save(key: string, day: string, rows: readonly ListingRow[], wholeAt: number) {
        if (this.failSaves > 0) {
          this.failSaves -= 1
          throw new Error('database unreachable')
        }
        this.saves.push(rows.length)
        return super.save(key, day, rows, wholeAt)
      }
    }
    const store = new FlakyStore()
    const { gw, clock, creds, events } = setup('paper', undefined, { listingStore: store })
    const filled = { tot_ccld_qty: '10', rmn_qty: '0', avg_prvs: '70000', tot_ccld_amt: '700000' }
    const book = Array.from({ length: 9 }, (_, i) =>
      daily({ odno: String(9 - i).padStart(10, '0'), ...filled }),
    )
    let requests = 0
    server.use(
      http.get(`${BASE}${T}/inquire-daily-ccld`, ({ request }) => {
        requests += 1
        const at = Number(new URL(request.url).searchParams.get('CTX_AREA_NK100') || 0)
        return ok(
          {
            output1: book.slice(at, at + 3),
            output2: {},
            ctx_area_fk100: 'k',
            ctx_area_nk100: String(at + 3),
          },
          { tr_cont: at + 3 < book.length ? 'M' : 'D' },
        )
      }),
    )
    const storeEvents = () => events.filter((e) => e.type === 'listing.store')
    const list = async () => (await drive(clock, gw.getOrders(creds.account))).length
    // 1. The store cannot be read: a whole read (3 pages), reported. The save fails too.
    store.failLoad = true
    store.failSaves = 1
    expect(await list()).toBe(9)
    expect(requests).toBe(3)
    await gw.close()
    expect(storeEvents()).toEqual([
      { type: 'listing.store', outcome: 'load_failed', rows: 0, error: 'database unreachable' },
      { type: 'listing.store', outcome: 'save_failed', rows: 9, error: 'database unreachable' },
    ])
    // 2. An incremental listing after the failed save is not saved (the store lacks the older rows);
    // the next whole read is (listingFullRefreshMs later).
    book.unshift(daily({ odno: '0000000010', ...filled }))
    clock.advance(10_000)
    requests = 0
    expect(await list()).toBe(10)
    expect(requests).toBe(1)
    await gw.close()
    expect(store.saves).toEqual([])
    clock.advance(300_000)
    expect(await list()).toBe(10)
    await gw.close()
    expect(store.saves).toEqual([10])
    // Incremental listings are saved again from then on.
    clock.advance(10_000)
    await list()
    await gw.close()
    expect(store.saves).toEqual([10, 1 * 3])

    // 3. A saved row that is not a daily-ccld row: refused, and the day is read whole.
    store.failLoad = false
    const other = setup('paper', undefined, { listingStore: store })
    const key = listingStoreKey('paper', other.creds.account)
    await store.save(
      key,
      '20261124',
      [{ orderNo: '0000000001', row: { odno: '0000000001', ord_qty: 'ten' } }],
      0,
    )
    requests = 0
    expect((await drive(other.clock, other.gw.getOrders(other.creds.account))).length).toBe(10)
    expect(requests).toBe(4)
    expect(other.events.filter((e) => e.type === 'listing.store')[0]).toMatchObject({
      outcome: 'load_failed',
      error: expect.stringContaining('not a daily-ccld row'),
    })
    await other.gw.close()
  })

  it('forgets what it knew of an order number when the KST day changes (numbers restart daily): tomorrow’s cancel looks the order up', async () => {
    const { gw, clock, creds } = setup('real')
    let lookups = 0
    const cancels: Record<string, string>[] = []
    server.use(
      http.post(`${BASE}${T}/order-cash`, () =>
        HttpResponse.json({
          rt_cd: '0',
          msg_cd: 'APBK0013',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '06010', ODNO: '700', ORD_TMD: '100000' },
        }),
      ),
      http.get(`${BASE}${T}/inquire-psbl-rvsecncl`, () => {
        lookups++
        return ok({ output: [] })
      }),
      http.post(`${BASE}${T}/order-rvsecncl`, async ({ request }) => {
        cancels.push((await request.json()) as Record<string, string>)
        return HttpResponse.json({
          rt_cd: '0',
          msg_cd: 'APBK0013',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '06010', ODNO: '701', ORD_TMD: '100001' },
        })
      }),
    )
    await drive(
      clock,
      gw.placeOrder({
        intentId: 'd1',
        account: creds.account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: 70_000,
      }),
    )
    // Same day: known, cancelled straight away.
    await drive(clock, gw.cancelOrder('0000000700'))
    expect([lookups, cancels.length]).toEqual([0, 1])
    // Next KST day: the number may be someone else's order now; it is looked up, and not found.
    clock.advance(24 * 3_600_000)
    const err = await drive(clock, gw.cancelOrder('0000000700')).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'rejected')).toBe(true)
    expect([lookups, cancels.length]).toEqual([1, 1])
    await gw.close()
  })

  it('uses inquire-psbl-rvsecncl for open orders on real, and daily-ccld CCLD_DVSN=02 on paper (§4.3)', async () => {
    const real = setup('real')
    let realHits = 0
    server.use(
      http.get(`${BASE}${T}/inquire-psbl-rvsecncl`, ({ request }) => {
        realHits++
        expect(request.headers.get('tr_id')).toBe('TTTC0084R')
        return ok({
          output: [
            {
              ord_gno_brno: '06010',
              odno: '0000000009',
              orgn_odno: '',
              pdno: '005930',
              ord_qty: '5',
              ord_unpr: '70000',
              ord_tmd: '100000',
              tot_ccld_qty: '1',
              psbl_qty: '4',
              sll_buy_dvsn_cd: '02',
              ord_dvsn_cd: '00',
              excg_id_dvsn_cd: 'KRX',
            },
          ],
        })
      }),
    )
    const open = await drive(real.clock, real.gw.getOpenOrders(real.creds.account))
    expect(realHits).toBe(1)
    expect(open).toEqual([
      expect.objectContaining({
        brokerOrderId: '0000000009',
        status: 'partially_filled',
        filledQuantity: 1,
        remainingQuantity: 4,
      }),
    ])

    const paper = setup('paper')
    let ccld: string | null = null
    server.use(
      http.get(`${BASE}${T}/inquire-daily-ccld`, ({ request }) => {
        ccld = new URL(request.url).searchParams.get('CCLD_DVSN')
        return ok({ output1: [daily({ odno: '11' })], output2: {} })
      }),
    )
    const popen = await drive(paper.clock, paper.gw.getOpenOrders(paper.creds.account))
    expect(ccld).toBe('02')
    expect(popen.map((o) => o.brokerOrderId)).toEqual(['0000000011'])
  })

  describe('replaceOrder (reference §4.2)', () => {
    // A resting 10-share limit buy at 70,000 with nothing filled, as real psbl-rvsecncl lists it.
    function realWithOpenOrder(ordDvsn = '00', price = '70000') {
      const r = setup('real')
      const sent: Record<string, string>[] = []
      let n = 100
      server.use(
        http.get(`${BASE}${T}/inquire-psbl-rvsecncl`, () =>
          ok({
            output: [
              {
                ord_gno_brno: '06010',
                odno: '0000000009',
                orgn_odno: '',
                pdno: '005930',
                ord_qty: '10',
                ord_unpr: price,
                ord_tmd: '100000',
                tot_ccld_qty: '0',
                psbl_qty: '10',
                sll_buy_dvsn_cd: '02',
                ord_dvsn_cd: ordDvsn,
                excg_id_dvsn_cd: 'KRX',
              },
            ],
          }),
        ),
        http.post(`${BASE}${T}/order-rvsecncl`, async ({ request }) => {
          sent.push((await request.json()) as Record<string, string>)
          return HttpResponse.json({
            rt_cd: '0',
            msg_cd: 'APBK0013',
            msg1: 'ok',
            output: { KRX_FWDG_ORD_ORGNO: '06010', ODNO: String(++n), ORD_TMD: '100001' },
          })
        }),
      )
      return { ...r, sent }
    }

    it('a price change modifies the whole remainder (01, QTY_ALL_ORD_YN Y) and returns the new ODNO', async () => {
      const { gw, clock, creds, sent } = realWithOpenOrder()
      const ack = await drive(clock, gw.replaceOrder('9', { limitPrice: 69_900 }, { account: creds.account }))
      expect(ack).toMatchObject({ brokerOrderId: '0000000009', newBrokerOrderId: '0000000101' })
      expect(sent).toEqual([
        expect.objectContaining({
          ORGN_ODNO: '0000000009',
          KRX_FWDG_ORD_ORGNO: '06010',
          RVSE_CNCL_DVSN_CD: '01',
          ORD_DVSN: '00',
          QTY_ALL_ORD_YN: 'Y',
          ORD_QTY: '0',
          ORD_UNPR: '69900',
        }),
      ])
    })

    it('a stop-limit (22) listed without its condition price is refused before anything is sent', async () => {
      // psbl-rvsecncl lists stpm_cndt_pric (reference §4.3); a row without it cannot be modified
      // as 22 without dropping the stop.
      const { gw, clock, creds, sent } = realWithOpenOrder('22')
      const err = await drive(
        clock,
        gw.replaceOrder('9', { limitPrice: 69_900 }, { account: creds.account }),
      ).catch((e: unknown) => e)
      expect(BrokerError.isKind(err, 'invalid_request')).toBe(true)
      expect((err as Error).message).toContain('condition price')
      expect(sent).toEqual([])
    })

    it('reducing the quantity: modify q shares, then cancel the rest of the original', async () => {
      // KRX semantics of 일부정정: ORD_QTY shares move under a new number and the rest keeps resting
      // under the original. "Reduce to 3" alone as a partial modify would leave 7 working.
      const { gw, clock, creds, sent } = realWithOpenOrder()
      const ack = await drive(clock, gw.replaceOrder('9', { quantity: 3 }, { account: creds.account }))
      expect(
        sent.map((b) => [b.ORGN_ODNO, b.RVSE_CNCL_DVSN_CD, b.QTY_ALL_ORD_YN, b.ORD_QTY, b.ORD_UNPR]),
      ).toEqual([
        ['0000000009', '01', 'N', '3', '70000'],
        ['0000000009', '02', 'Y', '0', '0'],
      ])
      expect(ack).toMatchObject({ brokerOrderId: '0000000009', newBrokerOrderId: '0000000101' })
    })

    it('reducing and repricing; the ack says the rest of the original was canceled', async () => {
      const { gw, clock, creds, sent } = realWithOpenOrder()
      const ack = await drive(
        clock,
        gw.replaceOrder('9', { quantity: 4, limitPrice: 69_800 }, { account: creds.account }),
      )
      expect(sent.map((b) => [b.RVSE_CNCL_DVSN_CD, b.QTY_ALL_ORD_YN, b.ORD_QTY, b.ORD_UNPR])).toEqual([
        ['01', 'N', '4', '69800'],
        ['02', 'Y', '0', '0'],
      ])
      expect(ack).toMatchObject({
        brokerOrderId: '0000000009',
        newBrokerOrderId: '0000000101',
        leftover: { status: 'canceled', brokerOrderId: '0000000009', cancelRequestId: '0000000102' },
      })
      // A price-only replace has no leftover.
      const whole = await drive(
        clock,
        gw.replaceOrder('9', { limitPrice: 69_700 }, { account: creds.account }),
      )
      expect(whole).not.toHaveProperty('leftover')
    })

    // The modify succeeded, so the new number is live: the caller gets the ack (to record the
    // replace) and cannot miss that the original's rest may still be working.
    it.each([
      ['unknown_outcome', () => new HttpResponse('', { status: 502 })],
      [
        'rejected',
        () => HttpResponse.json({ rt_cd: '1', msg_cd: 'APBK0918', msg1: '정정/취소할 수량이 없습니다.' }),
      ],
      [
        'rate_limited',
        () =>
          HttpResponse.json(
            { rt_cd: '1', msg_cd: 'EGW00201', msg1: '초당 거래건수를 초과하였습니다.' },
            { status: 500 },
          ),
      ],
    ] as const)(
      'a failed cancel of the rest (%s) still returns the ack, with the failure on it',
      async (kind, fail) => {
        const { gw, clock, creds, events } = realWithOpenOrder()
        let calls = 0
        server.use(
          http.post(`${BASE}${T}/order-rvsecncl`, () =>
            ++calls === 1
              ? HttpResponse.json({
                  rt_cd: '0',
                  msg_cd: 'APBK0013',
                  msg1: 'ok',
                  output: { KRX_FWDG_ORD_ORGNO: '06010', ODNO: '555', ORD_TMD: '100002' },
                })
              : fail(),
          ),
        )
        const ack = await drive(clock, gw.replaceOrder('9', { quantity: 2 }, { account: creds.account }))
        expect(calls).toBe(2)
        expect(ack).toMatchObject({ brokerOrderId: '0000000009', newBrokerOrderId: '0000000555' })
        const leftover = ack.leftover
        expect(leftover?.status).toBe('cancel_failed')
        if (leftover?.status !== 'cancel_failed') return
        expect(leftover.brokerOrderId).toBe('0000000009')
        expect(BrokerError.isKind(leftover.error, kind)).toBe(true)
        expect(leftover.error.message).toMatch(/replacement 0000000555 holds 2 shares/)
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'replace.leftover',
            outcome: 'cancel_failed',
            kind,
            brokerOrderId: '0000000009',
            newBrokerOrderId: '0000000555',
          }),
        )
      },
    )

    it('repricing a priceless order (시장가 01) turns it into a limit order (00): ORD_UNPR needs a priced division', async () => {
      const { gw, clock, creds, sent } = realWithOpenOrder('01', '0')
      await drive(clock, gw.replaceOrder('9', { limitPrice: 69_900 }, { account: creds.account }))
      expect(sent[0]).toMatchObject({ RVSE_CNCL_DVSN_CD: '01', ORD_DVSN: '00', ORD_UNPR: '69900' })
    })
  })

  it('priceCheck "quote" (opt-in) refuses off-limit and off-tick limit prices before the wire, reading one quote', async () => {
    const creds = fakeKisCredentials()
    const clock = new ManualClock(Date.parse('2026-11-24T01:00:00Z'))
    server.use(
      http.post(`${BASE}/oauth2/tokenP`, () =>
        HttpResponse.json({
          access_token: `eyJ.${'p'.repeat(40)}`,
          token_type: 'Bearer',
          expires_in: 86400,
          access_token_token_expired: '2026-11-25 10:00:00',
        }),
      ),
    )
    let quotes = 0
    let orders = 0
    server.use(
      http.get(`${BASE}/uapi/domestic-stock/v1/quotations/inquire-price`, () => {
        quotes++
        return ok({
          output: {
            stck_prpr: '70000',
            stck_sdpr: '69000',
            stck_mxpr: '89700',
            stck_llam: '48300',
            aspr_unit: '100',
            acml_vol: '1',
          },
        })
      }),
      http.post(`${BASE}${T}/order-cash`, () => {
        orders++
        return HttpResponse.json({
          rt_cd: '0',
          msg_cd: 'APBK0013',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '06010', ODNO: '900', ORD_TMD: '100000' },
        })
      }),
    )
    const gw = createKisGateway({
      config: {
        environment: 'real',
        appKey: creds.appKey,
        appSecret: creds.appSecret,
        account: creds.account,
        restBaseUrl: BASE,
        wsUrl: 'ws://kis-gw.test/tryitout',
        limits: { restPerSecond: 50 },
        priceCheck: 'quote',
      },
      clock,
      createSocket: fakeSocketFactory().create,
    })
    const buy = (limitPrice: number) =>
      drive(
        clock,
        gw.placeOrder({
          intentId: `pc-${limitPrice}`,
          account: creds.account,
          strategyId: 's',
          symbol: '005930',
          side: 'buy',
          quantity: 1,
          orderType: 'limit',
          limitPrice,
        }),
      ).catch((e: unknown) => e)
    for (const [price, why] of [
      [89_800, /outside today's limits for 005930 \(48300–89700\)/],
      [48_200, /outside today's limits/],
      [70_050, /not on the 100-KRW tick grid/],
    ] as const) {
      const err = await buy(price)
      expect(BrokerError.isKind(err, 'invalid_request')).toBe(true)
      expect(String(err)).toMatch(why)
    }
    expect(orders).toBe(0)
    // On the grid: sent. A price in another band (here 49,950, band 20k–50k, tick 50) is checked
    // against the limits only.
    await expect(buy(69_900)).resolves.toMatchObject({ brokerOrderId: '0000000900' })
    await expect(buy(49_950)).resolves.toMatchObject({ brokerOrderId: '0000000900' })
    expect(orders).toBe(2)
    expect(quotes).toBe(1)
    await gw.close()
  })

  it('maps inquire-price into a Quote with limits, tick and flags', async () => {
    const { gw, clock } = setup()
    server.use(
      http.get(`${BASE}/uapi/domestic-stock/v1/quotations/inquire-price`, ({ request }) => {
        expect(new URL(request.url).searchParams.get('FID_INPUT_ISCD')).toBe('005930')
        return ok({
          output: {
            stck_prpr: '70000',
            stck_sdpr: '69000',
            stck_mxpr: '89700',
            stck_llam: '48300',
            aspr_unit: '100',
            stck_oprc: '69500',
            stck_hgpr: '70500',
            stck_lwpr: '69100',
            acml_vol: '12345',
            temp_stop_yn: 'N',
            iscd_stat_cls_code: '55',
            vi_cls_code: 'N',
            mrkt_warn_cls_code: '01',
            short_over_yn: 'Y',
            mang_issu_cls_code: 'N',
            invt_caful_yn: 'N',
          },
        })
      }),
    )
    const q = await drive(clock, gw.getQuote('005930'))
    expect(q).toMatchObject({
      lastPrice: 70000,
      basePrice: 69000,
      upperLimit: 89700,
      lowerLimit: 48300,
      tickSize: 100,
      volume: 12345,
    })
    expect(q.state).toEqual({
      halted: false,
      viActive: false,
      marketWarning: 'caution',
      shortTermOverheated: false,
      shortSaleOverheated: true,
      administrative: false,
    })
  })

  it('streams execution notices as cumulative order events', async () => {
    const { gw, clock, creds, sockets } = setup('paper')
    server.use(http.get(`${BASE}${T}/inquire-daily-ccld`, () => ok({ output1: [], output2: {} })))
    const got: unknown[] = []
    gw.streamOrderEvents(creds.account, (e) => got.push(e))
    await drive(
      clock,
      (async () => {
        while (sockets.sockets.length === 0) await clock.advanceAsync(10)
      })(),
    )
    const s = sockets.sockets[0]!
    s.open()
    // The subscription waits for the baseline snapshot (inquire-daily-ccld).
    await drive(
      clock,
      (async () => {
        while (s.subscriptions().length === 0) await clock.advanceAsync(10)
      })(),
    )
    expect(s.subscriptions()).toEqual([
      expect.objectContaining({ trId: 'H0STCNI9', trKey: creds.htsId, trType: '1' }),
    ])
    const key = 'abcdefghijklmnopqrstuvwxyzabcdef'
    const iv = 'fedcba9876543210'
    s.receive(subscribeAck('H0STCNI9', creds.htsId, { key, iv }))
    const acct = creds.account.replace('-', '')
    const rec = (o: Partial<Parameters<typeof noticeRecord>[0]>) =>
      noticeRecord({
        htsId: creds.htsId,
        account: acct,
        orderNo: '0000000042',
        side: 'buy',
        symbol: '005930',
        quantity: 2,
        price: 70000,
        time: '100001',
        fill: true,
        orderQuantity: 5,
        orderPrice: 70000,
        ...o,
      })
    const frame = (r: string[]) => `1|H0STCNI9|001|${encryptNoticePayload(r.join('^'), key, iv)}`
    s.receive(frame(rec({ fill: false, quantity: 5 })))
    s.receive(frame(rec({})))
    s.receive(frame(rec({}))) // duplicate
    s.receive(frame(rec({ time: '100002', quantity: 3 })))
    s.receive(frame(rec({ account: '9999999901', orderNo: '77' }))) // another account of the HTS id
    // Same CANO, another product (e.g. 22 개인연금): a different account, also linked to the HTS id.
    s.receive(frame(rec({ account: `${acct.slice(0, 8)}22`, orderNo: '78' })))
    expect(got.map((e) => (e as { eventId: string }).eventId)).toEqual([
      '0000000042:accepted',
      '0000000042:fill:2',
      '0000000042:fill:5',
    ])
    // The 42nd registration is refused locally, as a BrokerError with the broker's code.
    const many = Array.from({ length: 41 }, (_, i) => String(200000 + i))
    expect(() => gw.streamTicks(many, () => {})).toThrow(/OPSP0008|registration/)
    await gw.close()
  })

  it('token and approval-key issuance have separate 1/s limits (§8): a startup does not wait between them', async () => {
    const { gw, clock } = setup('real')
    const arrivals: [string, number][] = []
    server.use(
      http.post(`${BASE}/oauth2/tokenP`, () => {
        arrivals.push(['token', clock.now()])
        return HttpResponse.json({
          access_token: `eyJhbGciOiJIUzUxMiJ9.${'c'.repeat(40)}.${'d'.repeat(40)}`,
          token_type: 'Bearer',
          expires_in: 86400,
          access_token_token_expired: '2026-11-25 10:00:00',
        })
      }),
      http.post(`${BASE}/oauth2/Approval`, () => {
        arrivals.push(['approval', clock.now()])
        return HttpResponse.json({
          approval_key: `062f61cb-c756-4b8f-9fab-${String(arrivals.length).padStart(12, '0')}`,
        })
      }),
    )
    await drive(clock, Promise.all([gw.tokens.get(), gw.approvals.get()]), 10)
    const at = (what: string, i = 0) => arrivals.filter(([w]) => w === what)[i]![1]
    expect(Math.abs(at('approval') - at('token'))).toBeLessThan(1_000)
    // Each keeps its own 1/s: a second approval key waits for the first one's window.
    gw.approvals.invalidate('test')
    await drive(clock, gw.approvals.get(), 10)
    expect(at('approval', 1) - at('approval', 0)).toBeGreaterThanOrEqual(1_000)
    await gw.close()
  })

  it('never leaks app key, app secret, token or approval key into events, errors or snapshots', async () => {
    const { gw, clock, creds, events, sockets, tokenValue, approvalKey } = setup('real')
    server.use(
      http.get(`${BASE}${T}/inquire-balance`, () =>
        HttpResponse.json(
          { rt_cd: '1', msg_cd: 'EGW00123', msg1: `expired token ${tokenValue} for ${creds.appKey}` },
          { status: 500 },
        ),
      ),
      http.post(`${BASE}${T}/order-cash`, () =>
        HttpResponse.json({
          rt_cd: '1',
          msg_cd: 'APBK0919',
          msg1: `secret=${creds.appSecret} approval ${approvalKey}`,
        }),
      ),
    )
    const errors: unknown[] = []
    await drive(clock, gw.getPositions(creds.account)).catch((e: unknown) => errors.push(e))
    await drive(
      clock,
      gw.placeOrder({
        intentId: 'z',
        account: creds.account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 1,
        orderType: 'limit',
        limitPrice: 70_000,
      }),
    ).catch((e: unknown) => errors.push(e))
    gw.streamOrderEvents(creds.account, () => {})
    await drive(
      clock,
      (async () => {
        while (sockets.sockets.length === 0) await clock.advanceAsync(10)
      })(),
    )
    sockets.sockets[0]!.open()
    sockets.sockets[0]!.receive(
      `{"body":{"rt_cd":"1","msg_cd":"OPSP0011","msg1":"invalid approval : ${approvalKey}"}}`,
    )
    expect(errors).toHaveLength(2)
    expect(events.some((e) => e.type === 'ws.control')).toBe(true)
    const haystack = [
      JSON.stringify(events),
      ...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${inspect(e)} ${(e as Error).stack}`),
      JSON.stringify(gw.snapshot()),
      JSON.stringify(gw),
      inspect(gw),
    ].join('\n')
    for (const secret of [creds.appKey, creds.appSecret, tokenValue, approvalKey]) {
      expect(haystack.includes(secret), `leaked ${secret.slice(0, 6)}…`).toBe(false)
    }
    expect(haystack).toContain('[REDACTED]')
    await gw.close()
  })
})
