import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSessionCalendar } from './calendar'
import { createSimClock } from './clock'
import { Exchange, type ExchangeOptions, type SimEnv } from './exchange'
import { kstMidnight } from './kst'

// The venue × session × order-type matrix (reference §5; krx-market-rules §1.2, §2.1–§2.4), checked
// against an oracle written here from the reference tables, independently of `venues.ts`.

const DAY = '20261124' // a Tuesday under Regime B (KRX after-market 16:00–20:00)
const hms = (h: number, m: number, s = 0) => ((h * 60 + m) * 60 + s) * 1000

// krx-market-rules §1.1 (Regime B) and §2.1, as [from, to) ms of day.
const KRX_SESSIONS: Record<string, [number, number]> = {
  'pre-close': [hms(8, 30), hms(8, 40)],
  opening: [hms(8, 30), hms(9, 0)],
  continuous: [hms(9, 0), hms(15, 20)],
  closing: [hms(15, 20), hms(15, 30)],
  'post-close': [hms(15, 30), hms(16, 0)],
  after: [hms(16, 0), hms(20, 0)],
}
const NXT_SESSIONS: Record<string, [number, number]> = {
  pre: [hms(8, 0), hms(8, 50)],
  main: [hms(9, 0, 30), hms(15, 20)],
  'after-call': [hms(15, 30), hms(15, 40)],
  after: [hms(15, 40), hms(20, 0)],
}
// krx-market-rules §1.2 matrix (⚠️ 02 in the opening auction: accepted).
const KRX_TAKES: Record<string, string[]> = {
  '00': ['opening', 'continuous', 'closing'],
  '01': ['opening', 'continuous', 'closing'],
  '02': ['opening', 'continuous'],
  '03': ['continuous'],
  '04': ['continuous'],
  '05': ['pre-close'],
  '06': ['post-close'],
  '07': [],
  ...Object.fromEntries(
    ['11', '12', '13', '14', '15', '16', '21', '22', '23', '24'].map((c) => [c, ['continuous']]),
  ),
  ...Object.fromEntries(['41', '42', '43', '44', '45', '46', '47'].map((c) => [c, ['after']])),
}
// krx-market-rules §2.3, conservative split.
const NXT_MAIN = ['00', '03', '04', '11', '12', '13', '14', '15', '16', '21', '22', '23', '24']
const NXT_TAKES: Record<string, string[]> = {
  pre: ['00'],
  main: NXT_MAIN,
  'after-call': ['00'],
  after: ['00'],
}
// reference §5 SOR column.
const SOR = ['00', '01', '03', '04', '11', '12', '13', '14', '15', '16']
const PAPER = ['00', '01', '02', '03', '04']
const CODES = Object.keys(KRX_TAKES)

const inWindow = (t: number, w: [number, number]) => t >= w[0] && t < w[1]
const krxTakes = (code: string, t: number) =>
  (KRX_TAKES[code] ?? []).some((s) => inWindow(t, KRX_SESSIONS[s]!))
const nxtSession = (t: number) => Object.keys(NXT_SESSIONS).find((s) => inWindow(t, NXT_SESSIONS[s]!))
const nxtTakes = (code: string, t: number) => {
  const s = nxtSession(t)
  return s !== undefined && (NXT_TAKES[s] ?? []).includes(code)
}

/** The oracle: the venue an order goes to, or undefined when refused. */
function expectedVenue(p: { env: SimEnv; route: string; code: string; eligible: boolean; t: number }) {
  if (p.env === 'paper' && (p.route !== 'KRX' || !PAPER.includes(p.code))) return undefined
  if (p.route === 'KRX') return krxTakes(p.code, p.t) ? 'KRX' : undefined
  if (p.route === 'NXT') return p.eligible && nxtTakes(p.code, p.t) ? 'NXT' : undefined
  if (!SOR.includes(p.code)) return undefined
  if (krxTakes(p.code, p.t)) return 'KRX'
  return p.eligible && nxtTakes(p.code, p.t) ? 'NXT' : undefined
}

function setup(at: number, options: ExchangeOptions = {}) {
  const clock = createSimClock({ mode: 'manual', start: at })
  const ex = new Exchange(clock, createSessionCalendar(), 5, { priceModel: 'static', ...options })
  clock.onTime((t) => ex.syncTo(t))
  ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true, nxt: true })
  ex.addSymbol({ code: '000020', basePrice: 1_999 })
  const owner = (env: SimEnv) => ({
    env,
    appkey: env,
    htsId: 'H',
    branch: env === 'paper' ? '00950' : '06010',
  })
  const real = ex.addAccount({ cano: '50000001', cash: 1e12 }, owner('real'))
  const paper = ex.addAccount({ cano: '50000002', cash: 1e12 }, owner('paper'))
  return { clock, ex, real, paper }
}

