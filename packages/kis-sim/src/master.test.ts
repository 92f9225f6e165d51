import { TextDecoder } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeCp949 } from './master'

describe('encodeCp949', () => {
  it('round-trips KS X 1001 Hangul and ASCII through the platform decoder (property)', () => {
    const dec = new TextDecoder('euc-kr')
    // Node's decoder knows only the EUC-KR part of CP949: draw syllables it can decode.
    const ksx = [...'가각간갇갈감갑값강같개객갠갤갬갭갯갱거걱건걷걸검겁것겅겉게겐겔겟겠']
    const hangul = fc.constantFrom(...ksx)
    const ascii = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCodePoint(c))
    fc.assert(
      fc.property(fc.array(fc.oneof(hangul, ascii), { maxLength: 20 }), (chars) => {
        const text = chars.join('')
        expect(dec.decode(encodeCp949(text))).toBe(text)
      }),
    )
  })

  it('encodes a name as KIS files carry it, extension syllables included', () => {
    expect([...encodeCp949('삼성전자')]).toEqual([0xbb, 0xef, 0xbc, 0xba, 0xc0, 0xfc, 0xc0, 0xda])
    // 똠 and 힣 lie outside KS X 1001 (codes from Python's cp949 codec); unknown characters become "?".
    expect([...encodeCp949('똠힣')]).toEqual([0x8c, 0x63, 0xc6, 0x52])
    expect([...encodeCp949('😀')]).toEqual([0x3f])
  })
})
