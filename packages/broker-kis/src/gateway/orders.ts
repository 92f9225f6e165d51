import type {
  BrokerAck,
  CancelAck,
  OrderIntentInput,
  OrderRef,
  Quote,
  ReplaceAck,
  ReplacePatch,
} from '@vellab/broker-gateway'
import {
  BrokerError,
  notSupportedInEnvironment,
  OrderIntentSchema,
  parseOrThrow,
  ReplacePatchSchema,
} from '@vellab/broker-gateway'
import { OrderOutputSchema } from '../envelope'
import { kstCompactDate } from '../kst'
import { mapOrderIntent } from '../order-mapping'
import type { KisReplaceAck, ReplaceLeftover } from '../replace-ack'
import { normaliseOrderNo } from '../ws/decoders'
import {
  accountFields,
  checkAccount,
  type GatewayContext,
  type KnownOrder,
  kstToday,
  orderNumber,
} from './context'
import type { KisQueries } from './queries'

// reference §5: divisions that carry no price (ORD_UNPR "0"); a reprice makes them limit orders.
const PRICELESS_ORD_DVSN: ReadonlySet<string> = new Set([
  '01',
  '03',
  '04',
  '05',
  '06',
  '13',
  '14',
  '15',
  '16',
])

/** Orders, cancels and modifies (reference §4.1, §4.2), with the price check and what was placed today. */
export class KisOrders {
  readonly #ctx: GatewayContext
  readonly #queries: KisQueries
  readonly #known = new Map<string, KnownOrder>()
  #knownDay = ''
  readonly #checkQuotes = new Map<string, { quote: Quote; at: number }>()

  constructor(ctx: GatewayContext, queries: KisQueries) {
    this.#ctx = ctx
    this.#queries = queries
  }

  /**
   * Orders this process placed today. KIS numbers orders afresh every KST day, so what was known
   * about yesterday's number must never be used for today's order with the same number.
   */
  #knownToday(): Map<string, KnownOrder> {
    const day = kstToday(this.#ctx)
    if (day !== this.#knownDay) {
      this.#known.clear()
      this.#knownDay = day
    }
    return this.#known
  }

