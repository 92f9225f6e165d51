import { type BrokerOrderEvent, BrokerOrderEventSchema } from '@vellab/broker-gateway'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { noticeRecord } from '../testing'
import { decodeNoticeRecords, type ExecutionNotice } from './decoders'
import { type OrderFillSnapshot, OrderNoticeTracker } from './notice-tracker'

const ACC = '50123456-01'
const notice = (o: Partial<Parameters<typeof noticeRecord>[0]>): ExecutionNotice =>
  decodeNoticeRecords(
    noticeRecord({
      htsId: 'hts',
      account: '5012345601',
      orderNo: '0000000101',
      side: 'buy',
      symbol: '005930',
      quantity: 10,
      price: 70000,
      time: '090001',
      fill: false,
      orderQuantity: 10,
      orderPrice: 70000,
      ...o,
    }).join('^'),
    1,
    'H0STCNI0',
  ).items[0]!

describe('OrderNoticeTracker', () => {
  it('turns a receipt and fills into accepted + cumulative filled events', () => {
    const t = new OrderNoticeTracker()
    const out = [
      notice({}),
      notice({ fill: true, quantity: 3, time: '090002' }),
      notice({ fill: true, quantity: 7, time: '090003', price: 70100 }),
    ].flatMap((n) => t.apply(n, ACC, '20261124', 0))
    expect(out.map((e) => [e.type, e.eventId])).toEqual([
      ['accepted', '0000000101:accepted'],
      ['filled', '0000000101:fill:3'],
      ['filled', '0000000101:fill:10'],
    ])
    expect(out[2]).toMatchObject({
      fillQuantity: 7,
      fillPrice: 70100,
      cumulativeQuantity: 10,
      orderQuantity: 10,
    })
    for (const e of out) BrokerOrderEventSchema.parse(e)
  })

  it('remembers at least the last `maxRemembered` notices for deduplication and at most twice that', () => {
    const t = new OrderNoticeTracker(3)
    const fill = notice({ fill: true, quantity: 3, time: '090002' })
    const others = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => notice({ orderNo: String(200 + from + i).padStart(10, '0') }))
    t.apply(notice({}), ACC, '20261124', 0)
    expect(t.apply(fill, ACC, '20261124', 0).map((e) => e.eventId)).toEqual(['0000000101:fill:3'])
    for (const n of others(0, 2)) t.apply(n, ACC, '20261124', 0)
    // Within the last three: the same record again is a duplicate.
    expect(t.apply(fill, ACC, '20261124', 0)).toEqual([])
    expect(t.cumulative('0000000101')).toBe(3)
    // Six distinct notices later it is forgotten (the memory is bounded): counted as a new fill.
    for (const n of others(10, 6)) t.apply(n, ACC, '20261124', 0)
    t.apply(fill, ACC, '20261124', 0)
    expect(t.cumulative('0000000101')).toBe(6)
  })

  it('forgets an earlier KST day: the same order number tomorrow is a new order (KIS numbers orders afresh daily)', () => {
    const t = new OrderNoticeTracker()
    const day1 = [notice({}), notice({ fill: true, quantity: 10, time: '090002' })].flatMap((n) =>
      t.apply(n, ACC, '20261124', 0),
    )
    expect(day1.map((e) => e.type)).toEqual(['accepted', 'filled'])
    expect(t.cumulative('0000000101')).toBe(10)
    // Next day, the same number and even the same record text: a new order, counted from zero.
    const day2 = [notice({}), notice({ fill: true, quantity: 4, time: '090002' })].flatMap((n) =>
      t.apply(n, ACC, '20261125', 0),
    )
    expect(day2.map((e) => [e.type, e.type === 'filled' ? e.cumulativeQuantity : 0])).toEqual([
      ['accepted', 0],
      ['filled', 4],
    ])
    expect(t.day).toBe('20261125')
    // A late notice stamped with the earlier day does not roll the state back.
    t.apply(notice({ fill: true, quantity: 1, time: '090003' }), ACC, '20261124', 0)
    expect(t.day).toBe('20261125')
    // A snapshot on the new day seeds from the new day's books only.
    t.rollover('20261126')
    expect(t.cumulative('0000000101')).toBe(0)
  })

  it('links a modify (RCTF_CLS 1) to the original and reports a cancel on the original (§7.9)', () => {
    const t = new OrderNoticeTracker()
    const mod = t.apply(
      notice({
        orderNo: '0000000202',
        originalOrderNo: '0000000101',
        correction: '1',
        acceptance: '2',
        orderPrice: 69900,
      }),
      ACC,
      '20261124',
      0,
    )
    expect(mod).toEqual([
      expect.objectContaining({
        type: 'replaced',
        brokerOrderId: '0000000101',
        newBrokerOrderId: '0000000202',
        limitPrice: 69900,
      }),
      expect.objectContaining({ type: 'accepted', brokerOrderId: '0000000202', predecessorId: '0000000101' }),
    ])
    const cxl = t.apply(
      notice({
        orderNo: '0000000303',
        originalOrderNo: '0000000202',
        correction: '2',
        acceptance: '2',
        orderQuantity: 10,
      }),
      ACC,
      '20261124',
      0,
    )
    expect(cxl).toEqual([
      expect.objectContaining({ type: 'canceled', brokerOrderId: '0000000202', canceledQuantity: 10 }),
    ])
  })

  it('reports refusals and IOC/FOK remainders', () => {
    const t = new OrderNoticeTracker()
    expect(t.apply(notice({ refused: true }), ACC, '20261124', 0)[0]).toMatchObject({
      type: 'rejected',
      brokerOrderId: '0000000101',
    })
    t.apply(notice({ orderNo: '0000000500', fill: true, quantity: 4 }), ACC, '20261124', 0)
    expect(
      t.apply(notice({ orderNo: '0000000500', acceptance: '3', orderQuantity: 10 }), ACC, '20261124', 0)[0],
    ).toMatchObject({
      type: 'expired',
      expiredQuantity: 6,
    })
  })

  it('property: duplicated and reordered fill notices end at the true cumulative quantity, never above', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer(),
        (sizes, dupIdx, seed) => {
          const fills = sizes.map((q, i) =>
            notice({
              fill: true,
              quantity: q,
              time: `09${String(10 + Math.floor(i / 60)).padStart(2, '0')}${String(i % 60).padStart(2, '0')}`,
            }),
          )
          const stream = [...fills, ...dupIdx.map((i) => fills[i % fills.length]!)]
          // Deterministic shuffle.
          let s = seed >>> 0
          for (let i = stream.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) >>> 0
            const j = s % (i + 1)
            ;[stream[i], stream[j]] = [stream[j]!, stream[i]!]
          }
          const t = new OrderNoticeTracker()
          const events = stream.flatMap((n) => t.apply(n, ACC, '20261124', 0))
          const total = sizes.reduce((a, b) => a + b, 0)
          const cums = events.flatMap((e) => (e.type === 'filled' ? [e.cumulativeQuantity] : []))
          expect(cums).toHaveLength(sizes.length)
          expect(Math.max(...cums)).toBe(total)
          // Strictly increasing: applying "advance to cum" in order is monotonic, and ids are unique.
          for (let i = 1; i < cums.length; i++) expect(cums[i]).toBeGreaterThan(cums[i - 1]!)
          expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length)
        },
      ),
      { numRuns: 300 },
    )
  })
})

