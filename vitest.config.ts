import { defineConfig } from 'vitest/config'

// One run over every workspace project. The PostgreSQL global setup is declared here once so a
// full run starts at most one embedded cluster; project configs declare it too for per-package runs
// and reuse the running one through VELLAB_TEST_DATABASE_URL.
// VELLAB_TEST_REPORT=<file> also writes a JSON report there (CI sums it into one closing line).
const report = process.env.VELLAB_TEST_REPORT

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tooling/*'],
    globalSetup: ['./tooling/testkit/src/global-setup.ts'],
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
  },
})