  /** See `config.priceCheck`. Throws `invalid_request` before anything is sent. */
  async #checkPrice(symbol: string, price: number, operation: string): Promise<void> {
    if (this.#ctx.config.priceCheck !== 'quote') return
    const now = this.#ctx.clock.now()
    let cached = this.#checkQuotes.get(symbol)
    if (
      !cached ||
      now - cached.at > this.#ctx.config.priceCheckQuoteMaxAgeMs ||
      kstCompactDate(cached.at) !== kstCompactDate(now)
    ) {
      cached = { quote: await this.#queries.getQuote(symbol), at: now }
      this.#checkQuotes.set(symbol, cached)
    }
    const q = cached.quote
    if (price > q.upperLimit || price < q.lowerLimit) {
      throw new BrokerError(
        'invalid_request',
        `limit price ${price} is outside today's limits for ${symbol} (${q.lowerLimit}–${q.upperLimit})`,
        { operation },
      )
    }
    if (krxPriceBand(price) === krxPriceBand(q.lastPrice) && price % q.tickSize !== 0) {
      throw new BrokerError(
        'invalid_request',
        `limit price ${price} is not on the ${q.tickSize}-KRW tick grid of ${symbol}`,
        { operation },
      )
    }
  }

  async placeOrder(input: OrderIntentInput): Promise<BrokerAck> {
    const intent = parseOrThrow(OrderIntentSchema, input, { operation: 'placeOrder' })
    checkAccount(this.#ctx, intent.account, 'placeOrder')
    const fields = mapOrderIntent(intent, this.#ctx.config.environment)
    if (intent.limitPrice !== undefined)
      await this.#checkPrice(intent.symbol, intent.limitPrice, 'placeOrder')
    const res = await this.#ctx.rest.call({
      op: intent.side === 'buy' ? 'order-cash-buy' : 'order-cash-sell',
      lane: 'order',
      operation: 'placeOrder',
      body: { ...accountFields(this.#ctx), PDNO: intent.symbol, ...fields },
    })
    const out = this.#orderOutput(res.body, 'placeOrder')
    this.#knownToday().set(out.odno, {
      branch: out.branch,
      ordDvsn: fields.ORD_DVSN,
      venue: fields.EXCG_ID_DVSN_CD,
      symbol: intent.symbol,
      price: intent.limitPrice ?? 0,
      conditionPrice: fields.CNDT_PRIC ? Number(fields.CNDT_PRIC) : 0,
    })
    return { intentId: intent.intentId, brokerOrderId: out.odno, acceptedAt: this.#ctx.clock.now() }
  }

  #orderOutput(body: Record<string, unknown>, operation: string): { odno: string; branch: string } {
    try {
      const o = this.#ctx.rest.parse(OrderOutputSchema, body.output, operation)
      return { odno: normaliseOrderNo(o.ODNO), branch: o.KRX_FWDG_ORD_ORGNO }
    } catch (e) {
      // rt_cd was "0": the broker took the order, we just cannot read its number.
      throw new BrokerError(
        'unknown_outcome',
        'order accepted but the response has no usable ODNO; reconcile',
        {
          operation,
          cause: e,
        },
      )
    }
  }

  /** Branch and division of an order: from our own acks, else from the broker's lists. */
  async #lookup(odno: string, operation: string): Promise<KnownOrder & { remaining: number }> {
    const known = this.#knownToday().get(odno)
    if (!this.#ctx.capabilities.listOrders) {
      // Nothing to look up in this environment (reference §7.10). An order this process placed is
      // modified from what it knows; the broker checks the quantity (a modify beyond what is left is
      // refused, 40430000), so an unknown remainder is sent as a partial modify.
      if (known) return { ...known, remaining: Number.POSITIVE_INFINITY }
      throw notSupportedInEnvironment(
        operation,
        `order ${odno} was not placed by this process and this environment cannot list orders to look it up`,
      )
    }
    const open = (await this.#queries.openRows('cancel', operation)).find((o) => o.odno === odno)
    if (!open) {
      throw new BrokerError('rejected', `order ${odno} has nothing left to modify or cancel`, { operation })
    }
    return {
      branch: known?.branch || open.branch,
      ordDvsn: known?.ordDvsn ?? open.ordDvsn,
      venue: known?.venue ?? (this.#ctx.config.environment === 'paper' ? 'KRX' : open.venue || 'KRX'),
      symbol: open.symbol,
      price: open.price,
      conditionPrice: known?.conditionPrice || open.conditionPrice,
      remaining: open.remaining,
    }
  }

  async cancelOrder(brokerOrderId: string, ref?: OrderRef): Promise<CancelAck> {
    if (ref?.account) checkAccount(this.#ctx, ref.account, 'cancelOrder')
    const odno = orderNumber(brokerOrderId, 'cancelOrder')
    const known = this.#knownToday().get(odno)
    // A known order is cancelled straight away (no lookup on the kill-switch path); the broker
    // refuses if nothing is left. Unknown orders (after a restart) are looked up first.
    const info = known ?? (await this.#lookup(odno, 'cancelOrder'))
    // reference §4.2 + §9: cancel = RVSE_CNCL_DVSN_CD 02, QTY_ALL_ORD_YN Y, ORD_QTY "0", ORD_UNPR "0".
    const res = await this.#ctx.rest.call({
      op: 'order-rvsecncl',
      lane: 'cancel',
      operation: 'cancelOrder',
      body: {
        ...accountFields(this.#ctx),
        KRX_FWDG_ORD_ORGNO: info.branch,
        ORGN_ODNO: odno,
        ORD_DVSN: info.ordDvsn || '00',
        RVSE_CNCL_DVSN_CD: '02',
        ORD_QTY: '0',
        ORD_UNPR: '0',
        QTY_ALL_ORD_YN: 'Y',
        EXCG_ID_DVSN_CD: info.venue || 'KRX',
      },
    })
    const out = this.#orderOutput(res.body, 'cancelOrder')
    return { brokerOrderId: odno, cancelRequestId: out.odno, acceptedAt: this.#ctx.clock.now() }
  }

  /**
   * Replace a resting order (reference §4.2). The replacement always gets a new ODNO.
   *
   * - Without a smaller `quantity`: one modify of the whole remainder (RVSE_CNCL_DVSN_CD 01,
   *   QTY_ALL_ORD_YN Y). A priceless division (market, best/top-priority limit…) becomes a limit
   *   order (00) when repriced, since only a priced division carries ORD_UNPR.
   * - With a smaller `quantity` q: a modify of q shares (QTY_ALL_ORD_YN N, ORD_QTY q) creates the
   *   replacement, then the original's rest is cancelled (02, Y). A partial modify alone is not a
   *   reduction: on KRX it moves only ORD_QTY shares under the new number and leaves the rest
   *   working under the original, so without the cancel the exposure would not shrink. Should the
   *   cancel fail, the total working quantity is still what it was before the replace, never more.
   *
   * Once the modify is accepted this resolves with the ack, whatever happens to the cancel of the
   * rest; `leftover` says what did (see {@link ReplaceLeftover}). Rejects only when the modify
   * itself failed (then nothing changed, or `unknown_outcome`).
   */
  async replaceOrder(
    brokerOrderId: string,
    patchInput: ReplacePatch,
    ref?: OrderRef,
  ): Promise<KisReplaceAck> {
    if (ref?.account) checkAccount(this.#ctx, ref.account, 'replaceOrder')
    const patch = parseOrThrow(ReplacePatchSchema, patchInput, { operation: 'replaceOrder' })
    const odno = orderNumber(brokerOrderId, 'replaceOrder')
    const info = await this.#lookup(odno, 'replaceOrder')
    if (patch.quantity !== undefined && patch.quantity > info.remaining) {
      throw new BrokerError(
        'invalid_request',
        `quantity ${patch.quantity} exceeds the remaining ${info.remaining}`,
        { operation: 'replaceOrder' },
      )
    }
    if (patch.limitPrice !== undefined) await this.#checkPrice(info.symbol, patch.limitPrice, 'replaceOrder')
    const price = patch.limitPrice ?? info.price
    const ordDvsn =
      !info.ordDvsn || (patch.limitPrice !== undefined && PRICELESS_ORD_DVSN.has(info.ordDvsn))
        ? '00'
        : info.ordDvsn
    const priceless = PRICELESS_ORD_DVSN.has(ordDvsn)
    if (!priceless && !(price > 0)) {
      throw new BrokerError('invalid_request', 'replace needs a limitPrice for an unpriced order', {
        operation: 'replaceOrder',
      })
    }
    // A stop-limit (22) modified as 22 carries its condition price again (reference §4.2 CNDT_PRIC);
    // sent without it, KIS may refuse the modify or drop the stop, so an unknown one is refused here.
    const conditionPrice = ordDvsn === '22' ? (info.conditionPrice ?? 0) : 0
    if (ordDvsn === '22' && !(conditionPrice > 0)) {
      throw new BrokerError(
        'invalid_request',
        `order ${odno} is a stop-limit whose condition price is not known here: a modify would drop it; cancel it and place a new order`,
        { operation: 'replaceOrder' },
      )
    }
    const partial = patch.quantity !== undefined && patch.quantity < info.remaining
    const common = {
      ...accountFields(this.#ctx),
      KRX_FWDG_ORD_ORGNO: info.branch,
      ORGN_ODNO: odno,
      EXCG_ID_DVSN_CD: info.venue || 'KRX',
    }
    const res = await this.#ctx.rest.call({
      op: 'order-rvsecncl',
      lane: 'order',
      operation: 'replaceOrder',
      body: {
        ...common,
        ORD_DVSN: ordDvsn,
        RVSE_CNCL_DVSN_CD: '01',
        ORD_QTY: partial ? String(patch.quantity) : '0',
        ORD_UNPR: priceless ? '0' : String(price),
        QTY_ALL_ORD_YN: partial ? 'N' : 'Y',
        ...(conditionPrice > 0 ? { CNDT_PRIC: String(conditionPrice) } : {}),
      },
    })
    const out = this.#orderOutput(res.body, 'replaceOrder')
    this.#knownToday().set(out.odno, {
      ...info,
      ordDvsn,
      branch: out.branch || info.branch,
      price: priceless ? 0 : price,
    })
    const ack: ReplaceAck = {
      brokerOrderId: odno,
      newBrokerOrderId: out.odno,
      acceptedAt: this.#ctx.clock.now(),
    }
    if (!partial) return ack
    // Why a failed cancel of the rest still resolves with the ack, and not with a BrokerError:
    // the modify was accepted, so the new number is live and a caller that keeps the order in a
    // durable store must record the replace; the ack is what every caller records on success. A
    // thrown error is read as the outcome of the replace itself: `rejected` would be recorded as a
    // refused replace while the new number works (its fills then land on an order that does not
    // know it), and `rate_limited`/`unavailable` mean "nothing happened, safe to retry" by contract,
    // so a retry would modify another q shares off the rest into a second new number, more than the
    // caller ever asked for. A caller that overlooks `leftover` is left with the rest still working
    // under the original number, which its store already owns (fills there are still applied), and
    // never with more working shares than before the replace. `leftover` is always set on a
    // reducing replace, and a `replace.leftover` event reports a failure to telemetry as well.
    const leftover = await this.#cancelLeftover(odno, info, common, out.odno, patch.quantity ?? 0)
    this.#ctx.emit({
      type: 'replace.leftover',
      outcome: leftover.status,
      brokerOrderId: odno,
      newBrokerOrderId: out.odno,
      ...(leftover.status === 'cancel_failed'
        ? { kind: leftover.error.kind, message: leftover.error.message }
        : {}),
    })
    return { ...ack, leftover }
  }

