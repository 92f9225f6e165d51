// pnpm bench:wal — write-ahead log written per transition, by table (indexes counted with their
// table), read back with pg_walinspect. WAL volume is what a durable commit pays for on top of the
// flush, so this is the "what each table costs per transition" of the README.
//
// Uses DATABASE_URL when set (needs the pg_walinspect extension and a superuser); otherwise an
// embedded PostgreSQL 18 with durable settings. BENCH_SAMPLES: operations per kind (default 200);
// BENCH_WAL_TYPES=1 splits each table's bytes by WAL record type (UPDATE, INSERT_LEAF, PRUNE_ON_ACCESS…).
import { sql } from 'kysely'
import { createOrderStore } from '../src/index.ts'
import { BrokerEventFactory } from '../src/testing/index.ts'
import { baselineInsert, benchIntent as intent, withBenchDatabase } from './setup.ts'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200)
const BY_TYPE = process.env.BENCH_WAL_TYPES === '1'

async function main() {
  await withBenchDatabase('order_fsm_wal', async ({ connect }) => {
    const { db } = connect(1)
    await sql`CREATE EXTENSION IF NOT EXISTS pg_walinspect`.execute(db)
    // The lease table of @vellab/lease (its shape is all the fence relies on), for a fenced store.
    await sql`CREATE TABLE vellab_leases (lease_key text PRIMARY KEY, epoch bigint NOT NULL)`.execute(db)
    await sql`INSERT INTO vellab_leases VALUES ('appkey:bench', 1)`.execute(db)
    const store = createOrderStore({ db, actor: 'bench' })
    const fenced = createOrderStore({ db, actor: 'bench', fence: () => ({ key: 'appkey:bench', epoch: 1 }) })
    const broker = new BrokerEventFactory({ at: Date.now() })
    const kinds: [string, (k: number) => Promise<unknown>][] = [
      ['bare INSERT', () => baselineInsert(db)],
      ['createIntentAndSubmit', (k) => store.createIntentAndSubmit(intent(`w-${k}`))],
      [
        'recordAck',
        (k) => store.recordAck({ intentId: `w-${k}`, brokerOrderId: `w${k}`, acceptedAt: Date.now() }),
      ],
      ['requestCancel (a)', (k) => store.requestCancel(`w-${k}`)],
      [
        'recordCancelAck, fenced (as the runner runs)',
        (k) => fenced.recordCancelAck(`w-${k}`, { brokerOrderId: `w${k}`, acceptedAt: Date.now() }),
      ],
      [
        'fill notice (c): ACKED → FILLED',
        (k) => store.applyBrokerEvent(broker.filled(`c${k}`, { cumulative: 1, quantity: 1, price: 71_000 })),
      ],
      [
        'fill notice: PARTIAL_FILLED stays (HOT)',
        (k) => store.applyBrokerEvent(broker.filled(`p${k}`, { cumulative: 2, quantity: 1, price: 71_000 })),
      ],
    ]
    // Acked orders for the fills, as in `pnpm bench` (c): one share (the fill completes it), and ten
    // shares already partly filled (the fill keeps the state).
    for (const k of [
      ...Array.from({ length: SAMPLES }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 1_000_000 + i),
    ]) {
      for (const [tag, quantity] of [
        ['c', 1],
        ['p', 10],
      ] as const) {
        await store.createIntentAndSubmit(intent(`${tag}-${k}`, quantity))
        await store.recordAck({
          intentId: `${tag}-${k}`,
          brokerOrderId: `${tag}${k}`,
          acceptedAt: Date.now(),
        })
      }
      await store.applyBrokerEvent(broker.filled(`p${k}`, { cumulative: 1, quantity: 1, price: 71_000 }))
    }
    // Warm the caches and the sequences' WAL (nextval logs every 32 values) out of the sample.
    for (const [, run] of kinds) for (let k = 0; k < 50; k++) await run(1_000_000 + k)
    for (const [label, run] of kinds) {
      const lsn = async () =>
        (await sql<{ l: string }>`SELECT pg_current_wal_insert_lsn()::text AS l`.execute(db)).rows[0]!.l
      const start = await lsn()
      for (let k = 0; k < SAMPLES; k++) await run(k)
      const end = await lsn()
      const { rows } = await sql<{ rel: string; bytes: string; records: string; fpi: string }>`
        WITH b AS (
          SELECT DISTINCT ON (start_lsn) start_lsn, relfilenode
          FROM pg_get_wal_block_info(${start}::pg_lsn, ${end}::pg_lsn) ORDER BY start_lsn, block_id
        ), r AS (
          SELECT coalesce(c.relname || CASE WHEN ${BY_TYPE} THEN ' ' || w.record_type ELSE '' END,
              w.resource_manager || '/' || split_part(w.record_type, ' ', 1)) AS rel,
            w.record_length, w.fpi_length
          FROM pg_get_wal_records_info(${start}::pg_lsn, ${end}::pg_lsn) w
          LEFT JOIN b USING (start_lsn) LEFT JOIN pg_class c ON c.relfilenode = b.relfilenode
        )
        SELECT rel, sum(record_length)::text AS bytes, count(*)::text AS records, sum(fpi_length)::text AS fpi
        FROM r GROUP BY 1 ORDER BY sum(record_length) DESC`.execute(db)
      const total = rows.reduce((s, r) => s + Number(r.bytes), 0)
      console.log(`${label}: ${(total / SAMPLES).toFixed(0)} B of WAL per call`)
      for (const r of rows) {
        const per = Number(r.bytes) / SAMPLES
        if (per < 1) continue
        console.log(
          `  ${r.rel.padEnd(34)} ${per.toFixed(0).padStart(5)} B  ${(Number(r.records) / SAMPLES).toFixed(2)} records` +
            (Number(r.fpi) > 0 ? `  (full-page images ${(Number(r.fpi) / SAMPLES).toFixed(0)} B)` : ''),
        )
      }
    }
  })
}

await main()
