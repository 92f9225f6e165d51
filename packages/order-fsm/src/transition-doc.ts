import { ORDER_EVENT_TYPES } from './events'
import { ORDER_STATES, type OrderState } from './states'
import { TRANSITION_TABLE, type TransitionRule, type TransitionTable } from './transition-table'

function cell(rule: TransitionRule): string {
  switch (rule.kind) {
    case 'to':
      return `**${rule.to}**`
    case 'working':
      return 'working'
    case 'fill':
      return rule.partial === 'stay' ? 'fill: same / **FILLED**' : 'fill: **PARTIAL_FILLED** / **FILLED**'
    case 'absorb_fill':
      return 'repeat: ignore; new: ✗ alarm'
    case 'end':
      return `end: **${rule.to}** / ${rule.short === 'shrink' ? 'shrink' : `short: **${rule.to}**`}`
    case 'revert':
      return rule.then === 'working' ? 'revert: working' : 'revert: same'
    case 'stay':
      return 'same (logged)'
    case 'ignore':
      return 'ignore'
    case 'illegal':
      return '✗'
  }
}

/** The transition table as a markdown matrix, with a legend and every cell's note. */
export function renderTransitionTable(table: TransitionTable = TRANSITION_TABLE): string {
  const lines: string[] = []
  lines.push(`| state \\ event | ${ORDER_EVENT_TYPES.map((e) => `\`${e}\``).join(' | ')} |`)
  lines.push(`|---|${ORDER_EVENT_TYPES.map(() => '---').join('|')}|`)
  for (const s of ORDER_STATES) {
    lines.push(`| **${s}** | ${ORDER_EVENT_TYPES.map((e) => cell(table[s][e])).join(' | ')} |`)
  }
  lines.push('')
  lines.push(
    'Legend: **STATE** moves there; `working` moves to ACKED when nothing is filled, else PARTIAL_FILLED;',
  )
  lines.push(
    '`fill` advances the cumulative quantity (FILLED when complete, a repeated level is ignored, an older one re-prices the gap it belongs to);',
  )
  lines.push(
    'from CANCEL_PENDING it returns to REPLACE_PENDING when the refused cancel had overtaken a replace',
  )
  lines.push('that is still unanswered;')
  lines.push(
    "`end` is a `canceled`/`expired` under one of the order's numbers: under a number already replaced it",
  )
  lines.push(
    'closes that number only; under the number the order works under it moves to **STATE** when it covers all',
  )
  lines.push(
    'the order has working, and when it covers fewer shares either `shrink`s the order (same state, fewer',
  )
  lines.push(
    'shares) or still moves to **STATE** (`short: STATE`: the rest are fills in flight); while a replace is',
  )
  lines.push('unanswered a short one always shrinks; a repeat is ignored;')
  lines.push(
    '`revert` is a replace the exchange refused after numbering it: that number closes as refused and the order',
  )
  lines.push(
    'goes back to the number (and quantity, price) it replaced, then `working` or `same` state; FILLED when the',
  )
  lines.push(
    'fills cover the restored quantity, CANCELED/EXPIRED when the restored number was ended whole meanwhile;',
  )
  lines.push(
    '`same (logged)` keeps the state and appends the event; `ignore` absorbs it without a log entry;',
  )
  lines.push('✗ refuses it with a `TransitionError` and the order does not change.')
  lines.push('')
  lines.push('Notes:')
  lines.push('')
  for (const s of ORDER_STATES) {
    for (const e of ORDER_EVENT_TYPES) {
      const rule = table[s][e]
      if ('note' in rule && rule.note) {
        lines.push(`- ${s} × \`${e}\`: ${rule.note}`)
      }
    }
  }
  return lines.join('\n')
}

