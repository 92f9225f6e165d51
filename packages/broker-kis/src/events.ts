import type { BrokerErrorKind } from '@vellab/broker-gateway'

/** A request-rate lane. Lower lanes are served first when requests wait for the same slot. */
export type KisLane = 'cancel' | 'order' | 'reconcile' | 'market_data'

/**
 * Everything the adapter reports for metrics and logs. Libraries do not log; the runner maps these
 * events to its logger and metrics. No event ever carries an app key, app secret, token or
 * approval key.
 */
export type KisEvent =
  /** A request waited for a rate-limit slot. `queueDepth` counts requests still waiting after it. */
  | { type: 'limiter.wait'; limiter: string; lane: KisLane; waitedMs: number; queueDepth: number }
  /** One HTTP exchange finished (any status), or failed at the transport. */
  | {
      type: 'rest.request'
      method: 'GET' | 'POST'
      path: string
      trId: string | undefined
      status: number | undefined
      msgCd: string | undefined
      latencyMs: number
      attempt: number
      outcome: 'ok' | 'rejected' | 'http_error' | 'timeout' | 'network_error'
    }
  /** The broker refused a request; `code` is its `msg_cd`/`error_code` (or the HTTP status). */
  | {
      type: 'rest.reject'
      operation: string
      trId: string | undefined
      code: string
      kind: BrokerErrorKind
      httpStatus: number | undefined
    }
  /** A safe-to-retry request will be retried after `delayMs`. */
  | { type: 'rest.retry'; operation: string; attempt: number; delayMs: number; reason: string }
  /** A new access token (or a stored one) is in use. */
  | { type: 'token.acquired'; source: 'broker' | 'store'; expiresAt: number }
  /** The broker (or our own throttle) refused to issue a token now. */
  | { type: 'token.throttled'; retryAfterMs: number }
  /** The current token was dropped (expired or rejected by the broker). */
  | { type: 'token.invalidated'; reason: string }
  | { type: 'approval.acquired' }
  | { type: 'approval.invalidated'; reason: string }
  | { type: 'ws.connecting'; attempt: number }
  | { type: 'ws.open' }
  | { type: 'ws.closed'; code: number; reason: string; clean: boolean }
  | { type: 'ws.reconnect_scheduled'; attempt: number; delayMs: number; reason: string }
  | { type: 'ws.circuit'; state: 'open' | 'half_open' | 'closed'; failuresInWindow: number }
  | { type: 'ws.control'; trId: string | undefined; trKey: string | undefined; code: string; message: string }
  | {
      type: 'ws.subscription'
      action: 'subscribe' | 'unsubscribe'
      trId: string
      trKey: string
      result: 'sent' | 'acked' | 'refused' | 'released'
    }
  /**
   * A stream (or the whole socket, `stream: 'socket'`) was silent past its threshold. A silent
   * socket is closed cleanly and reconnected; a silent stream on a live socket is re-subscribed
   * (`ws.resubscribed`), never reconnected.
   */
  | { type: 'ws.stale'; stream: string; silentMs: number; thresholdMs: number }
  /**
   * A silent stream was released and registered again on the same session; `nextCheckMs` is the
   * silence allowed before the next re-subscription (doubling per attempt, capped).
   */
  | { type: 'ws.resubscribed'; stream: string; silentMs: number; attempt: number; nextCheckMs: number }
  /**
   * The next connection attempt waits `waitMs` because `used` attempts in the last minute reached
   * the adapter's own budget (`websocket.connectsPerMinute`).
   */
  | { type: 'ws.connect_budget'; waitMs: number; used: number; maxPerMinute: number }
  /** Data may have been missed (reconnect or stale stream): consumers must reconcile via REST. */
  | { type: 'ws.gap'; reason: string; since: number }
  | { type: 'ws.pingpong' }
  /** A frame could not be decoded; it was dropped and the session continues. */
  | { type: 'ws.decode_error'; trId: string | undefined; code: string; message: string }
  /**
   * A REST snapshot of today's orders was merged into the execution-notice totals (on every
   * (re)subscription and when verifying): `raised` orders got a catch-up `filled` event,
   * `terminal` got a canceled/rejected/expired/replaced event the notices had missed. `stale`
   * means a newer (re)subscription superseded it; `unavailable` means the environment cannot list
   * today's orders (`capabilities.listOrders` false), so nothing was fetched and nothing missed
   * can be caught up from the stream's side.
   */
  | {
      type: 'notice.sync'
      phase: 'baseline' | 'subscribed' | 'verify' | 'retry' | 'confirm'
      outcome: 'ok' | 'failed' | 'stale' | 'unavailable'
      orders: number
      raised: number
      terminal: number
      error?: string
    }
  /**
   * A modify/cancel request the broker received (접수) was neither confirmed (확인 notice or REST
   * `cnc_cfrm_qty`) nor refused within `noticeSync.maxConfirmationChecks` checks: no event was
   * emitted for its outcome; reconcile `brokerOrderId` (`onStreamGap` listeners are told too).
   */
  | {
      type: 'notice.unconfirmed'
      kind: 'cancel' | 'modify'
      brokerOrderId: string
      requestNo: string
      checks: number
    }
  /**
   * The cancel of the original's rest after a quantity-reducing replace (see `ReplaceLeftover`):
   * on `cancel_failed` the rest may still be working under `brokerOrderId`.
   */
  | {
      type: 'replace.leftover'
      outcome: 'canceled' | 'cancel_failed'
      brokerOrderId: string
      newBrokerOrderId: string
      kind?: BrokerErrorKind
      message?: string
    }
  /**
   * The listing store (`KisGatewayOptions.listingStore`): today's listing `loaded` from it (the
   * first listing of this process is then incremental), or a load or save that failed or was
   * refused (`error`): the listing itself goes on, whole when there is no base. After a failed
   * save, only a whole listing is saved again (the stored rows must be the union of whole ones).
   */
  | {
      type: 'listing.store'
      outcome: 'loaded' | 'load_failed' | 'save_failed'
      rows: number
      error?: string
    }
  /** A frame's records had a field count no known layout has (more: extras ignored; a notice with fewer: decoded from what is there). */
  | { type: 'ws.drift'; trId: string; expectedFields: number; actualFields: number }

/** The telemetry hook. Exceptions thrown by it are swallowed: telemetry never breaks trading. */
export type KisEventListener = (event: KisEvent) => void

/** Wrap a listener so it can never throw into the adapter. */
export function safeEmitter(listener: KisEventListener | undefined): KisEventListener {
  if (!listener) return () => {}
  return (event) => {
    try {
      listener(event)
    } catch {
      // A broken metrics hook must not turn a placed order into an exception.
    }
  }
}