const snap = (o: Partial<OrderFillSnapshot> & { orderNo: string }): OrderFillSnapshot => ({
  symbol: '005930',
  side: 'buy',
  orderQuantity: 10,
  filledQuantity: 0,
  averagePrice: 0,
  filledAmount: 0,
  limitPrice: 70000,
  remainingQuantity: 10,
  canceledQuantity: 0,
  predecessor: '',
  ...o,
})
// 2026-11-24 10:00:00 KST.
const T0 = Date.UTC(2026, 10, 24, 1, 0, 0)
const hhmmss = (t: number) => {
  const d = new Date(t + 9 * 3_600_000)
  return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    .map((v) => String(v).padStart(2, '0'))
    .join('')
}
const fills = (events: BrokerOrderEvent[]) =>
  events.flatMap((e) =>
    e.type === 'filled' ? [[e.eventId, e.fillQuantity, e.fillPrice, e.cumulativeQuantity]] : [],
  )

describe('OrderNoticeTracker.reconcile (REST seeding)', () => {
  it('after a restart, a baseline seeds the total: the next notice continues from the broker level', () => {
    const t = new OrderNoticeTracker()
    const r = t.reconcile(
      [snap({ orderNo: '0000000101', filledQuantity: 4, filledAmount: 280_400, remainingQuantity: 6 })],
      { account: ACC, now: T0, mode: 'baseline' },
    )
    // Catch-up at the broker's level, same id form as notice-derived fills; and the working order
    // is reported accepted (its receipt notice went to the previous process).
    expect(r.events.map((e) => e.eventId)).toEqual(['0000000101:accepted', '0000000101:fill:4'])
    expect(fills(r.events)).toEqual([['0000000101:fill:4', 4, 70100, 4]])
    const next = t.apply(
      notice({ fill: true, quantity: 2, time: hhmmss(T0 + 5_000) }),
      ACC,
      '20261124',
      T0 + 5_000,
    )
    expect(fills(next)).toEqual([['0000000101:fill:6', 2, 70000, 6]])
    for (const e of [...r.events, ...next]) BrokerOrderEventSchema.parse(e)
  })

  it('never lowers a total and never emits a level twice', () => {
    const t = new OrderNoticeTracker()
    t.apply(notice({ fill: true, quantity: 5 }), ACC, '20261124', T0)
    const lower = t.reconcile([snap({ orderNo: '0000000101', filledQuantity: 3, averagePrice: 70000 })], {
      account: ACC,
      now: T0,
      mode: 'baseline',
    })
    expect(fills(lower.events)).toEqual([])
    expect(t.cumulative('0000000101')).toBe(5)
    const same = t.reconcile([snap({ orderNo: '0000000101', filledQuantity: 5, averagePrice: 70000 })], {
      account: ACC,
      now: T0,
      mode: 'live',
    })
    expect(fills(same.events)).toEqual([])
  })

  it('derives the catch-up price from the amount change (exact), else from avg_prvs (approximate)', () => {
    const t = new OrderNoticeTracker()
    t.apply(notice({ fill: true, quantity: 2, price: 70000 }), ACC, '20261124', T0)
    // Missed: 3 @ 70,200 → amount 2×70,000 + 3×70,200 = 350,600.
    const exact = t.reconcile(
      [snap({ orderNo: '0000000101', filledQuantity: 5, filledAmount: 350_600, averagePrice: 70120 })],
      {
        account: ACC,
        now: T0,
        mode: 'baseline',
      },
    )
    expect(fills(exact.events)).toEqual([['0000000101:fill:5', 3, 70200, 5]])
    // Without tot_ccld_amt: avg 70,133.33 (rounded by the broker) over 6 → (420,800 − 350,600) / 1.
    const approx = t.reconcile([snap({ orderNo: '0000000101', filledQuantity: 6, averagePrice: 70133.33 })], {
      account: ACC,
      now: T0,
      mode: 'baseline',
    })
    expect(fills(approx.events)).toEqual([['0000000101:fill:6', 1, 70200, 6]])
  })

  it('reports terminal states the notices missed, once, with the notice-path ids', () => {
    const t = new OrderNoticeTracker()
    const r = t.reconcile(
      [
        snap({
          orderNo: '0000000201',
          filledQuantity: 2,
          filledAmount: 140_000,
          remainingQuantity: 0,
          canceledQuantity: 8,
          terminal: { type: 'canceled' },
        }),
        snap({ orderNo: '0000000202', remainingQuantity: 0, terminal: { type: 'rejected' } }),
        snap({
          orderNo: '0000000203',
          filledQuantity: 1,
          filledAmount: 70_000,
          remainingQuantity: 0,
          terminal: { type: 'expired' },
        }),
        snap({
          orderNo: '0000000204',
          remainingQuantity: 0,
          terminal: { type: 'replaced', newOrderNo: '0000000205' },
        }),
      ],
      { account: ACC, now: T0, mode: 'baseline' },
    )
    expect(r.events.map((e) => e.eventId)).toEqual([
      '0000000201:fill:2',
      '0000000201:canceled',
      '0000000202:rejected',
      '0000000203:fill:1',
      '0000000203:expired',
      '0000000204:replaced:0000000205',
    ])
    expect(r.events[1]).toMatchObject({ canceledQuantity: 8 })
    expect(r.events[4]).toMatchObject({ expiredQuantity: 9 })
    for (const e of r.events) BrokerOrderEventSchema.parse(e)
    const again = t.reconcile(
      [
        snap({
          orderNo: '0000000201',
          filledQuantity: 2,
          remainingQuantity: 0,
          terminal: { type: 'canceled' },
        }),
      ],
      { account: ACC, now: T0, mode: 'live' },
    )
    expect(again.events).toEqual([])
  })

  it('a live snapshot that already counts an in-flight fill does not count its late notice twice', () => {
    const t = new OrderNoticeTracker()
    const uncertain: number[] = []
    t.onUncertain((_, q) => uncertain.push(q))
    t.apply(notice({ fill: true, quantity: 2, time: hhmmss(T0) }), ACC, '20261124', T0)
    // A fill of 3 at T0+1s; REST answers at T0+1.2s with 5, the notice arrives at T0+1.5s.
    const r = t.reconcile([snap({ orderNo: '0000000101', filledQuantity: 5, filledAmount: 350_000 })], {
      account: ACC,
      now: T0 + 1_200,
      mode: 'live',
    })
    expect(fills(r.events)).toEqual([['0000000101:fill:5', 3, 70000, 5]])
    expect(r.unexplained).toBe(3)
    const late = t.apply(
      notice({ fill: true, quantity: 3, time: hhmmss(T0 + 1_000) }),
      ACC,
      '20261124',
      T0 + 1_500,
    )
    expect(late).toEqual([])
    expect(uncertain).toEqual([3])
    // A fill after the snapshot (time past the cutoff) counts in full.
    const after = t.apply(
      notice({ fill: true, quantity: 1, time: hhmmss(T0 + 4_000) }),
      ACC,
      '20261124',
      T0 + 4_000,
    )
    expect(fills(after)).toEqual([['0000000101:fill:6', 1, 70000, 6]])
  })

  it('a baseline clears open credits (nothing can be in flight on a dead socket)', () => {
    const t = new OrderNoticeTracker()
    t.reconcile([snap({ orderNo: '0000000101', filledQuantity: 3, filledAmount: 210_000 })], {
      account: ACC,
      now: T0,
      mode: 'live',
    })
    t.reconcile([snap({ orderNo: '0000000101', filledQuantity: 3, filledAmount: 210_000 })], {
      account: ACC,
      now: T0 + 100,
      mode: 'baseline',
    })
    const n = t.apply(notice({ fill: true, quantity: 1, time: hhmmss(T0 + 200) }), ACC, '20261124', T0 + 300)
    expect(fills(n)).toEqual([['0000000101:fill:4', 1, 70000, 4]])
  })
})

