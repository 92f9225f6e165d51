import { TextDecoder } from 'node:util'
import { crc32 } from 'node:zlib'
import type { SymbolState } from './market'

// The stock master files KIS publishes daily (kospi_code.mst / kosdaq_code.mst, zipped), written
// from the simulator's own symbols so a runner in sim mode loads reference data the way it would
// from KIS. Line layout per KIS's readers (open-trading-api stocks_info/kis_kospi_code_mst.py and
// kis_kosdaq_code_mst.py): 9-byte short code, 12-byte standard code, the CP949 name, then an ASCII
// tail of fixed widths (227 KOSPI, 221 KOSDAQ), then "\n".

/** The tails' column widths, in file order, as KIS's readers list them. */
const KOSPI_WIDTHS = [
  2, 1, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 5, 5, 1, 1,
  1, 2, 1, 1, 1, 2, 2, 2, 3, 1, 3, 12, 12, 8, 15, 21, 2, 7, 1, 1, 1, 1, 1, 9, 9, 9, 5, 9, 8, 9, 3, 1, 1, 1,
]
const KOSDAQ_WIDTHS = [
  2, 1, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 5, 5, 1, 1, 1, 2, 1, 1, 1,
  2, 2, 2, 3, 1, 3, 12, 12, 8, 15, 21, 2, 7, 1, 1, 1, 1, 9, 9, 9, 5, 9, 8, 9, 3, 1, 1, 1,
]

/** Column numbers (0-based, into the widths above) of the values the simulator fills. */
const KOSPI_COLUMNS = {
  group: 0,
  kospi200Sector: 8,
  etp: 12,
  shortOverheat: 22,
  base: 31,
  lot: 32,
  offLot: 33,
  halt: 34,
  liquidation: 35,
  administrative: 36,
  warning: 37,
  warningNotice: 38,
  margin: 44,
  credit: 45,
  listingDate: 49,
  listedShares: 50,
  shortSaleOverheat: 55,
  marketCap: 65,
}
const KOSDAQ_COLUMNS = {
  group: 0,
  etp: 8,
  shortOverheat: 17,
  kosdaq150: 25,
  base: 26,
  lot: 27,
  offLot: 28,
  halt: 29,
  liquidation: 30,
  administrative: 31,
  warning: 32,
  warningNotice: 33,
  margin: 39,
  credit: 40,
  listingDate: 44,
  listedShares: 45,
  shortSaleOverheat: 50,
  marketCap: 59,
}

let cp949: Map<string, number[]> | undefined

/**
 * Encodes text as CP949. Node decodes only the EUC-KR part of it (KS X 1001), and encodes none:
 * that part's table is the decoder run backwards; the rest of the Hangul syllables take the
 * Unified Hangul Code extension, assigned in code-point order to lead bytes 0x81–0xA0 (trails
 * A–Z, a–z, 0x81–0xFE) and then 0xA1–0xC6 (trails A–Z, a–z, 0x81–0xA0).
 */
export function encodeCp949(text: string): Uint8Array {
  if (!cp949) {
    const table = new Map<string, number[]>()
    const dec = new TextDecoder('euc-kr')
    for (let lead = 0xa1; lead <= 0xfe; lead++) {
      for (let trail = 0xa1; trail <= 0xfe; trail++) {
        const ch = dec.decode(Uint8Array.of(lead, trail))
        if (ch.length === 1 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, [lead, trail])
      }
    }
    const slots: number[][] = []
    for (let lead = 0x81; lead <= 0xc6; lead++) {
      const upper = lead < 0xa1 ? 0xfe : 0xa0
      for (let t = 0x41; t <= 0x5a; t++) slots.push([lead, t])
      for (let t = 0x61; t <= 0x7a; t++) slots.push([lead, t])
      for (let t = 0x81; t <= upper; t++) slots.push([lead, t])
    }
    let next = 0
    for (let c = 0xac00; c <= 0xd7a3; c++) {
      const ch = String.fromCharCode(c)
      if (!table.has(ch)) table.set(ch, slots[next++]!)
    }
    cp949 = table
  }
  const out: number[] = []
  for (const ch of text) {
    const code = ch.codePointAt(0)!
    if (code < 0x80) out.push(code)
    else out.push(...(cp949.get(ch) ?? [0x3f]))
  }
  return Uint8Array.from(out)
}

