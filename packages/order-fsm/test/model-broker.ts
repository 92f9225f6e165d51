import { type BrokerOrderEvent, OrderIntentSchema } from '@vellab/broker-gateway'
import type { OrderStore } from '../src'
import { T0 } from './helpers'

// A small model broker for the delivery-order confluence property (issue #19). It plays a correct
// KIS-like history in real time: our commands (submit, cancel, price modify, their REST answers,
// an unknown outcome and reconciliation's verdict, restarts) and the broker's reports (acks,
// cumulative fills under each number, broker-side partial cancels, our cancel's confirmation or its
// refusal when a fill won, expiries of day/IOC/FOK/market orders), for several orders on two days.

const DAY = 86_400_000

/** A deterministic random source (mulberry32) so a seed names a history. */
export class Rng {
  #s: number
  constructor(seed: number) {
    this.#s = seed >>> 0
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0
    let t = this.#s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!
  }
}

/** A broker report before the model stamps its id, account and (by default) time. */
type ReportInput = BrokerOrderEvent extends infer E
  ? E extends BrokerOrderEvent
    ? Omit<E, 'eventId' | 'account' | 'at'> & { at?: number }
    : never
  : never

/** One step of a history: a call of ours (in a fixed order) or a broker report (deliverable late). */
export type Step =
  | {
      kind: 'command'
      label: string
      at?: number
      busy?: boolean
      run: (store: OrderStore) => Promise<unknown>
    }
  | { kind: 'report'; label: string; busy?: boolean; event: BrokerOrderEvent }

export interface ModelOrder {
  intentId: string
  /** The history contains a broker-side partial cancel or a partial expiry: the documented
   * FILLED-vs-CANCELED ambiguity may apply. */
  unrequestedEnd: boolean
}

export interface History {
  account: string
  steps: Step[]
  orders: ModelOrder[]
}

/**
 * A correct history of `orders` orders interleaved in real time, with restarts between steps. The
 * same seed gives the same history; `tag` and `account` only rename it, so runs do not collide.
 */
export function modelHistory(seed: number, tag: string, account: string, orders = 3): History {
  const rng = new Rng(seed)
  let nextNumber = 1
  const number = () => String(nextNumber++).padStart(10, '0')
  const scripts = Array.from({ length: orders }, (_, k) =>
    orderScript(rng, `${tag}-${k}`, account, k, number),
  )
  // Interleave the orders' scripts in real time, each kept in its own order.
  const steps: Step[] = []
  const cursors = scripts.map(() => 0)
  const busy = scripts.map(() => false)
  for (;;) {
    const open = scripts.map((_, i) => i).filter((i) => cursors[i]! < scripts[i]!.steps.length)
    if (open.length === 0) break
    const i = rng.pick(open)
    const step = scripts[i]!.steps[cursors[i]!++]!
    steps.push(step)
    busy[i] = step.busy === true
    // A restart only where no request of ours is waiting for its answer: what recover() does to an
    // unanswered request is reconciliation's business, and a real caller sends nothing meanwhile.
    if (!busy.some(Boolean) && rng.chance(0.04))
      steps.push({ kind: 'command', label: 'recover', run: (s) => s.recover() })
  }
  return { account, steps, orders: scripts.map((s) => s.order) }
}

