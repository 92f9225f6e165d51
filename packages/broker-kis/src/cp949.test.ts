import { describe, expect, it } from 'vitest'
import { decodeCp949 } from './cp949'

describe('decodeCp949', () => {
  it('decodes the EUC-KR part and the Unified Hangul extension Node’s decoder lacks', () => {
    // 삼성 (KS X 1001), 똠 (extension 0x8C63), 힣 (U+D7A3, the last extension code 0xC652), ASCII.
    expect(decodeCp949(Uint8Array.of(0xbb, 0xef, 0xbc, 0xba, 0x8c, 0x63, 0xc6, 0x52, 0x41))).toBe('삼성똠힣A')
  })

  it('returns undefined for bytes that are not CP949', () => {
    for (const bad of [[0x8c], [0x80, 0x41], [0xc7, 0x41], [0x8c, 0x20], [0xa1, 0x41, 0xff]]) {
      expect(decodeCp949(Uint8Array.from(bad)), JSON.stringify(bad)).toBeUndefined()
    }
  })
})