describe('OrderNoticeTracker: cancels (ids per cancel request, real quantities)', () => {
  const cancel = (o: Partial<Parameters<typeof noticeRecord>[0]> & { orderNo: string }) =>
    notice({
      originalOrderNo: '0000000101',
      correction: '2',
      // 확인 (ACPT_YN 2): the cancel took effect (a receipt alone emits nothing, see below).
      acceptance: '2',
      quantity: 0,
      price: 0,
      orderQuantity: 0,
      time: '090010',
      ...o,
    })
  const canceled = (events: BrokerOrderEvent[]) =>
    events.flatMap((e) => (e.type === 'canceled' ? [[e.eventId, e.brokerOrderId, e.canceledQuantity]] : []))

  it('a partial cancel and then a cancel of the rest are two facts with two ids', () => {
    const t = new OrderNoticeTracker()
    const out = [
      notice({}),
      // 일부취소 of 3 (ODER_QTY 3), then 잔량전부 (ORD_QTY "0": the notice may say 0, §7.9 / §10 item 10).
      cancel({ orderNo: '0000000501', orderQuantity: 3 }),
      cancel({ orderNo: '0000000502', time: '090020' }),
    ].flatMap((n) => t.apply(n, ACC, '20261124', T0))
    expect(canceled(out)).toEqual([
      ['0000000101:canceled:0000000501', '0000000101', 3],
      ['0000000101:canceled:0000000502', '0000000101', 7],
    ])
    for (const e of out) BrokerOrderEventSchema.parse(e)
    // The same request's receipt arriving after its confirmation (reordered) adds nothing.
    expect(
      t.apply(cancel({ orderNo: '0000000502', time: '090009', acceptance: '1' }), ACC, '20261124', T0),
    ).toEqual([])
    expect(t.pendingAmends()).toEqual([])
  })

  it('a cancel notice that says 0 shares reports what was working: ordered − filled − moved − canceled', () => {
    const t = new OrderNoticeTracker()
    const out = [
      notice({}),
      notice({ fill: true, quantity: 2, time: '090002' }),
      // replaceOrder(101, { quantity: 4 }): a modify of 4 shares (new number 202), then a cancel of
      // the rest of 101: 10 − 2 filled − 4 moved = 4.
      notice({
        orderNo: '0000000202',
        originalOrderNo: '0000000101',
        correction: '1',
        acceptance: '2',
        quantity: 4,
        orderQuantity: 4,
      }),
      cancel({ orderNo: '0000000203', time: '090011' }),
    ].flatMap((n) => t.apply(n, ACC, '20261124', T0))
    expect(canceled(out)).toEqual([['0000000101:canceled:0000000203', '0000000101', 4]])
  })

  it('never reports 0 shares: an order it knows nothing about waits for REST, which uses the same id', () => {
    const t = new OrderNoticeTracker()
    const unresolved: string[] = []
    t.onUnresolved((orderNo) => unresolved.push(orderNo))
    expect(t.apply(cancel({ orderNo: '0000000601' }), ACC, '20261124', T0)).toEqual([])
    expect(unresolved).toEqual(['0000000101'])
    expect(t.unresolvedCancels).toBe(1)
    const r = t.reconcile(
      [
        snap({
          orderNo: '0000000101',
          filledQuantity: 1,
          filledAmount: 70_000,
          remainingQuantity: 0,
          canceledQuantity: 9,
          cancels: [{ requestNo: '0000000601', quantity: 9 }],
          terminal: { type: 'canceled' },
        }),
      ],
      { account: ACC, now: T0 + 1_000, mode: 'live' },
    )
    expect(canceled(r.events)).toEqual([['0000000101:canceled:0000000601', '0000000101', 9]])
    expect(t.unresolvedCancels).toBe(0)
  })

  it('the REST view of the same cancels emits the same ids and quantities, and nothing twice', () => {
    const rows = [
      snap({
        orderNo: '0000000101',
        remainingQuantity: 0,
        canceledQuantity: 10,
        cancels: [
          { requestNo: '0000000501', quantity: 3 },
          { requestNo: '0000000502', quantity: 7 },
        ],
        terminal: { type: 'canceled' },
      }),
    ]
    // From notices first: the snapshot adds nothing.
    const live = new OrderNoticeTracker()
    const fromNotices = [
      notice({}),
      cancel({ orderNo: '0000000501', orderQuantity: 3 }),
      cancel({ orderNo: '0000000502', time: '090020' }),
    ].flatMap((n) => live.apply(n, ACC, '20261124', T0))
    expect(live.reconcile(rows, { account: ACC, now: T0, mode: 'live' }).events).toEqual([])
    // A restarted process sees only REST: the same facts under the same ids.
    const restarted = new OrderNoticeTracker()
    const fromRest = restarted.reconcile(rows, { account: ACC, now: T0, mode: 'baseline' }).events
    expect(canceled(fromRest)).toEqual(canceled(fromNotices))
    expect(restarted.reconcile(rows, { account: ACC, now: T0, mode: 'live' }).events).toEqual([])
    // A partial cancel seen in REST while the order still works is reported too (same id).
    const partial = new OrderNoticeTracker()
    const p = partial.reconcile(
      [
        snap({
          orderNo: '0000000101',
          remainingQuantity: 7,
          cancels: [{ requestNo: '0000000501', quantity: 3 }],
        }),
      ],
      { account: ACC, now: T0, mode: 'baseline' },
    )
    expect(canceled(p.events)).toEqual([['0000000101:canceled:0000000501', '0000000101', 3]])
  })

  it('REST without a confirmed quantity: the rest of a canceled order goes to its unconfirmed cancel request', () => {
    const t = new OrderNoticeTracker()
    const r = t.reconcile(
      [
        snap({
          orderNo: '0000000101',
          filledQuantity: 2,
          filledAmount: 140_000,
          remainingQuantity: 0,
          movedQuantity: 4,
          cancels: [{ requestNo: '0000000203', quantity: 0 }],
          terminal: { type: 'canceled' },
        }),
      ],
      { account: ACC, now: T0, mode: 'baseline' },
    )
    expect(canceled(r.events)).toEqual([['0000000101:canceled:0000000203', '0000000101', 4]])
  })

  it('expired and rejected ids name the number they end: one per number, the same from REST', () => {
    const t = new OrderNoticeTracker()
    const n = [
      notice({ orderNo: '0000000700', orderQuantity: 10 }),
      notice({ orderNo: '0000000700', fill: true, quantity: 4, time: '090002' }),
      notice({ orderNo: '0000000700', acceptance: '3', quantity: 0, orderQuantity: 0, time: '090003' }),
      notice({ orderNo: '0000000701', refused: true }),
    ].flatMap((x) => t.apply(x, ACC, '20261124', T0))
    const restarted = new OrderNoticeTracker()
    const r = restarted.reconcile(
      [
        snap({
          orderNo: '0000000700',
          filledQuantity: 4,
          filledAmount: 280_000,
          remainingQuantity: 0,
          terminal: { type: 'expired' },
        }),
        snap({ orderNo: '0000000701', remainingQuantity: 0, terminal: { type: 'rejected' } }),
      ],
      { account: ACC, now: T0, mode: 'baseline' },
    )
    const ends = (events: BrokerOrderEvent[]) =>
      events.flatMap((e) =>
        e.type === 'expired' ? [[e.eventId, e.expiredQuantity]] : e.type === 'rejected' ? [[e.eventId]] : [],
      )
    expect(ends(n)).toEqual([['0000000700:expired', 6], ['0000000701:rejected']])
    expect(ends(r.events)).toEqual(ends(n))
  })
})