  /** Cancel (02, QTY_ALL_ORD_YN Y) what a partial modify left under the original (reference §4.2). */
  async #cancelLeftover(
    odno: string,
    info: KnownOrder,
    common: Record<string, string>,
    newOdno: string,
    quantity: number,
  ): Promise<ReplaceLeftover> {
    try {
      const res = await this.#ctx.rest.call({
        op: 'order-rvsecncl',
        lane: 'cancel',
        operation: 'replaceOrder',
        body: {
          ...common,
          ORD_DVSN: info.ordDvsn || '00',
          RVSE_CNCL_DVSN_CD: '02',
          ORD_QTY: '0',
          ORD_UNPR: '0',
          QTY_ALL_ORD_YN: 'Y',
        },
      })
      const out = this.#orderOutput(res.body, 'replaceOrder')
      return { status: 'canceled', brokerOrderId: odno, cancelRequestId: out.odno }
    } catch (e) {
      const cause = BrokerError.isInstance(e)
        ? e
        : new BrokerError('unknown_outcome', e instanceof Error ? e.message : String(e), {
            operation: 'replaceOrder',
            cause: e,
          })
      // Say what did happen: the replacement exists; the original's rest may still be working.
      const error = new BrokerError(
        cause.kind,
        `replacement ${newOdno} holds ${quantity} shares, but cancelling the rest of ${odno} failed; cancel it: ${cause.message}`,
        {
          operation: 'replaceOrder',
          cause,
          ...(cause.brokerCode ? { brokerCode: cause.brokerCode } : {}),
          ...(cause.httpStatus ? { httpStatus: cause.httpStatus } : {}),
          ...(cause.retryAfterMs !== undefined ? { retryAfterMs: cause.retryAfterMs } : {}),
        },
      )
      return { status: 'cancel_failed', brokerOrderId: odno, error }
    }
  }
}

/**
 * The KRX stock price band a price falls in (tick table effective 2023-01-25,
 * reference/krx-market-rules.md §3.1): within one band the tick size does not change.
 */
function krxPriceBand(price: number): number {
  const edges = [2_000, 5_000, 20_000, 50_000, 200_000, 500_000]
  const i = edges.findIndex((e) => price < e)
  return i === -1 ? edges.length : i
}
