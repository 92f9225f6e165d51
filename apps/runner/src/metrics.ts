import type { KisEvent } from '@vellab/broker-kis'
import type { ExecutionEvent } from '@vellab/execution'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Where the scrape-time gauges read from (the order store and the kill-switch board). */
export interface MetricSources {
  ordersByState(): Promise<Partial<Record<string, number>>>
  killSwitches(): readonly { scope: string; key: string }[]
  /** Orders sent and risk refusals by code so far (the session's counters). */
  session(): { sent: number; riskRejects: Record<string, number> }
  /** Reconciliation tickets still open. */
  openTickets?(): Promise<number>
  /** The strategy's parent orders still working, with shares filled and remaining. */
  parents?(): Promise<{ active: number; filled: number; remaining: number }>
}

/**
 * The runner's Prometheus metrics. Counters and histograms are fed from the adapter's events and
 * the session; gauges are read at scrape time. Label values are codes, states and scopes, never a
 * secret (events reach here already redacted by the adapter).
 */
export class RunnerMetrics {
  readonly registry = new Registry()
  readonly reconcileBreaks = new Counter({
    name: 'vellab_reconcile_breaks_total',
    help: 'Breaks reconciliation found, by resolution (auto_resolved, ticketed, pending)',
    labelNames: ['resolution'],
    registers: [this.registry],
  })
  readonly ackLatency = new Histogram({
    name: 'vellab_order_ack_latency_seconds',
    help: 'Time from sending an order to the broker answering it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })
  readonly brokerRejects = new Counter({
    name: 'vellab_broker_rejects_total',
    help: 'Requests the broker refused, by its code',
    labelNames: ['code'],
    registers: [this.registry],
  })
  readonly limiterWaits = new Histogram({
    name: 'vellab_limiter_wait_seconds',
    help: 'How long requests waited for a rate-limit slot',
    labelNames: ['limiter', 'lane'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [this.registry],
  })
  readonly reconnects = new Counter({
    name: 'vellab_ws_reconnects_total',
    help: 'WebSocket reconnects the adapter scheduled',
    registers: [this.registry],
  })
  readonly streamGaps = new Counter({
    name: 'vellab_stream_gaps_total',
    help: 'Stream gaps (a window in which notices or ticks may have been missed)',
    registers: [this.registry],
  })
  readonly staleAge = new Gauge({
    name: 'vellab_stale_stream_silent_seconds',
    help: 'Silence of the last stream reported stale, by stream',
    labelNames: ['stream'],
    registers: [this.registry],
  })

  readonly parentsSubmitted = new Counter({
    name: 'vellab_parents_submitted_total',
    help: 'Parent orders the strategy submitted to the execution engine',
    registers: [this.registry],
  })
  readonly parentStates = new Counter({
    name: 'vellab_parent_state_changes_total',
    help: 'Parent order state changes, by the state entered (active, paused, canceling, completed, canceled, expired, stopped)',
    labelNames: ['state'],
    registers: [this.registry],
  })
  readonly childrenBlocked = new Counter({
    name: 'vellab_children_blocked_total',
    help: 'Child orders the execution engine held back, by what held them (risk, guard, price, quote, session)',
    labelNames: ['by'],
    registers: [this.registry],
  })

  constructor(sources: MetricSources) {
    // Counters owned by the session, copied at scrape time.
    new Counter({
      name: 'vellab_orders_sent_total',
      help: 'Orders sent to the broker (each intent at most once)',
      registers: [this.registry],
      collect() {
        this.reset()
        this.inc(sources.session().sent)
      },
    })
    new Counter({
      name: 'vellab_risk_rejects_total',
      help: 'Orders the pre-trade risk check refused, by reason code',
      labelNames: ['code'],
      registers: [this.registry],
      collect() {
        this.reset()
        for (const [code, n] of Object.entries(sources.session().riskRejects)) this.inc({ code }, n)
      },
    })
    new Gauge({
      name: 'vellab_orders',
      help: 'Orders of this runner by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset()
        for (const [state, n] of Object.entries(await sources.ordersByState())) this.set({ state }, n ?? 0)
      },
    })
    new Gauge({
      name: 'vellab_reconcile_open_tickets',
      help: 'Reconciliation tickets not resolved yet (breaks a person must look at)',
      registers: [this.registry],
      async collect() {
        this.set((await sources.openTickets?.()) ?? 0)
      },
    })
    new Gauge({
      name: 'vellab_parent_progress_shares',
      help: 'Shares of the working parent orders, filled and remaining; parents: how many are working',
      labelNames: ['of'],
      registers: [this.registry],
      async collect() {
        const p = await sources.parents?.()
        this.reset()
        if (!p) return
        this.set({ of: 'parents' }, p.active)
        this.set({ of: 'filled' }, p.filled)
        this.set({ of: 'remaining' }, p.remaining)
      },
    })
    new Gauge({
      name: 'vellab_kill_switch_engaged',
      help: 'Engaged kill switches (1 per scope and key)',
      labelNames: ['scope', 'key'],
      registers: [this.registry],
      collect() {
        this.reset()
        for (const k of sources.killSwitches()) this.set({ scope: k.scope, key: k.key }, 1)
      },
    })
  }

  /** Count one adapter event. */
  onAdapterEvent(e: KisEvent): void {
    switch (e.type) {
      case 'rest.request':
        if (e.method === 'POST' && e.path.endsWith('/order-cash') && e.outcome === 'ok')
          this.ackLatency.observe(e.latencyMs / 1000)
        break
      case 'rest.reject':
        this.brokerRejects.inc({ code: e.code })
        break
      case 'limiter.wait':
        this.limiterWaits.observe({ limiter: e.limiter, lane: e.lane }, e.waitedMs / 1000)
        break
      case 'ws.reconnect_scheduled':
        this.reconnects.inc()
        break
      case 'ws.gap':
        this.streamGaps.inc()
        break
      case 'ws.stale':
        this.staleAge.set({ stream: e.stream }, e.silentMs / 1000)
        break
      default:
        break
    }
  }

  /** Count one execution-engine event (parent progress). */
  onExecutionEvent(e: ExecutionEvent): void {
    if (e.type === 'parent.submitted') this.parentsSubmitted.inc()
    else if (e.type === 'parent.state') this.parentStates.inc({ state: e.state })
    else if (e.type === 'child.blocked') this.childrenBlocked.inc({ by: e.by })
  }
}