describe('OrderNoticeTracker: property over notices, gaps and snapshots', () => {
  // A model broker: a few orders, fills at one price per order, a notice channel with latency
  // (delivered out of order, within MAX_LATENCY, before the settle window ends), gaps that lose
  // in-flight notices and fills, baselines before resubscribing, a window between baseline and ack
  // in which fills reach neither side, live snapshots answered after a delay (fills and notices
  // land meanwhile), and verifying snapshots as NoticeSync schedules them.
  const ORDERS = ['0000000301', '0000000302', '0000000303']
  const PRICE = [70000, 70100, 69900]
  const QTY = 40
  const SETTLE = 3_000
  const MAX_LATENCY = 1_000
  type Op =
    | { k: 'fill'; o: number; q: number }
    | { k: 'deliver'; i: number }
    | { k: 'wait'; ms: number }
    | { k: 'gap' }
    | { k: 'resubscribe' }
    | { k: 'ack' }
    | { k: 'snapStart' }
    | { k: 'snapEnd' }
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        k: fc.constant('fill' as const),
        o: fc.nat(2),
        q: fc.integer({ min: 1, max: 5 }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('deliver' as const), i: fc.nat() }) },
    {
      weight: 3,
      arbitrary: fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 50, max: 2_500 }) }),
    },
    { weight: 1, arbitrary: fc.constant({ k: 'gap' as const }) },
    { weight: 2, arbitrary: fc.constant({ k: 'resubscribe' as const }) },
    { weight: 2, arbitrary: fc.constant({ k: 'ack' as const }) },
    { weight: 3, arbitrary: fc.constant({ k: 'snapStart' as const }) },
    { weight: 3, arbitrary: fc.constant({ k: 'snapEnd' as const }) },
  )

  it('emitted levels rise strictly per order, never pass the broker, and end at the broker truth', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const t = new OrderNoticeTracker()
        let now = T0
        const truth = [0, 0, 0]
        let phase: 'down' | 'window' | 'live' = 'down'
        let flight: { o: number; q: number; at: number; seq: number }[] = []
        let seq = 0
        let pending: { filled: number[]; at: number } | undefined
        let verifyAt: number | undefined
        const levels = new Map<string, number>()
        const record = (events: BrokerOrderEvent[]) => {
          for (const e of events) {
            if (e.type !== 'filled') continue
            const o = ORDERS.indexOf(e.brokerOrderId)
            const prev = levels.get(e.brokerOrderId) ?? 0
            expect(e.cumulativeQuantity).toBeGreaterThan(prev)
            expect(e.cumulativeQuantity).toBeLessThanOrEqual(truth[o]!)
            expect(e.cumulativeQuantity - prev).toBe(e.fillQuantity)
            expect(e.fillPrice).toBe(PRICE[o])
            levels.set(e.brokerOrderId, e.cumulativeQuantity)
          }
        }
        t.onUncertain(() => {
          verifyAt ??= now + SETTLE
        })
        const rows = (filled: number[]) =>
          ORDERS.map((orderNo, o) =>
            snap({
              orderNo,
              orderQuantity: QTY,
              filledQuantity: filled[o]!,
              filledAmount: filled[o]! * PRICE[o]!,
              averagePrice: filled[o]! > 0 ? PRICE[o]! : 0,
              remainingQuantity: QTY - filled[o]!,
            }),
          )
        const merge = (filled: number[], mode: 'baseline' | 'live') => {
          const r = t.reconcile(rows(filled), {
            account: ACC,
            now,
            mode,
            settleMs: SETTLE,
            clockSkewMs: 1_000,
          })
          record(r.events)
          if (r.unexplained > 0) verifyAt ??= now + SETTLE
        }
        const deliver = (i: number) => {
          const [n] = flight.splice(i, 1)
          if (!n) return
          const rec = notice({
            orderNo: ORDERS[n.o]!,
            fill: true,
            quantity: n.q,
            price: PRICE[n.o]!,
            time: hhmmss(n.at),
            // Distinct raw records: two fills of equal size in one second are different facts.
            orderPrice: 70000 + n.seq,
          })
          record(t.apply(rec, ACC, '20261124', now, now))
        }
        const advance = (ms: number) => {
          const until = now + ms
          for (;;) {
            // Notices arrive within MAX_LATENCY of their fill; a due verification runs on time.
            const nextNotice = flight.reduce(
              (m, n) => Math.min(m, n.at + MAX_LATENCY),
              Number.POSITIVE_INFINITY,
            )
            const next = Math.min(nextNotice, verifyAt ?? Number.POSITIVE_INFINITY)
            if (next > until) break
            now = Math.max(now, next)
            if (next === nextNotice) deliver(flight.findIndex((n) => n.at + MAX_LATENCY === nextNotice))
            else {
              verifyAt = undefined
              if (phase === 'live') merge(truth, 'live')
            }
          }
          now = until
        }
        const apply = (x: Op) => {
          switch (x.k) {
            case 'fill': {
              if (truth[x.o]! + x.q > QTY) return
              truth[x.o]! += x.q
              if (phase === 'live') flight.push({ o: x.o, q: x.q, at: now, seq: seq++ })
              return
            }
            case 'deliver':
              if (flight.length > 0) deliver(x.i % flight.length)
              return
            case 'wait':
              advance(x.ms)
              return
            case 'gap':
              phase = 'down'
              flight = []
              pending = undefined
              verifyAt = undefined
              return
            case 'resubscribe':
              if (phase !== 'down') return
              merge(truth, 'baseline')
              phase = 'window'
              return
            case 'ack':
              if (phase !== 'window') return
              phase = 'live'
              pending = { filled: [...truth], at: now }
              return
            case 'snapStart':
              if (phase === 'live' && !pending) pending = { filled: [...truth], at: now }
              return
            case 'snapEnd':
              if (!pending) return
              advance(Math.min(200, SETTLE))
              if (pending && phase === 'live') merge(pending.filled, 'live')
              pending = undefined
              return
          }
        }
        // Start like streamOrderEvents: baseline, subscribe, ack (which starts a live snapshot).
        apply({ k: 'resubscribe' })
        apply({ k: 'ack' })
        for (const x of ops) apply(x)
        // Quiesce: come back if down, let the after-ack snapshot answer, then let notices and
        // verifications run out. (Plain `apply` calls: each is a no-op in the wrong phase.)
        apply({ k: 'resubscribe' })
        apply({ k: 'ack' })
        apply({ k: 'snapEnd' })
        for (let i = 0; i < 20 && (flight.length > 0 || verifyAt !== undefined); i++) advance(SETTLE)
        for (const [o, orderNo] of ORDERS.entries()) expect(t.cumulative(orderNo)).toBe(truth[o])
      }),
      { numRuns: 400, seed: 20261124 },
    )
  })
})

