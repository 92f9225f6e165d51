// The chaos soak's strategy (VELLAB_STRATEGY): volume with resting orders among it.
// - Symbols in `params.cross` trade in and out as fast as the runner lets them: a one-share parent
//   at a time that crosses the spread (`urgency: 'high'`), buying while flat and selling what it
//   holds. These make the soak's order count.
// - The other symbols quote like the demo quoter: one parent at the last price that rests until the
//   market trades through it, canceled and quoted again when the market walks more than a tick away
//   (what the "fill racing a cancel" fault needs).
export default function createSoakStrategy({ params }) {
  const cross = new Set(params.cross ?? [])
  const ttlMs = params.parentTtlMs ?? 60_000
  return {
    id: 'soak',
    async onDecision(ctx) {
      const active = await ctx.active()
      const now = ctx.clock.now()
      for (const symbol of ctx.symbols) {
        const quote = ctx.quote(symbol)
        if (!quote) continue
        const mine = active.filter((p) => p.parent.symbol === symbol)
        const fast = cross.has(symbol)
        if (!fast) {
          const stale = mine.filter((p) => Math.abs(p.parent.limitPrice - quote.lastPrice) > quote.tickSize)
          for (const p of stale) await ctx.cancel(p.parent.parentId)
          if (mine.length > stale.length) continue
        } else if (mine.length > 0) continue
        const side = ctx.sellable(symbol) >= ctx.quantity ? 'sell' : 'buy'
        await ctx.submit({
          symbol,
          side,
          quantity: ctx.quantity,
          limitPrice: fast
            ? side === 'buy'
              ? quote.upperLimit
              : quote.lowerLimit
            : Math.max(quote.lowerLimit, Math.min(quote.upperLimit, quote.lastPrice)),
          urgency: fast ? 'high' : 'medium',
          schedule: { kind: 'twap', slices: 1 },
          deadline: now + ttlMs,
        })
      }
    },
  }
}
