import { startEmbeddedPostgres } from './embedded.ts'

/**
 * Vitest global setup: make sure a PostgreSQL server is available for the whole run.
 *
 * If `VELLAB_TEST_DATABASE_URL` is set, that server is used and nothing is started. Otherwise one
 * embedded cluster is started for the run, its URL is exported through the same variable (test workers
 * inherit the environment), and it is stopped when the run ends. Nested setups (root config and a
 * project config) see the variable and start nothing.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.VELLAB_TEST_DATABASE_URL) return undefined
  const cluster = await startEmbeddedPostgres({ unsafeFast: true })
  process.env.VELLAB_TEST_DATABASE_URL = cluster.adminUrl
  process.env.VELLAB_TEST_DATABASE_KIND = 'embedded'
  return async () => {
    delete process.env.VELLAB_TEST_DATABASE_URL
    delete process.env.VELLAB_TEST_DATABASE_KIND
    await cluster.stop()
  }
}
