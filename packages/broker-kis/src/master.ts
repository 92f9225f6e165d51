import { crc32, inflateRawSync } from 'node:zlib'
import { decodeCp949 } from './cp949'
import { KisError } from './errors'

/**
 * KIS's stock master files (`kospi_code.mst`, `kosdaq_code.mst`), published zipped every day.
 * Each line is one symbol, encoded in CP949: the short code (9 bytes), the standard code (12
 * bytes), the Korean name (the rest), then a fixed-width ASCII tail whose layout differs between
 * the two markets. The layout here follows KIS's own readers in open-trading-api
 * (`stocks_info/kis_kospi_code_mst.py`, `kis_kosdaq_code_mst.py`); reference/krx-market-rules.md §9
 * names the fields risk needs.
 */
export type KisMasterMarket = 'KOSPI' | 'KOSDAQ'

/** Where KIS publishes the files (override for a mirror or the simulator). */
export const KIS_MASTER_URLS: Readonly<Record<KisMasterMarket, string>> = Object.freeze({
  KOSPI: 'https://new.real.download.dws.co.kr/common/master/kospi_code.mst.zip',
  KOSDAQ: 'https://new.real.download.dws.co.kr/common/master/kosdaq_code.mst.zip',
})

/** One symbol of a master file. */
export interface KisMasterRecord {
  /** 단축코드, e.g. `005930`. */
  symbol: string
  /** 표준코드 (ISIN), e.g. `KR7005930003`. */
  standardCode: string
  name: string
  market: KisMasterMarket
  /** 증권그룹구분코드: `ST` stock, `EF` ETF, `EN` ETN, `EW` ELW, … */
  groupCode: string
  /** `kind` derived from the group code; `other` for funds, REITs, rights, … */
  kind: 'stock' | 'etf' | 'etn' | 'elw' | 'other'
  /** 기준가 (won). */
  basePrice: number
  /** 매매수량단위. */
  lotSize: number
  /** 시간외수량단위. */
  offHoursLotSize: number
  /** 거래정지. */
  halted: boolean
  /** 정리매매 (no price limit). */
  liquidation: boolean
  /** 관리종목. */
  administrative: boolean
  /** 시장경고: `00` none, `01` 투자주의, `02` 투자경고, `03` 투자위험. */
  marketWarning: string
  /** 경고예고. */
  warningNotice: boolean
  /** 단기과열 (KOSDAQ: its code is not `0`). */
  shortTermOverheated: boolean
  /** 공매도과열. */
  shortSaleOverheated: boolean
  /** 증거금비율 (%). */
  marginRate: number
  /** 신용가능. */
  creditable: boolean
  /** 상장일자, `YYYYMMDD`. */
  listingDate: string
  /**
   * 상장주수 as the file states it. KIS's KOSDAQ reader labels it in thousands of shares;
   * UNVERIFIED for KOSPI, so check it against another source before a size limit depends on it.
   */
  listedShares: number
  /** 시가총액 in 억원 (100 million won), as of the previous day. */
  marketCap100m: number
  /** KOSPI: a KOSPI200 sector is set (a constituent); KOSDAQ: a KOSDAQ150 constituent. */
  indexConstituent: boolean
}

type Field = readonly [name: string, width: number]

// The fixed-width tails, field by field (names are ours; `-` marks fields we do not read).
const ones = (n: number): Field[] => Array.from({ length: n }, () => ['-', 1] as const)
/** From 기준가 to the end: the same in both markets but for the flags after 공매도과열. */
const fromBasePrice = (flagsAfterShortSale: number): Field[] => [
  ['basePrice', 9],
  ['lot', 5],
  ['offHoursLot', 5],
  ['halted', 1],
  ['liquidation', 1],
  ['administrative', 1],
  ['warning', 2],
  ['warningNotice', 1],
  ...ones(2), // 불성실공시, 우회상장
  ['-', 2], // 락구분
  ['-', 2], // 액면변경
  ['-', 2], // 증자구분
  ['margin', 3],
  ['credit', 1],
  ['-', 3], // 신용기간
  ['-', 12], // 전일거래량
  ['-', 12], // 액면가
  ['listingDate', 8],
  ['listedShares', 15],
  ['-', 21], // 자본금
  ['-', 2], // 결산월
  ['-', 7], // 공모가
  ['-', 1], // 우선주
  ['shortSaleOverheated', 1],
  ...ones(flagsAfterShortSale), // 이상급등, KRX300 (and KOSPI on the KOSPI file)
  ['-', 9], // 매출액
  ['-', 9], // 영업이익
  ['-', 9], // 경상이익
  ['-', 5], // 당기순이익
  ['-', 9], // ROE
  ['-', 8], // 기준년월
  ['marketCap', 9],
  ['-', 3], // 그룹사코드
  ...ones(3), // 회사신용한도초과, 담보대출가능, 대주가능
]
const HEAD_CODES: Field[] = [
  ['group', 2],
  ['-', 1], // 시가총액규모
  ['-', 4], // 지수업종 대분류
  ['-', 4], // 중분류
  ['-', 4], // 소분류
]
const KOSPI_TAIL: readonly Field[] = [
  ...HEAD_CODES,
  ...ones(3), // 제조업, 저유동성, 지배구조지수종목
  ['kospi200Sector', 1],
  ...ones(3), // KOSPI100, KOSPI50, KRX
  ['etp', 1],
  ...ones(9), // ELW발행 … KRX철강
  ['shortTermOverheated', 1],
  ...ones(8), // KRX미디어통신 … SRI
  ...fromBasePrice(3),
]
const KOSDAQ_TAIL: readonly Field[] = [
  ...HEAD_CODES,
  ...ones(3), // 벤처, 저유동성, KRX
  ['etp', 1],
  ...ones(8), // KRX100 … KRX철강
  ['shortTermOverheated', 1],
  ...ones(7), // KRX미디어통신 … KRX섹터 운송
  ['kosdaq150', 1],
  ...fromBasePrice(2),
]

