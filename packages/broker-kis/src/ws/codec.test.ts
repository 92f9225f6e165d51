import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KisError } from '../errors'
import { kstCompactToEpoch } from '../kst'
import { dataFrame, encryptNoticePayload, noticeRecord, tradeRecord } from '../testing'
import { decryptNoticePayload } from './aes'
import { decodeBookFrame, decodeNoticeRecords, decodeTradeFrame } from './decoders'
import { parseKisFrame, splitRecords } from './frame'

const KEY = 'uvbpznjqabrxhowcftgehxghhhsxtwro' // 32 letters, like captured acks (§7.3)
const IV = 'ca513e8bf725c575'

describe('parseKisFrame', () => {
  it('splits data frames on the first three | only (§7.5)', () => {
    const f = parseKisFrame('0|H0STCNT0|002|a^b|c^d')
    expect(f).toEqual({ kind: 'data', encrypted: false, trId: 'H0STCNT0', count: 2, payload: 'a^b|c^d' })
    expect(parseKisFrame('1|H0STCNI9|001|QUJD')).toMatchObject({
      kind: 'data',
      encrypted: true,
      trId: 'H0STCNI9',
    })
  })

  it('recognises PINGPONG by tr_id and no body (§7.4)', () => {
    const raw = '{"header":{"tr_id":"PINGPONG","datetime":"20261124093000"}}'
    expect(parseKisFrame(raw)).toEqual({ kind: 'pingpong', raw })
  })

  it('reads acks with key/iv, and error bodies (§7.3, §6.3)', () => {
    const ack = parseKisFrame(
      JSON.stringify({
        header: { tr_id: 'H0STCNI0', tr_key: 'hts1', encrypt: 'Y' },
        body: { rt_cd: '0', msg_cd: 'OPSP0000', msg1: 'SUBSCRIBE SUCCESS', output: { iv: IV, key: KEY } },
      }),
    )
    expect(ack).toMatchObject({
      kind: 'control',
      trId: 'H0STCNI0',
      trKey: 'hts1',
      msgCd: 'OPSP0000',
      cipher: { key: KEY, iv: IV },
    })
    const inUse = parseKisFrame('{"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}')
    expect(inUse).toMatchObject({ kind: 'control', trId: undefined, rtCd: '9', msgCd: 'OPSP8996' })
  })

  it.each([
    '',
    'x',
    '0|',
    '0|H0STCNT0',
    '0|H0STCNT0|abc|x',
    '0|H0STCNT0|000|x',
    '0|h0|001|x',
    '{bad json',
    '[1,2]',
  ])('turns %j into a typed KisError', (raw) => {
    expect(() => parseKisFrame(raw)).toThrow(KisError)
  })

  it('fuzz: any string either parses or throws a KisError — never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `0|${s}`),
          fc
            .tuple(fc.constantFrom('0', '1'), fc.stringMatching(/^[A-Z0-9]{1,10}$/), fc.string(), fc.string())
            .map((p) => p.join('|')),
          fc.json().map((j) => j),
        ),
        (raw) => {
          try {
            parseKisFrame(raw)
          } catch (e) {
            expect(KisError.isInstance(e)).toBe(true)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('H0STCNT0 decoder', () => {
  const rec = (over: Partial<Parameters<typeof tradeRecord>[0]> = {}) =>
    tradeRecord({
      symbol: '005930',
      time: '092341',
      price: 356000,
      volume: 10,
      cumulative: 1000,
      date: '20261124',
      ...over,
    })

  it('decodes multi-record frames (records concatenated with ^, §7.5)', () => {
    const frame = parseKisFrame(
      dataFrame('H0STCNT0', [rec(), rec({ symbol: '000660', price: 120000, side: '5', time: '092342' })]),
    )
    if (frame.kind !== 'data') throw new Error('not data')
    const d = decodeTradeFrame(frame.payload, frame.count)
    expect(d.items).toEqual([
      {
        symbol: '005930',
        price: 356000,
        quantity: 10,
        cumulativeVolume: 1000,
        aggressor: 'buy',
        bestAsk: 356100,
        bestBid: 356000,
        at: Date.parse('2026-11-24T00:23:41Z'),
      },
      {
        symbol: '000660',
        price: 120000,
        quantity: 10,
        cumulativeVolume: 1000,
        aggressor: 'sell',
        bestAsk: 120100,
        bestBid: 120000,
        at: Date.parse('2026-11-24T00:23:42Z'),
      },
    ])
    expect(d.fieldsPerRecord).toBe(46)
  })

  it('tolerates trailing extra fields per record and reports the width (drift)', () => {
    const a = [...rec(), 'NEW1', 'NEW2']
    const b = [...rec({ price: 356100 }), 'NEW1', 'NEW2']
    const d = decodeTradeFrame([...a, ...b].join('^'), 2)
    expect(d.items.map((t) => t.price)).toEqual([356000, 356100])
    expect(d.fieldsPerRecord).toBe(48)
  })

  it('rejects short records, uneven splits and bad values with typed errors', () => {
    expect(() => decodeTradeFrame(rec().slice(0, 45).join('^'), 1)).toThrow(/KIS_FRAME_FIELD_COUNT/)
    expect(() => decodeTradeFrame([...rec(), ...rec(), 'x'].join('^'), 2)).toThrow(/KIS_FRAME_FIELD_COUNT/)
    expect(() => decodeTradeFrame(rec({ price: 0 }).join('^'), 1)).toThrow(/KIS_FRAME_VALUE/)
    const bad = rec()
    bad[33] = '2026-11-24'
    expect(() => decodeTradeFrame(bad.join('^'), 1)).toThrow(/KIS_FRAME_VALUE/)
  })

  it('fuzz: random field mutations either decode to valid ticks or throw KisError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 45 }), fc.string({ maxLength: 12 })), { maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        (mutations, count) => {
          const records = Array.from({ length: count }, () => rec())
          for (const [i, v] of mutations) records[0]![i] = v.replaceAll('^', '')
          try {
            const d = decodeTradeFrame(records.map((r) => r.join('^')).join('^'), count)
            for (const t of d.items) {
              expect(t.price).toBeGreaterThan(0)
              expect(Number.isInteger(t.quantity) && t.quantity >= 0).toBe(true)
              expect(t.symbol).toMatch(/^[0-9A-Z]{6}$/)
            }
          } catch (e) {
            expect(KisError.isInstance(e)).toBe(true)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })
})

// The decoder as it was before the one-pass rewrite (split + regex), kept as the reference the
// fast one must agree with on every input.
function referenceTradeDecode(payload: string, count: number): { items: unknown[]; width: number } {
  const INT = /^-?\d+$/
  const int = (v: string | undefined) => {
    if (v === undefined || !INT.test(v)) throw new KisError('KIS_FRAME_VALUE', 'not an integer')
    return Number(v)
  }
  const { records, fieldsPerRecord } = splitRecords(payload, count, 46, 'H0STCNT0')
  const items = records.map((f) => {
    const price = int(f[2])
    if (price <= 0) throw new KisError('KIS_FRAME_VALUE', 'price')
    const quantity = int(f[12])
    const cumulativeVolume = int(f[13])
    if (quantity < 0 || cumulativeVolume < 0) throw new KisError('KIS_FRAME_VALUE', 'volume')
    const at = kstCompactToEpoch(f[33] ?? '', f[1] ?? '')
    if (at === undefined) throw new KisError('KIS_FRAME_VALUE', 'time')
    const sym = (f[0] ?? '').trim()
    const code = sym.length === 7 && sym[0] === 'A' ? sym.slice(1) : sym
    if (!/^[0-9A-Z]{6}$/.test(code)) throw new KisError('KIS_FRAME_VALUE', 'code')
    const tick: Record<string, unknown> = {
      symbol: code,
      price,
      quantity,
      cumulativeVolume,
      aggressor: f[21] === '1' ? 'buy' : f[21] === '5' ? 'sell' : 'unknown',
      at,
    }
    const ask = f[10] && INT.test(f[10]) ? Number(f[10]) : 0
    const bid = f[11] && INT.test(f[11]) ? Number(f[11]) : 0
    if (ask > 0) tick.bestAsk = ask
    if (bid > 0) tick.bestBid = bid
    return tick
  })
  return { items, width: fieldsPerRecord }
}

describe('H0STCNT0 one-pass decoder agrees with the split-and-regex reference', () => {
  const base = (i: number) =>
    tradeRecord({
      symbol: '005930',
      time: '092341',
      price: 356000 + i * 100,
      volume: 10,
      cumulative: 1000 + i,
      date: '20261124',
    })
  const outcome = (f: () => { items: unknown[] }) => {
    try {
      return { items: f().items }
    } catch (e) {
      if (!KisError.isInstance(e)) throw e
      return { error: e.code }
    }
  }
  it('property: the same ticks, or the same typed error, for mutated, widened and truncated frames', () => {
    const field = fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.integer({ min: -5, max: 2_000_000 }).map(String),
      fc.constantFrom(
        '',
        '-',
        '-0',
        '0',
        '1',
        '5',
        '00012',
        '99999999999999999999',
        '20260231',
        '20261124',
        '240000',
        '235959',
        'A005930',
        ' 005930 ',
        '1e3',
        '+5',
      ),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 0, max: 47 }), field), { maxLength: 8 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: -2, max: 2 }),
        (count, mutations, extra, trim) => {
          const records = Array.from({ length: count }, (_, i) => [...base(i), ...Array(extra).fill('X')])
          for (const [r, i, v] of mutations)
            if (records[r % count]) records[r % count]![i % records[0]!.length] = v.replaceAll('^', '')
          let payload = records.map((x) => x.join('^')).join('^')
          if (trim < 0) payload = payload.split('^').slice(0, trim).join('^')
          if (trim > 0) payload = `${payload}${'^x'.repeat(trim)}`
          const fast = outcome(() => decodeTradeFrame(payload, count))
          const reference = outcome(() => referenceTradeDecode(payload, count))
          expect(fast).toEqual(reference)
        },
      ),
      { numRuns: 3000 },
    )
  })
})

