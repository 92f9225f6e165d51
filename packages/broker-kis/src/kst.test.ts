import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { kstCompactDate, kstCompactToEpoch, kstIsoDate, parseKstDateTime } from './kst'

describe('KST helpers', () => {
  it('parses the token expiry as KST, not UTC (peers.md §(d)7)', () => {
    expect(parseKstDateTime('2023-12-22 08:16:59')).toBe(Date.parse('2023-12-21T23:16:59Z'))
  })
  it('rejects malformed or impossible times', () => {
    for (const s of ['2023-12-22T08:16:59', '2023-02-30 00:00:00', '2023-12-22 24:00:00', '', 'x']) {
      expect(parseKstDateTime(s)).toBeUndefined()
    }
    expect(kstCompactToEpoch('20260231', '090000')).toBeUndefined()
    expect(kstCompactToEpoch('20260224', '9000')).toBeUndefined()
  })
  it('computes the KST day across the UTC midnight boundary', () => {
    expect(kstCompactDate(Date.parse('2026-11-23T15:00:00Z'))).toBe('20261124')
    expect(kstCompactDate(Date.parse('2026-11-23T14:59:59Z'))).toBe('20261123')
    expect(kstIsoDate(Date.parse('2026-11-23T15:00:00Z'))).toBe('2026-11-24')
  })
  it('round-trips any second of any day', () => {
    fc.assert(
      fc.property(
        fc.integer({
          min: Date.parse('2000-01-01T00:00:00Z') / 1000,
          max: Date.parse('2090-01-01T00:00:00Z') / 1000,
        }),
        (sec) => {
          const ms = sec * 1000
          const d = kstCompactDate(ms)
          const t = new Date(ms + 9 * 3_600_000).toISOString().slice(11, 19).replaceAll(':', '')
          expect(kstCompactToEpoch(d, t)).toBe(ms)
        },
      ),
    )
  })
})
