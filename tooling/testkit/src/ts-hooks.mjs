// Run the workspace's TypeScript sources directly on Node ≥ 22.18/23.6 (built-in type stripping; add
// --experimental-transform-types for parameter properties): `node --import <this file> some-file.ts`.
// Node strips types but does not resolve extensionless relative imports or workspace packages to
// their sources; these hooks do, so benches, the docs generator and test children (the order-fsm
// crash test, the runner killed with SIGKILL) run the code in the tree without a build.
import { readdirSync, readFileSync } from 'node:fs'
import { register } from 'node:module'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolvePath(dirname(fileURLToPath(import.meta.url)), '../../..')
const workspace = {}
for (const group of ['packages', 'apps', 'tooling']) {
  let dirs = []
  try {
    dirs = readdirSync(join(root, group))
  } catch {
    continue
  }
  for (const dir of dirs) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, group, dir, 'package.json'), 'utf8'))
      if (pkg.name) workspace[pkg.name] = join(root, group, dir)
    } catch {}
  }
}

register(
  `data:text/javascript,${encodeURIComponent(`
    import { existsSync } from 'node:fs'
    import { fileURLToPath, pathToFileURL } from 'node:url'
    import { join } from 'node:path'
    const workspace = ${JSON.stringify(workspace)}
    export async function resolve(specifier, context, next) {
      for (const [name, dir] of Object.entries(workspace)) {
        if (specifier === name || specifier.startsWith(name + '/')) {
          const sub = specifier.slice(name.length + 1)
          const candidates = sub ? [join(dir, 'src', sub, 'index.ts'), join(dir, 'src', sub + '.ts')] : [join(dir, 'src', 'index.ts')]
          for (const c of candidates) if (existsSync(c)) return next(pathToFileURL(c).href, context)
        }
      }
      if ((specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL?.endsWith('.ts')) {
        const base = fileURLToPath(new URL(specifier, context.parentURL))
        for (const c of [base + '.ts', join(base, 'index.ts')]) if (existsSync(c)) return next(pathToFileURL(c).href, context)
      }
      return next(specifier, context)
    }
  `)}`,
  import.meta.url,
)
