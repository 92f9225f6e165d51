#!/usr/bin/env node
// The publish gate a user meets: pack every public package (after `pnpm build`), install the
// tarballs with npm into a scratch project outside the workspace (dependencies from the registry),
// then import every entry point with ESM `import` and with `require()`, and type-check a consumer
// file that imports every entry point (TypeScript, module nodenext, strict). Catches exact pins of
// siblings, a library bundling its own copy of a peer (two kyselys), broken exports maps and
// declaration files that do not resolve for a consumer.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const work = mkdtempSync(join(tmpdir(), 'vellab-consumer-'))
const started = Date.now()
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })

try {
  const tarballs = []
  const entries = []
  const peers = {}
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkgDir = join(root, 'packages', dir)
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
    if (pkg.private) continue
    const out = run('pnpm', ['pack', '--pack-destination', work], pkgDir)
    const tarball = join(work, out.trim().split('\n').pop().split('/').pop())
    tarballs.push(tarball)
    const packed = JSON.parse(run('tar', ['xzf', tarball, '-O', 'package/package.json'], work))
    for (const sub of Object.keys(pkg.exports ?? {})) {
      if (sub !== './package.json') entries.push(sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`)
    }
    for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
      if (!name.startsWith('@vellab/')) peers[name] = range
    }
    for (const [name, range] of Object.entries({ ...packed.dependencies, ...packed.peerDependencies })) {
      if (/^\d/.test(range))
        throw new Error(`${pkg.name}: ${name} is pinned as "${range}" in the packed manifest`)
    }
  }
  // The app brings its own peers (kysely, pg, and vitest for the optional conformance suite).
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({ name: 'vellab-consumer', private: true, type: 'module' }, null, 2),
  )
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const tsVersion = rootPkg.devDependencies.typescript
  const nodeTypes = rootPkg.devDependencies['@types/node']
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...tarballs,
      ...Object.entries(peers).map(([n, r]) => `${n}@${r}`),
      'pg',
      '@types/pg',
      'vitest',
      `typescript@${tsVersion}`,
      `@types/node@${nodeTypes}`,
    ],
    work,
  )
  // One copy of each peer: a second kysely makes the app's instance unassignable to the library's type.
  for (const name of Object.keys(peers)) {
    const copies = run('npm', ['ls', name, '--all', '--parseable'], work).trim().split('\n').filter(Boolean)
    const unique = new Set(copies.map((p) => p.slice(p.lastIndexOf('node_modules'))))
    if (unique.size !== 1) throw new Error(`${name} is installed ${unique.size} times:\n${copies.join('\n')}`)
  }
  const list = JSON.stringify(entries)
  run('node', ['--input-type=module', '-e', `for (const e of ${list}) await import(e)`], work)
  run('node', ['-e', `for (const e of ${list}) require(e)`], work)
  writeFileSync(
    join(work, 'consumer.ts'),
    `${entries.map((e, i) => `import * as m${i} from '${e}'`).join('\n')}\nexport const all = [${entries.map((_, i) => `m${i}`).join(', ')}]\n`,
  )
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2023',
        strict: true,
        noEmit: true,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  )
  run(join(work, 'node_modules', '.bin', 'tsc'), ['-p', '.'], work)
  console.log(
    `pack-install: ${tarballs.length} packages, ${entries.length} entry points imported (ESM and require) and type-checked in a fresh npm project (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  )
} catch (err) {
  const detail = [err.message, err.stdout, err.stderr].filter(Boolean).join('\n')
  console.error(`pack-install check failed:\n${detail}`)
  process.exitCode = 1
} finally {
  rmSync(work, { recursive: true, force: true })
}
