import { crc32, deflateRawSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KisError } from './errors'
import { kisMasterTailWidth, parseKisStockMaster, unzipSingleEntry } from './master'

// 삼성전자 in CP949.
const SAMSUNG = [0xbb, 0xef, 0xbc, 0xba, 0xc0, 0xfc, 0xc0, 0xda]

/** A KOSPI tail with the given values at byte offsets (counted from KIS's reader's widths). */
function kospiTail(values: [offset: number, text: string][]): string {
  const t = Array.from({ length: 227 }, () => '0')
  for (const [at, text] of values) for (let i = 0; i < text.length; i++) t[at + i] = text[i]!
  return t.join('')
}

function line(code: string, name: number[], tail: string): number[] {
  return [
    ...Buffer.from(`${code.padEnd(9)}${`KR7${code}003`.padEnd(12)}`, 'latin1'),
    ...name,
    ...Array(20).fill(0x20),
    ...Buffer.from(tail, 'latin1'),
  ]
}

describe('parseKisStockMaster', () => {
  it('reads a KOSPI line: code, CP949 name and the fixed fields risk needs', () => {
    // Offsets, summed from the widths of KIS's reader: group 0; the 26 one-byte flags start at 15
    // (KOSPI200 sector 18, short-term overheat 32); base 41, lot 50, off-hours lot 55, halt 60,
    // liquidation 61, administrative 62, warning 63, margin 74, credit 77, listing date 105,
    // listed shares 113, short-sale overheat 159, market cap 212.
    const tail = kospiTail([
      [0, 'ST'],
      [18, '1'],
      [41, '000070000'],
      [50, '00001'],
      [55, '00001'],
      [60, 'N'],
      [61, 'N'],
      [62, 'Y'],
      [63, '02'],
      [74, '020'],
      [77, 'Y'],
      [105, '19750611'],
      [113, '000005969782550'],
      [159, 'Y'],
      [212, '004178847'],
    ])
    const data = Uint8Array.from([...line('005930', SAMSUNG, tail), 0x0d, 0x0a])
    const [r, ...rest] = parseKisStockMaster(data, 'KOSPI')
    expect(rest).toEqual([])
    expect(r).toMatchObject({
      symbol: '005930',
      standardCode: 'KR7005930003',
      name: '삼성전자',
      market: 'KOSPI',
      groupCode: 'ST',
      kind: 'stock',
      basePrice: 70_000,
      lotSize: 1,
      offHoursLotSize: 1,
      halted: false,
      liquidation: false,
      administrative: true,
      marketWarning: '02',
      marginRate: 20,
      creditable: true,
      listingDate: '19750611',
      listedShares: 5_969_782_550,
      shortSaleOverheated: true,
      marketCap100m: 4_178_847,
      indexConstituent: true,
    })
  })

  it('knows each market’s tail width (227 KOSPI, 221 KOSDAQ)', () => {
    expect(kisMasterTailWidth('KOSPI')).toBe(227)
    expect(kisMasterTailWidth('KOSDAQ')).toBe(221)
  })

  it('refuses a short line, a non-numeric base price and a broken name, naming the line', () => {
    const ok = line('005930', SAMSUNG, kospiTail([[0, 'ST']]))
    const short = Uint8Array.from([...ok, 0x0a, ...ok.slice(0, 100), 0x0a])
    expect(() => parseKisStockMaster(short, 'KOSPI')).toThrow(/line 2: 100 bytes/)
    const badBase = line('005930', SAMSUNG, kospiTail([[41, '00007x000']]))
    expect(() => parseKisStockMaster(Uint8Array.from(badBase), 'KOSPI')).toThrow(
      /basePrice is not an integer/,
    )
    const badName = line('005930', [0xbb, 0x20, 0xff, 0xff], kospiTail([]))
    expect(() => parseKisStockMaster(Uint8Array.from(badName), 'KOSPI')).toThrow(/not CP949/)
  })

  it('never throws anything but a KisError, and never returns a record from garbage (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom('KOSPI' as const, 'KOSDAQ' as const),
        (bytes, m) => {
          try {
            const out = parseKisStockMaster(bytes, m)
            for (const r of out) {
              expect(r.symbol).toMatch(/^[0-9A-Z]{6,9}$/)
              expect(Number.isInteger(r.basePrice)).toBe(true)
            }
          } catch (e) {
            expect(KisError.isInstance(e) && e.code === 'KIS_MASTER_MALFORMED').toBe(true)
          }
        },
      ),
    )
  })
})

describe('unzipSingleEntry', () => {
  const zip = (data: Buffer, method: 0 | 8, crcOverride?: number) => {
    const body = method === 8 ? deflateRawSync(data) : data
    const name = Buffer.from('kospi_code.mst')
    const crc = crcOverride ?? crc32(data) >>> 0
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(method, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(name.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(method, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(body.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(name.length, 28)
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt16LE(1, 8)
    end.writeUInt16LE(1, 10)
    end.writeUInt32LE(30 + name.length + body.length, 16)
    return Buffer.concat([local, name, body, central, name, end])
  }
  const text = Buffer.from('005930 …\n'.repeat(50))

  it('reads a stored and a deflated entry', () => {
    for (const method of [0, 8] as const) {
      const r = unzipSingleEntry(zip(text, method))
      expect(r.name).toBe('kospi_code.mst')
      expect(Buffer.from(r.data).equals(text)).toBe(true)
    }
  })

  it('refuses a bad CRC, a truncated archive and a non-zip', () => {
    expect(() => unzipSingleEntry(zip(text, 8, 1))).toThrow(/CRC/)
    expect(() => unzipSingleEntry(zip(text, 8).subarray(0, 40))).toThrow(KisError)
    expect(() => unzipSingleEntry(Buffer.from('<html>503</html>'))).toThrow(/end-of-central-directory/)
  })
})
