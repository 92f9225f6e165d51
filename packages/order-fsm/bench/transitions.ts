// pnpm bench — transitions per second on PostgreSQL, and the latency of one transition as a ratio
// to one bare single-row INSERT commit, measured in the same run on the same server.
//
// Uses DATABASE_URL when set (a server where the user may CREATE DATABASE); otherwise starts an
// embedded PostgreSQL 18 with durable settings (fsync and synchronous_commit on), like production.
// Options (env): BENCH_SAMPLES (latency samples per side, default 2000), BENCH_WORKERS (16),
// BENCH_LIFECYCLES (orders per throughput run, default 800), BENCH_JS_ONLY=1 (only the last part:
// the store's own JavaScript, no database).
import { performance } from 'node:perf_hooks'
import { Kysely, PostgresDialect, sql } from 'kysely'
import type pg from 'pg'
import { createOrderStore, type OrderFsmTables, type OrderStore } from '../src/index.ts'
import { BrokerEventFactory } from '../src/testing/index.ts'
import { baselineInsert, benchIntent as intent, withBenchDatabase } from './setup.ts'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 2000)
const WORKERS = Number(process.env.BENCH_WORKERS ?? 16)
const LIFECYCLES = Number(process.env.BENCH_LIFECYCLES ?? 800)

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const ms = (x: number) => `${x.toFixed(3)} ms`

