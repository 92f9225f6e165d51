import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineProject, type UserWorkspaceConfig } from 'vitest/config'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/**
 * Map every workspace package name (and its subpath exports) to its TypeScript source, so tests
 * run against the code in the tree without a build step. Published consumers get `dist/`.
 */
function workspaceAliases(): { find: string; replacement: string }[] {
  const out: { find: string; replacement: string }[] = []
  for (const group of ['packages', 'apps']) {
    let dirs: string[] = []
    try {
      dirs = readdirSync(join(root, group))
    } catch {
      continue
    }
    for (const dir of dirs) {
      const pkgDir = join(root, group, dir)
      let pkg: { name?: string; exports?: Record<string, unknown> }
      try {
        pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
      } catch {
        continue
      }
      if (!pkg.name) continue
      for (const sub of Object.keys(pkg.exports ?? {})) {
        if (sub === '.' || sub === './package.json' || !sub.startsWith('./')) continue
        out.push({
          find: `${pkg.name}/${sub.slice(2)}`,
          replacement: join(pkgDir, 'src', sub.slice(2), 'index.ts'),
        })
      }
      out.push({ find: pkg.name, replacement: join(pkgDir, 'src', 'index.ts') })
    }
  }
  // Longest first, so `@vellab/x/testing` wins over `@vellab/x`.
  return out.sort((a, b) => b.find.length - a.find.length)
}

// Most test files wait rather than compute: PostgreSQL commits, simulator and runner processes,
// sockets, lease timeouts. Vitest's default (one worker per core, less one) leaves a 2-core machine
// mostly idle, so files run WORKERS_PER_CORE to a core. VITEST_MAX_WORKERS (or --maxWorkers)
// overrides it.
const WORKERS_PER_CORE = 2

/**
 * Test files run at once, for the root config and for every project: vitest resolves each project's
 * `maxWorkers` on its own (unset, it is one less than the cores), and on a 2-core machine a project
 * with one worker runs its files one after another even when the root allows four.
 */
export const testWorkers = Math.max(2, Math.min(8, availableParallelism() * WORKERS_PER_CORE))

export interface VellabProjectOptions {
  /** The project's name in vitest output. */
  name: string
  /** Start (or reuse) the run's PostgreSQL server. @default false */
  postgres?: boolean
  /** Per-test timeout in ms. @default 10_000, or 30_000 with `postgres` */
  testTimeout?: number
  /** Extra vitest `test` options. */
  test?: UserWorkspaceConfig['test']
}

/** The project config every package's `vitest.config.ts` uses. */
export function vellabProject(options: VellabProjectOptions): UserWorkspaceConfig {
  const aliases = workspaceAliases()
  return defineProject({
    resolve: { alias: aliases },
    test: {
      name: options.name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? (options.postgres ? 30_000 : 10_000),
      hookTimeout: options.postgres ? 60_000 : 10_000,
      maxWorkers: testWorkers,
      ...(options.postgres ? { globalSetup: [join(root, 'tooling/testkit/src/global-setup.ts')] } : {}),
      ...options.test,
    },
  })
}
