import { ManualClock } from '@vellab/broker-gateway/testing'
import { describe, expect, it } from 'vitest'
import { RiskError } from './errors'
import { KillSwitchAutomation, KillSwitchBoard } from './kill-switch'
import type { KillSwitchBoardEvent } from './kill-switch-events'
import type { KillSwitchRecord } from './kill-switch-store'
import { kstToEpochMs } from './kst'
import { createRiskFixture, InMemoryKillSwitchStore, stockReference } from './testing'

const NOW = kstToEpochMs('2026-11-24', '10:00')

describe('KillSwitchBoard', () => {
  it('blocks new orders in scope at once and lets other scopes trade', async () => {
    const f = await createRiskFixture({ now: NOW, symbols: { '005930': 70_000, '000660': 100_000 } })
    await f.board.engage({ scope: 'symbol', key: '005930', actor: 'ops-lee', reason: 'bad print' })
    const d = f.gateway.check({ kind: 'new', intent: f.intent() }, f.state)
    expect(d.reasons).toEqual([
      {
        code: 'KILL_SWITCH_ENGAGED',
        rule: 'kill-switch, H15',
        detail: 'symbol:005930 by ops-lee: bad print',
      },
    ])
    expect(
      f.gateway.check({ kind: 'new', intent: f.intent({ symbol: '000660', limitPrice: 100_000 }) }, f.state)
        .outcome,
    ).toBe('allow')
  })

  it.each([
    ['global', '*'],
    ['account', 'A1'],
    ['strategy', 's1'],
    ['symbol', '005930'],
  ] as const)('a %s switch covers the order', async (scope, key) => {
    const f = await createRiskFixture({ now: NOW })
    await f.board.engage({ scope, key, actor: 'ops', reason: 'test' })
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).reasons.map((r) => r.code)).toEqual([
      'KILL_SWITCH_ENGAGED',
    ])
    await f.board.release({ scope, key, actor: 'ops', reason: 'resolved' })
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).outcome).toBe('allow')
  })

  it('rejects everything but cancels until the persisted state is loaded', async () => {
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock: new ManualClock(NOW) })
    const f = await createRiskFixture({ now: NOW })
    const { RiskState } = await import('./risk-state')
    const state = new RiskState({ killSwitches: board })
    state.advanceTo(NOW)
    state.upsertSymbol({
      symbol: '005930',
      kind: 'stock',
      market: 'KOSPI',
      listedShares: 1e8,
      marketCap: 1e13,
      nxtEligible: true,
    })
    state.applyQuote(f.state.symbol('005930')!.quote!)
    state.upsertAccount(f.state.account('A1')!)
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, state).reasons.map((r) => r.code)).toEqual([
      'KILL_SWITCH_STATE_UNKNOWN',
    ])
    await expect(board.release({ scope: 'global', actor: 'ops', reason: 'x' })).rejects.toMatchObject({
      code: 'KILL_SWITCH_NOT_LOADED',
    })
    await board.load()
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, state).outcome).toBe('allow')
  })

  it('needs an actor and a reason, audits both actions, and tells listeners (cancel-all)', async () => {
    const store = new InMemoryKillSwitchStore()
    const clock = new ManualClock(NOW)
    const board = new KillSwitchBoard({ store, clock })
    await board.load()
    const seen: KillSwitchRecord[] = []
    board.onEngaged((r) => seen.push(r))
    await expect(board.engage({ scope: 'account', key: 'A1', actor: '', reason: 'x' })).rejects.toMatchObject(
      { code: 'CONFIG_INVALID' },
    )
    await expect(board.engage({ scope: 'global', key: 'A1', actor: 'a', reason: 'x' })).rejects.toMatchObject(
      { code: 'CONFIG_INVALID' },
    )
    await board.engage({
      scope: 'account',
      key: 'A1',
      actor: 'ops-kim',
      reason: 'recon break',
      cancelAll: true,
    })
    clock.advance(60_000)
    await expect(
      board.release({ scope: 'account', key: 'A1', actor: 'ops-kim', reason: '' }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    await board.release({ scope: 'account', key: 'A1', actor: 'ops-park', reason: 'reconciled' })
    await expect(
      board.release({ scope: 'account', key: 'A1', actor: 'ops-park', reason: 'again' }),
    ).rejects.toMatchObject({
      code: 'KILL_SWITCH_NOT_ENGAGED',
    })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ scope: 'account', key: 'A1', cancelAll: true })
    expect(await board.audit()).toEqual([
      expect.objectContaining({ action: 'engage', actor: 'ops-kim', reason: 'recon break', at: NOW }),
      expect.objectContaining({
        action: 'release',
        actor: 'ops-park',
        reason: 'reconciled',
        at: NOW + 60_000,
      }),
    ])
  })
})

