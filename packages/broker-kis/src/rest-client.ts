import type { Clock, RandomSource } from '@vellab/broker-gateway'
import { BrokerError, sleep } from '@vellab/broker-gateway'
import ky, { type KyInstance } from 'ky'
import type { z } from 'zod'
import { fullJitterDelay } from './backoff'
import { classifyKisFailure, TOKEN_REJECT_CODES } from './classify'
import type { KisConfig } from './config'
import {
  ApprovalResponseSchema,
  CursorSchema,
  KisAuthErrorSchema,
  KisEnvelopeSchema,
  TokenResponseSchema,
} from './envelope'
import type { KisEventListener, KisLane } from './events'
import { parseKstDateTime } from './kst'
import type { SlidingWindowLimiter } from './rate-limiter'
import type { SecretRegistry } from './secrets'
import type { AccessToken } from './token-store'
import { KIS_TR_TABLE, type KisOperation, resolveTrId } from './tr-ids'
import { oversizeField } from './wire-limits'

/** The fetch function the client uses (the global `fetch` by default). */
export type FetchLike = (input: Request, init?: RequestInit) => Promise<Response>

/** Options of {@link KisRestClient}. */
export interface KisRestClientOptions {
  config: KisConfig
  /** @default globalThis.fetch */
  fetch?: FetchLike
  clock: Clock
  random: RandomSource
  /** The REST limiter of this app key. */
  limiter: SlidingWindowLimiter
  /**
   * The limiter of `/oauth2/tokenP` calls. KIS publishes the token and approval-key limits
   * separately (reference §8: 1 req/s each), so each endpoint has its own limiter and a startup
   * does not wait a window between the token and the approval key.
   */
  tokenLimiter: SlidingWindowLimiter
  /** The limiter of `/oauth2/Approval` calls (reference §2.3, §8: 1 req/s). */
  approvalLimiter: SlidingWindowLimiter
  secrets: SecretRegistry
  emit: KisEventListener
  /** Called after a request's rate slot is granted and before it is sent; a throw stops it. */
  beforeRequest?: () => void
}

/** One REST request. */
export interface KisRequest {
  op: KisOperation
  lane: KisLane
  /** The gateway method, for messages (e.g. `placeOrder`). */
  operation: string
  /** GET query (upper-case keys, reference §3.1). */
  query?: Record<string, string>
  /** POST body (upper-case keys, string values, reference §3.1). */
  body?: Record<string, string>
  /** `tr_cont` request header (reference §3.3). @default "" */
  trCont?: string
}

/** A successful response. */
export interface KisResponse {
  body: Record<string, unknown>
  /** `tr_cont` response header: `F`/`M` more pages, `D`/`E` last (reference §3.3). */
  trCont: string
  status: number
}

/** Supplies tokens to the client (a `TokenManager`). */
export interface TokenSource {
  get(): Promise<string>
  invalidate(value: string, reason: string): void
}

// Errors whose code proves the connection was never established, so nothing reached the broker.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'])

function causeCodes(e: unknown): string[] {
  const out: string[] = []
  for (let c: unknown = e, i = 0; c && i < 6; c = (c as { cause?: unknown }).cause, i++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === 'string') out.push(code)
    for (const inner of (c as { errors?: unknown[] }).errors ?? []) {
      const ic = (inner as { code?: unknown }).code
      if (typeof ic === 'string') out.push(ic)
    }
  }
  return out
}

/** A KIS REST client: headers, TR ids, limiter, token, timeouts, retries and error classification. */
export class KisRestClient {
  readonly #o: KisRestClientOptions
  readonly #ky: KyInstance
  #tokens: TokenSource | undefined