/** A price the order type takes (limit 70,000, cond 71,000; price-less types 0). */
function priceFor(code: string): number {
  return ['00', '02', '07', '11', '12', '21', '22', '23', '24', '41', '42', '43'].includes(code) ? 70_000 : 0
}

describe('venue × session × order type (property, oracle from the reference tables)', () => {
  it('every order goes where the oracle says, or is refused when it says so', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SimEnv>('real', 'paper'),
        fc.constantFrom('KRX', 'NXT', 'SOR', ''),
        fc.constantFrom(...CODES),
        fc.boolean(),
        // 07:00 to 21:00, to the second (the NXT 09:00:00–09:00:30 pause included).
        fc.integer({ min: 7 * 3600, max: 21 * 3600 - 1 }),
        (env, rawRoute, code, eligible, sec) => {
          const at = kstMidnight(DAY) + sec * 1000
          const { ex, real, paper } = setup(at)
          const symbol = eligible ? '005930' : '000020'
          const route = rawRoute === '' ? 'KRX' : rawRoute
          const price = symbol === '000020' && priceFor(code) > 0 ? 1_990 : priceFor(code)
          const r = ex.placeOrder({
            account: env === 'real' ? real : paper,
            trId: 'TTTC0012U',
            side: 'buy',
            symbol,
            ordDvsn: code,
            qty: 1,
            price,
            sllType: '01',
            exchangeId: rawRoute,
            condPrice: symbol === '000020' ? 1_995 : 71_000,
          })
          const want = expectedVenue({ env, route, code, eligible, t: sec * 1000 })
          if (want === undefined) {
            expect(r.ok, `${env} ${route} ${code} ${sec}s: ${r.ok ? 'accepted' : ''}`).toBe(false)
            // Never the generic type error for a known code; venue problems get their own answers.
            if (!r.ok) expect(r.key).not.toBe('BAD_ORDER_TYPE')
          } else {
            expect(r.ok, `${env} ${route} ${code} ${sec}s: ${r.ok ? '' : r.key}`).toBe(true)
            if (r.ok) {
              expect(r.order.venue).toBe(want)
              expect(r.order.route).toBe(route)
              expect(r.order.book === 'nxt').toBe(want === 'NXT')
            }
          }
        },
      ),
      { numRuns: 600 },
    )
  })

  it('answers each refusal with its own message key', () => {
    const at = (h: number, m: number, s = 0) => kstMidnight(DAY) + hms(h, m, s)
    const place = (
      when: number,
      code: string,
      exchangeId: string,
      symbol = '005930',
      env: SimEnv = 'real',
    ) => {
      const { ex, real, paper } = setup(when)
      const r = ex.placeOrder({
        account: env === 'real' ? real : paper,
        trId: 'TTTC0012U',
        side: 'buy',
        symbol,
        ordDvsn: code,
        qty: 1,
        price: priceFor(code),
        sllType: '01',
        exchangeId,
      })
      return r.ok ? `ok:${r.order.venue}` : r.key
    }
    expect(place(at(10, 0), '00', 'NXT', '000020')).toBe('NXT_NOT_ELIGIBLE')
    expect(place(at(10, 0), '01', 'NXT')).toBe('VENUE_ORDER_TYPE') // no market orders on NXT
    expect(place(at(10, 0), '02', 'NXT')).toBe('VENUE_ORDER_TYPE')
    expect(place(at(10, 0), '21', 'SOR')).toBe('VENUE_ORDER_TYPE') // 21–24 are not SOR codes
    expect(place(at(8, 10), '03', 'NXT')).toBe('NXT_ORDER_TYPE_NOT_IN_SESSION') // pre-market: 00 only
    expect(place(at(17, 0), '11', 'NXT')).toBe('NXT_ORDER_TYPE_NOT_IN_SESSION') // after-market: 00 only
    expect(place(at(8, 55), '00', 'NXT')).toBe('MARKET_CLOSED') // NXT pauses for the KRX open
    expect(place(at(7, 30), '00', 'NXT')).toBe('MARKET_NOT_OPEN')
    expect(place(at(15, 25), '03', 'SOR')).toBe('SOR_NO_ROUTE') // KRX closing auction, NXT paused
    expect(place(at(16, 30), '01', 'SOR')).toBe('SOR_NO_ROUTE')
    expect(place(at(7, 30), '00', 'SOR')).toBe('MARKET_NOT_OPEN')
    expect(place(at(8, 10), '00', 'SOR', '000020')).toBe('MARKET_NOT_OPEN')
    expect(place(at(10, 0), '00', 'NXT', '005930', 'paper')).toBe('EXCHANGE_NOT_SUPPORTED')
    expect(place(at(10, 0), '00', 'SOR', '005930', 'paper')).toBe('EXCHANGE_NOT_SUPPORTED')
    expect(place(at(10, 0), '21', 'KRX', '005930', 'paper')).toBe('PAPER_UNSUPPORTED')
    expect(place(at(10, 0), '00', 'XYZ')).toBe('EXCHANGE_NOT_SUPPORTED')
    // SOR goes to KRX whenever KRX takes the code, to NXT otherwise.
    expect(place(at(10, 0), '00', 'SOR')).toBe('ok:KRX')
    expect(place(at(15, 25), '00', 'SOR')).toBe('ok:KRX')
    expect(place(at(8, 10), '00', 'SOR')).toBe('ok:NXT')
    expect(place(at(16, 30), '00', 'SOR')).toBe('ok:NXT')
  })

  it('nxtSessionCodes relaxes the UNVERIFIED split; never-NXT codes stay refused', () => {
    const { ex, real } = setup(kstMidnight(DAY) + hms(8, 10), {
      nxtSessionCodes: { 'pre-market': ['00', '03', '01'] },
    })
    const place = (code: string) =>
      ex.placeOrder({
        account: real,
        trId: 'TTTC0012U',
        side: 'buy',
        symbol: '005930',
        ordDvsn: code,
        qty: 1,
        price: 0,
        sllType: '01',
        exchangeId: 'NXT',
      })
    expect(place('03').ok).toBe(true)
    expect(place('01')).toEqual({ ok: false, key: 'VENUE_ORDER_TYPE' })
  })
})