describe('KillSwitchAutomation', () => {
  it('engages on repeated rejects, loss caps and reconciliation breaks; never releases', async () => {
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock: new ManualClock(NOW) })
    await board.load()
    const auto = new KillSwitchAutomation(board, { maxRejects: 3, rejectWindowMs: 10_000 })
    expect(await auto.onBrokerReject('A1', NOW)).toBeUndefined()
    expect(await auto.onBrokerReject('A1', NOW + 20_000)).toBeUndefined()
    expect(await auto.onBrokerReject('A1', NOW + 21_000)).toBeUndefined()
    const r = await auto.onBrokerReject('A1', NOW + 22_000)
    expect(r).toMatchObject({ scope: 'account', key: 'A1', source: 'auto:repeated_rejects', cancelAll: true })
    expect(await auto.onDailyPnl('strategy', 's1', -499_999, 500_000)).toBeUndefined()
    expect(await auto.onDailyPnl('strategy', 's1', -500_000, 500_000)).toMatchObject({
      source: 'auto:loss_cap',
    })
    expect(await auto.onReconciliationBreak('A2', 'unmatched fill F9')).toMatchObject({
      key: 'A2',
      source: 'auto:reconciliation',
    })
    expect(board.list()).toHaveLength(3)
  })

  it('keeps engaging every breached scope while the store is down', async () => {
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock: new ManualClock(NOW) })
    await board.load()
    store.down()
    const auto = new KillSwitchAutomation(board)
    const limits = {
      global: undefined,
      accounts: { A1: { maxDailyLoss: 100 } },
      strategies: { s1: { maxDailyLoss: 100 } },
      symbols: {},
    }
    const context = {
      globalExposure: () => ({ dailyPnl: 0 }),
      accountExposure: () => ({ dailyPnl: -500 }),
      strategyExposure: () => ({ dailyPnl: -500 }),
      symbolExposure: () => undefined,
    }
    const engaged = await auto.evaluateLossCaps(context as never, limits as never)
    expect(engaged.map((e) => [e.scope, e.key, e.persisted])).toEqual([
      ['account', 'A1', false],
      ['strategy', 's1', false],
    ])
    expect(board.pendingWrites().map((w) => `${w.scope}:${w.key}`)).toEqual(['account:A1', 'strategy:s1'])
  })
})

