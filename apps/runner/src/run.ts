import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { type BrokerCapabilities, systemClock } from '@vellab/broker-gateway'
import {
  createKisGateway,
  fetchKisStockMaster,
  type KisMasterRecord,
  kstCompactDate,
  PostgresListingStore,
  PostgresTokenStore,
} from '@vellab/broker-kis'
import { AppKeyLease, LeaseLostError, leaseKeyOf, readLeases } from '@vellab/lease'
import { createOrderStore, isConnectionError, ORDER_STATES, OrderFsmError } from '@vellab/order-fsm'
import { createReconciler, ReconcileError, type Reconciler } from '@vellab/reconcile'
import { createRiskGateway, KillSwitchBoard, PostgresKillSwitchStore, RiskState } from '@vellab/risk-kr'
import { sql } from 'kysely'
import { type BrokerSide, connectBroker } from './broker'
import { profileEnv, type RunnerConfig, realModeRefusal } from './config'
import type { RunnerDatabase } from './database'
import { migrate, openDatabase } from './database'
import { createDemoQuoter } from './demo-quoter'
import { startOperatorHttp } from './http'
import { AppkeyLiveness, livenessCheck } from './liveness'
import { RunnerMetrics } from './metrics'
import { enterPhase, PhaseGate } from './phase'
import { emptyTelemetry, type RunReport, recordAdapterEvent, summarize } from './report'
import { untilAnswered } from './retry'
import { TradingSession } from './session'
import { DatabaseUnavailableError, LeaseLostStopError, stopCause } from './stop-cause'
import { loadStrategy } from './strategy'

export { DatabaseUnavailableError, LeaseLostStopError } from './stop-cause'

/** A stop signal arrived while this process stood by for the lease: it never led and sent nothing. */
export class StoppedAsStandbyError extends Error {
  override readonly name = 'StoppedAsStandbyError'
  constructor() {
    super('stopped while standing by for the appkey lease: this process never led and sent nothing')
  }
}

/** Whether an error means this process may no longer act for the appkey. */
export function isLeaseLost(err: unknown): boolean {
  return (
    err instanceof LeaseLostError ||
    (OrderFsmError.isInstance(err) && err.code === 'fenced') ||
    ReconcileError.isCode(err, 'fenced')
  )
}

/** The database is gone, said by the error itself or by its cause (a wrapped driver error). */
function isOutage(err: unknown): boolean {
  const cause = (err as Error | undefined)?.cause
  return isDatabaseGone(err) || (cause !== undefined && isDatabaseGone(cause))
}

/** Whether an error means the database is gone (the store's typed error, or a driver error). */
export function isDatabaseGone(err: unknown): boolean {
  return (OrderFsmError.isInstance(err) && err.code === 'store_unavailable') || isConnectionError(err)
}

export interface RunOptions {
  log: (line: string) => void
  /** Guards the kill-switch endpoints (see `loadOperatorToken`). */
  operatorToken?: string
  /** Told the operator HTTP server's URL once it listens. */
  onHttp?: (url: string) => void
  /** Told the in-process simulator's apps once it is up (tests scan output for their secrets). */
  onSimulator?: (apps: readonly { appkey: string; appsecret: string }[]) => void
  /** Told every secret value the session learns (app key and secret), so logs can scrub them. */
  secret?: (value: string) => void
  /** Where `KIS_*` credentials and URLs are read from in `paper` mode. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Aborting stops the session gracefully (drain, then report). */
  signal?: AbortSignal
}

/**
 * One runner session in `sim` mode (or `paper`, see `connectBroker`): database (embedded or URL)
 * and migrations, the broker (by default the in-process KIS simulator), the KIS adapter, order store recovery, kill switches and risk, then the strategy until
 * `runSeconds` pass or `signal` aborts; then drain and report.
 */
