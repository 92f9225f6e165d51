import { BrokerOrderEventSchema } from '@vellab/broker-gateway'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { noticeRecord } from '../testing'
import { decodeNoticeRecords, type ExecutionNotice } from './decoders'
import { OrderNoticeTracker } from './notice-tracker'

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

  it('links a modify (RCTF_CLS 1) to the original and reports a cancel on the original (§7.9)', () => {
    const t = new OrderNoticeTracker()
    const mod = t.apply(
      notice({ orderNo: '0000000202', originalOrderNo: '0000000101', correction: '1', orderPrice: 69900 }),
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
      notice({ orderNo: '0000000303', originalOrderNo: '0000000202', correction: '2', orderQuantity: 10 }),
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
