import type { OrderFsmTables } from '@vellab/order-fsm'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RunReport } from '../src/report'
import { type PaperRehearsal, runnerProcess, startPaperRehearsal } from './sim-process'

// One leader per appkey, a standby beside it (issue #15). Real processes: two runners from the
// sources, one kis-sim, one PostgreSQL. The simulator's ledger judges: no order sent twice, no
// WebSocket lockout loop.

type Runner = ReturnType<typeof runnerProcess>
const text = (r: Runner) => r.out.join('') + r.err.join('')

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number, show: Runner[]) {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}:\n${show.map(text).join('\n----\n')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

let db: TestDatabase
let r: PaperRehearsal
let env: Record<string, string>
beforeEach(async () => {
  db = await createTestDatabase()
  // Paper as documented (its orders can be listed), so the new leader's reconciliation can prove
  // what the old one had in flight.
  r = await startPaperRehearsal(['--paper', 'documented'])
  await r.post('/__sim/limits', { env: 'paper', perSecond: 10 })
  env = {
    ...r.env,
    DATABASE_URL: db.url,
    VELLAB_DECISION_INTERVAL_MS: '300',
    VELLAB_RECONCILE_REPORTING_DELAY_MS: '2000',
    VELLAB_LEASE_TTL_MS: '2000',
    KIS_CAPABILITIES: 'listOrders=true,listFills=true',
    KIS_REST_PER_SECOND: '10',
  }
})
afterEach(async () => {
  await r?.sim.stop()
  await db?.drop()
})

/** Every order the simulator took for the app belongs to exactly one intent of ours. */
async function expectNothingSentTwice(appkey = r.app.appkey) {
  const simOrders = await r.get<{ odno: string; kind: string }[]>(
    `/__sim/orders?appkey=${encodeURIComponent(appkey)}`,
  )
  const news = simOrders.filter((o) => o.kind === 'new')
  const owners = await db
    .db<OrderFsmTables>()
    .selectFrom('order_broker_ids')
    .select(['intent_id', 'broker_order_id'])
    .execute()
  const byBroker = new Map(owners.map((o) => [o.broker_order_id, o.intent_id]))
  for (const o of news) expect(byBroker.get(o.odno), `owner of ${o.odno}`).toBeDefined()
  expect(new Set(news.map((o) => byBroker.get(o.odno))).size).toBe(news.length)
  const ledger = await r.get<{ wsConnects: { appkey: string; outcome: string }[] }>('/__sim/ledger')
  const refused = ledger.wsConnects.filter((c) => c.appkey === appkey && c.outcome !== 'ok')
  expect(refused.length, 'WebSocket sessions refused (OPSP8996 and the like)').toBeLessThanOrEqual(1)
}

describe('appkey lease: leader and standby', () => {
  it('kill -9 the leader: the standby trades within seconds, every order explained, none sent twice', async () => {
    const leader = runnerProcess(['start'], { ...env, VELLAB_RUN_SECONDS: '0' })
    await until('the leader trading', () => text(leader).includes('order   '), 60_000, [leader])
    expect(text(leader)).toMatch(/lease appkey:[0-9a-f]{24} acquired: epoch 1/)
    const standby = runnerProcess(['start', '--json'], { ...env, VELLAB_RUN_SECONDS: '4' })
    await until('the standby waiting', () => text(standby).includes('standby: lease'), 60_000, [
      leader,
      standby,
    ])
    expect(text(standby)).not.toContain('order   ')
    // A second standby stopped while it waits (a deploy, an operator's Ctrl-C) ends cleanly: exit 0,
    // never led, sent nothing, and a supervisor does not count it as a crash.
    const extra = runnerProcess(['start'], { ...env, VELLAB_RUN_SECONDS: '0' })
    await until('the second standby waiting', () => text(extra).includes('standby: lease'), 60_000, [extra])
    extra.child.kill('SIGTERM')
    expect(await extra.exit, text(extra).slice(-2000)).toBe(0)
    expect(text(extra)).toContain('never led and sent nothing')
    expect(text(extra)).not.toMatch(/^.{13}order {3}/m)

    const killedAt = Date.now()
    leader.child.kill('SIGKILL')
    await leader.exit
    await until(
      'the standby trading',
      () => text(standby).includes('execution notices live: trading'),
      30_000,
      [standby],
    )
    const takeoverMs = Date.now() - killedAt
    console.log(`failover: trading again ${takeoverMs} ms after kill -9`)
    expect(text(standby)).toMatch(/acquired: epoch 2/)
    // The bound is 5 s; a loaded CI machine gets twice that here (the benchmark measures it).
    expect(takeoverMs).toBeLessThan(10_000)

    const code = await standby.exit
    expect(code, text(standby).slice(-3000)).toBe(0)
    const report = JSON.parse(standby.out.join('')) as RunReport
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    const states = (await db.db<OrderFsmTables>().selectFrom('order_orders').select(['state']).execute()).map(
      (o) => o.state,
    )
    for (const s of ['INTENT_CREATED', 'SUBMITTED', 'RECONCILE_REQUIRED']) expect(states).not.toContain(s)
    await expectNothingSentTwice()
  }, 150_000)

  it('SIGSTOP the leader: the standby takes over; woken by SIGCONT, the old leader is fenced and steps down', async () => {
    // A frozen leader keeps its WebSocket session at the broker until the broker reaps it for not
    // answering PINGPONG (KIS: about 100 s reported; this simulator is made quicker) and the new
    // leader's retry comes after the adapter's OPSP8996 back-off (20 s): the standby waits for it.
    await r.sim.stop()
    r = await startPaperRehearsal([
      '--paper',
      'documented',
      '--ping-interval-ms',
      '500',
      '--pong-timeout-ms',
      '1500',
    ])
    await r.post('/__sim/limits', { env: 'paper', perSecond: 10 })
    env = { ...env, ...r.env, VELLAB_NOTICES_TIMEOUT_MS: '60000' }
    const leader = runnerProcess(['start'], { ...env, VELLAB_RUN_SECONDS: '0' })
    await until('the leader trading', () => text(leader).includes('order   '), 60_000, [leader])
    const standby = runnerProcess(['start', '--json'], { ...env, VELLAB_RUN_SECONDS: '5' })
    await until('the standby waiting', () => text(standby).includes('standby: lease'), 60_000, [
      leader,
      standby,
    ])

    const simNow = async () => (await r.get<{ now: number }>('/__sim/clock')).now
    leader.child.kill('SIGSTOP')
    const frozenAt = leader.out.join('').length
    await until(
      'the standby trading',
      () => text(standby).includes('execution notices live: trading'),
      30_000,
      [standby],
    )
    expect(text(standby)).toMatch(/acquired: epoch 2/)
    const wokenAt = await simNow()
    leader.child.kill('SIGCONT')
    // Woken, the old leader finds itself fenced (or stale) and stops with its own exit code.
    expect(await leader.exit, text(leader).slice(-3000)).toBe(4)
    expect(text(leader)).toMatch(/lease (appkey:[0-9a-f]+ )?lost/)
    // The broker's ledger judges what it sent, not its log: an order it logs after waking may have
    // left before the freeze (only its answer was read late). Every such order reached the
    // simulator before the wake-up; none arrived after it (that would be a send after the freeze).
    const sim = await r.get<{ odno: string; kind: string; createdAt: number }[]>(
      `/__sim/orders?appkey=${encodeURIComponent(r.app.appkey)}`,
    )
    const loggedLate = [
      ...leader.out
        .join('')
        .slice(frozenAt)
        .matchAll(/^.{13}order {3}.*→ (\d+)/gm),
    ].map((m) => m[1])
    for (const odno of loggedLate) {
      const o = sim.find((x) => x.odno === odno)
      expect(o, `order ${odno} logged by the woken leader`).toBeDefined()
      expect(o!.createdAt, `order ${odno} reached the broker after the wake-up`).toBeLessThan(wokenAt)
    }

    expect(await standby.exit, text(standby).slice(-3000)).toBe(0)
    const report = JSON.parse(standby.out.join('')) as RunReport
    for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
    await expectNothingSentTwice()
  }, 200_000)

  it('two runners started at the same moment: exactly one leads, the other waits and sends nothing', async () => {
    const a = runnerProcess(['start', '--json'], { ...env, VELLAB_RUN_SECONDS: '3' })
    const b = runnerProcess(['start', '--json'], { ...env, VELLAB_RUN_SECONDS: '3' })
    await until('one leading', () => /acquired: epoch 1/.test(text(a) + text(b)), 60_000, [a, b])
    const [leader, standby] = /acquired: epoch 1/.test(text(a)) ? [a, b] : [b, a]
    await until('the other waiting', () => text(standby).includes('standby: lease'), 30_000, [a, b])
    expect(await leader.exit, text(leader).slice(-2000)).toBe(0)
    // The leader's clean stop releases the lease: the standby then leads (epoch 2) for its own run.
    expect(await standby.exit, text(standby).slice(-2000)).toBe(0)
    expect(text(standby)).toMatch(/acquired: epoch 2/)
    const before = text(standby).split(/acquired: epoch 2/)[0] ?? ''
    expect(before).not.toMatch(/^.{13}order {3}/m)
    await expectNothingSentTwice()
  }, 150_000)

  it('vellab reconcile refuses while a runner leads the appkey, and runs a pass under the lease when none does', async () => {
    const leader = runnerProcess(['start'], { ...env, VELLAB_RUN_SECONDS: '0' })
    await until('the leader trading', () => text(leader).includes('order   '), 60_000, [leader])
    const refused = runnerProcess(['reconcile'], env)
    expect(await refused.exit, text(refused)).toBe(1)
    expect(text(refused)).toMatch(
      /a runner leads this appkey \(appkey:[0-9a-f]{24}\): .+ \(epoch 1\); it reconciles continuously/,
    )
    leader.child.kill('SIGTERM')
    expect(await leader.exit, text(leader).slice(-2000)).toBe(0)
    const pass = runnerProcess(['reconcile'], env)
    expect(await pass.exit, text(pass)).toBe(0)
    expect(text(pass)).toMatch(/^reconcile \S+: clean, 0 breaks/m)
    // It led for the pass (epoch 2) and let go: the next runner leads at epoch 3.
    const next = runnerProcess(['start'], { ...env, VELLAB_RUN_SECONDS: '1' })
    expect(await next.exit, text(next).slice(-2000)).toBe(0)
    expect(text(next)).toMatch(/acquired: epoch 3/)
    await expectNothingSentTwice()
  }, 150_000)

  it('the database goes away under both and comes back: they settle on one leader again', async () => {
    // The holder's lock session dies with the database, so a takeover needs no TTL here; a longer
    // one keeps a loaded machine's event-loop stall from stepping the leader down early.
    const slow = { ...env, VELLAB_LEASE_TTL_MS: '6000' }
    const leader = runnerProcess(['start'], { ...slow, VELLAB_RUN_SECONDS: '0' })
    await until('the leader trading', () => text(leader).includes('order   '), 60_000, [leader])
    // It trades 15 s once it leads: long enough for the old leader, restarted after that, to boot
    // (seconds on a loaded machine) and find it leading; 4 s was not always.
    const standby = runnerProcess(['start', '--json'], { ...slow, VELLAB_RUN_SECONDS: '15' })
    await until('the standby waiting', () => text(standby).includes('standby: lease'), 60_000, [
      leader,
      standby,
    ])

    // The database closes to connections and every session dies (what a restart does to clients).
    const admin = new pg.Client({ connectionString: process.env.VELLAB_TEST_DATABASE_URL })
    await admin.connect()
    let restarted: Runner | undefined
    try {
      await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS false`)
      await db.terminateConnections()
      // The leader fails closed as a database outage; the standby waits it out.
      expect(await leader.exit, text(leader).slice(-3000)).toBe(3)
      await until(
        'the standby noticing',
        () => text(standby).includes('the database is unreachable'),
        30_000,
        [standby],
      )
      await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS true`)
      await until(
        'the standby trading',
        () => text(standby).includes('execution notices live: trading'),
        60_000,
        [standby],
      )
      expect(text(standby)).toMatch(/acquired: epoch 2/)
      // The old leader, restarted by its supervisor, finds a leader and waits.
      restarted = runnerProcess(['start'], { ...slow, VELLAB_RUN_SECONDS: '0' })
      await until('the restarted one waiting', () => text(restarted!).includes('standby: lease'), 60_000, [
        restarted,
      ])
      expect(await standby.exit, text(standby).slice(-2000)).toBe(0)
      const report = JSON.parse(standby.out.join('')) as RunReport
      for (const check of report.checks) expect(check, check.detail).toMatchObject({ ok: true })
      // The new leader released at its end: the restarted one takes over (epoch 3).
      await until('the restarted one leading', () => /acquired: epoch 3/.test(text(restarted!)), 30_000, [
        restarted,
      ])
    } finally {
      await admin.query(`ALTER DATABASE ${db.name} WITH ALLOW_CONNECTIONS true`).catch(() => {})
      await admin.end()
      restarted?.child.kill('SIGTERM')
      await restarted?.exit
    }
    await expectNothingSentTwice()
  }, 200_000)

  it('sharding: three runners over two accounts — one leader each, the third takes over whichever leader dies', async () => {
    await r.sim.stop()
    r = await startPaperRehearsal(['--paper', 'documented', '--paper-apps', '2'])
    await r.post('/__sim/limits', { env: 'paper', perSecond: 10 })
    const [a, b] = r.paperApps
    // Two account profiles, each with its own appkey; the plain KIS_ credentials are not used.
    const {
      KIS_APP_KEY: _k,
      KIS_APP_SECRET: _s,
      KIS_ACCOUNT: _a,
      KIS_HTS_ID: _h,
      ...shared
    } = { ...env, ...r.env }
    const sharded = {
      ...shared,
      VELLAB_ACCOUNTS: 'alpha,beta',
      ...Object.fromEntries(
        (
          [
            ['ALPHA', a!],
            ['BETA', b!],
          ] as const
        ).flatMap(([p, app]) => [
          [`KIS_${p}_APP_KEY`, app.appkey],
          [`KIS_${p}_APP_SECRET`, app.appsecret],
          [`KIS_${p}_ACCOUNT`, app.account],
          [`KIS_${p}_HTS_ID`, app.htsId],
        ]),
      ),
    }
    const runners = [0, 1, 2].map(() => runnerProcess(['start'], { ...sharded, VELLAB_RUN_SECONDS: '0' }))
    const leading = (x: Runner) => /leading account (\S+) \(profile (\w+)\)/.exec(text(x))
    try {
      await until(
        'two leaders',
        () => runners.filter((x) => text(x).includes('order   ')).length === 2,
        90_000,
        runners,
      )
      const leaders = runners.filter((x) => leading(x))
      expect(leaders).toHaveLength(2)
      expect(new Set(leaders.map((x) => leading(x)![2]))).toEqual(new Set(['ALPHA', 'BETA']))
      const standby = runners.find((x) => !leaders.includes(x))!
      await until('the third standing by', () => text(standby).includes('standby: lease'), 30_000, runners)
      expect(text(standby)).not.toMatch(/^.{13}order {3}/m)

      // The leader of one account dies: the standby takes that account, at the next epoch.
      const [victim, survivor] = leaders as [Runner, Runner]
      const profile = leading(victim)![2]
      victim.child.kill('SIGKILL')
      await victim.exit
      await until(
        'the standby trading',
        () => text(standby).includes('execution notices live: trading'),
        60_000,
        [standby],
      )
      expect(leading(standby)![2]).toBe(profile)
      expect(text(standby)).toMatch(/acquired: epoch 2/)
      expect(text(survivor)).not.toMatch(/lease lost/)
      await until('the new leader placing orders', () => /^.{13}order {3}/m.test(text(standby)), 30_000, [
        standby,
      ])
    } finally {
      for (const x of runners) x.child.kill('SIGTERM')
      await Promise.all(runners.map((x) => x.exit))
    }
    // Each runner stopped cleanly, or was the one killed.
    const codes = await Promise.all(runners.map((x) => x.exit))
    expect(codes.filter((c) => c === 0)).toHaveLength(2)
    for (const app of [a!, b!]) await expectNothingSentTwice(app.appkey)
  }, 200_000)
})
