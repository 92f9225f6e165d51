import { TextDecoder } from 'node:util'

// CP949 (Unified Hangul Code) = EUC-KR (KS X 1001: two bytes, both 0xA1–0xFE) plus an extension
// that holds the 8,822 Hangul syllables KS X 1001 lacks, in code-point order, at lead bytes
// 0x81–0xC6. Node's TextDecoder('euc-kr') (ICU) decodes only the EUC-KR part and turns the
// extension into U+FFFD, so the extension is computed here. Checked against Python's cp949 codec
// (every extension code).

let extension: string[] | undefined
let euckr: TextDecoder | undefined

function extensionSyllables(): string[] {
  if (extension) return extension
  const dec = new TextDecoder('euc-kr')
  const inKsx = new Set<string>()
  for (let lead = 0xa1; lead <= 0xfe; lead++) {
    for (let trail = 0xa1; trail <= 0xfe; trail++) inKsx.add(dec.decode(Uint8Array.of(lead, trail)))
  }
  extension = []
  for (let c = 0xac00; c <= 0xd7a3; c++) {
    const ch = String.fromCharCode(c)
    if (!inKsx.has(ch)) extension.push(ch)
  }
  return extension
}

/** Index of a trail byte within a lead's extension row, or -1. */
function trailIndex(lead: number, trail: number): number {
  if (trail >= 0x41 && trail <= 0x5a) return trail - 0x41
  if (trail >= 0x61 && trail <= 0x7a) return 26 + trail - 0x61
  const last = lead < 0xa1 ? 0xfe : 0xa0
  if (trail >= 0x81 && trail <= last) return 52 + trail - 0x81
  return -1
}

/**
 * Decodes CP949 bytes. Returns `undefined` when a byte sequence is not CP949 (the caller decides
 * whether that is an error).
 */
export function decodeCp949(bytes: Uint8Array): string | undefined {
  euckr ??= new TextDecoder('euc-kr', { fatal: true })
  let out = ''
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b < 0x80) {
      out += String.fromCharCode(b)
      continue
    }
    const t = bytes[i + 1]
    if (t === undefined || b === 0x80 || b === 0xff) return undefined
    i++
    if (b >= 0xa1 && t >= 0xa1 && t <= 0xfe) {
      try {
        out += euckr.decode(Uint8Array.of(b, t))
      } catch {
        return undefined
      }
      continue
    }
    if (b > 0xc6) return undefined
    const k = trailIndex(b, t)
    if (k < 0) return undefined
    const index = b < 0xa1 ? (b - 0x81) * 178 + k : 32 * 178 + (b - 0xa1) * 84 + k
    const ch = extensionSyllables()[index]
    if (ch === undefined) return undefined
    out += ch
  }
  return out
}
