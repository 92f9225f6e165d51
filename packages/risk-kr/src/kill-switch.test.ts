import { ManualClock } from '@vellab/broker-gateway/testing'
import { describe, expect, it } from 'vitest'
import { RiskError } from './errors'
import { KillSwitchAutomation, KillSwitchBoard } from './kill-switch'
import type { KillSwitchRecord } from './kill-switch-store'
import { kstToEpochMs } from './kst'
import { createRiskFixture, InMemoryKillSwitchStore } from './testing'

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

  it('stays engaged in memory when persisting fails, and stays engaged when a release cannot be persisted', async () => {
    const store = new InMemoryKillSwitchStore()
    const board = new KillSwitchBoard({ store, clock: new ManualClock(NOW) })
    await board.load()
    store.failNext()
    await expect(board.engage({ scope: 'global', actor: 'ops', reason: 'x' })).rejects.toSatisfy(
      RiskError.isInstance,
    )
    expect(board.isEngaged('global')).toBe(true)
    await board.engage({ scope: 'global', actor: 'ops', reason: 'x again' })
    store.failNext()
    await expect(board.release({ scope: 'global', actor: 'ops', reason: 'done' })).rejects.toMatchObject({
      code: 'KILL_SWITCH_STORE',
    })
    expect(board.isEngaged('global')).toBe(true)
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
})
