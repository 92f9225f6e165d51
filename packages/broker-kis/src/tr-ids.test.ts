import { describe, expect, it } from 'vitest'
import { KIS_TR_TABLE, type KisOperation, resolveTrId } from './tr-ids'

// reference/kis-openapi.md §4.0, row by row.
const EXPECTED: [KisOperation, string, string | undefined, string | undefined, string | undefined][] = [
  // op, real new, real old, paper new, paper old
  ['order-cash-sell', 'TTTC0011U', 'TTTC0801U', 'VTTC0011U', 'VTTC0801U'],
  ['order-cash-buy', 'TTTC0012U', 'TTTC0802U', 'VTTC0012U', 'VTTC0802U'],
  ['order-rvsecncl', 'TTTC0013U', 'TTTC0803U', 'VTTC0013U', 'VTTC0803U'],
  ['inquire-psbl-rvsecncl', 'TTTC0084R', 'TTTC8036R', undefined, undefined],
  ['inquire-daily-ccld', 'TTTC0081R', 'TTTC8001R', 'VTTC0081R', 'VTTC8001R'],
  ['inquire-daily-ccld-archive', 'CTSC9215R', 'CTSC9115R', 'VTSC9215R', 'VTSC9115R'],
  ['inquire-balance', 'TTTC8434R', 'TTTC8434R', 'VTTC8434R', 'VTTC8434R'],
  ['inquire-psbl-order', 'TTTC8908R', 'TTTC8908R', 'VTTC8908R', 'VTTC8908R'],
  ['inquire-psbl-sell', 'TTTC8408R', 'TTTC8408R', undefined, undefined],
  ['inquire-price', 'FHKST01010100', 'FHKST01010100', 'FHKST01010100', 'FHKST01010100'],
  ['inquire-asking-price', 'FHKST01010200', 'FHKST01010200', 'FHKST01010200', 'FHKST01010200'],
]

describe('TR id table', () => {
  it.each(EXPECTED)('%s: real %s/%s, paper %s/%s', (op, realNew, realOld, paperNew, paperOld) => {
    expect(resolveTrId(op, 'real')).toBe(realNew)
    expect(resolveTrId(op, 'real', true)).toBe(realOld)
    expect(resolveTrId(op, 'paper')).toBe(paperNew)
    expect(resolveTrId(op, 'paper', true)).toBe(paperOld)
  })

  it('covers every operation in the table', () => {
    expect(new Set(EXPECTED.map((e) => e[0]))).toEqual(new Set(Object.keys(KIS_TR_TABLE)))
  })

  it('paper ids follow the official derivation: first T/J/C → V, quotation FH ids unchanged (§3.1)', () => {
    for (const [op, spec] of Object.entries(KIS_TR_TABLE)) {
      if (!spec.paper) continue
      for (const variant of ['current', 'legacy'] as const) {
        const real = spec.real[variant]
        const paper = spec.paper[variant]
        if (!real || !paper) continue
        const derived = /^[TJC]/.test(real) ? `V${real.slice(1)}` : real
        expect(paper, `${op} ${variant}`).toBe(derived)
      }
    }
  })

  it('marks only order endpoints as having a side effect', () => {
    const effects = Object.entries(KIS_TR_TABLE)
      .filter(([, s]) => s.sideEffect)
      .map(([op]) => op)
    expect(effects.sort()).toEqual(['order-cash-buy', 'order-cash-sell', 'order-rvsecncl'])
    for (const op of effects) expect(KIS_TR_TABLE[op as KisOperation].method).toBe('POST')
  })
})
