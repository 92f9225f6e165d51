// Extracts every ```ts block of every package README into generated/<package>/<n>.ts, one module
// each, plus generated/manifest.json. A block preceded by
//   <!-- example: typecheck-only (why) -->
// is type-checked but not run (it needs a KIS account, or it is a test file).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')

/** @returns {{ pkg: string, index: number, line: number, run: boolean, reason: string, file: string }[]} */
export function extractExamples(outDir = join(here, 'generated')) {
  rmSync(outDir, { recursive: true, force: true })
  const examples = []
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    let text
    try {
      text = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8')
    } catch {
      continue
    }
    const lines = text.split('\n')
    let index = 0
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== '```ts') continue
      const start = i
      const body = []
      for (i++; i < lines.length && lines[i].trim() !== '```'; i++) body.push(lines[i])
      // The marker is the nearest non-blank line above the fence.
      let j = start - 1
      while (j >= 0 && lines[j].trim() === '') j--
      const marker = j >= 0 ? lines[j].trim() : ''
      const m = /^<!--\s*example:\s*typecheck-only\s*\((.*)\)\s*-->$/.exec(marker)
      index++
      const file = join(outDir, dir, `example-${String(index).padStart(2, '0')}.ts`)
      mkdirSync(dirname(file), { recursive: true })
      // `export {}` makes each block a module of its own (top-level await, no shared names).
      writeFileSync(file, `// packages/${dir}/README.md line ${start + 1}\n${body.join('\n')}\nexport {}\n`)
      examples.push({ pkg: dir, index, line: start + 1, run: !m, reason: m ? m[1] : '', file })
    }
  }
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(examples, null, 2)}\n`)
  return examples
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const examples = extractExamples()
  console.log(`${examples.length} README examples extracted (${examples.filter((e) => e.run).length} to run)`)
}
