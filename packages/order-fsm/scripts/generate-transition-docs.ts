// Regenerates the transition table and state diagram in README.md from src/transition-table.ts.
// `pnpm gen:docs`; `pnpm gen:docs --check` exits 1 when the README is out of date.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { spliceTransitionDocs } from '../src/transition-doc'

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url))
const current = readFileSync(readmePath, 'utf8')
const next = spliceTransitionDocs(current)
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error('README.md transition docs are out of date: run `pnpm gen:docs` in packages/order-fsm')
    process.exit(1)
  }
  console.log('README.md transition docs are up to date')
} else if (next !== current) {
  writeFileSync(readmePath, next)
  console.log('README.md transition docs regenerated')
} else {
  console.log('README.md transition docs already up to date')
}
