import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ORDER_EVENT_TYPES } from './events'
import { ORDER_STATES } from './states'
import { GENERATED_DOC_MARKERS, renderTransitionTable, spliceTransitionDocs } from './transition-doc'
import { TRANSITION_TABLE } from './transition-table'

describe('generated transition docs', () => {
  it('README.md holds the table generated from TRANSITION_TABLE (run `pnpm gen:docs` when this fails)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    expect(readme).toContain(GENERATED_DOC_MARKERS.start)
    expect(spliceTransitionDocs(readme)).toBe(readme)
  })

  it('renders one row per state and one column per event, straight from the data', () => {
    const md = renderTransitionTable()
    const rows = md.split('\n').filter((l) => l.startsWith('| **'))
    expect(rows).toHaveLength(ORDER_STATES.length)
    for (const row of rows) expect(row.split(' | ')).toHaveLength(ORDER_EVENT_TYPES.length + 1)
    expect(rows[0]).toContain('| **INTENT_CREATED** | **SUBMITTED** |')
  })

  it('changes when the table changes, so a stale README cannot pass', () => {
    const edited = {
      ...TRANSITION_TABLE,
      ACKED: { ...TRANSITION_TABLE.ACKED, expired: { kind: 'illegal' as const } },
    }
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    expect(spliceTransitionDocs(readme, edited)).not.toBe(readme)
  })
})