  constructor(options: KisRestClientOptions) {
    this.#o = options
    const f = options.fetch ?? ((input: Request, init?: RequestInit) => globalThis.fetch(input, init))
    this.#ky = ky.create({
      baseUrl: `${options.config.restBaseUrl}/`,
      fetch: f as typeof fetch,
      // Retries and timeouts are ours: they must follow the injected clock and the no-retry rule
      // for orders.
      retry: 0,
      timeout: false,
      throwHttpErrors: false,
    })
  }

  /** Attach the token source (done once by the gateway; it depends on this client for issuance). */
  useTokens(tokens: TokenSource): void {
    this.#tokens = tokens
  }

  #error(
    kind: ConstructorParameters<typeof BrokerError>[0],
    message: string,
    extra: ConstructorParameters<typeof BrokerError>[2] = {},
  ): BrokerError {
    return new BrokerError(kind, this.#o.secrets.redact(message), {
      ...extra,
      secrets: this.#o.secrets.list(),
    })
  }

  /**
   * Send with a clock-driven timeout. Returns the response, or throws `{ transport: 'timeout' |
   * 'network', notSent, cause }`.
   */
  async #send(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    query: Record<string, string> | undefined,
    body: Record<string, string> | undefined,
    timeoutMs: number,
  ): Promise<{ response: Response; text: string }> {
    const clock = this.#o.clock
    const ac = new AbortController()
    let timedOut = false
    const timer = clock.setTimeout(() => {
      timedOut = true
      ac.abort(new Error('timeout'))
    }, timeoutMs)
    try {
      const response = await this.#ky(path.replace(/^\//, ''), {
        method,
        headers,
        ...(query ? { searchParams: query } : {}),
        ...(body ? { json: body } : {}),
        signal: ac.signal,
      })
      const text = await readCapped(response, this.#o.config.limits.maxResponseBytes)
      return { response, text }
    } catch (cause) {
      if (cause instanceof OversizeBody) throw { transport: 'oversize', notSent: false, cause }
      const codes = causeCodes(cause)
      throw {
        transport: timedOut ? 'timeout' : 'network',
        notSent: !timedOut && codes.some((c) => NOT_SENT_CODES.has(c)),
        cause,
      }
    } finally {
      clock.clearTimeout(timer)
    }
  }

  #backoff(attempt: number): number {
    const r = this.#o.config.retry
    return fullJitterDelay(attempt, { baseMs: r.baseDelayMs, maxMs: r.maxDelayMs }, this.#o.random)
  }

  /**
   * Send one KIS request. Idempotent queries retry transient failures and EGW00201 with backoff and
   * jitter, and refresh the token once after EGW00121/EGW00123. Requests with a side effect
   * (orders) are sent at most once: a timeout or a connection lost after sending is
   * `unknown_outcome`; EGW00201 is `rate_limited` (nothing was placed).
   */
  async call(req: KisRequest): Promise<KisResponse> {
    const { config, clock, limiter, emit } = this.#o
    const spec = KIS_TR_TABLE[req.op]
    const trId = resolveTrId(req.op, config.environment, config.legacyTrIds)
    const opName = `${req.operation} ${spec.method} ${spec.path}${trId ? ` ${trId}` : ''}`
    if (!trId) {
      throw this.#error(
        'invalid_request',
        `${req.op} is not offered in the ${config.environment} environment`,
        {
          operation: opName,
        },
      )
    }
    const oversize = req.body ? oversizeField(req.body) : req.query ? oversizeField(req.query) : undefined
    if (oversize) {
      // Nothing is sent: a value KIS cannot hold is the caller's to fix, not the broker's to refuse.
      throw this.#error(
        'invalid_request',
        `${oversize.name} has ${oversize.length} characters; KIS accepts at most ${oversize.max}`,
        { operation: opName },
      )
    }
    if (!this.#tokens) throw new Error('KisRestClient: no token source attached')
    const sideEffect = spec.sideEffect
    const maxRetries = sideEffect ? 0 : config.retry.maxQueryRetries
    const timeoutMs = sideEffect ? config.timeouts.orderMs : config.timeouts.queryMs
    let authRetried = false
    for (let attempt = 0; ; attempt++) {
      // The token is read after the slot is granted: a request that waited in the queue while the
      // token was refreshed goes out with the new one, not the one it saw when it was enqueued.
      const permit = await limiter.acquire(req.lane)
      let token: string
      try {
        this.#o.beforeRequest?.()
        token = await this.#tokens.get()
        // Again after the token's await, right before the request is written: the time between
        // the check and the send is the window in which a process frozen there (and fenced while
        // frozen) could still send once woken. No check can close it, only keep it this short.
        this.#o.beforeRequest?.()
      } catch (e) {
        permit.done()
        throw e
      }
      const headers: Record<string, string> = {
        // reference/kis-openapi.md §3.1: request headers.
        'content-type': 'application/json; charset=utf-8',
        authorization: `Bearer ${token}`,
        appkey: config.appKey,
        appsecret: config.appSecret,
        tr_id: trId,
        tr_cont: req.trCont ?? '',
        custtype: config.custType,
      }
      const t0 = clock.now()
      let sent: { response: Response; text: string }
      try {
        sent = await this.#send(spec.method, spec.path, headers, req.query, req.body, timeoutMs)
        permit.done()
      } catch (failure) {
        permit.done()
        const f = failure as {
          transport: 'timeout' | 'network' | 'oversize'
          notSent: boolean
          cause: unknown
        }
        emit({
          type: 'rest.request',
          method: spec.method,
          path: spec.path,
          trId,
          status: undefined,
          msgCd: undefined,
          latencyMs: clock.now() - t0,
          attempt,
          outcome:
            f.transport === 'oversize'
              ? 'http_error'
              : f.transport === 'timeout'
                ? 'timeout'
                : 'network_error',
        })
        if (f.transport === 'oversize') {
          const msg = (f.cause as Error).message
          // The request was answered, so it reached KIS: an order may be live; a query is not
          // retried (the same request would bring the same body).
          if (sideEffect) {
            throw this.#error(
              'unknown_outcome',
              `${msg}; the order may have been placed: reconcile before resending`,
              {
                operation: opName,
                cause: f.cause,
              },
            )
          }
          throw this.#error('protocol', msg, { operation: opName, cause: f.cause })
        }
        const what = f.transport === 'timeout' ? `no response within ${timeoutMs} ms` : 'connection failed'
        if (sideEffect && !f.notSent) {
          // Pain point peers.md §(d)1: the order may be live. Never resend; reconcile.
          throw this.#error(
            'unknown_outcome',
            `${what} after the request was sent; reconcile before resending`,
            {
              operation: opName,
              cause: f.cause,
            },
          )
        }
        if (attempt < maxRetries) {
          await this.#retryWait(opName, attempt, what)
          continue
        }
        throw this.#error('unavailable', what, { operation: opName, cause: f.cause })
      }
      const { response, text } = sent
      const status = response.status
      let json: unknown
      let parsedOk = true
      try {
        json = JSON.parse(text)
      } catch {
        parsedOk = false
      }
      const env = parsedOk ? KisEnvelopeSchema.safeParse(json) : undefined
      const authErr = parsedOk && !env?.success ? KisAuthErrorSchema.safeParse(json) : undefined
      const is2xx = status >= 200 && status < 300
      // A success envelope on a non-2xx status (reference §3.4: "clients must check rt_cd regardless
      // of status") is contradictory: it is neither a success nor a business reject, so only the
      // status decides (5xx on an order → unknown_outcome).
      const contradictory = !is2xx && env?.success === true && env.data.rt_cd === '0'
      const msgCd = contradictory
        ? undefined
        : env?.success
          ? env.data.msg_cd
          : authErr?.success
            ? authErr.data.error_code
            : undefined
      const ok = is2xx && env?.success === true && env.data.rt_cd === '0'
      emit({
        type: 'rest.request',
        method: spec.method,
        path: spec.path,
        trId,
        status,
        msgCd,
        latencyMs: clock.now() - t0,
        attempt,
        outcome: ok ? 'ok' : msgCd ? 'rejected' : 'http_error',
      })
      if (ok) {
        return {
          body: json as Record<string, unknown>,
          trCont: (response.headers.get('tr_cont') ?? '').trim(),
          status,
        }
      }
      if (!msgCd) {
        // No KIS envelope at all (a proxy page, an empty body or garbage), or a contradictory one.
        const kind = is2xx
          ? sideEffect
            ? 'unknown_outcome'
            : 'protocol'
          : classifyKisFailure({ httpStatus: status, sideEffect })
        emit({
          type: 'rest.reject',
          operation: opName,
          trId,
          code: `HTTP${status}`,
          kind,
          httpStatus: status,
        })
        if (kind === 'unavailable' && attempt < maxRetries) {
          await this.#retryWait(opName, attempt, `HTTP ${status}`)
          continue
        }
        const detail = contradictory
          ? 'success envelope on an error status'
          : parsedOk
            ? 'response is not a KIS envelope'
            : 'response body is not JSON'
        throw this.#error(kind, `HTTP ${status}: ${detail}`, { operation: opName, httpStatus: status })
      }
      const msg1 = env?.success
        ? env.data.msg1
        : authErr?.success
          ? (authErr.data.error_description ?? '')
          : ''
      const kind = classifyKisFailure({ httpStatus: status, code: msgCd, sideEffect })
      emit({ type: 'rest.reject', operation: opName, trId, code: msgCd, kind, httpStatus: status })
      if (TOKEN_REJECT_CODES.has(msgCd)) {
        this.#tokens.invalidate(token, msgCd)
        // reference/kis-openapi.md §6.1: one refresh-and-retry for idempotent calls only.
        if (!sideEffect && !authRetried) {
          authRetried = true
          attempt--
          continue
        }
      }
      if (kind === 'rate_limited') {
        // The broker counted differently from us: let its whole window pass before anything else.
        limiter.blockUntil(clock.now() + limiter.windowMs)
      }
      if ((kind === 'rate_limited' || kind === 'unavailable') && attempt < maxRetries) {
        await this.#retryWait(opName, attempt, msgCd)
        continue
      }
      throw this.#error(kind, msg1 || `rt_cd ${env?.success ? env.data.rt_cd : '?'}`, {
        operation: opName,
        brokerCode: msgCd,
        httpStatus: status,
      })
    }
  }

  async #retryWait(operation: string, attempt: number, reason: string): Promise<void> {
    const delayMs = this.#backoff(attempt)
    this.#o.emit({ type: 'rest.retry', operation, attempt: attempt + 1, delayMs, reason })
    await sleep(this.#o.clock, delayMs)
  }

  /**
   * Fetch every page of a continued query (reference §3.3): while the response header `tr_cont` is
   * `F` or `M`, send `tr_cont: N` with the body's `ctx_area_fk100`/`ctx_area_nk100` as
   * `CTX_AREA_FK100`/`CTX_AREA_NK100`.
   */
  async paginate(req: KisRequest, maxPages = 200): Promise<Record<string, unknown>[]> {
    return (await this.paginateUntil(req, maxPages)).pages
  }

  /**
   * Like {@link paginate}, but stops before asking for the next page once `enough` says so for the
   * page just read; `complete` is false when it stopped so (the broker had more pages).
   */
  async paginateUntil(
    req: KisRequest,
    maxPages: number,
    enough?: (body: Record<string, unknown>) => boolean,
  ): Promise<{ pages: Record<string, unknown>[]; complete: boolean }> {
    const pages: Record<string, unknown>[] = []
    let query = { CTX_AREA_FK100: '', CTX_AREA_NK100: '', ...req.query }
    let trCont = ''
    const seen = new Set<string>()
    for (let page = 0; page < maxPages; page++) {
      const res = await this.call({ ...req, query, trCont })
      pages.push(res.body)
      if (res.trCont !== 'F' && res.trCont !== 'M') return { pages, complete: true }
      if (enough?.(res.body)) return { pages, complete: false }
      const cursor = CursorSchema.safeParse(res.body)
      const fk = cursor.success ? (cursor.data.ctx_area_fk100 ?? '') : ''
      const nk = cursor.success ? (cursor.data.ctx_area_nk100 ?? '') : ''
      const key = `${fk}\u0000${nk}`
      if (seen.has(key)) {
        throw this.#error('protocol', `pagination cursor repeated on page ${page + 1}; refusing to loop`, {
          operation: `${req.operation} ${req.op}`,
        })
      }
      seen.add(key)
      query = { ...query, CTX_AREA_FK100: fk, CTX_AREA_NK100: nk }
      trCont = 'N'
    }
    throw this.#error('protocol', `more than ${maxPages} pages`, { operation: `${req.operation} ${req.op}` })
  }

  /** Parse `schema` from a response value, or throw `protocol` naming the operation. */
  parse<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S> {
    const r = schema.safeParse(value)
    if (r.success) return r.data
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
    throw this.#error('protocol', `unexpected response shape: ${issues}`, { operation, cause: r.error })
  }

  async #authPost(
    limiter: SlidingWindowLimiter,
    path: string,
    body: Record<string, string>,
    operation: string,
  ): Promise<unknown> {
    const { clock, config, emit } = this.#o
    const permit = await limiter.acquire('order')
    try {
      this.#o.beforeRequest?.()
    } catch (e) {
      permit.done()
      throw e
    }
    const t0 = clock.now()
    let sent: { response: Response; text: string }
    try {
      sent = await this.#send(
        'POST',
        path,
        { 'content-type': 'application/json; charset=utf-8' },
        undefined,
        body,
        config.timeouts.authMs,
      )
      permit.done()
    } catch (failure) {
      permit.done()
      const f = failure as { transport: string; cause: unknown }
      if (f.transport === 'oversize') {
        throw this.#error('protocol', (f.cause as Error).message, { operation, cause: f.cause })
      }
      emit({
        type: 'rest.request',
        method: 'POST',
        path,
        trId: undefined,
        status: undefined,
        msgCd: undefined,
        latencyMs: clock.now() - t0,
        attempt: 0,
        outcome: f.transport === 'timeout' ? 'timeout' : 'network_error',
      })
      throw this.#error('unavailable', `${f.transport === 'timeout' ? 'timeout' : 'connection failed'}`, {
        operation,
        cause: f.cause,
      })
    }
    const { response, text } = sent
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const authErr = KisAuthErrorSchema.safeParse(json)
    const envErr = KisEnvelopeSchema.safeParse(json)
    const code = authErr.success
      ? authErr.data.error_code
      : envErr.success && envErr.data.rt_cd !== '0'
        ? envErr.data.msg_cd
        : undefined
    const ok = response.status >= 200 && response.status < 300 && !code
    emit({
      type: 'rest.request',
      method: 'POST',
      path,
      trId: undefined,
      status: response.status,
      msgCd: code,
      latencyMs: clock.now() - t0,
      attempt: 0,
      outcome: ok ? 'ok' : code ? 'rejected' : 'http_error',
    })
    if (ok && json !== undefined) return json
    // reference/kis-openapi.md §2.1: tokenP/Approval errors are HTTP 403 with error_code/error_description.
    const kind = classifyKisFailure({ httpStatus: response.status, code, sideEffect: false })
    emit({
      type: 'rest.reject',
      operation,
      trId: undefined,
      code: code ?? `HTTP${response.status}`,
      kind,
      httpStatus: response.status,
    })
    const said = authErr.success
      ? (authErr.data.error_description ?? '')
      : envErr.success
        ? envErr.data.msg1
        : `HTTP ${response.status}`
    const fix = code ? CREDENTIAL_HINTS[code] : undefined
    const message = [said || `HTTP ${response.status}`, code ? `(${code})` : '', fix ? `: ${fix}` : '']
      .filter(Boolean)
      .join(' ')
    throw this.#error(json === undefined && ok ? 'protocol' : kind, message, {
      operation,
      httpStatus: response.status,
      ...(code ? { brokerCode: code } : {}),
      ...(code === 'EGW00133' ? { retryAfterMs: config.limits.tokenMinIntervalMs } : {}),
    })
  }

  /** `POST /oauth2/tokenP` (reference §2.1). The expiry comes from the absolute KST timestamp. */
  async issueToken(): Promise<AccessToken> {
    const { config, clock } = this.#o
    const op = 'POST /oauth2/tokenP'
    const issuedAt = clock.now()
    const json = await this.#authPost(
      this.#o.tokenLimiter,
      '/oauth2/tokenP',
      { grant_type: 'client_credentials', appkey: config.appKey, appsecret: config.appSecret },
      op,
    )
    const t = this.parse(TokenResponseSchema, json, op)
    this.#o.secrets.add(t.access_token)
    // mojito's note (reference §2.1): expires_in drifts; trust access_token_token_expired.
    const absolute = t.access_token_token_expired ? parseKstDateTime(t.access_token_token_expired) : undefined
    const relative = t.expires_in !== undefined ? issuedAt + Number(t.expires_in) * 1000 : undefined
    const expiresAt = absolute ?? relative
    if (expiresAt === undefined || !Number.isFinite(expiresAt)) {
      throw this.#error('protocol', 'token response has no usable expiry', { operation: op })
    }
    return { value: t.access_token, issuedAt, expiresAt }
  }

  /** `POST /oauth2/Approval` (reference §2.3: the secret travels as `secretkey`). */
  async issueApprovalKey(): Promise<string> {
    const { config } = this.#o
    const op = 'POST /oauth2/Approval'
    const json = await this.#authPost(
      this.#o.approvalLimiter,
      '/oauth2/Approval',
      { grant_type: 'client_credentials', appkey: config.appKey, secretkey: config.appSecret },
      op,
    )
    const r = this.parse(ApprovalResponseSchema, json, op)
    this.#o.secrets.add(r.approval_key)
    return r.approval_key
  }
}

/** What to fix when tokenP/Approval refuse the credentials (reference §6.1 EGW00102–00105). */
const CREDENTIAL_HINTS: Readonly<Record<string, string>> = {
  EGW00102: 'the app key is missing: set KIS_APP_KEY or KIS_APP_KEY_FILE',
  EGW00103:
    'the app key is not valid here: check KIS_APP_KEY / KIS_APP_KEY_FILE and that it belongs to this environment (real and paper keys differ)',
  EGW00104: 'the app secret is missing: set KIS_APP_SECRET or KIS_APP_SECRET_FILE',
  EGW00105:
    'the app secret is not valid for this app key: check KIS_APP_SECRET / KIS_APP_SECRET_FILE (reissued secrets replace the old one)',
}

/** A response body longer than `limits.maxResponseBytes`. */
class OversizeBody extends Error {}

/**
 * The body as text, reading at most `max` bytes: a declared or streamed length beyond it cancels the
 * body at once, so an oversized answer costs at most `max` bytes of memory.
 */
async function readCapped(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => {})
    throw new OversizeBody(`response body of ${declared} bytes exceeds the ${max}-byte limit`)
  }
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      throw new OversizeBody(`response body exceeds the ${max}-byte limit (${size} bytes read when stopped)`)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}