export async function run(config: RunnerConfig, options: RunOptions): Promise<RunReport> {
  const { log } = options
  const refusal = realModeRefusal(config)
  if (refusal) throw new Error(refusal)
  if (config.rehearsalSimUrl && config.mode === 'sim') {
    throw new Error('VELLAB_REHEARSAL_SIM applies to VELLAB_MODE=paper or real only')
  }
  if (config.accounts.length > 0 && config.mode === 'sim') {
    throw new Error(
      'VELLAB_ACCOUNTS (sharding across account profiles) applies to VELLAB_MODE=paper or real: the in-process simulator has one account',
    )
  }
  // User code first: a strategy module that cannot be loaded fails the start in its first second.
  const strategy = await loadStrategy(
    config.strategy,
    { symbols: config.symbols, quantity: config.orderQuantity, params: config.strategyParams },
    { 'demo-quoter': createDemoQuoter },
  )
  const STRATEGY = strategy.id
  log(`strategy ${STRATEGY}${config.strategy === STRATEGY ? ' (built in)' : ` from ${config.strategy}`}`)
  const database = await openDatabase({
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.dataDir ? { dataDir: config.dataDir } : {}),
    log,
  })
  const cleanups: (() => Promise<void>)[] = [() => database.close()]
  let classifyFailure: ((err: unknown) => Promise<unknown>) | undefined
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => log(`cleanup: ${(e as Error).message}`))
  }
  try {
    const applied = await migrate(database.db, { maxRewriteRows: config.migrateMaxRewriteRows }).catch(
      (err: unknown) => {
        // A database that is down at start is an outage (exit 3, the supervisor retries), not a bug.
        throw isOutage(err) ? new DatabaseUnavailableError((err as Error).cause ?? err) : err
      },
    )
    log(
      `database ready (${database.kind}); ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`,
    )

    // The accounts this runner may lead: one, or with `accounts` (sharding) one per profile, each
    // on its own appkey. A standby for several takes whichever falls free first.
    const env = options.env ?? process.env
    const candidates: BrokerSide[] = []
    for (const profile of config.accounts.length ? config.accounts : [undefined]) {
      const side = await connectBroker(
        config,
        log,
        options.onSimulator,
        profile ? profileEnv(env, profile) : env,
      ).catch((err: unknown) => {
        throw profile
          ? new Error(`account profile ${profile}: ${(err as Error).message}`, { cause: err })
          : err
      })
      options.secret?.(side.kisConfig.appKey)
      options.secret?.(side.kisConfig.appSecret)
      cleanups.push(() => side.close())
      const twin = candidates.findIndex((c) => c.appkey === side.appkey)
      if (twin >= 0) {
        throw new Error(
          `account profiles ${config.accounts[twin]} and ${profile} use the same appkey: one appkey is one lease, one WebSocket session and one rate budget, so it can lead only one account profile`,
        )
      }
      candidates.push(side)
    }
    // Symbol reference data from the day's master files (reference/krx-market-rules.md §9): a
    // symbol without it is refused by risk (SYMBOL_UNKNOWN), and a file that cannot be read stops
    // the start rather than trading on guesses. Loaded before the lease, so a standby takes over
    // with it warm (every profile's broker serves the same files).
    const loadMaster = async (side: BrokerSide) => {
      const map = new Map<string, KisMasterRecord>()
      for (const market of ['KOSPI', 'KOSDAQ'] as const) {
        const url = side.masterUrl(market)
        const records = await fetchKisStockMaster(market, { url }).catch((cause: unknown) => {
          throw new Error(
            `could not load the ${market} master file from ${url}; not trading without reference data`,
            { cause },
          )
        })
        for (const r of records) map.set(r.symbol, r)
      }
      return { master: map, day: kstCompactDate(side.clock.now()) }
    }
    let { master, day: masterDay } = await loadMaster(candidates[0]!)
    if (config.mode === 'real') {
      const unconfirmed = candidates.map((c) => c.account).filter((a) => !config.realConfirm.includes(a))
      if (unconfirmed.length) {
        throw new Error(
          `mode real: VELLAB_REAL_CONFIRM does not name ${unconfirmed.join(', ')}; name every account this runner may trade with real money`,
        )
      }
      log(`REAL MONEY: accounts ${candidates.map((c) => c.account).join(', ')}, phase ${config.phase}`)
    }
    // One active runner per appkey: a standby waits here (migrations done, broker reachable) and
    // takes over when the leader dies or falls silent past the TTL. Everything after this line —
    // the WebSocket session, the token, the rate budget, every write — belongs to the leader.
    const keys = candidates.map((c) => leaseKeyOf(c.appkey))
    const shown = keys.length === 1 ? `lease ${keys[0]}` : `any of leases ${keys.join(', ')}`
    let lastWaitLog = 0
    let leaseLost: string | undefined
    let leaseKey = keys[0]!
    const acquiring = AppKeyLease.acquireAny({
      connectionString: database.url,
      keys,
      holder: `${hostname()}:${process.pid}`,
      ttlMs: config.leaseTtlMs,
      ...(options.signal ? { signal: options.signal } : {}),
      onWait: (w) => {
        if (Date.now() - lastWaitLog < 5_000) return
        lastWaitLog = Date.now()
        log(
          w.error
            ? `standby: the database is unreachable (${w.error}); still waiting for ${shown}`
            : `standby: lease ${w.key} held by ${w.holder ?? '?'} (epoch ${w.epoch}, heartbeat ${w.heartbeatAgeMs === null ? '?' : Math.round(w.heartbeatAgeMs)} ms ago); waiting`,
        )
      },
      onLost: (reason) => {
        // Our own release at shutdown is not a loss.
        if (reason === 'released') return void log(`lease ${leaseKey} released`)
        leaseLost = reason
        log(`lease lost: ${reason}`)
      },
    })
    const lease = await acquiring.catch((err: unknown) => {
      if (options.signal?.aborted) throw new StoppedAsStandbyError()
      throw err
    })
    cleanups.push(() => lease.release())
    leaseKey = lease.key
    const broker = candidates[keys.indexOf(lease.key)]!
    log(
      `lease ${lease.key} acquired: epoch ${lease.epoch}${candidates.length > 1 ? `; leading account ${broker.account} (profile ${config.accounts[keys.indexOf(lease.key)]})` : ''}`,
    )
    // Why trading must stop (the database gone, or the lease taken), asked on a new connection.
    const stopFor = (kind: 'lease' | 'outage', reason: string, cause?: unknown) =>
      stopCause({ url: database.url, lease, kind, reason, cause, log })
    // From here on, a failure anywhere in setup (the notice stream, recovery, the barrier) that is
    // really the lease or the database going away stops the same way as one in the trading loop.
    classifyFailure = async (err: unknown) => {
      if (err instanceof DatabaseUnavailableError || err instanceof LeaseLostStopError) return err
      if (isLeaseLost(err) || leaseLost) return stopFor('lease', leaseLost ?? (err as Error).message, err)
      if (isOutage(err)) return stopFor('outage', (err as Error).message, err)
      return err
    }
    // What the broker's ledger already holds (a rehearsal's simulator outlives runner processes):
    // the checks count only what this session sent.
    const ledgerAtStart = await broker.ledger()
    const { account, clock, environment } = broker
    const telemetry = emptyTelemetry()
    let reconcilerRef: Reconciler | undefined
    let session: TradingSession | undefined
    let board: KillSwitchBoard | undefined
    let noticesAreLive = false
    const metrics = new RunnerMetrics({
      ordersByState: async () => {
        const out: Record<string, number> = {}
        for (const o of await store.listByState(ORDER_STATES, { account, limit: 100_000 }))
          out[o.state] = (out[o.state] ?? 0) + 1
        return out
      },
      killSwitches: () => board?.list() ?? [],
      session: () => session?.stats ?? { sent: 0, riskRejects: {} },
      parents: async () => {
        const views = session ? await session.engine.list({ active: true }) : []
        return {
          active: views.length,
          filled: views.reduce((n, v) => n + v.progress.filled, 0),
          remaining: views.reduce((n, v) => n + v.progress.remaining, 0),
        }
      },
      openTickets: async () =>
        reconcilerRef
          ? (await reconcilerRef.tickets.list({ account, state: ['open', 'acknowledged'] })).length
          : 0,
    })
    // The appkey's service period and inactivity deactivation, checked monthly on real days (a
    // rehearsal's clock is the simulator's morning). Not tracked for the simulator's own appkey.
    const liveness =
      config.mode === 'sim'
        ? undefined
        : new AppkeyLiveness({
            db: database.db,
            servicePeriodDays: config.kisServicePeriodDays,
            inactivityDays: config.kisInactivityDays,
            warnDays: config.kisLivenessWarnDays,
            onError: (e) => log(`appkey liveness: use not recorded (${e.message})`),
          })
    if (liveness) {
      // With several profiles one date cannot be right for every appkey: set it per profile later.
      if (config.accounts.length <= 1) await liveness.configure(lease.key, config.kisServiceStartedOn)
      const stopLiveness = liveness.startMonthly({
        clock: systemClock,
        leaseKey: lease.key,
        onResult: (a) => log(`appkey liveness ${a.level}: ${a.messages.join('; ')}`),
      })
      cleanups.push(async () => stopLiveness())
    }
    const gateway = createKisGateway({
      config: broker.kisConfig,
      clock,
      // Shared with every runner of the deployment: a standby that takes over reuses the token.
      tokenStore: new PostgresTokenStore(database.pool),
      // Today's listing too: a standby that takes over lists the day incrementally at once.
      listingStore: new PostgresListingStore(database.pool),
      // Not one REST request (and so none of the appkey's rate budget) once the lease may be lost.
      beforeRequest: () => lease.assertFresh(),
      onEvent: (e) => {
        // A use keeps the appkey from going dormant; a token reused from the store is not one.
        if (
          (e.type === 'token.acquired' && e.source === 'broker') ||
          (e.type === 'rest.request' && e.outcome === 'ok')
        )
          liveness?.noteUse(lease.key, systemClock.now())
        recordAdapterEvent(telemetry, e)
        metrics.onAdapterEvent(e)
        if (
          process.env.VELLAB_DEBUG ||
          e.type === 'rest.reject' ||
          e.type === 'ws.gap' ||
          e.type === 'ws.stale' ||
          e.type === 'listing.store'
        )
          log(`kis     ${e.type} ${JSON.stringify(e)}`)
      },
    })
    cleanups.push(() => gateway.close())
    const cannot = describeLimits(gateway.capabilities)
    const environmentDetail = `${environment} (${broker.where})${cannot.length ? `: cannot ${cannot.join(', cannot ')}` : ': answers every query'}`
    log(`environment ${environmentDetail}`)
    if (cannot.length) {
      log(
        'environment: the adapter refuses those queries rather than answer "none", and reports notices it could not catch up as stream gaps',
      )
    }

    // Every order write carries the lease epoch: once another runner took over, this one's writes
    // are refused in their own statement. The pool under `db`: the hot writes go out as named
    // prepared statements (planned once per connection).
    const store = createOrderStore({
      db: database.db,
      pool: database.pool,
      clock,
      actor: 'runner',
      fence: () => lease.fence(),
    })
    const phase = await enterPhase(database.db, {
      phase: config.phase,
      caps: config.caps,
      mode: config.mode,
      strategyId: STRATEGY,
      approvedStrategies: config.approvedStrategies,
      actor: 'runner:config',
      at: Date.now(),
    })
    log(
      `phase ${config.phase}${phase.changed ? ` (changed from ${phase.previous ?? 'none'}; audited)` : ''}${
        config.phase === 'pilot' || config.phase === 'ramp' ? ` caps ${JSON.stringify(config.caps)}` : ''
      }`,
    )
    const gate = new PhaseGate(config.phase, config.caps)
    const reconciler = createReconciler<RunnerDatabase>({
      db: database.db,
      store,
      broker: gateway,
      accounts: [account],
      clock,
      actor: 'runner:reconcile',
      // Its runs, breaks and tickets carry the lease epoch too: a fenced pass rejects (lease lost).
      fence: () => lease.fence(),
      reportingDelayMs: config.reconcileReportingDelayMs,
      intervalMs: config.reconcileIntervalMs,
      onEvent: (e) => {
        if (e.type === 'run_finished') {
          // What the pass settled in the store, risk learns too (its open orders and numbers).
          void session
            ?.syncRiskWithStore()
            .then((n) => n && log(`risk: ${n} open order(s) brought in line with the order store`))
            .catch((err: unknown) =>
              log(`risk: could not sync with the order store: ${(err as Error).message}`),
            )
          metrics.reconcileBreaks.inc({ resolution: 'auto_resolved' }, e.breaksResolved)
          metrics.reconcileBreaks.inc({ resolution: 'ticketed' }, e.ticketsOpened)
        }
        if (e.type === 'run_finished' && (e.breaksFound > 0 || e.status !== 'clean'))
          log(
            `reconcile ${e.status}: ${e.breaksFound} breaks, ${e.breaksResolved} resolved, ${e.ticketsOpened} tickets`,
          )
        else if (e.type === 'ticket_opened' || e.type === 'alarm')
          log(`reconcile ${e.type} ${JSON.stringify(e)}`)
      },
    })
    cleanups.push(() => reconciler.stop())
    reconcilerRef = reconciler
    // A gap in what the streams told (reconnect, re-subscription, a notice catch-up the environment
    // cannot do): the barrier closes and new orders wait for the next pass.
    gateway.onStreamGap((reason) => {
      log(`stream gap: ${reason}; new orders wait for reconciliation`)
      reconciler.invalidate(account, reason)
    })
    const recovery = await store.recover({ actor: 'runner:startup' })
    log(`order store recovered: ${JSON.stringify(recovery)}`)

    board = new KillSwitchBoard({
      store: new PostgresKillSwitchStore(database.db),
      clock,
      onEvent: (e) => log(`kill-switch ${e.type}`),
    })
    const loadedBoard = board
    cleanups.push(async () => loadedBoard.close())
    await board.load()
    const http = await startOperatorHttp({
      port: config.httpPort,
      metrics,
      board,
      ...(options.operatorToken ? { operatorToken: options.operatorToken } : {}),
      log,
      readiness: async () => {
        const db = await sql`select 1 as one`.execute(database.db).then(
          () => ({ ok: true, detail: 'reachable' }),
          (e: Error) => ({ ok: false, detail: e.message }),
        )
        const checks = {
          database: db,
          environment: { ok: true, detail: environmentDetail },
          'execution notices': {
            ok: noticesAreLive,
            detail: noticesAreLive ? 'subscribed' : 'not subscribed yet',
          },
          reconciliation: reconcilerRef
            ? (() => {
                const b = reconcilerRef.barrierState(account)
                return {
                  ok: b.open,
                  detail: `${b.open ? 'barrier open' : 'barrier closed'} (${b.status})${b.reasons.length ? `: ${b.reasons.join('; ')}` : ''}`,
                }
              })()
            : { ok: false, detail: 'not started' },
          'appkey lease': lease.held
            ? { ok: true, detail: `leads ${lease.key} (account ${account}) at epoch ${lease.epoch}` }
            : { ok: false, detail: `lost: ${lease.lostReason ?? 'unknown'}` },
          'appkey liveness': liveness
            ? livenessCheck(liveness.current(lease.key, systemClock.now()))
            : { ok: true, detail: 'the simulator’s appkey: not tracked' },
          'kill switches': {
            ok: loadedBoard.list().length === 0,
            detail: loadedBoard.list().length ? `${loadedBoard.list().length} engaged` : 'none engaged',
          },
        }
        const leases = await readLeases(database.pool).then(
          (rows) => rows.map((r) => ({ ...r, mine: r.key === lease.key && r.epoch === lease.epoch })),
          () => undefined,
        )
        return { ok: Object.values(checks).every((c) => c.ok), checks, ...(leases ? { leases } : {}) }
      },
    })
    cleanups.push(() => http.close())
    log(`operator HTTP on ${http.url} (dashboard /, /healthz, /readyz, /metrics, /kill-switches)`)
    options.onHttp?.(http.url)
    const risk = createRiskGateway({
      strategies: { [STRATEGY]: { sessions: ['regular'], entryCutoffMs: 60_000 } },
      limits: {
        strategies: { [STRATEGY]: { maxOrderQuantity: 100, maxOrdersPerMinute: config.maxOrdersPerMinute } },
      },
    })
    const riskState = new RiskState({ killSwitches: board, guards: risk.options.guards })
    riskState.upsertAccount({
      account,
      paper: environment === 'paper',
      beneficialOwner: 'demo',
      holderType: 'individual',
      nsdsReady: false,
    })
    // Reference data loaded while standing by is still today's? Else load it again now.
    if (masterDay !== kstCompactDate(clock.now())) ({ master, day: masterDay } = await loadMaster(broker))
    const missing = config.symbols.filter((s) => !master.has(s))
    log(
      `reference data: ${master.size} symbols from the master files` +
        (missing.length ? `; not listed (orders refused): ${missing.join(', ')}` : ''),
    )
    for (const symbol of config.symbols) {
      const r = master.get(symbol)
      if (!r) continue
      riskState.upsertSymbol({
        symbol,
        kind: r.kind === 'other' ? 'stock' : r.kind,
        market: r.market,
        basePrice: r.basePrice,
        liquidation: r.liquidation,
        // As the file states it (KIS labels the KOSDAQ column in thousands, UNVERIFIED): read as
        // shares, the exchange size limit can only come out stricter.
        listedShares: r.listedShares,
        marketCap: r.marketCap100m * 100_000_000,
        lotSize: r.lotSize,
        offHoursLotSize: r.offHoursLotSize,
        // NXT eligibility is not in these files; the runner routes to KRX only.
        nxtEligible: false,
      })
    }
    riskState.setPositions(
      account,
      await untilAnswered('positions at start', () => gateway.getPositions(account), {
        log,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    )

    session = new TradingSession({
      gateway,
      store,
      db: database.db,
      risk,
      riskState,
      account,
      strategy,
      symbols: config.symbols,
      quantity: config.orderQuantity,
      params: config.strategyParams,
      clock,
      runId: `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`,
      log,
      gate,
      barrier: () => reconciler.barrier(account),
      guard: (intent) => reconciler.guard.check(intent),
      beforeSend: () => lease.assertFresh(),
      // Parents and children carry the lease epoch like every order write.
      fence: () => lease.fence(),
      isFatal: (err) => isLeaseLost(err) || isOutage(err) || err instanceof LeaseLostStopError,
      onExecutionEvent: (e) => {
        metrics.onExecutionEvent(e)
        // Its parent waits for reconciliation to say whether the broker has the order: a pass once
        // the broker's listing can show it, not at the next periodic one.
        if (e.type === 'child.unknown_outcome') reconciler.soon(account)
      },
      quoteRefreshMs: config.quoteRefreshMs,
      positionsRefreshMs: config.positionsRefreshMs,
      quoteSource: config.quoteSource,
      quoteStateRefreshMs: config.quoteStateRefreshMs,
      // A print's tick: the symbol's band at that price, from the tables risk checks orders with.
      tickSize: (symbol, price) => riskState.tickSize(symbol, price, clock.now()),
    })
    await session.start()
    const abandoned = await session.abandonUnsent('never sent: a previous process stopped before claiming it')
    if (abandoned)
      log(`order store: ${abandoned} intent(s) never sent by a previous process, canceled locally`)
    // Execution notices are not replayed by KIS: trade only once the notice subscription is live.
    await gateway.whenOrderEventsLive(config.noticesTimeoutMs).catch((cause: unknown) => {
      throw new Error(
        `the execution-notice stream did not come up within ${config.noticesTimeoutMs / 1000} s; not trading blind` +
          (lease.epoch > 1
            ? ' (after a takeover KIS may still hold the old leader’s WebSocket session: raise VELLAB_NOTICES_TIMEOUT_MS)'
            : ''),
        { cause },
      )
    })
    noticesAreLive = true
    // Startup: migrate → recover → reconcile barrier → trade.
    const barrier = await reconciler.barrier(account)
    log(
      `reconcile barrier open (${barrier.status})${barrier.reasons.length ? `: ${barrier.reasons.join('; ')}` : ''}`,
    )
    log('execution notices live: trading')
    // Periodic passes while trading: drift nobody reported (a lost answer, a notice the broker
    // never sent) is found within `reconcileIntervalMs`, not at the next gap or the close (the
    // chaos soak's drift MTTR tail was exactly that). A failed background pass is an alarm.
    reconciler.start()

    const deadline = config.runSeconds > 0 ? Date.now() + config.runSeconds * 1_000 : Number.POSITIVE_INFINITY
    while (!options.signal?.aborted && Date.now() < deadline) {
      if (leaseLost) throw await stopFor('lease', leaseLost)
      // A failure here that is the lease or the database going away is classified below.
      await session.decide()
      await new Promise((r) => setTimeout(r, config.decisionIntervalMs))
    }
    if (leaseLost) throw await stopFor('lease', leaseLost)
    await session.drain()
    await new Promise((r) => setTimeout(r, 1_000)) // let the cancel notices arrive
    await session.stop()
    // The closing pass: what reconciliation says of the day's books after the drain.
    const closing = await reconciler.run(account, 'on_demand')

    const report = await summarize({
      store,
      gateway,
      account,
      strategyId: STRATEGY,
      stats: session.stats,
      adapter: telemetry,
      ledger: await broker.ledger(),
      ...(ledgerAtStart ? { ledgerAtStart } : {}),
      appkey: broker.appkey,
      // Where the environment cannot list orders, a simulator's own books are the broker's side
      // (in-process, or a rehearsal's kis-sim process); against KIS the check says it cannot run.
      ...(gateway.capabilities.listOrders || !broker.books ? {} : { brokerOrders: broker.books }),
      reconciliation: {
        status: closing.status,
        breaks: closing.findings.length,
        autoResolved: closing.findings.filter((f) => f.resolution === 'auto_resolved').length,
        ticketed: closing.findings.filter((f) => f.resolution === 'ticketed').length,
        limits: closing.limits,
      },
    })
    return report
  } catch (err) {
    throw classifyFailure ? await classifyFailure(err) : err
  } finally {
    await cleanup()
  }
}

/** What an environment cannot answer, in words. */
function describeLimits(c: BrokerCapabilities): string[] {
  return [
    ...(c.listOrders ? [] : ["list today's orders"]),
    ...(c.listFills ? [] : ['list fills']),
    ...(c.positions ? [] : ['report positions']),
    ...(c.cash ? [] : ['report cash']),
  ]
}