// States in which an order has certainly filled nothing, or certainly something.
const NEVER_FILLED: ReadonlySet<OrderState> = new Set(['INTENT_CREATED', 'SUBMITTED', 'ACKED'])
const ALWAYS_FILLED: ReadonlySet<OrderState> = new Set(['PARTIAL_FILLED', 'FILLED'])
const TERMINAL_FOR_DOC: ReadonlySet<OrderState> = new Set(['FILLED', 'REJECTED', 'CANCELED', 'EXPIRED'])

/** The state diagram (mermaid `stateDiagram-v2`): every edge that changes state, labelled by event. */
export function renderStateDiagram(table: TransitionTable = TRANSITION_TABLE): string {
  const edges = new Map<string, Set<string>>()
  const add = (from: OrderState, to: OrderState, label: string) => {
    if (from === to) return
    const key = `${from} --> ${to}`
    const set = edges.get(key) ?? new Set<string>()
    set.add(label)
    edges.set(key, set)
  }
  for (const s of ORDER_STATES) {
    for (const e of ORDER_EVENT_TYPES) {
      const rule = table[s][e]
      if (rule.kind === 'to' || rule.kind === 'end') add(s, rule.to, e)
      if (rule.kind === 'working') {
        // Only the working state the source can actually lead to: fills never shrink.
        if (!ALWAYS_FILLED.has(s)) add(s, 'ACKED', e)
        if (!NEVER_FILLED.has(s)) add(s, 'PARTIAL_FILLED', e)
        // A refused cancel that had overtaken an unanswered replace (see `transition`).
        if (s === 'CANCEL_PENDING' && e === 'cancel_rejected') add(s, 'REPLACE_PENDING', e)
      }
      if (rule.kind === 'revert' && !TERMINAL_FOR_DOC.has(s)) {
        if (rule.then === 'working') {
          if (!ALWAYS_FILLED.has(s)) add(s, 'ACKED', e)
          if (!NEVER_FILLED.has(s)) add(s, 'PARTIAL_FILLED', e)
        }
        // The restored number was ended meanwhile, or the fills cover the restored quantity.
        for (const to of ['FILLED', 'CANCELED', 'EXPIRED'] as const) add(s, to, e)
      }
      if (rule.kind === 'fill') {
        if (rule.partial === 'PARTIAL_FILLED') add(s, 'PARTIAL_FILLED', e)
        add(s, 'FILLED', e)
      }
    }
  }
  const lines = ['```mermaid', 'stateDiagram-v2', '  [*] --> INTENT_CREATED: createIntent']
  for (const [key, labels] of edges) lines.push(`  ${key}: ${[...labels].join(', ')}`)
  for (const s of ['FILLED', 'REJECTED', 'CANCELED', 'EXPIRED'] as const) lines.push(`  ${s} --> [*]`)
  lines.push('```')
  return lines.join('\n')
}

/** Markers between which the README holds the generated section. */
export const GENERATED_DOC_MARKERS = {
  start:
    '<!-- transitions:start (generated by `pnpm gen:docs` from src/transition-table.ts; do not edit) -->',
  end: '<!-- transitions:end -->',
} as const

/** The generated README section: diagram and table. */
export function renderTransitionDocs(table: TransitionTable = TRANSITION_TABLE): string {
  return [
    GENERATED_DOC_MARKERS.start,
    '',
    '### State diagram',
    '',
    renderStateDiagram(table),
    '',
    '### Transition table',
    '',
    renderTransitionTable(table),
    '',
    GENERATED_DOC_MARKERS.end,
  ].join('\n')
}

/** Replace the generated section of `readme` (between the markers) with a fresh one. */
export function spliceTransitionDocs(readme: string, table: TransitionTable = TRANSITION_TABLE): string {
  const start = readme.indexOf(GENERATED_DOC_MARKERS.start)
  const end = readme.indexOf(GENERATED_DOC_MARKERS.end)
  if (start < 0 || end < start)
    throw new Error('README has no generated transitions section (markers missing)')
  return (
    readme.slice(0, start) +
    renderTransitionDocs(table) +
    readme.slice(end + GENERATED_DOC_MARKERS.end.length)
  )
}
