import { parseKstInstant } from './kst'

/**
 * The host's time and timers. The simulator never touches `Date.now()`/`setTimeout` directly;
 * pass your own (e.g. vitest fake timers) to control even the real-speed clock.
 */
export interface HostTimers {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The default {@link HostTimers}: the process's own clock and timers. */
export const realHostTimers: HostTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

/**
 * How the virtual clock moves:
 * - `real`: one virtual ms per host ms, starting at `start`;
 * - `accelerated`: `speed` virtual ms per host ms;
 * - `manual`: frozen; only {@link SimClock.advance} / {@link SimClock.set} move it.
 */
export type ClockMode = 'real' | 'accelerated' | 'manual'

/** Options of {@link createSimClock}. */
export interface SimClockOptions {
  /** @default 'real' */
  mode?: ClockMode
  /** Virtual start instant (epoch ms, Date, ISO, or naive `YYYY-MM-DD HH:MM:SS` read as KST). @default host now */
  start?: number | string | Date
  /** Virtual ms per host ms in `accelerated` mode. @default 60 */
  speed?: number
  /** @default {@link realHostTimers} */
  host?: HostTimers
}

/** A handle returned by the clock's timer functions. */
export interface SimTimer {
  readonly id: number
}

interface Pending {
  id: number
  due: number
  seq: number
  fn: () => void
  every: number | undefined
}

/**
 * The simulator's virtual KST clock. Timers scheduled on it fire in virtual time: in `manual` mode
 * only when the test advances it, in order, each at its own due instant.
 */
export interface SimClock {
  /** Current virtual time, epoch ms. */
  now(): number
  readonly mode: ClockMode
  /** Virtual ms per host ms (1 in `real`, 0 in `manual`). */
  readonly speed: number
  /** Jumps to an instant (forward or backward); due timers fire. */
  set(instant: number | string | Date): void
  /** Moves forward by `ms`, firing due timers in order at their due instants. */
  advance(ms: number): void
  /** Switches mode/speed, keeping the current virtual time. */
  setMode(mode: ClockMode, speed?: number): void
  setTimeout(fn: () => void, ms: number): SimTimer
  setInterval(fn: () => void, ms: number): SimTimer
  clear(timer: SimTimer | undefined): void
  /** Called with the new time after every set/advance and before each timer fires. */
  onTime(listener: (now: number) => void): () => void
  /** Cancels all timers. */
  dispose(): void
}

/** Creates a virtual clock. See {@link SimClockOptions}. */
export function createSimClock(options: SimClockOptions = {}): SimClock {
  const host = options.host ?? realHostTimers
  let mode: ClockMode = options.mode ?? 'real'
  let speed = mode === 'manual' ? 0 : mode === 'real' ? 1 : (options.speed ?? 60)
  let anchorVirtual = options.start === undefined ? host.now() : parseKstInstant(options.start)
  let anchorHost = host.now()
  const timers = new Map<number, Pending>()
  const listeners = new Set<(now: number) => void>()
  let nextId = 1
  let seq = 0
  let hostHandle: unknown
  let firing = false
  let disposed = false

  const now = (): number => (speed === 0 ? anchorVirtual : anchorVirtual + (host.now() - anchorHost) * speed)

  const rebase = (virtual: number): void => {
    anchorVirtual = virtual
    anchorHost = host.now()
  }

  const earliest = (): Pending | undefined => {
    let best: Pending | undefined
    for (const t of timers.values()) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t
    }
    return best
  }

  const emit = (t: number): void => {
    for (const l of listeners) l(t)
  }

  const fire = (t: Pending): void => {
    if (t.every !== undefined) {
      t.due += Math.max(1, t.every)
      t.seq = seq++
    } else {
      timers.delete(t.id)
    }
    t.fn()
  }

  const arm = (): void => {
    if (hostHandle !== undefined) {
      host.clearTimeout(hostHandle)
      hostHandle = undefined
    }
    if (disposed || speed === 0) return
    const next = earliest()
    if (!next) return
    const delay = Math.min(2_147_483_647, Math.max(0, (next.due - now()) / speed))
    hostHandle = host.setTimeout(() => {
      hostHandle = undefined
      runDue(now())
    }, delay)
  }

  /** Fires every timer due at or before `target` (virtual), in order. */
  const runDue = (target: number): void => {
    if (firing) return
    firing = true
    try {
      for (let guard = 0; guard < 1_000_000; guard++) {
        const next = earliest()
        if (!next || next.due > target) break
        if (speed === 0) rebase(Math.max(anchorVirtual, next.due))
        emit(Math.max(now(), next.due))
        fire(next)
      }
    } finally {
      firing = false
    }
    arm()
  }

  const schedule = (fn: () => void, ms: number, every: number | undefined): SimTimer => {
    const id = nextId++
    timers.set(id, { id, due: now() + Math.max(0, ms), seq: seq++, fn, every })
    if (!firing) arm()
    return { id }
  }

  return {
    now,
    get mode() {
      return mode
    },
    get speed() {
      return speed
    },
    set(instant) {
      const target = parseKstInstant(instant)
      // Moving forward fires the timers due on the way, each at its own instant.
      if (target > now()) runDue(target)
      rebase(target)
      emit(target)
      arm()
    },
    advance(ms) {
      if (ms < 0) throw new RangeError('kis-sim: clock.advance(ms) needs ms >= 0')
      const target = now() + ms
      runDue(target)
      rebase(target)
      emit(target)
      arm()
    },
    setMode(next, nextSpeed) {
      const t = now()
      mode = next
      speed = next === 'manual' ? 0 : next === 'real' ? 1 : (nextSpeed ?? (speed > 0 ? speed : 60))
      rebase(t)
      arm()
    },
    setTimeout: (fn, ms) => schedule(fn, ms, undefined),
    setInterval: (fn, ms) => schedule(fn, ms, ms),
    clear(timer) {
      if (!timer) return
      timers.delete(timer.id)
    },
    onTime(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    dispose() {
      disposed = true
      timers.clear()
      listeners.clear()
      if (hostHandle !== undefined) host.clearTimeout(hostHandle)
      hostHandle = undefined
    },
  }
}