async function main() {
  await withBenchDatabase('order_fsm_bench', async ({ source, settings, connect: kysely }) => {
    // Two configurations of the same store on the same pool: Kysely only (the default), and with
    // the `pool` option, which sends the two hot writes as named prepared statements.
    const configs = (on: { pool: pg.Pool; db: Kysely<OrderFsmTables> }) =>
      [
        { label: 'Kysely only', tag: 'k', store: createOrderStore({ db: on.db, actor: 'bench' }) },
        {
          label: 'with `pool` (named prepared statements)',
          tag: 'p',
          store: createOrderStore({ db: on.db, actor: 'bench', pool: on.pool }),
        },
      ] as const
    const latencyDb = kysely(1)
    const { db } = latencyDb
    console.log(`server: PostgreSQL ${settings}`)
    console.log(`source: ${source}\n`)

    // ---- latency: one connection, sequential, baseline and transitions interleaved in rounds ----
    const broker = new BrokerEventFactory({ at: Date.now() })
    // The risk check of (b) is a trivial allow function: @vellab/risk-kr would add a dependency to
    // this package for a check that costs microseconds.
    const allow = (i: ReturnType<typeof intent>) => i.quantity > 0
    const gateway = {
      placeOrder: async (intentId: string, brokerOrderId: string) => ({
        intentId,
        brokerOrderId,
        acceptedAt: Date.now(),
      }),
    }
    const series = await Promise.all(
      configs(latencyDb).map(async ({ label, tag, store }) => {
        // Acked orders for the fill notices, and (ids <tag>cxl-0, …) for the command to cancel.
        const acked = await prepareAcked(store, `${tag}lat`, SAMPLES + 200, 1)
        await prepareAcked(store, `${tag}cxl`, SAMPLES + 200, 1)
        const command: number[] = []
        const path: number[] = []
        const fill: number[] = []
        let nextCommand = 0
        let nextPath = 0
        let nextFill = 0
        return {
          label,
          command,
          path,
          fill,
          // (a) one transition: a write-ahead command (requestCancel on an acked order).
          async oneCommand(record: boolean) {
            const k = nextCommand++
            const t = performance.now()
            const claim = await store.requestCancel(`${tag}cxl-${k}`)
            const dt = performance.now() - t
            if (!claim.proceed) throw new Error(`bench command ${k}: ${claim.reason}`)
            if (record) command.push(dt)
          },
          // (b) the whole order path: intent → risk check → durable intent + write-ahead claim →
          // send to a gateway that answers at once → ack recorded.
          async onePath(record: boolean) {
            const k = nextPath++
            const t = performance.now()
            const i = intent(`${tag}path-${k}`)
            if (!allow(i)) throw new Error('risk refused')
            // Durable intent + write-ahead claim in one statement (one commit before the send).
            const claim = await store.createIntentAndSubmit(i)
            if (!claim.proceed) throw new Error(`bench path ${k}: ${claim.reason}`)
            await store.recordAck(await gateway.placeOrder(i.intentId, `${tag}path${k}`))
            if (record) path.push(performance.now() - t)
          },
          // (c) a fill notice applied.
          async oneFill(record: boolean) {
            const k = nextFill++
            const t = performance.now()
            const r = await store.applyBrokerEvent(
              broker.filled(acked[k]!, { cumulative: 1, quantity: 1, price: 71_000 }),
            )
            const dt = performance.now() - t
            if (r.status !== 'applied') throw new Error(`bench transition ${k}: ${r.status}`)
            if (record) fill.push(dt)
          },
        }
      }),
    )
    // Orders whose projection row the floor measurement touches (one column, no event).
    await prepareAcked(configs(latencyDb)[0].store, 'flr', SAMPLES + 200, 1)
    const insert: number[] = []
    const floor: number[] = []
    let nextFloor = 0
    // The floor of any transition with this schema: the projection row rewritten (one column
    // changed, same row size, no event), one commit.
    const oneFloor = async (record: boolean) => {
      const k = nextFloor++
      const t = performance.now()
      await sql`UPDATE order_orders SET updated_at = ${Date.now()} WHERE intent_id = ${`flr-${k}`}`.execute(
        db,
      )
      if (record) floor.push(performance.now() - t)
    }
    const oneInsert = async (record: boolean) => {
      const t = performance.now()
      await baselineInsert(db)
      if (record) insert.push(performance.now() - t)
    }
    for (let i = 0; i < 100; i++) {
      await oneInsert(false)
      await oneFloor(false)
      for (const s of series) {
        await s.oneFill(false)
        await s.oneCommand(false)
        await s.onePath(false)
      }
    }
    // Interleaved one by one, so that a slow spell of the machine (a neighbour's I/O, a
    // checkpoint) falls on the baseline and on every series alike instead of on one block.
    for (let i = 0; i < SAMPLES; i++) {
      await oneInsert(true)
      await oneFloor(true)
      for (const s of series) {
        await s.oneCommand(true)
        await s.onePath(true)
        await s.oneFill(true)
      }
    }
    const ratio = (xs: number[]) =>
      `p50 ${(pct(xs, 50) / pct(insert, 50)).toFixed(2)}x  p99 ${(pct(xs, 99) / pct(insert, 99)).toFixed(2)}x`
    const line = (label: string, xs: number[]) =>
      `  ${label.padEnd(32)}p50 ${ms(pct(xs, 50))}  p99 ${ms(pct(xs, 99))}  (n=${xs.length})`
    console.log('latency, one connection, sequential (each a durable commit):')
    console.log(line('bare single-row INSERT commit', insert))
    console.log(line('projection row UPDATE (floor)', floor))
    for (const s of series) {
      console.log(` ${s.label}:`)
      console.log(line('one command (requestCancel)', s.command))
      console.log(line('order path (intent→ack)', s.path))
      console.log(line('one fill notice', s.fill))
    }
    console.log('ratios to one bare INSERT commit (goals: a ≤ 1.5x, b ≤ 2.5x, c ≤ 1.5x at p50):')
    for (const s of series) {
      console.log(` ${s.label}:`)
      console.log(`  (a) one transition (command)    ${ratio(s.command)}`)
      console.log(`  (b) whole order path per order  ${ratio(s.path)}`)
      console.log(`  (c) a fill notice applied       ${ratio(s.fill)}`)
    }
    console.log(
      `  floor: projection row UPDATE    ${ratio(floor)}  (no transition can go below it; b's floor is twice it)\n`,
    )

    // ---- throughput: WORKERS connections ----
    for (const contended of [false, true]) {
      for (const { label, tag: config, store: tstore } of configs(kysely(WORKERS))) {
        const tag = `${config}${contended ? 'hot' : 'spread'}`
        // Each lifecycle: submit, ack, three fills = 5 transitions (+ the intent insert).
        const orders = contended ? 8 : LIFECYCLES
        const ids = Array.from({ length: orders }, (_, i) => `${tag}-${i}`)
        const b = new BrokerEventFactory({ at: Date.now() })
        let transitions = 0
        let decisions = 0
        const t0 = performance.now()
        if (!contended) {
          let cursor = 0
          await Promise.all(
            Array.from({ length: WORKERS }, async () => {
              for (let k = cursor++; k < orders; k = cursor++) {
                const id = ids[k]!
                await tstore.createIntent(intent(id))
                await tstore.beginSubmit(id)
                await tstore.recordAck({ intentId: id, brokerOrderId: `${tag}${k}`, acceptedAt: Date.now() })
                for (const c of [3, 6, 10]) {
                  await tstore.applyBrokerEvent(
                    b.filled(`${tag}${k}`, { cumulative: c, quantity: 3, price: 71_000 }),
                  )
                }
                transitions += 5
              }
            }),
          )
        } else {
          const bids = await prepareAcked(tstore, tag, orders, 1000)
          // Every worker pushes every fill level of the same 8 orders: heavy version conflicts and
          // duplicates; only the distinct events count as transitions.
          const levels = Array.from({ length: 1000 }, (_, i) => i + 1).filter((c) => c % 10 === 0)
          const applied = await Promise.all(
            Array.from({ length: WORKERS }, async (_, w) => {
              let n = 0
              for (const c of levels) {
                const k = (c / 10 + w) % orders
                const r = await tstore.applyBrokerEvent(
                  b.filled(bids[k]!, { cumulative: c, quantity: 10, price: 71_000 }),
                )
                if (r.status === 'applied') n++
              }
              return n
            }),
          )
          transitions = applied.reduce((s, n) => s + n, 0)
          decisions = WORKERS * levels.length
        }
        const seconds = (performance.now() - t0) / 1000
        console.log(
          `throughput, ${WORKERS} connections, ${contended ? '8 hot orders (all workers on the same orders)' : `${orders} order lifecycles, no contention`}, ${label}:`,
        )
        console.log(
          `  ${(transitions / seconds).toFixed(0)} transitions/s (${transitions} transitions in ${seconds.toFixed(2)} s)` +
            (decisions
              ? `; ${(decisions / seconds).toFixed(0)} events decided/s incl. stale and duplicates`
              : '') +
            '\n',
        )
      }
    }
  })
}

