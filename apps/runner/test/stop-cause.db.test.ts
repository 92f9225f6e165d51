import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { DatabaseUnavailableError, LeaseLostStopError, stopCause } from '../src/stop-cause'
import { migratedTestDatabase } from './migrated-db'

const db = migratedTestDatabase()

async function leaseAt(key: string, epoch: number) {
  await db().pool.query(
    `INSERT INTO vellab_leases (lease_key, epoch, holder, acquired_at) VALUES ($1, $2, 'test', now())
     ON CONFLICT (lease_key) DO UPDATE SET epoch = EXCLUDED.epoch`,
    [key, epoch],
  )
}

describe('why a session stopped (stopCause)', () => {
  it('a lost connection while a successor holds the lease is a lost lease, not a database gone', async () => {
    // The woken leader's case: its lease moved on to epoch 3 while it was frozen at epoch 2.
    await leaseAt('appkey:a', 3)
    const lines: string[] = []
    const e = await stopCause({
      url: db().url,
      lease: { key: 'appkey:a', epoch: 2 },
      kind: 'outage',
      reason: 'Connection terminated unexpectedly',
      log: (l) => lines.push(l),
    })
    expect(e).toBeInstanceOf(LeaseLostStopError)
    expect(e.message).toMatch(/the lease is at epoch 3; Connection terminated unexpectedly/)
    expect(lines).toEqual([expect.stringMatching(/^lease lost: trading stopped/)])
  })

  it('a lost connection while the lease is still ours is an outage (the database answers again)', async () => {
    await leaseAt('appkey:b', 5)
    const lines: string[] = []
    const e = await stopCause({
      url: db().url,
      lease: { key: 'appkey:b', epoch: 5 },
      kind: 'outage',
      reason: 'Connection terminated unexpectedly',
      log: (l) => lines.push(l),
    })
    expect(e).toBeInstanceOf(DatabaseUnavailableError)
    expect(lines).toEqual([
      expect.stringMatching(/^database unreachable: trading stopped \(.*it answers again\)$/),
    ])
  })

  it('a lease reported lost stays lost even when its epoch has not moved yet', async () => {
    await leaseAt('appkey:c', 1)
    const e = await stopCause({
      url: db().url,
      lease: { key: 'appkey:c', epoch: 1 },
      kind: 'lease',
      reason: 'heartbeat failed',
      log: () => {},
    })
    expect(e).toBeInstanceOf(LeaseLostStopError)
    expect(e.message).toMatch(/\(heartbeat failed\)/)
  })

  it('a database that does not answer is gone, whatever the error looked like', async () => {
    // A port that accepts and never speaks: the connection attempt hangs, as in a partition.
    const silent = createServer(() => {})
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as { port: number }).port
    try {
      for (const kind of ['lease', 'outage'] as const) {
        const lines: string[] = []
        const e = await stopCause({
          url: `postgres://postgres@127.0.0.1:${port}/none`,
          lease: { key: 'appkey:d', epoch: 1 },
          kind,
          reason: 'gone',
          log: (l) => lines.push(l),
          timeoutMs: 300,
        })
        expect(e).toBeInstanceOf(DatabaseUnavailableError)
        expect(lines).toEqual(['database unreachable: trading stopped (gone)'])
      }
    } finally {
      silent.close()
    }
  })
})
