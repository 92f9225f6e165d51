import type { Strategy, StrategyInit } from './strategy'

/**
 * The built-in example strategy (`VELLAB_STRATEGY=demo-quoter`, the default): it quotes one parent
 * per symbol at the last price — a bid while flat, an offer once it holds shares — and when the
 * market walks more than a tick away from a working parent it cancels it and quotes again next
 * round. Each parent is one child (`twap`, one slice) that lives at most `parentTtlMs`
 * (`params.parentTtlMs`, default 10 minutes).
 *
 * It is a demonstration of the interface, not a way to make money.
 */
export function createDemoQuoter(init: StrategyInit): Strategy {
  const ttl = Number(init.params.parentTtlMs ?? 600_000)
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new Error(`demo-quoter: parentTtlMs must be a positive integer, got ${ttl}`)
  return {
    id: 'demo-quoter',
    async onDecision(ctx) {
      const active = await ctx.active()
      const now = ctx.clock.now()
      for (const symbol of ctx.symbols) {
        const quote = ctx.quote(symbol)
        if (!quote) continue
        const mine = active.filter((p) => p.parent.symbol === symbol)
        const stale = mine.filter(
          (p) =>
            p.parent.limitPrice !== undefined &&
            Math.abs(p.parent.limitPrice - quote.lastPrice) > quote.tickSize,
        )
        for (const p of stale) await ctx.cancel(p.parent.parentId)
        if (mine.length > stale.length) continue
        const side = ctx.sellable(symbol) >= ctx.quantity ? 'sell' : 'buy'
        await ctx.submit({
          symbol,
          side,
          quantity: ctx.quantity,
          limitPrice: Math.max(quote.lowerLimit, Math.min(quote.upperLimit, quote.lastPrice)),
          urgency: 'medium',
          schedule: { kind: 'twap', slices: 1 },
          deadline: now + ttl,
        })
      }
    },
  }
}