interface Layout {
  width: number
  at: Map<string, readonly [start: number, end: number]>
}
const layoutOf = (fields: readonly Field[]): Layout => {
  const at = new Map<string, readonly [number, number]>()
  let pos = 0
  for (const [name, width] of fields) {
    if (name !== '-') at.set(name, [pos, pos + width])
    pos += width
  }
  return { width: pos, at }
}
const LAYOUTS: Record<KisMasterMarket, Layout> = {
  KOSPI: layoutOf(KOSPI_TAIL),
  KOSDAQ: layoutOf(KOSDAQ_TAIL),
}

/** Width of a market's fixed tail (227 KOSPI, 221 KOSDAQ), without the line break. */
export function kisMasterTailWidth(market: KisMasterMarket): number {
  return LAYOUTS[market].width
}

const HEAD = 21 // short code 9 + standard code 12

/**
 * Parses a master file (the unzipped `.mst` bytes). A line that does not fit the layout throws a
 * `KisError` (`KIS_MASTER_MALFORMED`) naming the line: reference data half-read is worse than
 * none. Empty lines are skipped.
 */
export function parseKisStockMaster(data: Uint8Array, market: KisMasterMarket): KisMasterRecord[] {
  const layout = LAYOUTS[market]
  const out: KisMasterRecord[] = []
  let start = 0
  let line = 0
  while (start < data.length) {
    let end = data.indexOf(0x0a, start)
    if (end < 0) end = data.length
    line++
    let stop = end
    if (stop > start && data[stop - 1] === 0x0d) stop--
    if (stop > start) out.push(parseLine(data.subarray(start, stop), market, layout, line))
    start = end + 1
  }
  return out
}

function parseLine(
  bytes: Uint8Array,
  market: KisMasterMarket,
  layout: Layout,
  line: number,
): KisMasterRecord {
  const bad = (what: string): never => {
    throw new KisError('KIS_MASTER_MALFORMED', `${market} master line ${line}: ${what}`)
  }
  if (bytes.length < HEAD + layout.width) bad(`${bytes.length} bytes, shorter than ${HEAD + layout.width}`)
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  const tailStart = bytes.length - layout.width
  for (let i = tailStart; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b < 0x20 || b > 0x7e) bad(`non-ASCII byte in the fixed fields at column ${i - tailStart + 1}`)
  }
  const field = (name: string): string => {
    const [from, to] = layout.at.get(name)!
    return ascii(tailStart + from, tailStart + to).trim()
  }
  const int = (name: string): number => {
    const v = field(name)
    if (v === '') return 0
    if (!/^-?\d+$/.test(v)) bad(`${name} is not an integer: ${JSON.stringify(v)}`)
    return Number(v)
  }
  const yes = (name: string) => field(name) === 'Y'
  const symbol = ascii(0, 9).trim()
  if (!/^[0-9A-Z]{6,9}$/.test(symbol)) bad(`short code ${JSON.stringify(symbol)}`)
  const name = decodeCp949(bytes.subarray(HEAD, tailStart))?.trim() ?? bad('the name is not CP949')
  const group = field('group')
  const kind =
    group === 'ST'
      ? 'stock'
      : group === 'EF'
        ? 'etf'
        : group === 'EN'
          ? 'etn'
          : group === 'EW'
            ? 'elw'
            : 'other'
  const overheated = field('shortTermOverheated')
  return {
    symbol,
    standardCode: ascii(9, HEAD).trim(),
    name,
    market,
    groupCode: group,
    kind,
    basePrice: int('basePrice'),
    lotSize: int('lot') || 1,
    offHoursLotSize: int('offHoursLot') || int('lot') || 1,
    halted: yes('halted'),
    liquidation: yes('liquidation'),
    administrative: yes('administrative'),
    marketWarning: field('warning').padStart(2, '0'),
    warningNotice: yes('warningNotice'),
    shortTermOverheated: overheated !== '' && overheated !== '0' && overheated !== 'N',
    shortSaleOverheated: yes('shortSaleOverheated'),
    marginRate: int('margin'),
    creditable: yes('credit'),
    listingDate: field('listingDate'),
    listedShares: int('listedShares'),
    marketCap100m: int('marketCap'),
    indexConstituent:
      market === 'KOSPI' ? !['', '0', 'N'].includes(field('kospi200Sector')) : yes('kosdaq150'),
  }
}

