import { describe, expect, it } from 'vitest'
import { atKst, createSessionCalendar } from './calendar'

const cal = createSessionCalendar()
const at = (date: string, hhmm: string) =>
  atKst(date, (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 60_000)

describe('KRX calendar (krx-market-rules §1, §5)', () => {
  it('knows the 2026 holidays, weekends and the Dec 31 closure', () => {
    for (const d of ['20260101', '20260217', '20260603', '20260717', '20261225', '20261231', '20261226']) {
      expect(cal.isTradingDay(d), d).toBe(false)
    }
    for (const d of ['20260102', '20260928', '20261230', '20261124'])
      expect(cal.isTradingDay(d), d).toBe(true)
    expect(cal.isBusinessDay('20261231')).toBe(true)
  })

  it('settles T+2 over closed days (krx-market-rules §8)', () => {
    expect(cal.addTradingDays('20261124', 2)).toBe('20261126')
    expect(cal.addTradingDays('20261224', 2)).toBe('20261229')
    expect(cal.addTradingDays('20260923', 2)).toBe('20260929')
  })

  it('switches the evening regime on 2026-09-14', () => {
    expect(cal.phasesAt(at('20260911', '16:30'))).toEqual(['single-price'])
    expect(cal.phasesAt(at('20260914', '16:30'))).toEqual(['after-market'])
    expect(cal.phasesAt(at('20260914', '18:30'))).toEqual(['after-market'])
    expect(cal.phasesAt(at('20260911', '18:30'))).toEqual([])
  })

  it('runs the pre-open close-price session beside the opening auction', () => {
    expect(cal.phasesAt(at('20261124', '08:35'))).toEqual(['pre-close-price', 'opening-auction'])
    expect(cal.phasesAt(at('20261124', '08:45'))).toEqual(['opening-auction'])
    expect(cal.phasesAt(at('20261124', '09:00'))).toEqual(['continuous'])
    expect(cal.phasesAt(at('20261124', '15:25'))).toEqual(['closing-auction'])
    expect(cal.phasesAt(at('20261124', '15:35'))).toEqual(['post-close-price'])
  })

  it('opens at 10:00 on the first trading day of the year and honours overrides', () => {
    expect(cal.phasesAt(at('20260102', '09:30'))).toEqual(['pre-close-price', 'opening-auction'])
    expect(cal.phasesAt(at('20260102', '10:00'))).toEqual(['continuous'])
    const csat = createSessionCalendar({
      overrides: { '20261119': { shiftOpenMinutes: 60, shiftCloseMinutes: 60 } },
    })
    expect(csat.phasesAt(at('20261119', '09:30'))).not.toContain('continuous')
    expect(csat.phasesAt(at('20261119', '16:25'))).toEqual(['closing-auction'])
  })

  it('knows Nextrade’s sessions and pauses (krx-market-rules §2.1)', () => {
    const nxt = (d: string, t: string) => cal.nxtPhaseAt(at(d, t))
    expect(nxt('20261124', '07:59')).toBeUndefined()
    expect(nxt('20261124', '08:00')).toBe('pre-market')
    expect(nxt('20261124', '08:50')).toBe('pause')
    expect(cal.nxtPhaseAt(at('20261124', '09:00') + 29_999)).toBe('pause')
    expect(cal.nxtPhaseAt(at('20261124', '09:00') + 30_000)).toBe('main')
    expect(nxt('20261124', '15:20')).toBe('pause')
    expect(nxt('20261124', '15:30')).toBe('after-call')
    expect(nxt('20261124', '15:40')).toBe('after-market')
    expect(nxt('20261124', '19:59')).toBe('after-market')
    expect(nxt('20261124', '20:00')).toBeUndefined()
    expect(nxt('20261225', '10:00')).toBeUndefined()
    // Before NXT's launch day there is no NXT at all; on the first trading day no pre-market.
    expect(nxt('20250228', '10:00')).toBeUndefined()
    expect(nxt('20250304', '10:00')).toBe('main')
    expect(nxt('20260102', '08:10')).toBeUndefined()
    expect(nxt('20260102', '10:00')).toBeUndefined() // main opens at 10:00:30
    expect(cal.nxtPhaseAt(at('20260102', '10:00') + 30_000)).toBe('main')
  })
})
