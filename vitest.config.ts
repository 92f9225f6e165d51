import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// One run over every workspace project. The PostgreSQL global setup is declared here once so a
// full run starts at most one embedded cluster; project configs declare it too for per-package runs
// and reuse the running one through VELLAB_TEST_DATABASE_URL.
// VELLAB_TEST_REPORT=<file> also writes a JSON report there (CI sums it into one closing line).
const report = process.env.VELLAB_TEST_REPORT

// Most test files wait rather than compute: PostgreSQL commits, simulator and runner processes,
// sockets, lease timeouts. Vitest's default (one worker per core, less one) leaves a 2-core machine
// mostly idle, so files run WORKERS_PER_CORE to a core. VITEST_MAX_WORKERS (or --maxWorkers)
// overrides it.
const WORKERS_PER_CORE = 2
const maxWorkers = Math.max(2, Math.min(8, availableParallelism() * WORKERS_PER_CORE))

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tooling/*'],
    globalSetup: ['./tooling/testkit/src/global-setup.ts'],
    maxWorkers,
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
  },
})