/** Everything the master line says about one symbol beyond the simulator's market state. */
export interface MasterExtras {
  listingDate?: string
  listedShares?: number
}

function tail(s: SymbolState, market: 'KOSPI' | 'KOSDAQ', extras: MasterExtras): string {
  const widths = market === 'KOSPI' ? KOSPI_WIDTHS : KOSDAQ_WIDTHS
  const cols: Record<string, number> = market === 'KOSPI' ? KOSPI_COLUMNS : KOSDAQ_COLUMNS
  const values: string[] = widths.map((w) => (w === 1 ? 'N' : ''.padStart(w, '0')))
  const put = (name: string, value: string | number) => {
    const col = cols[name]
    if (col === undefined) return
    const w = widths[col]!
    const v = String(value)
    values[col] = typeof value === 'number' ? v.padStart(w, '0').slice(-w) : v.padEnd(w, ' ').slice(0, w)
  }
  const yn = (b: boolean) => (b ? 'Y' : 'N')
  const listed = extras.listedShares ?? 1_000_000
  put('group', s.kind === 'etf' ? 'EF' : 'ST')
  put('etp', market === 'KOSPI' ? yn(s.kind === 'etf') : s.kind === 'etf' ? '1' : '0')
  if (market === 'KOSPI') put('kospi200Sector', s.kospi200 ? '1' : '0')
  else put('kosdaq150', yn(s.kospi200))
  put('shortOverheat', market === 'KOSPI' ? yn(s.flags.overheated) : s.flags.overheated ? '1' : '0')
  put('base', s.base)
  put('lot', 1)
  put('offLot', 1)
  put('halt', yn(s.flags.halted))
  put('liquidation', 'N')
  put('administrative', 'N')
  put('warning', s.flags.warning)
  put('warningNotice', 'N')
  put('margin', 20)
  put('credit', 'Y')
  put('listingDate', extras.listingDate ?? '19900101')
  put('listedShares', listed)
  put('shortSaleOverheat', yn(s.flags.shortOverheated))
  put('marketCap', Math.floor((s.base * listed) / 100_000_000))
  return values.join('')
}

/** The `.mst` file of one market: a line per listed symbol of that market, in code order. */
export function masterFile(
  symbols: Iterable<SymbolState>,
  market: 'KOSPI' | 'KOSDAQ',
  extras: (code: string) => MasterExtras = () => ({}),
): Uint8Array {
  const parts: Uint8Array[] = []
  const listed = [...symbols].filter((s) => s.market === market).sort((a, b) => a.code.localeCompare(b.code))
  for (const s of listed) {
    // The standard code is shaped like an ISIN (KR7 + code + 00 + digit); its check digit is not
    // computed.
    const head = `${s.code.padEnd(9, ' ')}${`KR7${s.code}003`.padEnd(12, ' ')}`
    const name = encodeCp949(s.name)
    // KIS pads the name column; its width is not stated, so 40 bytes here (UNVERIFIED).
    const pad = Math.max(1, 40 - name.length)
    parts.push(
      Buffer.from(head, 'latin1'),
      name,
      Buffer.alloc(pad, 0x20),
      Buffer.from(`${tail(s, market, extras(s.code))}\n`, 'latin1'),
    )
  }
  return Buffer.concat(parts)
}

/** A zip archive holding one file, stored uncompressed (the simplest valid zip). */
export function zipSingle(name: string, data: Uint8Array): Uint8Array {
  const fileName = Buffer.from(name, 'utf8')
  const crc = crc32(data) >>> 0
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(10, 4) // version needed
  local.writeUInt16LE(0, 8) // stored
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(fileName.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(10, 6)
  central.writeUInt16LE(0, 10)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(data.length, 24)
  central.writeUInt16LE(fileName.length, 28)
  central.writeUInt32LE(0, 42) // local header at 0
  const centralAt = local.length + fileName.length + data.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + fileName.length, 12)
  end.writeUInt32LE(centralAt, 16)
  return Buffer.concat([local, fileName, data, central, fileName, end])
}
