import type { Quote, Tick } from '@vellab/broker-gateway'
import { createOrderStore } from '@vellab/order-fsm'
import { createRiskFixture } from '@vellab/risk-kr/testing'
import { describe, expect, it } from 'vitest'
import { TradingSession, type TradingSessionOptions } from '../src/session'
import type { StrategyContext } from '../src/strategy'
import { migratedTestDatabase } from './migrated-db'

// Quotes in a session: REST reads cost the appkey's request budget (one per symbol per second
// was most of the chaos soak's requests), trade prints over the WebSocket cost none. With
// `quoteSource: 'stream'` prints price the quote between REST reads, REST is read less often for
// limits and state, and a symbol whose prints stop falls back to REST every `quoteRefreshMs`.
const tdb = migratedTestDatabase()

const T0 = Date.parse('2026-11-24T01:00:00Z')
const SYMBOL = '005930'

async function rig(options: Partial<TradingSessionOptions> = {}) {
  let now = T0
  const clock = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  }
  const f = await createRiskFixture({ now: T0, accounts: ['A1'], symbols: { [SYMBOL]: 70_000 } })
  const restReads: number[] = []
  let restPrice = 70_000
  let onTick: ((t: Tick) => void) | undefined
  const gateway = {
    async getQuote(symbol: string): Promise<Quote> {
      restReads.push(now)
      return {
        symbol,
        lastPrice: restPrice,
        basePrice: 70_000,
        upperLimit: 91_000,
        lowerLimit: 49_000,
        tickSize: 100,
        state: { halted: false, vi: 'none', warning: 'none' } as unknown as Quote['state'],
        at: now,
      }
    },
    async getPositions() {
      return []
    },
    streamOrderEvents: () => () => {},
    streamTicks(_symbols: string[], cb: (t: Tick) => void) {
      onTick = cb
      return () => {}
    },
  }
  const seen: (Quote | undefined)[] = []
  const session = new TradingSession({
    gateway,
    store: createOrderStore({ db: tdb().db(), clock, actor: 'test' }),
    db: tdb().db(),
    risk: { check: () => ({ outcome: 'allow', reasons: [] }) },
    riskState: f.state,
    account: 'A1',
    strategy: {
      id: 'quotes',
      onDecision(ctx: StrategyContext) {
        seen.push(ctx.quote(SYMBOL))
      },
    },
    symbols: [SYMBOL],
    quantity: 1,
    clock,
    runId: 'q',
    log: () => {},
    // Every price here lies in the 100-won band (50,000–200,000) of the KRX stock table.
    tickSize: () => 100,
    ...options,
  } as unknown as TradingSessionOptions)
  await session.start()
  return {
    session,
    restReads,
    seen,
    /** What risk holds: the last REST quote, and the last print as its last trade. */
    risk: () => f.state.symbol(SYMBOL),
    setRestPrice: (p: number) => {
      restPrice = p
    },
    print: (price: number, at = now) =>
      onTick?.({ symbol: SYMBOL, price, quantity: 1, cumulativeVolume: 1_000, aggressor: 'buy', at }),
    at: async (ms: number) => {
      now = T0 + ms
      await session.decide()
      return seen.at(-1)
    },
    subscribed: () => onTick !== undefined,
  }
}

describe('TradingSession quotes', () => {
  it('prices quotes from prints between REST reads, and reads REST for state every quoteStateRefreshMs', async () => {
    const r = await rig({ quoteStateRefreshMs: 3_000 })
    expect(r.subscribed()).toBe(true)
    expect((await r.at(0))?.lastPrice).toBe(70_000)
    expect(r.restReads).toEqual([T0])
    // A print one tick up: the strategy's quote follows it at once, stamped with the print's time.
    r.print(70_100, T0 + 500)
    const q = await r.at(600)
    expect(q).toMatchObject({ lastPrice: 70_100, tickSize: 100, upperLimit: 91_000, at: T0 + 500 })
    // Risk's quote stays the REST one (its age is what risk's freshness rule checks); the print
    // reaches risk as its last trade.
    expect(r.risk()).toMatchObject({ quote: { lastPrice: 70_000, at: T0 }, lastTrade: 70_100 })
    // Prints keep coming: no REST read at 1 s or 2 s (REST would have read twice by now)…
    r.print(70_200, T0 + 1_400)
    expect((await r.at(1_500))?.lastPrice).toBe(70_200)
    r.print(70_100, T0 + 2_400)
    expect((await r.at(2_500))?.lastPrice).toBe(70_100)
    expect(r.restReads).toEqual([T0])
    // …until the REST quote is quoteStateRefreshMs old: limits and state come from REST again.
    r.setRestPrice(70_300)
    expect((await r.at(3_000))?.lastPrice).toBe(70_300)
    expect(r.restReads).toEqual([T0, T0 + 3_000])
    // A print older than that REST read changes nothing.
    r.print(69_900, T0 + 2_900)
    expect((await r.at(3_100))?.lastPrice).toBe(70_300)
  })

  it('falls back to REST every quoteRefreshMs once the prints stop (a quiet symbol or a stale stream)', async () => {
    const r = await rig({ quoteStateRefreshMs: 3_000, printsLiveMs: 3_000 })
    await r.at(0)
    r.print(70_100, T0 + 200)
    await r.at(1_000)
    await r.at(2_000)
    expect(r.restReads).toEqual([T0])
    // The last print is 3 s old at 3.2 s: not streaming any more, so REST every second again.
    await r.at(3_000) // the state refresh
    await r.at(3_500)
    await r.at(4_000)
    await r.at(5_000)
    expect(r.restReads).toEqual([T0, T0 + 3_000, T0 + 4_000, T0 + 5_000])
  })

  it("takes a print's tick from tickSize when the price is not the REST quote's, and ignores it without one", async () => {
    const withGrid = await rig({ tickSize: (_s, price) => (price < 50_000 ? 50 : 100) })
    await withGrid.at(0)
    withGrid.print(70_100, T0 + 100)
    expect(await withGrid.at(200)).toMatchObject({ lastPrice: 70_100, tickSize: 100 })
    const without = await rig({ tickSize: () => undefined })
    await without.at(0)
    without.print(70_100, T0 + 100)
    expect((await without.at(200))?.lastPrice).toBe(70_000)
    // Not streaming as far as quotes go: REST once a second.
    await without.at(1_000)
    expect(without.restReads).toEqual([T0, T0 + 1_000])
  })

  it("with quoteSource 'rest' reads REST every quoteRefreshMs whatever streams (and subscribes to nothing)", async () => {
    const r = await rig({ quoteSource: 'rest' })
    expect(r.subscribed()).toBe(false)
    await r.at(0)
    await r.at(500)
    await r.at(1_000)
    await r.at(2_000)
    expect(r.restReads).toEqual([T0, T0 + 1_000, T0 + 2_000])
  })
})
