import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { afterAll, beforeAll } from 'vitest'
import { migrate } from '../src/database'

/**
 * A fresh test database with the runner's migrations for the calling file's tests, dropped after
 * them. Call at the top level of a test file; the getter is valid inside its tests.
 */
export function migratedTestDatabase(): () => TestDatabase {
  let tdb: TestDatabase | undefined
  beforeAll(async () => {
    tdb = await createTestDatabase()
    await migrate(tdb.db())
  })
  afterAll(async () => {
    await tdb?.drop()
  })
  return () => {
    if (!tdb) throw new Error('the test database is not ready (use it inside a test)')
    return tdb
  }
}
