import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RunnerMetrics } from './metrics'

// The Grafana dashboard shipped with the runner may only chart what /metrics exports.
describe('grafana/vellab-runner.json', () => {
  it('is a dashboard whose every query names a metric the runner exports, with labels it has', async () => {
    const dash = JSON.parse(
      readFileSync(new URL('../grafana/vellab-runner.json', import.meta.url), 'utf8'),
    ) as {
      uid: string
      panels: { title: string; targets: { expr: string }[] }[]
    }
    expect(dash.uid).toBe('vellab-runner')
    const metrics = new RunnerMetrics({
      ordersByState: async () => ({ ACKED: 1 }),
      killSwitches: () => [],
      session: () => ({ sent: 0, riskRejects: {} }),
    })
    const labels = new Map<string, Set<string>>()
    for (const m of metrics.registry.getMetricsAsArray()) {
      const { name, labelNames } = m as unknown as { name: string; labelNames?: string[] }
      labels.set(name, new Set(labelNames ?? []))
    }
    const text = await metrics.registry.metrics()
    for (const p of dash.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0)
      for (const t of p.targets) {
        const used = [...t.expr.matchAll(/vellab_[a-z_]+/g)].map((m) =>
          m[0].replace(/_(bucket|sum|count)$/, ''),
        )
        expect(used.length, t.expr).toBeGreaterThan(0)
        for (const name of used) expect(text, `${p.title}: ${name}`).toContain(`# TYPE ${name} `)
        for (const [, by] of t.expr.matchAll(/by \(([^)]*)\)/g)) {
          for (const label of by!.split(',').map((s) => s.trim())) {
            if (label === 'le') continue
            const known = used.flatMap((n) => [...(labels.get(n) ?? [])])
            expect(known, `${p.title}: label ${label}`).toContain(label)
          }
        }
      }
    }
  })
})
