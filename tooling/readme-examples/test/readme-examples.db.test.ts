import { createTestDatabase } from '@vellab/testkit/postgres'
import { afterAll, describe, expect, it, vi } from 'vitest'
// @ts-expect-error plain ESM script without types
import { extractExamples } from '../extract.mjs'

interface Example {
  pkg: string
  index: number
  line: number
  run: boolean
  reason: string
  file: string
}

// Every TypeScript block of every package README, run as written (imports included) against the
// test database (DATABASE_URL), the InMemoryBroker and kis-sim. `pnpm typecheck` type-checks the
// same files against the built packages, as a consumer sees them.
const examples = extractExamples() as Example[]
const databases: { drop(): Promise<void> }[] = []
afterAll(async () => {
  for (const d of databases) await d.drop()
})

describe('README examples', () => {
  it('every package README has examples, and every example that is not run says why', () => {
    expect(new Set(examples.map((e) => e.pkg)).size).toBeGreaterThanOrEqual(7)
    for (const e of examples.filter((x) => !x.run)) expect(e.reason, `${e.pkg} #${e.index}`).toMatch(/\w{4,}/)
  })

  for (const e of examples.filter((x) => x.run)) {
    it(`${e.pkg} README line ${e.line} runs as written`, async () => {
      const db = await createTestDatabase()
      databases.push(db)
      const saved = process.env.DATABASE_URL
      process.env.DATABASE_URL = db.url
      const log = vi.spyOn(console, 'log')
      if (!process.env.README_EXAMPLES_VERBOSE) log.mockImplementation(() => {})
      try {
        await import(e.file)
      } finally {
        log.mockRestore()
        if (saved === undefined) delete process.env.DATABASE_URL
        else process.env.DATABASE_URL = saved
      }
    })
  }
})
