import type { RunReport } from './report'

const won = new Intl.NumberFormat('en-US')

/** Align rows of cells into columns: the first left-aligned, the rest right-aligned (numbers) or left (text). */
function table(rows: readonly (readonly string[])[], text = false, indent = '  '): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === 0 || text ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
  )
}

/**
 * The main job's report as a person reads it: what was traded, what the broker refused, what the
 * adapter had to wait for, and the checks against the simulator's ledger, with ✓ or ✗ each.
 */
export function formatSummary(report: RunReport): string {
  const { stats, adapter } = report
  const lines: string[] = ['', 'Session summary', '']
  const states = Object.entries(report.ordersByState).sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
  const orderCount = states.reduce((n, [, c]) => n + (c ?? 0), 0)
  lines.push(`Orders (${orderCount}) by final state`)
  lines.push(...table(states.length ? states.map(([s, c]) => [s, String(c)]) : [['none', '0']]))
  lines.push('')
  lines.push('Trading')
  const riskRejects = Object.values(stats.riskRejects).reduce((n, c) => n + c, 0)
  lines.push(
    ...table([
      ['decisions / intents', `${stats.decisions} / ${stats.intents}`],
      ['orders sent / acked', `${stats.sent} / ${stats.acked}`],
      ['cancels sent', String(stats.cancelsSent)],
      ['fills / shares', `${report.fills} / ${report.filledShares}`],
      ['notional (KRW)', won.format(report.notional)],
      ['unknown outcomes', String(stats.unknownOutcomes)],
      ['risk rejects', String(riskRejects)],
      ['stopped by the phase', String(Object.values(stats.phaseStops).reduce((n, c) => n + c, 0))],
      ['broker rejects', String(stats.brokerRejects)],
    ]),
  )
  const codes = Object.entries({ ...stats.riskRejects, ...stats.phaseStops, ...adapter.rejectsByCode })
  if (codes.length) {
    lines.push('', 'Rejects by code')
    lines.push(...table(codes.sort(([, a], [, b]) => b - a).map(([code, n]) => [code, String(n)])))
  }
  lines.push('', 'Broker connection')
  lines.push(
    ...table([
      [
        'rate-limit waits',
        adapter.limiterWaits
          ? `${adapter.limiterWaits} (total ${adapter.limiterWaitMsTotal} ms, max ${adapter.limiterWaitMsMax} ms)`
          : '0',
      ],
      ['rate-limited answers', String(stats.rateLimited)],
      ['WebSocket reconnects', String(adapter.reconnects)],
      ['stream gaps / stale streams', `${adapter.streamGaps} / ${adapter.staleStreams}`],
      ['broker events applied / failed', `${stats.eventsApplied} / ${stats.eventErrors}`],
    ]),
  )
  lines.push('', 'Checks against the broker')
  lines.push(
    ...table(
      report.checks.map((c) => [`${c.ok ? '✓' : '✗'} ${c.name}`, c.detail]),
      true,
    ),
  )
  if (report.drift.length) {
    lines.push('', 'Drift (local vs broker)')
    lines.push(
      ...table(
        report.drift.map((d) => [d.intentId, d.brokerOrderId, d.local, d.broker]),
        true,
      ),
    )
  }
  const failed = report.checks.filter((c) => !c.ok).length
  lines.push('', failed ? `${failed} check(s) FAILED` : `all ${report.checks.length} checks passed`, '')
  return lines.join('\n')
}
