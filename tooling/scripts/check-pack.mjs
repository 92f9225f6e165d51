#!/usr/bin/env node
// Pack every public package and check that the tarball holds only dist/, src/ (no tests),
// README.md, CHANGELOG.md, LICENSE and package.json.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const allowed = [
  /^dist\//,
  /^src\/(?!.*\.test\.ts$)/,
  /^README\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE$/,
  /^package\.json$/,
]
const out = mkdtempSync(join(tmpdir(), 'vellab-pack-'))
let bad = 0
for (const dir of readdirSync('packages')) {
  const pkg = JSON.parse(readFileSync(join('packages', dir, 'package.json'), 'utf8'))
  if (pkg.private) continue
  execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: join('packages', dir), stdio: 'ignore' })
  const tgz = readdirSync(out).find((f) => f.endsWith('.tgz') && f.includes(dir))
  const files = execFileSync('tar', ['tzf', join(out, tgz)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''))
    .filter((f) => !f.endsWith('/'))
  const stray = files.filter((f) => !allowed.some((re) => re.test(f)))
  const hasDist = files.some((f) => f.startsWith('dist/'))
  console.log(
    `${pkg.name}: ${files.length} files${stray.length ? `, unexpected: ${stray.join(', ')}` : ''}${hasDist ? '' : ', NO dist/'}`,
  )
  if (stray.length || !hasDist) bad += 1
}
rmSync(out, { recursive: true, force: true })
process.exit(bad ? 1 : 0)