describe('H0STASP0 decoder', () => {
  it('maps ask/bid levels and sizes by index (§7.8) and drops empty levels', () => {
    const f = new Array<string>(59).fill('0')
    f[0] = '005930'
    f[1] = '093000'
    f[2] = '0'
    for (let i = 0; i < 10; i++) {
      f[3 + i] = i < 9 ? String(70100 + i * 100) : '0'
      f[13 + i] = String(70000 - i * 100)
      f[23 + i] = String(10 + i)
      f[33 + i] = String(20 + i)
    }
    f[43] = '145'
    f[44] = '245'
    const d = decodeBookFrame(f.join('^'), 1, '20261124')
    const b = d.items[0]!
    expect(b.asks).toHaveLength(9)
    expect(b.asks[0]).toEqual({ price: 70100, quantity: 10 })
    expect(b.bids[9]).toEqual({ price: 69100, quantity: 29 })
    expect(b.totalAskQuantity).toBe(145)
    expect(b.at).toBe(Date.parse('2026-11-24T00:30:00Z'))
  })
})

describe('H0STCNI0 notices: AES-256-CBC + decoder', () => {
  const base = {
    htsId: 'htsuser1',
    account: '5012345601',
    orderNo: '0000012345',
    side: 'buy' as const,
    symbol: '005930',
    quantity: 5,
    price: 70000,
    time: '105530',
    fill: true,
    orderQuantity: 10,
    orderPrice: 70000,
  }

  it('round-trips through encryption with the ack key/iv as UTF-8 bytes (§7.5)', () => {
    const plain = noticeRecord(base).join('^')
    const b64 = encryptNoticePayload(plain, KEY, IV)
    expect(decryptNoticePayload(b64, { key: KEY, iv: IV })).toBe(plain)
    const n = decodeNoticeRecords(plain, 1, 'H0STCNI0').items[0]!
    expect(n).toMatchObject({
      orderNo: '0000012345',
      side: 'buy',
      isFill: true,
      quantity: 5,
      price: 70000,
      orderQuantity: 10,
      correction: 'normal',
    })
  })

  it('normalises un-padded order numbers (§9); more fields than 26 decode with drift', () => {
    const n = decodeNoticeRecords(
      noticeRecord({ ...base, orderNo: '6635', originalOrderNo: '12' }).join('^'),
      1,
      'H0STCNI9',
    ).items[0]!
    expect(n.orderNo).toBe('0000006635')
    expect(n.originalOrderNo).toBe('0000000012')
    const wide = decodeNoticeRecords([...noticeRecord(base), 'X'].join('^'), 1, 'H0STCNI0')
    expect(wide).toMatchObject({ fieldsPerRecord: 27, expectedFields: 26 })
    expect(wide.items[0]!.orderPrice).toBe(70000)
  })

  /** The 23-field layout reported from a paper account (reference §7.10): 0–17 as §7.9, then `1Y`, `10`, blank, name, price. */
  const paperRecord = (o: Parameters<typeof noticeRecord>[0]): string[] => [
    ...noticeRecord(o).slice(0, 18),
    '1Y',
    '10',
    '',
    '삼성전자',
    String(o.orderPrice),
  ]

  it('decodes the 23-field paper layout (§7.10) as a known layout: no drift, order price at 22', () => {
    const rec = paperRecord({
      ...base,
      fill: false,
      orderQuantity: 14,
      orderPrice: 71000,
      quantity: 14,
      price: 71000,
    })
    expect(rec).toHaveLength(23)
    const d = decodeNoticeRecords(rec.join('^'), 1, 'H0STCNI9')
    expect(d).toMatchObject({ fieldsPerRecord: 23, expectedFields: 23 })
    expect(d.items[0]).toMatchObject({
      orderNo: '0000012345',
      isFill: false,
      orderQuantity: 14,
      orderPrice: 71000,
    })
    // Two records in one frame (§7.5: count prefix, records concatenated).
    const two = decodeNoticeRecords(
      [...rec, ...paperRecord({ ...base, orderNo: '77' })].join('^'),
      2,
      'H0STCNI9',
    )
    expect(two.items.map((i) => i.orderNo)).toEqual(['0000012345', '0000000077'])
  })

  it('an unknown count is decoded from what is there and reported as drift; fewer than 17 fields is an error', () => {
    const rec = noticeRecord(base).slice(0, 24)
    const d = decodeNoticeRecords(rec.join('^'), 1, 'H0STCNI9')
    expect(d).toMatchObject({ fieldsPerRecord: 24, expectedFields: 26 })
    expect(d.items[0]).toMatchObject({
      orderNo: '0000012345',
      quantity: 5,
      price: 70000,
      orderQuantity: 10,
      orderPrice: 0,
    })
    expect(() => decodeNoticeRecords(noticeRecord(base).slice(0, 16).join('^'), 1, 'H0STCNI0')).toThrow(
      /KIS_FRAME_FIELD_COUNT/,
    )
  })

  it('property: the 23- and 26-field layouts decode to the same notice (but for the layout-only fields)', () => {
    fc.assert(
      fc.property(
        fc.record({
          orderNo: fc.integer({ min: 1, max: 9_999_999_999 }).map(String),
          side: fc.constantFrom('buy' as const, 'sell' as const),
          quantity: fc.integer({ min: 1, max: 1_000_000 }),
          price: fc.integer({ min: 1, max: 5_000_000 }),
          fill: fc.boolean(),
          orderQuantity: fc.integer({ min: 1, max: 1_000_000 }),
          orderPrice: fc.integer({ min: 0, max: 5_000_000 }),
          acceptance: fc.constantFrom('1' as const, '2' as const, '3' as const),
          correction: fc.constantFrom('0' as const, '1' as const, '2' as const),
        }),
        (o) => {
          const input = { ...base, ...o }
          const full = decodeNoticeRecords(noticeRecord(input).join('^'), 1, 'H0STCNI0').items[0]!
          const paper = decodeNoticeRecords(paperRecord(input).join('^'), 1, 'H0STCNI9').items[0]!
          const { raw: _a, ...a } = full
          const { raw: _b, ...b } = paper
          expect(b).toEqual(a)
        },
      ),
      { seed: 23, numRuns: 500 },
    )
  })

  it('a receipt (CNTG_YN 1) with blank CNTG_QTY/CNTG_UNPR still decodes (§7.9, §10 item 10); a fill does not', () => {
    const receipt = noticeRecord({ ...base, fill: false, orderQuantity: 5 })
    receipt[9] = ''
    receipt[10] = ''
    const n = decodeNoticeRecords(receipt.join('^'), 1, 'H0STCNI0').items[0]!
    expect(n).toMatchObject({ isFill: false, quantity: 0, price: 0, orderQuantity: 5 })
    const fill = noticeRecord({ ...base, fill: true })
    fill[9] = ''
    expect(() => decodeNoticeRecords(fill.join('^'), 1, 'H0STCNI0')).toThrow(/KIS_FRAME_VALUE/)
  })

  it('fails to decrypt with the wrong key, bad base64 or bad lengths — as KIS_DECRYPT_FAILED', () => {
    const b64 = encryptNoticePayload('hello^world', KEY, IV)
    const other = 'abcdefghijklmnopqrstuvwxyzabcdef'
    for (const [payload, k] of [
      [b64, { key: other, iv: IV }],
      ['not base64!', { key: KEY, iv: IV }],
      ['QUJD', { key: KEY, iv: IV }],
      [b64, { key: 'short', iv: IV }],
    ] as const) {
      try {
        decryptNoticePayload(payload, k)
        // A wrong key can, rarely, produce valid padding and valid UTF-8; then the decoder catches it.
      } catch (e) {
        expect((e as KisError).code).toBe('KIS_DECRYPT_FAILED')
      }
    }
    expect(() => decryptNoticePayload('not base64!', { key: KEY, iv: IV })).toThrow(/KIS_DECRYPT_FAILED/)
  })

  it('fuzz: random ciphertexts never escape as anything but KisError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 96 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString('base64')
        try {
          const plain = decryptNoticePayload(b64, { key: KEY, iv: IV })
          decodeNoticeRecords(plain, 1, 'H0STCNI0')
        } catch (e) {
          expect(KisError.isInstance(e)).toBe(true)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('fuzz: any printable plaintext encrypts and decrypts losslessly', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), (s) => {
        expect(decryptNoticePayload(encryptNoticePayload(s, KEY, IV), { key: KEY, iv: IV })).toBe(s)
      }),
      { numRuns: 300 },
    )
  })
})

describe('splitRecords', () => {
  it('property: k records of width w ≥ expected split back exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 3, max: 8 }),
        fc.integer({ min: 0, max: 3 }),
        (k, expected, extra) => {
          const w = expected + extra
          const recs = Array.from({ length: k }, (_, i) => Array.from({ length: w }, (_, j) => `${i}.${j}`))
          const r = splitRecords(recs.map((x) => x.join('^')).join('^'), k, expected, 'T')
          expect(r.records).toEqual(recs)
          expect(r.fieldsPerRecord).toBe(w)
        },
      ),
    )
  })
})