describe('OrderNoticeTracker: a modify/cancel receipt is not an outcome (§7.9 ACPT_YN 1 접수 / 2 확인)', () => {
  const ORDER = '0000000101'
  const CXL = '0000000501'
  const MOD = '0000000202'
  const req = (
    o: Partial<Parameters<typeof noticeRecord>[0]> & { orderNo: string; correction: '1' | '2' },
  ): ExecutionNotice =>
    notice({
      originalOrderNo: ORDER,
      quantity: 0,
      price: 0,
      orderQuantity: 0,
      orderPrice: 0,
      time: '090010',
      ...o,
    })
  const types = (events: BrokerOrderEvent[]) => events.map((e) => [e.type, e.eventId])
  const run = (t: OrderNoticeTracker, ns: ExecutionNotice[]) =>
    ns.flatMap((n) => t.apply(n, ACC, '20261124', T0, T0))

  it('cancel: the receipt emits nothing and waits; the 확인 emits `canceled` with the shares canceled', () => {
    const t = new OrderNoticeTracker()
    const pending: string[] = []
    t.onPending((p) => pending.push(`${p.kind}:${p.requestNo}:${p.target}`))
    const before = run(t, [notice({}), notice({ fill: true, quantity: 3, time: '090005' })])
    expect(types(before)).toEqual([
      ['accepted', `${ORDER}:accepted`],
      ['filled', `${ORDER}:fill:3`],
    ])
    expect(run(t, [req({ orderNo: CXL, correction: '2', acceptance: '1' })])).toEqual([])
    expect(pending).toEqual([`cancel:${CXL}:${ORDER}`])
    expect(t.pendingAmends()).toMatchObject([{ kind: 'cancel', requestNo: CXL, target: ORDER, checks: 0 }])
    const confirmed = run(t, [req({ orderNo: CXL, correction: '2', acceptance: '2', time: '090011' })])
    expect(confirmed).toEqual([
      expect.objectContaining({
        type: 'canceled',
        eventId: `${ORDER}:canceled:${CXL}`,
        brokerOrderId: ORDER,
        canceledQuantity: 7,
      }),
    ])
    for (const e of confirmed) BrokerOrderEventSchema.parse(e)
    expect(t.pendingAmends()).toEqual([])
  })

  it('cancel: receipt, then a fill of everything, then the refusal → `rejected` for the cancel, never `canceled`', () => {
    const t = new OrderNoticeTracker()
    const out = run(t, [
      notice({}),
      req({ orderNo: CXL, correction: '2', acceptance: '1' }),
      notice({ fill: true, quantity: 10, time: '090011' }),
      req({ orderNo: CXL, correction: '2', acceptance: '1', refused: true, time: '090012' }),
    ])
    expect(types(out)).toEqual([
      ['accepted', `${ORDER}:accepted`],
      ['filled', `${ORDER}:fill:10`],
      ['rejected', `${CXL}:rejected`],
    ])
    expect(out.at(-1)).toMatchObject({ brokerOrderId: CXL })
    expect(t.pendingAmends()).toEqual([])
    // A REST snapshot afterwards (the cancel row refused, the order filled) adds no `canceled`.
    const r = t.reconcile(
      [snap({ orderNo: ORDER, filledQuantity: 10, filledAmount: 700_000, remainingQuantity: 0 })],
      { account: ACC, now: T0 + 5_000, mode: 'live' },
    )
    expect(r.events.filter((e) => e.type === 'canceled')).toEqual([])
  })

  it('cancel: receipt, no 확인, REST confirms (cnc_cfrm_qty) under the id the notice path uses', () => {
    const t = new OrderNoticeTracker()
    run(t, [notice({}), req({ orderNo: CXL, correction: '2', acceptance: '1' })])
    // Not confirmed yet: the cancel row exists with cnc_cfrm_qty 0, the order still rests.
    const early = t.reconcile([snap({ orderNo: ORDER, cancels: [{ requestNo: CXL, quantity: 0 }] })], {
      account: ACC,
      now: T0 + 1_000,
      mode: 'live',
    })
    expect(early.events).toEqual([])
    expect(t.pendingAmends()).toHaveLength(1)
    const late = t.reconcile(
      [
        snap({
          orderNo: ORDER,
          remainingQuantity: 0,
          cancels: [{ requestNo: CXL, quantity: 10 }],
          terminal: { type: 'canceled' },
        }),
      ],
      { account: ACC, now: T0 + 3_000, mode: 'live' },
    )
    expect(types(late.events)).toEqual([['canceled', `${ORDER}:canceled:${CXL}`]])
    expect(late.events[0]).toMatchObject({ canceledQuantity: 10 })
    expect(t.pendingAmends()).toEqual([])
    // A 확인 arriving after all is the same fact.
    expect(run(t, [req({ orderNo: CXL, correction: '2', acceptance: '2' })])).toEqual([])
  })

  it('cancel: REST that fills in only the order row’s cnc_cfrm_qty confirms a partial cancel', () => {
    const t = new OrderNoticeTracker()
    run(t, [notice({}), req({ orderNo: CXL, correction: '2', acceptance: '1', orderQuantity: 4 })])
    const r = t.reconcile(
      [
        snap({
          orderNo: ORDER,
          remainingQuantity: 6,
          canceledQuantity: 4,
          cancels: [{ requestNo: CXL, quantity: 0 }],
        }),
      ],
      { account: ACC, now: T0 + 3_000, mode: 'live' },
    )
    expect(r.events).toEqual([
      expect.objectContaining({ type: 'canceled', eventId: `${ORDER}:canceled:${CXL}`, canceledQuantity: 4 }),
    ])
  })

  it('countConfirmationCheck abandons a request after the budget; a late 확인 still emits', () => {
    const t = new OrderNoticeTracker()
    run(t, [notice({}), req({ orderNo: CXL, correction: '2', acceptance: '1' })])
    expect(t.countConfirmationCheck(T0 - 1, 2)).toEqual([])
    expect(t.pendingAmends()[0]?.checks).toBe(0)
    expect(t.countConfirmationCheck(T0, 2)).toEqual([])
    expect(t.countConfirmationCheck(T0, 2)).toMatchObject([{ requestNo: CXL, checks: 2, abandoned: true }])
    expect(t.countConfirmationCheck(T0, 2)).toEqual([])
    expect(types(run(t, [req({ orderNo: CXL, correction: '2', acceptance: '2' })]))).toEqual([
      ['canceled', `${ORDER}:canceled:${CXL}`],
    ])
  })

  it('modify: `replaced` + `accepted` wait for the 확인; a refused modify yields only its `rejected`', () => {
    const t = new OrderNoticeTracker()
    run(t, [notice({})])
    const receipt = req({
      orderNo: MOD,
      correction: '1',
      acceptance: '1',
      orderQuantity: 10,
      orderPrice: 69_900,
    })
    expect(run(t, [receipt])).toEqual([])
    expect(t.pendingAmends()).toMatchObject([{ kind: 'modify', requestNo: MOD, target: ORDER }])
    const ok = run(t, [req({ orderNo: MOD, correction: '1', acceptance: '2', time: '090011' })])
    expect(types(ok)).toEqual([
      ['replaced', `${ORDER}:replaced:${MOD}`],
      ['accepted', `${MOD}:accepted`],
    ])
    expect(ok[1]).toMatchObject({ predecessorId: ORDER, quantity: 10, limitPrice: 69_900 })
    for (const e of ok) BrokerOrderEventSchema.parse(e)

    const r = new OrderNoticeTracker()
    const refused = run(r, [
      notice({}),
      receipt,
      notice({ fill: true, quantity: 10, time: '090011' }),
      req({ orderNo: MOD, correction: '1', acceptance: '1', refused: true, time: '090012' }),
    ])
    expect(types(refused)).toEqual([
      ['accepted', `${ORDER}:accepted`],
      ['filled', `${ORDER}:fill:10`],
      ['rejected', `${MOD}:rejected`],
    ])
  })

  it('modify: a fill under the new number, or REST, confirms it with the same ids', () => {
    const t = new OrderNoticeTracker()
    run(t, [
      notice({}),
      req({ orderNo: MOD, correction: '1', acceptance: '1', orderQuantity: 10, orderPrice: 69_900 }),
    ])
    const out = run(t, [notice({ orderNo: MOD, fill: true, quantity: 2, price: 69_900, time: '090011' })])
    expect(types(out)).toEqual([
      ['replaced', `${ORDER}:replaced:${MOD}`],
      ['accepted', `${MOD}:accepted`],
      ['filled', `${MOD}:fill:2`],
    ])

    const rest = new OrderNoticeTracker()
    run(rest, [
      notice({}),
      req({ orderNo: MOD, correction: '1', acceptance: '1', orderQuantity: 10, orderPrice: 69_900 }),
    ])
    const modRow = snap({ orderNo: MOD, predecessor: ORDER, limitPrice: 69_900 })
    // Still waiting: the original's rmn_qty still holds the shares the modify will take.
    const early = rest.reconcile([snap({ orderNo: ORDER, movedQuantity: 10 }), modRow], {
      account: ACC,
      now: T0 + 1_000,
      mode: 'live',
    })
    expect(early.events).toEqual([])
    const late = rest.reconcile(
      [
        snap({
          orderNo: ORDER,
          movedQuantity: 10,
          remainingQuantity: 0,
          terminal: { type: 'replaced', newOrderNo: MOD },
        }),
        modRow,
      ],
      { account: ACC, now: T0 + 3_000, mode: 'live' },
    )
    expect(types(late.events)).toEqual([
      ['replaced', `${ORDER}:replaced:${MOD}`],
      ['accepted', `${MOD}:accepted`],
    ])
    expect(late.events[1]).toMatchObject({ predecessorId: ORDER, quantity: 10, limitPrice: 69_900 })
    expect(rest.reconcile([modRow], { account: ACC, now: T0 + 4_000, mode: 'live' }).events).toEqual([])
  })

  it('property: duplicated and reordered notices never emit `canceled` before the 확인, nor after a refusal', () => {
    type Fact = { n: ExecutionNotice; confirm: boolean }
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 9 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (refusedWorld, partial, dupIdx, swaps) => {
          const facts: Fact[] = [{ n: notice({}), confirm: false }]
          if (partial > 0)
            facts.push({ n: notice({ fill: true, quantity: partial, time: '090005' }), confirm: false })
          facts.push({ n: req({ orderNo: CXL, correction: '2', acceptance: '1' }), confirm: false })
          if (refusedWorld) {
            facts.push({ n: notice({ fill: true, quantity: 10 - partial, time: '090011' }), confirm: false })
            facts.push({
              n: req({ orderNo: CXL, correction: '2', acceptance: '1', refused: true, time: '090012' }),
              confirm: false,
            })
          } else {
            facts.push({
              n: req({ orderNo: CXL, correction: '2', acceptance: '2', time: '090011' }),
              confirm: true,
            })
          }
          for (const i of dupIdx) facts.push(facts[i % facts.length]!)
          for (const [k, i] of swaps.entries()) {
            const a = k % facts.length
            const b = i % facts.length
            ;[facts[a], facts[b]] = [facts[b]!, facts[a]!]
          }
          const t = new OrderNoticeTracker()
          const ids = new Set<string>()
          let confirmed = false
          for (const f of facts) {
            confirmed ||= f.confirm
            for (const e of t.apply(f.n, ACC, '20261124', T0, T0)) {
              if (e.type === 'canceled') {
                expect(refusedWorld).toBe(false)
                expect(confirmed).toBe(true)
                expect(e.eventId).toBe(`${ORDER}:canceled:${CXL}`)
                expect(e.canceledQuantity).toBeGreaterThan(0)
                expect(e.canceledQuantity).toBeLessThanOrEqual(10)
              }
              // Every fact once: an id is never emitted twice.
              expect(ids.has(e.eventId)).toBe(false)
              ids.add(e.eventId)
            }
          }
          if (refusedWorld) expect(ids.has(`${CXL}:rejected`)).toBe(true)
          else expect(ids.has(`${ORDER}:canceled:${CXL}`) || t.unresolvedCancels > 0).toBe(true)
          expect(t.pendingAmends()).toEqual([])
        },
      ),
      { numRuns: 300, seed: 20261124 },
    )
  })
})
