import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { testWorkers } from './tooling/testkit/src/vitest-preset.ts'

// One run over every workspace project. The PostgreSQL global setup is declared here once so a
// full run starts at most one embedded cluster; project configs declare it too for per-package runs
// and reuse the running one through VELLAB_TEST_DATABASE_URL.
// VELLAB_TEST_REPORT=<file> also writes a JSON report there (CI sums it into one closing line).
const report = process.env.VELLAB_TEST_REPORT

// Workers: see `testWorkers` (set on every project too, or vitest runs each project's files one at
// a time on a 2-core machine).

// Vitest queues projects by name, so the runner's multi-process suites (failover alone is two
// and a half minutes) would start last and end the run alone. Its files go first; the rest keep
// vitest's order (slowest first once it has timings, larger files first before).
const FIRST_PROJECTS = new Set(['runner'])

class LongProjectsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const first = sorted.filter((f) => FIRST_PROJECTS.has(f.project.name))
    return [...first, ...sorted.filter((f) => !FIRST_PROJECTS.has(f.project.name))]
  }
}

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tooling/*'],
    globalSetup: ['./tooling/testkit/src/global-setup.ts'],
    maxWorkers: testWorkers,
    sequence: { sequencer: LongProjectsFirst },
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
  },
})