/**
 * The one file of a zip archive (KIS publishes each master as a single-entry zip). Stored and
 * deflated entries are read; the CRC is checked. Anything else throws `KIS_MASTER_MALFORMED`.
 */
export function unzipSingleEntry(zip: Uint8Array): { name: string; data: Uint8Array } {
  const bad = (what: string): never => {
    throw new KisError('KIS_MASTER_MALFORMED', `master zip: ${what}`)
  }
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength)
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) bad('no end-of-central-directory record')
  if (view.getUint16(eocd + 10, true) < 1) bad('no entries')
  const central = view.getUint32(eocd + 16, true)
  if (central + 46 > zip.length || view.getUint32(central, true) !== 0x02014b50) bad('bad central directory')
  const method = view.getUint16(central + 10, true)
  const crc = view.getUint32(central + 16, true)
  const compressed = view.getUint32(central + 20, true)
  const size = view.getUint32(central + 24, true)
  const nameLength = view.getUint16(central + 28, true)
  const local = view.getUint32(central + 42, true)
  const name = new TextDecoder().decode(zip.subarray(central + 46, central + 46 + nameLength))
  if (local + 30 > zip.length || view.getUint32(local, true) !== 0x04034b50) bad('bad local header')
  const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true)
  if (dataStart + compressed > zip.length) bad('entry runs past the end')
  const raw = zip.subarray(dataStart, dataStart + compressed)
  let data: Uint8Array
  if (method === 0) data = raw
  else if (method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) })
    } catch (cause) {
      return bad(`cannot inflate ${name}: ${(cause as Error).message}`)
    }
  } else return bad(`compression method ${method}`)
  if (data.length !== size) bad(`${name} is ${data.length} bytes, the directory says ${size}`)
  if (crc32(data) >>> 0 !== crc) bad(`${name} fails its CRC`)
  return { name, data }
}

/** Options of {@link fetchKisStockMaster}. */
export interface FetchKisStockMasterOptions {
  /** @default KIS_MASTER_URLS[market] */
  url?: string
  /** @default globalThis.fetch */
  fetch?: (url: string, init: { signal: AbortSignal }) => Promise<Response>
  /** @default 30_000 */
  timeoutMs?: number
  /** Refuse larger downloads. @default 20 MiB */
  maxBytes?: number
}

/**
 * Downloads, unzips and parses a market's master file. Fails with a `KisError`
 * (`KIS_MASTER_MALFORMED`) or the transport's error; never returns a partial list.
 */
export async function fetchKisStockMaster(
  market: KisMasterMarket,
  options: FetchKisStockMasterOptions = {},
): Promise<KisMasterRecord[]> {
  const url = options.url ?? KIS_MASTER_URLS[market]
  const get = options.fetch ?? ((u: string, init: { signal: AbortSignal }) => fetch(u, init))
  const res = await get(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) })
  if (!res.ok) throw new KisError('KIS_MASTER_MALFORMED', `${market} master: HTTP ${res.status} from ${url}`)
  const max = options.maxBytes ?? 20 * 1024 * 1024
  const declared = Number(res.headers.get('content-length') ?? '0')
  if (declared > max)
    throw new KisError('KIS_MASTER_MALFORMED', `${market} master: ${declared} bytes > ${max}`)
  const body = new Uint8Array(await res.arrayBuffer())
  if (body.length > max)
    throw new KisError('KIS_MASTER_MALFORMED', `${market} master: ${body.length} bytes > ${max}`)
  return parseKisStockMaster(unzipSingleEntry(body).data, market)
}