describe('NXT book lifecycle (property)', () => {
  it('NXT orders trade only while NXT is continuous (or at its 15:40 uncross), never move books, and are gone after 20:00', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.array(
          fc.oneof(
            fc.record({
              t: fc.constant('order' as const),
              route: fc.constantFrom('KRX', 'NXT', 'SOR'),
              side: fc.constantFrom('buy' as const, 'sell' as const),
              ticks: fc.integer({ min: -4, max: 4 }),
            }),
            fc.record({
              t: fc.constant('advance' as const),
              ms: fc.integer({ min: 1_000, max: 40 * 60_000 }),
            }),
          ),
          { maxLength: 40 },
        ),
        (seed, ops) => {
          const clock = createSimClock({ mode: 'manual', start: '2026-11-24 07:55:00' })
          const ex = new Exchange(clock, createSessionCalendar(), seed, { tickIntervalMs: 5_000 })
          clock.onTime((t) => ex.syncTo(t))
          ex.addSymbol({ code: '005930', basePrice: 70_000, kospi200: true, nxt: true, meanVolume: 20 })
          const acct = ex.addAccount(
            { cano: '50000001', cash: 1e12, positions: [{ symbol: '005930', qty: 100_000 }] },
            { env: 'real', appkey: 'k', htsId: 'H', branch: '06010' },
          )
          const placed: ReturnType<typeof ex.placeOrder>[] = []
          for (const o of ops) {
            if (o.t === 'advance') {
              clock.advance(o.ms)
              continue
            }
            const s = ex.requireSymbol('005930')
            placed.push(
              ex.placeOrder({
                account: acct,
                trId: o.side === 'buy' ? 'TTTC0012U' : 'TTTC0011U',
                side: o.side,
                symbol: '005930',
                ordDvsn: '00',
                qty: 10,
                price: Math.max(s.lower, Math.min(s.upper, s.price + o.ticks * 100)),
                sllType: '01',
                exchangeId: o.route,
              }),
            )
          }
          clock.set('2026-11-24 20:00:01')
          const cal = ex.calendar
          for (const r of placed) {
            if (!r.ok) continue
            const o = r.order
            expect(o.book).toBe(o.venue === 'NXT' ? 'nxt' : o.spec.book)
            expect(o.status).not.toBe('open')
            for (const f of o.fills) {
              if (o.venue === 'NXT') {
                const phase = cal.nxtPhaseAt(f.at)
                const uncross = f.at === kstMidnight(DAY) + hms(15, 40)
                expect(
                  phase === 'pre-market' || phase === 'main' || phase === 'after-market' || uncross,
                ).toBe(true)
              } else {
                expect(cal.phasesAt(f.at).length > 0 || f.source === 'auction').toBe(true)
              }
            }
            if (o.venue === 'NXT' && o.status === 'expired') {
              expect(o.expiredAt).toBe(kstMidnight(DAY) + hms(20, 0))
            }
          }
          expect(ex.openOrders()).toEqual([])
        },
      ),
      { numRuns: 60 },
    )
  })
})
