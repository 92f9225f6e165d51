// Module resolution hooks that let Node (≥ 23.6, with --experimental-transform-types) run the
// workspace's TypeScript sources directly, as a separate process: `@vellab/<pkg>[/sub]` resolves
// to packages/<pkg>/src[/sub]/index.ts (apps/<pkg> for the runner) and extensionless relative
// imports to their .ts file. Tests use it to run the runner as its own OS process (kill -9, restart)
// without a build step. Registered by source-register.mjs.
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolvePath(dirname(fileURLToPath(import.meta.url)), '../../..')
const packages = new Map()
for (const group of ['packages', 'apps', 'tooling']) {
  let dirs = []
  try {
    dirs = readdirSync(join(root, group))
  } catch {
    continue
  }
  for (const d of dirs) packages.set(`@vellab/${d}`, join(root, group, d))
}
packages.set('@vellab/runner', join(root, 'apps', 'runner'))

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@vellab/')) {
    const [scope, name, ...sub] = specifier.split('/')
    const dir = packages.get(`${scope}/${name}`)
    if (dir) {
      const base = join(dir, 'src', ...sub)
      for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
        if (existsSync(candidate)) return { url: pathToFileURL(candidate).href, shortCircuit: true }
      }
    }
  }
  if ((specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL?.endsWith('.ts')) {
    if (!/\.[cm]?[jt]s$/.test(specifier)) {
      const base = fileURLToPath(new URL(specifier, context.parentURL))
      for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
        if (existsSync(candidate)) return { url: pathToFileURL(candidate).href, shortCircuit: true }
      }
    }
  }
  return next(specifier, context)
}
