#!/usr/bin/env node
// Sum vitest JSON reports into the plain closing line CI reads: "N passed, N failed[, N skipped]".
// A missing or unreadable report counts as one failure, so a crashed run can never look green.
import { readFileSync } from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0
for (const file of process.argv.slice(2)) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'))
    passed += r.numPassedTests ?? 0
    failed += (r.numFailedTests ?? 0) + (r.success === false && !r.numFailedTests ? 1 : 0)
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  } catch {
    console.error(`test-summary: no readable report at ${file}`)
    failed += 1
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