describe('KillSwitchBoard when the store is down', () => {
  function recorder(board: KillSwitchBoard): KillSwitchBoardEvent[] {
    const events: KillSwitchBoardEvent[] = []
    board.onEvent((e) => events.push(e))
    return events
  }

  it('blocks at once, tells cancel-all listeners, and retries with capped backoff until persisted', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const f = await createRiskFixture({ now: NOW, clock, store })
    const events = recorder(f.board)
    const cancelAll: KillSwitchRecord[] = []
    f.board.onEngaged((r) => cancelAll.push(r))
    store.down()

    const engaging = f.board.engage({
      scope: 'account',
      key: 'A1',
      actor: 'ops-kim',
      reason: 'recon break',
      cancelAll: true,
    })
    // Before the store has answered: the next order is already blocked and cancel-all was asked for.
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, f.state).reasons.map((r) => r.code)).toEqual([
      'KILL_SWITCH_ENGAGED',
    ])
    expect(cancelAll).toEqual([expect.objectContaining({ scope: 'account', key: 'A1', cancelAll: true })])

    const result = await engaging
    expect(result).toMatchObject({ scope: 'account', key: 'A1', reason: 'recon break', persisted: false })
    expect(f.board.pendingWrites()).toEqual([
      expect.objectContaining({
        scope: 'account',
        key: 'A1',
        attempts: 1,
        since: NOW,
        lastError: expect.objectContaining({ code: 'KILL_SWITCH_STORE' }),
      }),
    ])
    expect(events).toEqual([
      expect.objectContaining({ type: 'engage.persist_failed', retryInMs: 500, pending: 1 }),
    ])

    // Each retry runs exactly when its backoff is due: 500, 1000, 2000 … capped at 30 s.
    const delays = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
    for (const [i, delay] of delays.entries()) {
      await clock.advanceAsync(delay - 1)
      expect(store.calls('engage')).toBe(i + 1)
      await clock.advanceAsync(1)
      expect(store.calls('engage')).toBe(i + 2)
      expect(clock.pendingTimers).toBe(1)
    }
    expect(events.map((e) => (e.type === 'engage.persist_failed' ? e.retryInMs : e.type))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ])
    expect(f.board.isEngaged('account', 'A1')).toBe(true)
    expect(store.engagedKeys()).toEqual([])

    store.up()
    await clock.advanceAsync(30_000)
    expect(events.at(-1)).toEqual({
      type: 'engage.persisted',
      record: expect.objectContaining({ scope: 'account', key: 'A1', engagedAt: NOW }),
      attempts: 10,
      unpersistedMs: 121_500,
      pending: 0,
    })
    expect(f.board.pendingWrites()).toEqual([])
    expect(clock.pendingTimers).toBe(0)
    expect(store.engagedKeys()).toEqual(['account:A1'])
    expect(cancelAll).toHaveLength(1)

    // A restart over the same store comes back engaged.
    const restarted = new KillSwitchBoard({ store, clock })
    await restarted.load()
    expect(restarted.find('A1', 's1', '005930')).toMatchObject({ actor: 'ops-kim', reason: 'recon break' })
  })

  it('refuses a release while the engagement is unpersisted, and releases once it is persisted', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock })
    await board.load()
    await board.engage({ scope: 'symbol', key: '000660', actor: 'ops', reason: 'persisted one' })
    store.down()
    expect(await board.engage({ scope: 'global', actor: 'ops', reason: 'db down' })).toMatchObject({
      persisted: false,
    })
    store.up()
    store.failNext(5, 'engage')

    const err = await board
      .release({ scope: 'global', actor: 'ops', reason: 'oops' })
      .catch((e: unknown) => e)
    expect(RiskError.isInstance(err) && err.code).toBe('KILL_SWITCH_NOT_PERSISTED')
    expect((err as Error).cause).toMatchObject({ code: 'KILL_SWITCH_STORE' })
    expect(board.isEngaged('global')).toBe(true)
    expect(store.calls('release')).toBe(0)
    // Another switch whose engagement is durable can still be released.
    await board.release({ scope: 'symbol', key: '000660', actor: 'ops', reason: 'fine' })
    expect(board.isEngaged('symbol', '000660')).toBe(false)

    expect(await board.flush()).toBe(false) // 2nd of 5 injected failures
    store.failNext(0)
    expect(await board.flush()).toBe(true)
    clock.advance(1_000)
    await board.release({ scope: 'global', actor: 'ops-park', reason: 'db back, resolved' })
    expect(board.isEngaged('global')).toBe(false)
    expect((await store.audit({ scope: 'global' })).map((a) => [a.action, a.reason, a.at])).toEqual([
      ['engage', 'db down', NOW],
      ['release', 'db back, resolved', NOW + 1_000],
    ])
  })

  it('writes in engagement order; a new engagement tries at once without resetting the backoff', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock })
    const events = recorder(board)
    await board.load()
    store.down()
    await board.engage({ scope: 'strategy', key: 'mom', actor: 'auto', reason: 'first', source: 'auto:x' })
    clock.advance(100)
    await board.engage({ scope: 'symbol', key: '005930', actor: 'ops', reason: 'second' })
    // The repeat keeps the first engagement's facts in memory; its write only adds an audit entry.
    const repeat = await board.engage({ scope: 'strategy', key: 'mom', actor: 'ops', reason: 'repeat' })
    expect(repeat).toMatchObject({ reason: 'first', actor: 'auto', persisted: false })
    expect(store.calls('engage')).toBe(3)
    const failures = events.flatMap((e) => (e.type === 'engage.persist_failed' ? [e] : []))
    expect(failures.map((e) => [e.write.key, e.retryInMs])).toEqual([
      ['mom', 500],
      ['mom', 1_000],
      ['mom', 2_000],
    ])
    expect(board.pendingWrites().map((w) => [w.key, w.record.reason, w.attempts, w.since])).toEqual([
      ['mom', 'first', 3, NOW],
      ['005930', 'second', 0, NOW + 100],
      ['mom', 'repeat', 0, NOW + 100],
    ])
    store.up()
    await clock.advanceAsync(2_000)
    expect(board.pendingWrites()).toEqual([])
    expect((await store.audit()).map((a) => a.reason)).toEqual(['first', 'second', 'repeat'])
    expect((await store.loadEngaged()).find((r) => r.key === 'mom')).toMatchObject({ reason: 'first' })
  })

  it('rejects every new order while load() fails, retries with backoff, and arms only once loaded', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    await store.engage({
      scope: 'symbol',
      key: '005930',
      actor: 'ops',
      reason: 'from before the restart',
      source: 'operator',
      cancelAll: false,
      engagedAt: NOW - 1,
    })
    store.down()
    const f = await createRiskFixture({
      now: NOW,
      clock,
      store: new InMemoryKillSwitchStore(),
      symbols: { '005930': 70_000, '000660': 100_000 },
    })
    const board = new KillSwitchBoard({ store, clock })
    const events = recorder(board)
    const { RiskState } = await import('./risk-state')
    const state = new RiskState({ killSwitches: board })
    state.advanceTo(NOW)
    for (const s of ['005930', '000660']) {
      state.upsertSymbol(stockReference(s))
      state.applyQuote(f.state.symbol(s)!.quote!)
    }
    state.upsertAccount(f.state.account('A1')!)
    const other = () => f.intent({ symbol: '000660', limitPrice: 100_000 })

    await expect(board.load()).rejects.toMatchObject({ code: 'KILL_SWITCH_STORE' })
    expect(board.loaded).toBe(false)
    expect(f.gateway.check({ kind: 'new', intent: other() }, state).reasons.map((r) => r.code)).toEqual([
      'KILL_SWITCH_STATE_UNKNOWN',
    ])
    await expect(board.release({ scope: 'global', actor: 'ops', reason: 'x' })).rejects.toMatchObject({
      code: 'KILL_SWITCH_NOT_LOADED',
    })
    await clock.advanceAsync(499)
    expect(store.calls('loadEngaged')).toBe(1)
    await clock.advanceAsync(1)
    expect(store.calls('loadEngaged')).toBe(2)
    expect(board.loaded).toBe(false)
    store.up()
    await clock.advanceAsync(1_000)
    expect(board.loaded).toBe(true)
    expect(events).toEqual([
      expect.objectContaining({ type: 'load.failed', attempt: 1, retryInMs: 500 }),
      expect.objectContaining({ type: 'load.failed', attempt: 2, retryInMs: 1_000 }),
      { type: 'load.succeeded', attempt: 3, engaged: 1 },
    ])
    expect(clock.pendingTimers).toBe(0)
    expect(f.gateway.check({ kind: 'new', intent: f.intent() }, state).reasons.map((r) => r.code)).toEqual([
      'KILL_SWITCH_ENGAGED',
    ])
    expect(f.gateway.check({ kind: 'new', intent: other() }, state).outcome).toBe('allow')
  })

  it('journals refused engagements through onUnpersisted; restore() replays them after a crash', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const journal = new Map<string, KillSwitchRecord>()
    const journaling = (b: KillSwitchBoard) =>
      b.onEvent((e) => {
        if (e.type === 'engage.persisted') journal.delete(`${e.record.scope}:${e.record.key}`)
      })
    const first = new KillSwitchBoard({
      store,
      clock,
      onUnpersisted: (w) => journal.set(`${w.scope}:${w.key}`, w.record),
    })
    journaling(first)
    await first.load()
    await first.engage({ scope: 'account', key: 'A2', actor: 'ops', reason: 'durable' })
    expect(journal.size).toBe(0) // persisted on the first attempt: nothing to journal
    store.down()
    await first.engage({ scope: 'global', actor: 'auto', reason: 'clock skew', source: 'auto:clock' })
    expect([...journal.keys()]).toEqual(['global:*'])
    first.close() // the process dies with the engagement unpersisted

    clock.advance(60_000)
    store.up()
    const second = new KillSwitchBoard({ store, clock })
    journaling(second)
    await second.load()
    // Without the journal the engagement is gone: the gap the README documents.
    expect(second.isEngaged('global')).toBe(false)
    const restored = await second.restore([...journal.values()])
    expect(restored).toEqual([expect.objectContaining({ scope: 'global', engagedAt: NOW, persisted: true })])
    expect(second.isEngaged('global')).toBe(true)
    expect(journal.size).toBe(0)
    expect(await store.audit({ scope: 'global' })).toEqual([
      expect.objectContaining({ action: 'engage', actor: 'auto', reason: 'clock skew', at: NOW }),
    ])

    await expect(
      second.restore([
        { ...restored[0]!, key: 'A1' },
        { ...restored[0]!, scope: 'symbol', key: 'X' },
      ]),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    expect(second.isEngaged('symbol', 'X')).toBe(false)
  })

  it('a failing hook or listener is reported and stops neither the engagement nor its retries', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({
      store,
      clock,
      onUnpersisted: () => {
        throw new Error('journal disk full')
      },
    })
    const events = recorder(board)
    board.onEvent(() => {
      throw new Error('alerting is broken too')
    })
    board.onEngaged(() => {
      throw new Error('cancel-all hook failed')
    })
    await board.load()
    store.down()
    expect(await board.engage({ scope: 'global', actor: 'ops', reason: 'x' })).toMatchObject({
      persisted: false,
    })
    expect(events.map((e) => (e.type === 'listener.failed' ? e.listener : e.type))).toEqual([
      'load.succeeded',
      'onEngaged',
      'onUnpersisted',
      'engage.persist_failed',
    ])
    store.up()
    await clock.advanceAsync(500)
    expect(board.pendingWrites()).toEqual([])
    expect(events.at(-1)).toMatchObject({ type: 'engage.persisted', attempts: 2 })
  })

  it('an engagement made while a release is in flight stands and is written after the release', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock })
    await board.load()
    await board.engage({ scope: 'strategy', key: 'mom', actor: 'ops', reason: 'old' })
    const cancelAll: KillSwitchRecord[] = []
    board.onEngaged((r) => cancelAll.push(r))
    const resume = store.holdNext('release')
    const releasing = board.release({ scope: 'strategy', key: 'mom', actor: 'ops', reason: 'done' })
    clock.advance(10)
    const engaging = board.engage({ scope: 'strategy', key: 'mom', actor: 'auto', reason: 'new trip' })
    // The new engagement waits for the release to land first, so the store ends engaged.
    expect(store.calls('engage')).toBe(1)
    expect(cancelAll).toHaveLength(1)
    resume()
    await releasing
    expect(await engaging).toMatchObject({ reason: 'new trip', engagedAt: NOW + 10, persisted: true })
    expect(board.find('A1', 'mom', '005930')).toMatchObject({ reason: 'new trip' })
    expect((await store.audit()).map((a) => `${a.action}:${a.reason}`)).toEqual([
      'engage:old',
      'release:done',
      'engage:new trip',
    ])
    const restarted = new KillSwitchBoard({ store, clock })
    await restarted.load()
    expect(restarted.find('A1', 'mom', '005930')).toMatchObject({ reason: 'new trip' })
  })

  it('close() stops the background retries; flush() still tries once', async () => {
    const clock = new ManualClock(NOW)
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock, retry: { initialDelayMs: 100, maxDelayMs: 150 } })
    const events = recorder(board)
    await board.load()
    store.down()
    await board.engage({ scope: 'global', actor: 'ops', reason: 'x' })
    await clock.advanceAsync(100)
    await clock.advanceAsync(150)
    await clock.advanceAsync(150)
    expect(store.calls('engage')).toBe(4)
    board.close()
    expect(clock.pendingTimers).toBe(0)
    await clock.advanceAsync(60_000)
    expect(store.calls('engage')).toBe(4)
    expect(await board.flush()).toBe(false)
    expect(store.calls('engage')).toBe(5)
    expect(events.at(-1)).toMatchObject({ type: 'engage.persist_failed', retryInMs: undefined })
    expect(() => new KillSwitchBoard({ store, retry: { initialDelayMs: 10, maxDelayMs: 5 } })).toThrow(
      RangeError,
    )
  })
})