function orderScript(
  rng: Rng,
  tag: string,
  account: string,
  k: number,
  number: () => string,
): { steps: Step[]; order: ModelOrder } {
  const day = rng.int(0, 1)
  let t = T0 + day * DAY + k * 10_000
  const at = () => (t += 100)
  const quantity = rng.int(1, 5)
  const side = rng.pick(['buy', 'sell'] as const)
  const kind = rng.pick(['limit', 'limit', 'limit', 'market', 'ioc', 'fok'] as const)
  const intent = OrderIntentSchema.parse({
    intentId: `cf-${tag}`,
    strategyId: 'confluence',
    symbol: '005930',
    account,
    quantity,
    side,
    orderType: kind === 'market' ? 'market' : 'limit',
    ...(kind === 'market' ? {} : { limitPrice: 71_000 }),
    timeInForce: kind === 'ioc' ? 'ioc' : kind === 'fok' ? 'fok' : 'day',
  })
  const id = intent.intentId
  const steps: Step[] = []
  const order: ModelOrder = { intentId: id, unrequestedEnd: false }
  // `busy`: after this step a request of ours is still waiting for its REST answer.
  const cmd = (label: string, run: (s: OrderStore) => Promise<unknown>, busy = answers.length > 0) =>
    steps.push({ kind: 'command', label: `${id} ${label}`, at: at(), busy, run })
  let reportNo = 0
  const report = (event: ReportInput) =>
    steps.push({
      kind: 'report',
      busy: answers.length > 0,
      label: `${id} ${event.type} ${event.brokerOrderId}`,
      event: { ...event, account, at: event.at ?? at(), eventId: `${id}:${reportNo++}` } as BrokerOrderEvent,
    })
  // REST answers come 0-3 reports after their request; queue them and release as reports are made.
  let answers: { due: number; label: string; run: (s: OrderStore) => Promise<unknown> }[] = []
  const answerLater = (label: string, run: (s: OrderStore) => Promise<unknown>) => {
    answers.push({ due: reportNo + rng.int(0, 3), label, run })
    steps[steps.length - 1]!.busy = true
  }
  const releaseAnswers = (all = false, keepReplace = false) => {
    const due = answers.filter(
      (a) => (all && !(keepReplace && a.label === 'replace ack')) || a.due <= reportNo,
    )
    answers = answers.filter((a) => !due.includes(a))
    due.forEach((a, k) => {
      cmd(a.label, a.run, answers.length > 0 || k < due.length - 1)
    })
  }
  const reportThen = (event: ReportInput) => {
    report(event)
    releaseAnswers()
  }

  cmd('create', (s) => s.createIntent(intent))
  cmd('beginSubmit', (s) => s.beginSubmit(id))
  let n = number()
  const ackAt = at()
  if (rng.chance(0.2)) {
    // The send timed out: the outcome is unknown until reconciliation finds the order.
    cmd('outcome unknown', (s) => s.recordOutcomeUnknown(id, { operation: 'submit', reason: 'timeout' }))
    reportThen({ type: 'accepted', brokerOrderId: n, symbol: intent.symbol, side, quantity, at: ackAt })
    const matched = n
    answerLater('reconcile_matched', (s) =>
      s.apply(id, {
        type: 'reconcile_matched',
        brokerOrderId: matched,
        reason: 'found by fingerprint',
        at: ackAt,
      }),
    )
  } else {
    const acked = n
    answerLater('ack', (s) => s.recordAck({ intentId: id, brokerOrderId: acked, acceptedAt: ackAt }))
    reportThen({ type: 'accepted', brokerOrderId: n, symbol: intent.symbol, side, quantity, at: ackAt })
  }

  let cum = 0 // filled under the current number
  let working = quantity
  let price = kind === 'market' ? 70_000 : 71_000
  const fill = (shares: number) => {
    cum += shares
    working -= shares
    const p = price + rng.int(-3, 3) * 100
    reportThen({
      type: 'filled',
      brokerOrderId: n,
      symbol: intent.symbol,
      side,
      fillQuantity: shares,
      fillPrice: p,
      cumulativeQuantity: cum,
    })
  }

  if (kind !== 'limit') {
    // Immediate orders: market and IOC fill what they can, FOK all or nothing; the rest expires.
    const fills = kind === 'fok' ? (rng.chance(0.5) ? quantity : 0) : rng.int(0, quantity)
    let left = fills
    while (left > 0) {
      const shares = rng.int(1, left)
      fill(shares)
      left -= shares
    }
    if (working > 0) reportThen({ type: 'expired', brokerOrderId: n, expiredQuantity: working })
    releaseAnswers(true)
    return { steps, order }
  }

  let replaced = false
  for (let round = 0; working > 0 && round < 6; round++) {
    const action = rng.pick(['fill', 'fill', 'partial', 'cancel', 'replace', 'expire'] as const)
    // A caller modifies or cancels only an order it knows is at the broker: the submit's answer (or
    // reconciliation's verdict) is recorded first. A cancel may overtake a replace's answer.
    if (action === 'cancel' || action === 'replace') releaseAnswers(true, true)
    if (action === 'fill') {
      fill(rng.int(1, working))
    } else if (action === 'partial' && working > 1) {
      const shares = rng.int(1, working - 1)
      working -= shares
      order.unrequestedEnd = true
      reportThen({ type: 'canceled', brokerOrderId: n, canceledQuantity: shares })
    } else if (action === 'replace' && !replaced) {
      // A price modify (정정): every remaining share moves to a new number at the new price.
      replaced = true
      const newPrice = price - 500
      cmd('requestReplace', (s) => s.requestReplace(id, { limitPrice: newPrice }))
      const from = n
      const to = number()
      const replaceAt = at()
      answerLater('replace ack', (s) =>
        s.recordReplaceAck(id, { brokerOrderId: from, newBrokerOrderId: to, acceptedAt: replaceAt }),
      )
      // Fills may beat the modify under the old number.
      if (rng.chance(0.3) && working > 1) fill(rng.int(1, working - 1))
      reportThen({
        type: 'replaced',
        brokerOrderId: from,
        newBrokerOrderId: to,
        quantity: working,
        limitPrice: newPrice,
        at: replaceAt,
      })
      reportThen({
        type: 'accepted',
        brokerOrderId: to,
        symbol: intent.symbol,
        side,
        quantity: working,
        limitPrice: newPrice,
        predecessorId: from,
      })
      n = to
      cum = 0
      price = newPrice
    } else if (action === 'cancel') {
      cmd('requestCancel', (s) => s.requestCancel(id))
      const target = n
      const c = number()
      const cancelAt = at()
      answerLater('cancel ack', (s) =>
        s.recordCancelAck(id, { brokerOrderId: target, cancelRequestId: c, acceptedAt: cancelAt }),
      )
      // Fills may beat the cancel; when they take everything, the cancel is refused.
      if (rng.chance(0.4)) fill(rng.int(1, working))
      if (working > 0) {
        reportThen({ type: 'canceled', brokerOrderId: target, canceledQuantity: working })
        working = 0
      } else {
        reportThen({ type: 'rejected', brokerOrderId: c, reason: 'nothing left to cancel' })
      }
    } else if (action === 'expire') {
      reportThen({ type: 'expired', brokerOrderId: n, expiredQuantity: working })
      working = 0
    }
  }
  releaseAnswers(true)
  return { steps, order }
}

/**
 * The same history as delivered by a network: our commands in their order, each report no earlier
 * than the command that preceded it in real time, but possibly later, out of order, or twice.
 */
export function deliveryOf(history: readonly Step[], rng: Rng): Step[] {
  const out: Step[] = []
  let held: Step[] = []
  const release = (all: boolean) => {
    const keep: Step[] = []
    for (const s of held) {
      if (all || rng.chance(0.5)) {
        out.push(s)
        if (!all && rng.chance(0.15)) keep.push(s) // delivered again later
      } else keep.push(s)
    }
    held = keep
    if (all) return
    // Shuffle what is still held so that the next release reorders it.
    for (let i = held.length - 1; i > 0; i--) {
      const j = rng.int(0, i)
      ;[held[i], held[j]] = [held[j]!, held[i]!]
    }
  }
  for (const step of history) {
    if (step.kind === 'command') {
      release(false)
      out.push(step)
    } else {
      held.push(step)
      if (rng.chance(0.3)) release(false)
    }
  }
  release(true)
  return out
}
