import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Clock, Quote, Tick } from '@vellab/broker-gateway'
import type { ExecutionEvent, ParentOrderInput, ParentView } from '@vellab/execution'

/**
 * What a strategy asks for: a parent order of `@vellab/execution` without the account and the
 * strategy id (the runner fills both in). `parentId` is optional (one is made up per run);
 * `startAt` defaults to now.
 */
export type StrategyParent = Omit<ParentOrderInput, 'account' | 'strategyId' | 'parentId' | 'startAt'> & {
  parentId?: string
  startAt?: number
}

/**
 * What a strategy sees and may do. Market data in (quotes refreshed every decision round, trade
 * prints if the strategy has `onTick`), parent orders out. Every child of a parent goes the whole
 * order path (pre-trade risk, the rollout phase's caps, the duplicate guard, the reconcile barrier,
 * write-ahead, one send), so a strategy can neither skip a check nor send anything twice.
 */
export interface StrategyContext {
  /** The strategy's id, carried by every order (risk limits, phase approval, kill switch by strategy). */
  readonly strategyId: string
  readonly account: string
  /** The symbols of the configuration (`VELLAB_SYMBOLS`). */
  readonly symbols: readonly string[]
  /** Shares per order of the configuration (`VELLAB_ORDER_QUANTITY`), for simple strategies. */
  readonly quantity: number
  /** Parameters from the configuration (`strategyParams` / `VELLAB_STRATEGY_PARAMS`), as given. */
  readonly params: Readonly<Record<string, unknown>>
  /** Exchange time: what sessions, quote ages and deadlines are measured in. */
  readonly clock: Clock
  /** The broker's quote of this round, if it could be read. */
  quote(symbol: string): Quote | undefined
  /** Shares the broker says the account may sell now (this round's balance). */
  sellable(symbol: string): number
  /** Accept a parent order (idempotent by `parentId`); the runner slices and sends its children. */
  submit(parent: StrategyParent): Promise<ParentView>
  /** Cancel a parent: no new child, working children canceled. */
  cancel(parentId: string): Promise<ParentView>
  /** This strategy's parents that are not finished, with their progress. */
  active(): Promise<ParentView[]>
  /** A line in the runner's log, prefixed with the strategy's id. */
  log(line: string): void
}

/**
 * A strategy: user code the runner calls. Only `id` and `onDecision` are required. A method that
 * throws is logged and counted (`strategyErrors` in the report); the session goes on.
 */
export interface Strategy {
  /** Letters, digits, dot, dash, underscore; at most 32 characters. */
  readonly id: string
  /** Every decision round (`VELLAB_DECISION_INTERVAL_MS`), after quotes and balances were read. */
  onDecision(ctx: StrategyContext): void | Promise<void>
  /** Each trade print of the symbols (KIS H0STCNT0). Declaring it subscribes the runner to them. */
  onTick?(tick: Tick, ctx: StrategyContext): void
  /** What happens to its parents and their children. */
  onExecutionEvent?(event: ExecutionEvent, ctx: StrategyContext): void
  /** The session is stopping: no new parent is accepted after this. */
  onStop?(ctx: StrategyContext): void | Promise<void>
}

/** What a strategy module's factory is given. */
export interface StrategyInit {
  symbols: readonly string[]
  quantity: number
  params: Readonly<Record<string, unknown>>
}

/**
 * A strategy module: an ES module whose default export (or `createStrategy` export) is a
 * `StrategyFactory`. Name it in `VELLAB_STRATEGY` (a path, relative to the working directory, or a
 * `file:` URL); `demo-quoter` is the built-in example.
 */
export type StrategyFactory = (init: StrategyInit) => Strategy | Promise<Strategy>

/** A strategy module that cannot be used, with what is wrong. */
export class StrategyLoadError extends Error {
  override readonly name = 'StrategyLoadError'
}

const STRATEGY_ID = /^[A-Za-z0-9._-]{1,32}$/

/** Check what a factory returned: a clear error instead of a failure at the first decision. */
export function validateStrategy(value: unknown, from: string): Strategy {
  const s = value as Partial<Strategy> | null
  if (typeof s !== 'object' || s === null)
    throw new StrategyLoadError(`${from}: the factory returned no object`)
  if (typeof s.id !== 'string' || !STRATEGY_ID.test(s.id)) {
    throw new StrategyLoadError(
      `${from}: id must be 1-32 letters, digits, dots, dashes or underscores, got ${JSON.stringify(s.id)}`,
    )
  }
  if (typeof s.onDecision !== 'function') throw new StrategyLoadError(`${from}: onDecision is not a function`)
  for (const k of ['onTick', 'onExecutionEvent', 'onStop'] as const) {
    if (s[k] !== undefined && typeof s[k] !== 'function')
      throw new StrategyLoadError(`${from}: ${k} is not a function`)
  }
  return s as Strategy
}

/**
 * Load the strategy named in the configuration: `demo-quoter` (built in) or a module path or
 * `file:` URL. The module's default export (or its `createStrategy`) is called with `init`.
 */
export async function loadStrategy(
  spec: string,
  init: StrategyInit,
  builtIns: Readonly<Record<string, StrategyFactory>>,
  cwd: string = process.cwd(),
): Promise<Strategy> {
  const builtIn = builtIns[spec]
  if (builtIn) return validateStrategy(await builtIn(init), `strategy ${spec}`)
  const url = spec.startsWith('file:') ? spec : pathToFileURL(resolve(cwd, spec)).href
  let mod: { default?: unknown; createStrategy?: unknown }
  try {
    mod = (await import(url)) as typeof mod
  } catch (cause) {
    throw new StrategyLoadError(
      `strategy module ${spec} could not be loaded: ${(cause as Error).message} (built in: ${Object.keys(builtIns).join(', ')})`,
      { cause },
    )
  }
  const factory = typeof mod.default === 'function' ? mod.default : mod.createStrategy
  if (typeof factory !== 'function') {
    throw new StrategyLoadError(
      `strategy module ${spec} exports no factory: export default (init) => strategy, or export createStrategy`,
    )
  }
  let strategy: unknown
  try {
    strategy = await (factory as StrategyFactory)(init)
  } catch (cause) {
    throw new StrategyLoadError(`strategy module ${spec}: its factory threw: ${(cause as Error).message}`, {
      cause,
    })
  }
  return validateStrategy(strategy, `strategy module ${spec}`)
}
