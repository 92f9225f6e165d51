import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { ParentConflictError } from '../src'
import { ACCOUNT, MIN, type Rig, rig, SYMBOL, stepAndFill, tdb, timed } from './rig'

afterAll(async () => tdb?.drop())

describe('ExecutionEngine (InMemoryBroker, real Postgres, manual clock)', () => {
  let r: Rig
  beforeEach(async () => {
    r = await rig()
  })

  it('TWAP: ten slices over ten minutes complete the parent, each child sent once', async () => {
    const p = await r.engine.submit(timed(r))
    for (let minute = 0; minute < 10; minute++) {
      await stepAndFill(r)
      const view = await r.engine.get(p.parent.parentId)
      expect(view.progress.filled).toBe(Math.min(100, (minute + 1) * 10))
      r.clock.setTime(r.clock.now() + MIN)
    }
    await r.engine.step()
    const done = await r.engine.get(p.parent.parentId)
    expect(done.state).toBe('completed')
    expect(done.progress).toMatchObject({ filled: 100, working: 0, remaining: 0, averagePrice: 70_000 })
    expect(done.progress.children).toEqual({ FILLED: 10 })
    const sent = r.events.filter((e) => e.type === 'child.sent')
    expect(sent).toHaveLength(10)
    for (const e of sent) expect(r.broker.submissions(e.type === 'child.sent' ? e.intentId : '')).toBe(1)
    expect(done.progress.slippageVsArrivalBps).toBe(0)
  })

  it('session close mid-schedule, wait: nothing is planned while closed (reported once), slicing resumes when it reopens', async () => {
    const open = { current: true }
    r = await rig({ isOpen: () => open.current })
    const p = await r.engine.submit(timed(r, { deadline: r.clock.now() + 60 * MIN }))
    for (let minute = 0; minute < 3; minute++) {
      await stepAndFill(r)
      r.clock.setTime(r.clock.now() + 6 * MIN)
    }
    const before = r.events.filter((e) => e.type === 'child.sent').length
    expect(before).toBe(3)
    open.current = false
    for (let i = 0; i < 5; i++) {
      await stepAndFill(r)
      r.clock.setTime(r.clock.now() + 6 * MIN)
    }
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(before)
    expect(r.events.filter((e) => e.type === 'child.blocked' && e.by === 'session')).toHaveLength(1)
    expect((await r.engine.get(p.parent.parentId)).state).toBe('active')
    open.current = true
    await stepAndFill(r)
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(before + 1)
    expect((await r.engine.get(p.parent.parentId)).progress.filled).toBe(40)
  })

  it('session close mid-schedule, end: working children are canceled and the parent stops', async () => {
    const open = { current: true }
    r = await rig({ isOpen: () => open.current })
    const p = await r.engine.submit(timed(r, { urgency: 'low', onSessionClose: 'end' }))
    await r.engine.step()
    await r.settle()
    expect((await r.engine.get(p.parent.parentId)).progress.working).toBe(10)
    open.current = false
    await r.engine.step()
    await r.settle()
    expect(r.events.some((e) => e.type === 'child.cancel_requested' && e.why === 'session closed')).toBe(true)
    await r.engine.step()
    const view = await r.engine.get(p.parent.parentId)
    expect(view).toMatchObject({ state: 'stopped', reason: 'session closed' })
    expect(view.progress).toMatchObject({ filled: 0, working: 0 })
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
  })

  it('does not run ahead of the schedule when children do not fill', async () => {
    const p = await r.engine.submit(timed(r, { urgency: 'low' }))
    await r.engine.step()
    await r.engine.step()
    await r.settle()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.progress).toMatchObject({ filled: 0, working: 10 })
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
  })

  it('submit is idempotent on parentId; a different order under the same id is a conflict', async () => {
    const input = timed(r)
    const a = await r.engine.submit(input)
    const b = await r.engine.submit(input)
    expect(b.parent).toEqual(a.parent)
    await expect(r.engine.submit({ ...input, quantity: 99 })).rejects.toBeInstanceOf(ParentConflictError)
  })

  it('unknown outcome: the parent pauses, nothing else is sent, and it resumes once reconciliation settles the child', async () => {
    const p = await r.engine.submit(timed(r))
    r.broker.injectFault('placeOrder', { kind: 'unknown_outcome', commit: true })
    await r.engine.step()
    await r.settle()
    let view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('paused')
    expect(view.progress.children).toEqual({ RECONCILE_REQUIRED: 1 })
    r.clock.setTime(r.clock.now() + 5 * MIN)
    await r.engine.step()
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
    // Reconciliation finds the order at the broker (what @vellab/reconcile does).
    const [brokerOrder] = await r.broker.getOrders(ACCOUNT)
    const childId = `${p.parent.parentId}.c0`
    await r.store.apply(childId, {
      type: 'reconcile_matched',
      brokerOrderId: brokerOrder!.brokerOrderId,
      reason: 'matched by fingerprint',
      at: r.clock.now(),
    })
    await r.engine.step()
    view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('active')
    expect(r.broker.submissions(childId)).toBe(1)
    // Behind schedule now (minute 5): the next child catches up within one slice.
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(2)
  })

  it('rate_limited: the same durable intent is retried after a backoff, sent once in effect', async () => {
    const p = await r.engine.submit(timed(r))
    r.broker.injectFault('placeOrder', { kind: 'rate_limited', brokerCode: 'EGW00201' })
    let done = false
    const stepping = r.engine.step().finally(() => {
      done = true
    })
    // The backoff sleeps on the manual clock: keep moving it (in real time, between database
    // round trips) until the step is through.
    const deadline = Date.now() + 20_000
    while (!done && Date.now() < deadline) {
      await r.clock.advanceAsync(50)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await stepping
    const childId = `${p.parent.parentId}.c0`
    expect(r.events.some((e) => e.type === 'child.retry' && e.intentId === childId)).toBe(true)
    expect((await r.store.get(childId))?.brokerOrderId).toBeTruthy()
    expect(r.broker.submissions(childId)).toBe(1)
  })

  it('rejected: the child stops with the broker code and is not retried; repeated rejects pause the parent', async () => {
    const p = await r.engine.submit(timed(r))
    for (let i = 0; i < 3; i++) {
      r.broker.injectFault('placeOrder', {
        kind: 'rejected',
        brokerCode: 'APBK0013',
        message: 'insufficient cash',
      })
      await r.engine.step()
    }
    const rejected = r.events.filter((e) => e.type === 'child.rejected')
    expect(rejected).toHaveLength(3)
    expect(rejected[0]).toMatchObject({ code: 'APBK0013' })
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('paused')
    expect(view.reason).toContain('APBK0013')
    for (const e of rejected)
      if (e.type === 'child.rejected') expect(r.broker.submissions(e.intentId)).toBe(0)
    await r.engine.step()
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(3)
    await r.engine.resumeParent(p.parent.parentId)
    await r.engine.step()
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(4)
  })

  it('a kill switch mid-schedule stops new children at once and cancels working ones', async () => {
    const p = await r.engine.submit(timed(r, { urgency: 'low' }))
    await r.engine.step()
    await r.settle()
    r.clock.setTime(r.clock.now() + MIN)
    r.verdict.current = { outcome: 'reject', reasons: [{ code: 'KILL_SWITCH_ENGAGED' }] }
    await r.engine.step()
    await r.settle()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('paused')
    expect(view.reason).toContain('kill switch')
    expect(view.progress.children).toEqual({ CANCELED: 1 })
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
  })

  it('the duplicate-fingerprint guard and the barrier stand in front of every send', async () => {
    const accounts: string[] = []
    const guarded = r.newEngine({
      guard: {
        check: async () => ({ allowed: false, reason: 'same fingerprint as p-x.c0 (unknown outcome)' }),
      },
      barrier: async (account) => {
        accounts.push(account)
      },
    })
    const p = await guarded.submit(timed(r))
    await guarded.step()
    expect(r.events).toContainEqual(
      expect.objectContaining({ type: 'child.blocked', parentId: p.parent.parentId, by: 'guard' }),
    )
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(0)
    expect(accounts).toEqual([])
    const open = r.newEngine({
      guard: { check: async () => ({ allowed: true }) },
      barrier: async (a) => accounts.push(a),
    })
    await open.resume()
    await open.step()
    expect(accounts).toEqual([ACCOUNT])
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
  })

  it('a risk review parks the parent for a human instead of retrying around it', async () => {
    const p = await r.engine.submit(timed(r))
    r.verdict.current = { outcome: 'review', reasons: [{ code: 'H7_FAR_FROM_MARKET' }] }
    await r.engine.step()
    await r.engine.step()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('paused')
    expect(view.reason).toContain('H7_FAR_FROM_MARKET')
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(0)
  })

  it('deadline with stop: working children are canceled, then the parent expires', async () => {
    const p = await r.engine.submit(timed(r, { onDeadline: 'stop', urgency: 'low' }))
    await r.engine.step()
    await r.settle()
    r.clock.setTime(r.clock.now() + 10 * MIN)
    await r.engine.step()
    await r.settle()
    await r.engine.step()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('expired')
    expect(view.progress).toMatchObject({ filled: 0, working: 0 })
  })

  it('deadline with finish: the rest goes at once, crossing, within the limit', async () => {
    const p = await r.engine.submit(timed(r, { onDeadline: 'finish', urgency: 'low' }))
    r.clock.setTime(r.clock.now() + 10 * MIN)
    await stepAndFill(r)
    await r.engine.step()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('completed')
    const sent = r.events.filter((e) => e.type === 'child.sent')
    expect(sent).toEqual([expect.objectContaining({ quantity: 100, limitPrice: 70_200 })])
  })

  it('cancel: no new child, working children canceled, late fills still counted', async () => {
    const p = await r.engine.submit(timed(r, { urgency: 'low' }))
    await r.engine.step()
    await r.settle()
    const [working] = await r.broker.getOpenOrders(ACCOUNT)
    r.broker.fill(working!.brokerOrderId, 4)
    await r.engine.cancel(p.parent.parentId)
    await r.settle()
    r.clock.setTime(r.clock.now() + 5 * MIN)
    await r.engine.step()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('canceled')
    expect(view.progress.filled).toBe(4)
    expect(view.progress.working).toBe(0)
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
  })

  it('cancel refused by the broker: the parent stays canceling, asks again after a backoff (not every step), and ends canceled', async () => {
    const p = await r.engine.submit(timed(r, { urgency: 'low' }))
    await r.engine.step()
    await r.settle()
    r.broker.injectFault('cancelOrder', { kind: 'rejected', brokerCode: 'APBK0915', message: 'try again' })
    let view = await r.engine.cancel(p.parent.parentId)
    expect(view.state).toBe('canceling')
    expect(view.progress.working).toBe(10)
    const refused = () => r.events.filter((e) => e.type === 'child.cancel_refused')
    const asked = () => r.events.filter((e) => e.type === 'child.cancel_requested')
    expect(refused()).toEqual([expect.objectContaining({ retryInMs: 1_000 })])
    // Steps inside the backoff ask nothing; no new child either.
    await r.engine.step()
    await r.engine.step()
    expect(asked()).toHaveLength(1)
    expect((await r.engine.get(p.parent.parentId)).state).toBe('canceling')
    // A second refusal doubles the wait.
    r.broker.injectFault('cancelOrder', { kind: 'rejected', message: 'try again' })
    r.clock.setTime(r.clock.now() + 1_000)
    await r.engine.step()
    expect(asked()).toHaveLength(2)
    expect(refused().at(-1)).toMatchObject({ retryInMs: 2_000 })
    r.clock.setTime(r.clock.now() + 1_000)
    await r.engine.step()
    expect(asked()).toHaveLength(2)
    r.clock.setTime(r.clock.now() + 1_000)
    await r.engine.step()
    await r.settle()
    expect(asked()).toHaveLength(3)
    await r.engine.step()
    view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('canceled')
    expect(view.progress).toMatchObject({ filled: 0, working: 0 })
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
    await expect(r.engine.amend(p.parent.parentId, { quantity: 50 })).rejects.toBeInstanceOf(
      ParentConflictError,
    )
  })

  it('a canceling parent survives a restart: the next engine finishes the cancel', async () => {
    const p = await r.engine.submit(timed(r, { urgency: 'low' }))
    await r.engine.step()
    await r.settle()
    r.broker.injectFault('cancelOrder', { kind: 'rejected', message: 'try again' })
    expect((await r.engine.cancel(p.parent.parentId)).state).toBe('canceling')
    const engine2 = r.newEngine()
    expect(await engine2.resume()).toBeGreaterThanOrEqual(1)
    await engine2.step()
    await r.settle()
    await engine2.step()
    const view = await engine2.get(p.parent.parentId)
    expect(view.state).toBe('canceled')
    expect(view.progress.working).toBe(0)
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(1)
  })

  it('a cancel refused because the child filled first: the parent ends canceled with the fill counted, not stuck', async () => {
    const p = await r.engine.submit(timed(r, { urgency: 'low' }))
    await r.engine.step()
    await r.settle()
    const [working] = await r.broker.getOpenOrders(ACCOUNT)
    r.broker.fill(working!.brokerOrderId, working!.remainingQuantity)
    r.broker.injectFault('cancelOrder', { kind: 'rejected', message: 'nothing left to cancel' })
    await r.engine.cancel(p.parent.parentId)
    await r.settle()
    await r.engine.step()
    const view = await r.engine.get(p.parent.parentId)
    expect(view.state).toBe('canceled')
    expect(view.progress).toMatchObject({
      filled: working!.remainingQuantity + working!.filledQuantity,
      working: 0,
    })
  })

  it('restart mid-schedule: a new engine resumes from the database and never re-sends a child', async () => {
    const p = await r.engine.submit(timed(r))
    await stepAndFill(r)
    r.clock.setTime(r.clock.now() + MIN)
    await stepAndFill(r)
    // The process dies; a new one starts on the same database.
    const engine2 = r.newEngine()
    expect(await engine2.resume()).toBeGreaterThanOrEqual(1)
    r.clock.setTime(r.clock.now() + MIN)
    await engine2.step()
    r.broker.setPrice(SYMBOL, 70_000)
    await r.settle()
    const view = await engine2.get(p.parent.parentId)
    expect(view.progress.filled).toBe(30)
    expect(view.progress.children).toEqual({ FILLED: 3 })
    for (let seq = 0; seq < 3; seq++) expect(r.broker.submissions(`${p.parent.parentId}.c${seq}`)).toBe(1)
  })

  it('POV: children follow observed volume at the participation cap', async () => {
    const p = await r.engine.submit(
      timed(r, { quantity: 1_000, schedule: { kind: 'pov', maxParticipation: 0.1, maxChildQuantity: 50 } }),
    )
    await r.engine.step()
    expect(r.events.filter((e) => e.type === 'child.sent')).toHaveLength(0)
    r.engine.onTrade({ symbol: SYMBOL, price: 70_000, quantity: 300, at: r.clock.now() })
    await stepAndFill(r)
    r.engine.onTrade({ symbol: SYMBOL, price: 70_100, quantity: 2_000, at: r.clock.now() })
    await stepAndFill(r)
    const sent = r.events.filter((e) => e.type === 'child.sent')
    expect(sent.map((e) => (e.type === 'child.sent' ? e.quantity : 0))).toEqual([30, 50])
    const view = await r.engine.get(p.parent.parentId)
    expect(view.progress.intervalVwap).toBeCloseTo((300 * 70_000 + 2_000 * 70_100) / 2_300, 6)
  })

  it('amend: a smaller quantity is refused below what is filled or working', async () => {
    const p = await r.engine.submit(timed(r))
    await stepAndFill(r)
    await expect(r.engine.amend(p.parent.parentId, { quantity: 5 })).rejects.toBeInstanceOf(
      ParentConflictError,
    )
    const view = await r.engine.amend(p.parent.parentId, { quantity: 50 })
    expect(view.parent.quantity).toBe(50)
  })
})
