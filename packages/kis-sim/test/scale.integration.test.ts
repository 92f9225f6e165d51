import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KisSim, SimAppInfo } from '../src/index'
import {
  BALANCE,
  DAILY_CCLD,
  dailyCcldQuery,
  get,
  headers,
  paperApp,
  realApp,
  startSim,
  token,
} from './helpers'

// The reconcile-scale account-day (issue #9): 10,000 orders and 500 positions, paged exactly as the
// reference states (§3.3: daily-ccld 100 rows real / 15 paper, balance 50 / 20), every row once.

const ORDERS = 10_000
const POSITIONS = 500

let sim: KisSim
beforeAll(async () => {
  // The documented paper profile: as reported, paper daily-ccld lists no rows at all (§7.10, see
  // paper-profile.integration.test.ts), so its paging is only observable as documented.
  sim = await startSim({ paper: 'documented', limits: { restPerSecond: { real: 1e6, paper: 1e6 } } })
  for (const app of [realApp(sim), paperApp(sim)]) {
    const cano = app.accounts[0]?.cano ?? ''
    const positions = []
    for (let i = 0; i < POSITIONS; i++) {
      const code = String((app.env === 'real' ? 300000 : 400000) + i)
      sim.control.addSymbol({ code, basePrice: 10_000 })
      positions.push({ symbol: code, qty: 1 + (i % 7) })
    }
    sim.control.seedAccount(cano, { cash: 1e13, positions })
    for (let i = 0; i < ORDERS; i++) {
      // Resting buys at the lower limit, in a spread of symbols and quantities.
      const symbol = positions[i % POSITIONS]!.symbol
      sim.control.placeExternalOrder(cano, {
        symbol,
        side: 'buy',
        qty: 1 + (i % 3),
        price: sim.control.quote(symbol).lower,
      })
    }
  }
}, 120_000)
afterAll(async () => sim?.close())

/** Pages a query to the end; returns the page sizes and every row. */
async function pageAll(
  app: SimAppInfo,
  path: string,
  query: Record<string, string>,
  trId: string,
): Promise<{ sizes: number[]; rows: Record<string, string>[]; conts: string[] }> {
  const tok = await token(sim, app)
  const sizes: number[] = []
  const rows: Record<string, string>[] = []
  const conts: string[] = []
  let cursor = { CTX_AREA_FK100: '', CTX_AREA_NK100: '' }
  let cont = ''
  for (let i = 0; i < 2_000; i++) {
    const r = await get(sim, path, { ...query, ...cursor }, headers(app, tok, trId, { tr_cont: cont }))
    expect(r.body.rt_cd, JSON.stringify(r.body).slice(0, 200)).toBe('0')
    const page = r.body.output1 as Record<string, string>[]
    sizes.push(page.length)
    rows.push(...page)
    const more = r.headers.get('tr_cont') ?? ''
    conts.push(more)
    if (more === 'D') return { sizes, rows, conts }
    expect(more).toBe('M')
    cursor = { CTX_AREA_FK100: r.body.ctx_area_fk100, CTX_AREA_NK100: r.body.ctx_area_nk100 }
    cont = 'N'
  }
  throw new Error('no last page after 2,000 requests')
}

const pagesOf = (total: number, size: number) => [
  ...Array.from({ length: Math.floor(total / size) }, () => size),
  ...(total % size === 0 ? [] : [total % size]),
]

describe(`an account-day of ${ORDERS.toLocaleString('en')} orders and ${POSITIONS} positions`, () => {
  for (const env of ['real', 'paper'] as const) {
    const size = env === 'real' ? { daily: 100, balance: 50 } : { daily: 15, balance: 20 }
    it(`${env}: daily-ccld pages ${size.daily} rows at a time, every order exactly once`, async () => {
      const app = env === 'real' ? realApp(sim) : paperApp(sim)
      const { sizes, rows, conts } = await pageAll(
        app,
        DAILY_CCLD,
        dailyCcldQuery(app),
        env === 'real' ? 'TTTC0081R' : 'VTTC0081R',
      )
      expect(sizes).toEqual(pagesOf(ORDERS, size.daily))
      expect(conts.slice(0, -1).every((c) => c === 'M')).toBe(true)
      const seen = rows.map((r) => r.odno)
      expect(new Set(seen).size).toBe(ORDERS)
      const cano = app.accounts[0]?.cano ?? ''
      expect(new Set(seen)).toEqual(
        new Set(sim.control.orders({ cano, date: '20261124' }).map((o) => o.odno)),
      )
    }, 120_000)

    it(`${env}: inquire-balance pages ${size.balance} positions at a time, every holding once`, async () => {
      const app = env === 'real' ? realApp(sim) : paperApp(sim)
      const { sizes, rows } = await pageAll(
        app,
        BALANCE,
        {
          CANO: app.accounts[0]?.cano ?? '',
          ACNT_PRDT_CD: app.accounts[0]?.productCode ?? '',
          AFHR_FLPR_YN: 'N',
          OFL_YN: '',
          INQR_DVSN: '02',
          UNPR_DVSN: '01',
          FUND_STTL_ICLD_YN: 'N',
          FNCG_AMT_AUTO_RDPT_YN: 'N',
          PRCS_DVSN: '00',
        },
        env === 'real' ? 'TTTC8434R' : 'VTTC8434R',
      )
      expect(sizes).toEqual(pagesOf(POSITIONS, size.balance))
      const held = new Map(rows.map((r) => [r.pdno, Number(r.hldg_qty)]))
      expect(held.size).toBe(POSITIONS)
      const base = env === 'real' ? 300000 : 400000
      for (let i = 0; i < POSITIONS; i++) expect(held.get(String(base + i))).toBe(1 + (i % 7))
    }, 120_000)
  }

  it('rolls over: every open order expires, numbering restarts, yesterday still pages by date', async () => {
    const app = realApp(sim)
    const cano = app.accounts[0]?.cano ?? ''
    expect(sim.control.nextTradingDay('09:30').date).toBe('20261125')
    const yesterday = sim.control.orders({ date: '20261124' })
    expect(yesterday).toHaveLength(2 * ORDERS)
    expect(yesterday.every((o) => o.status === 'expired' && o.remaining === 0)).toBe(true)
    expect(sim.control.account(cano).reservedCash).toBe(0)

    const placed = sim.control.placeExternalOrder(cano, {
      symbol: '005930',
      side: 'buy',
      qty: 1,
      price: 60_000,
    })
    // The day's first number again (the default first number is 1001).
    expect(placed.odno).toBe('0000001001')
    expect(placed.odno).toBe(yesterday.map((o) => o.odno).sort()[0])

    const old = await pageAll(app, DAILY_CCLD, dailyCcldQuery(app), 'TTTC0081R')
    expect(old.sizes).toEqual(pagesOf(ORDERS, 100))
    expect(old.rows.every((r) => r.ord_dt === '20261124' && Number(r.rmn_qty) === 0)).toBe(true)
    const today = await pageAll(
      app,
      DAILY_CCLD,
      dailyCcldQuery(app, { INQR_STRT_DT: '20261125', INQR_END_DT: '20261125' }),
      'TTTC0081R',
    )
    expect(today.rows.map((r) => `${r.ord_dt}/${r.odno}`)).toEqual([`20261125/${placed.odno}`])
  }, 120_000)
})
