import type { OrderFsmTables } from '@vellab/order-fsm'
import { createTestDatabase } from '@vellab/testkit/postgres'
import { describe, expect, it } from 'vitest'
import type { RunReport } from '../src/report'
import { runnerProcess as runner, startPaperRehearsal } from './sim-process'

// kill -9 mid-run, then a restart: every order explained, none sent twice. The runner runs as its
// own OS process straight from the sources (Node's type stripping and the test kit's ts-hooks), against a kis-sim process that outlives it, on a database that outlives both.

describe('runner killed with SIGKILL mid-run, then restarted', () => {
  it('restarts with every order explained (recover → reconcile) and none sent twice', async () => {
    const db = await createTestDatabase()
    // Paper as documented (its orders can be listed), so reconciliation can prove what the dead
    // process had in flight.
    const r = await startPaperRehearsal(['--paper', 'documented'])
    const { restUrl, app, post } = r
    try {
      // 10 requests/s on both sides (the paper default of 1/s is tested elsewhere) to keep this quick.
      await post('/__sim/limits', { env: 'paper', perSecond: 10 })
      const env = {
        ...r.env,
        DATABASE_URL: db.url,
        VELLAB_DECISION_INTERVAL_MS: '300',
        // The simulator answers at once on loopback: no need to wait 15 s before "not placed".
        VELLAB_RECONCILE_REPORTING_DELAY_MS: '2000',
        KIS_CAPABILITIES: 'listOrders=true,listFills=true',
        KIS_REST_PER_SECOND: '10',
      }
      // First life: trades until killed. Order answers are slowed so the kill lands mid-flight.
      const first = runner(['start'], { ...env, VELLAB_RUN_SECONDS: '0' })
      const until = async (what: string, ok: () => boolean, ms = 60_000) => {
        const end = Date.now() + ms
        while (!ok()) {
          if (Date.now() > end)
            throw new Error(`timed out waiting for ${what}: ${first.out.join('')}${first.err.join('')}`)
          await new Promise((r) => setTimeout(r, 25))
        }
      }
      await until('the first order', () => first.out.join('').includes('order   '))
      // From now on the simulator takes each order and holds its answer for 5 s: once the next one
      // has reached it, the runner is killed with that order in flight (SUBMITTED in its database,
      // placed at the broker).
      const ledgerOrders = async () =>
        ((await (await fetch(`${restUrl}/__sim/ledger`)).json()) as { orders: { odno?: string }[] }).orders
      await post('/__sim/faults', {
        on: 'rest',
        path: 'order-cash',
        effect: { type: 'latency', latency: 5_000, phase: 'after', timebase: 'host' },
      })
      const before = (await ledgerOrders()).length
      // An order the broker holds: in its ledger, and still unanswered in the runner's log 500 ms
      // later (one that reached the broker just before the hold was set is answered at once).
      const unanswered = async () => {
        const out = first.out.join('')
        return (await ledgerOrders())
          .slice(before)
          .map((o) => o.odno)
          .filter((odno): odno is string => !!odno && !out.includes(`→ ${odno}`))
      }
      const end = Date.now() + 30_000
      for (;;) {
        const held = await unanswered()
        if (held.length > 0) {
          await new Promise((r) => setTimeout(r, 500))
          if ((await unanswered()).some((odno) => held.includes(odno))) break
        }
        if (Date.now() > end) throw new Error(`no order held by the broker: ${first.out.join('')}`)
        await new Promise((r) => setTimeout(r, 25))
      }
      const base = (first.out.join('').match(/^.{13}order {3}/gm) ?? []).length
      first.child.kill('SIGKILL')
      expect(await first.exit).toBe(-1)
      await fetch(`${restUrl}/__sim/faults`, { method: 'DELETE' })
      const q = db.db<OrderFsmTables>()
      const left = await q.selectFrom('order_orders').select(['state']).execute()
      expect(left.length).toBeGreaterThan(base)

      // Second life: recover → reconcile barrier → trade a little → drain → report.
      const second = runner(['start', '--json'], { ...env, VELLAB_RUN_SECONDS: '3' })
      const code = await second.exit
      const report = JSON.parse(second.out.join('')) as RunReport
      expect(code, `${second.err.join('')}\n${second.out.join('').slice(0, 3000)}`).toBe(0)
      for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
      // The order in flight at the kill was SUBMITTED, moved to reconciliation at startup, and
      // matched to the broker's order by the barrier's pass.
      expect(second.err.join('')).toMatch(
        /order store recovered: \{"movedToReconcile":\[\{[^\]]*"from":"SUBMITTED"/,
      )
      expect(second.err.join('')).toMatch(/reconcile clean: \d+ breaks, [1-9]\d* resolved/)
      // Every order of both lives is explained: nothing in flight, nothing awaiting reconciliation.
      const states = (await q.selectFrom('order_orders').select(['state']).execute()).map((o) => o.state)
      for (const s of ['INTENT_CREATED', 'SUBMITTED', 'RECONCILE_REQUIRED']) expect(states).not.toContain(s)
      // None sent twice: every order the simulator took belongs to exactly one intent.
      const simOrders = (await (
        await fetch(`${restUrl}/__sim/orders?appkey=${encodeURIComponent(app.appkey)}`)
      ).json()) as { odno: string; kind: string }[]
      const news = simOrders.filter((o) => o.kind === 'new')
      const owners = await q.selectFrom('order_broker_ids').select(['intent_id', 'broker_order_id']).execute()
      const byBroker = new Map(owners.map((o) => [o.broker_order_id, o.intent_id]))
      for (const o of news) expect(byBroker.get(o.odno), `owner of ${o.odno}`).toBeDefined()
      expect(new Set(news.map((o) => byBroker.get(o.odno))).size).toBe(news.length)
    } finally {
      await r.sim.stop()
      await db.drop()
    }
  }, 120_000)
})
