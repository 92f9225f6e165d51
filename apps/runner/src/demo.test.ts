import { seededRandom } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { describe, expect, it } from 'vitest'
import { runDemo } from './demo'

describe('runDemo', () => {
  it('trades on the paper broker with consistent books and is deterministic for a seed', async () => {
    const run = () => runDemo({ clock: new ManualClock(0), random: seededRandom(3), prints: 120 })
    const a = await run()
    expect(a.ordersPlaced).toBeGreaterThan(100)
    expect(a.events.accepted).toBe(a.ordersPlaced)
    expect(a.events.filled).toBeGreaterThan(0)
    // Every accepted order ends filled or canceled, or is still working at the end (at most two).
    expect(a.events.accepted - a.events.canceled).toBeGreaterThanOrEqual(0)
    expect(a.position).toBeGreaterThanOrEqual(0)
    expect(await run()).toEqual(a)
  })
})