/**
 * The store's own JavaScript on the order path (createIntentAndSubmit + recordAck), with a `pool`
 * that answers at once: while its caches fill, and once they are full (the default 10,000 orders
 * and 40,000 broker numbers) and every write evicts. A long-running process lives in the second.
 */
async function javascriptAlone() {
  const pool = {
    query: async (q: { name: string }) => ({
      rows: [q.name.startsWith('order_fsm_create') ? { created: true } : { r: 1 }],
    }),
  }
  const db = new Kysely<OrderFsmTables>({ dialect: new PostgresDialect({ pool: {} as pg.Pool }) })
  let next = 0
  const batch = async (store: OrderStore, n: number) => {
    const t = performance.now()
    for (let k = 0; k < n; k++) {
      const i = intent(`js-${next}`)
      await store.createIntentAndSubmit(i)
      await store.recordAck({ intentId: i.intentId, brokerOrderId: `js${next}`, acceptedAt: Date.now() })
      next++
    }
    return ((performance.now() - t) * 1000) / n
  }
  // The full store first (which also warms the JIT up), then rounds that alternate between a
  // fresh store's first 5,000 orders and 5,000 more on the full one; medians of each side.
  const full = createOrderStore({ db, actor: 'bench', pool })
  await batch(full, 80_000)
  const filling: number[] = []
  const evicting: number[] = []
  for (let r = 0; r < 7; r++) {
    filling.push(await batch(createOrderStore({ db, actor: 'bench', pool }), 5_000))
    evicting.push(await batch(full, 5_000))
  }
  const [a, b] = [pct(filling, 50), pct(evicting, 50)]
  console.log("the store's JavaScript per order path (create + ack, with a `pool` that answers at once):")
  console.log(
    `  caches filling ${a.toFixed(1)} µs, caches full ${b.toFixed(1)} µs (${(b / a).toFixed(2)}x; medians of 7 alternating rounds of 5,000)\n`,
  )
}

async function prepareAcked(store: OrderStore, tag: string, n: number, quantity: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`
    await store.createIntent({ ...intent(id), quantity })
    await store.beginSubmit(id)
    await store.recordAck({ intentId: id, brokerOrderId: `${tag}${i}`, acceptedAt: Date.now() })
    ids.push(`${tag}${i}`)
  }
  return ids
}

if (!process.env.BENCH_JS_ONLY) await main()
await javascriptAlone()
