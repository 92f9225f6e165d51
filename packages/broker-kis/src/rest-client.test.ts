import { BrokerError, seededRandom } from '@vellab/broker-gateway'
import { ManualClock } from '@vellab/broker-gateway/testing'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseKisConfig } from './config'
import type { KisEvent } from './events'
import { SlidingWindowLimiter } from './rate-limiter'
import { KisRestClient, type TokenSource } from './rest-client'
import { SecretRegistry } from './secrets'
import { fakeKisCredentials } from './testing'

const BASE = 'http://kis.test'
const ORDER = `${BASE}/uapi/domestic-stock/v1/trading/order-cash`
const BALANCE = `${BASE}/uapi/domestic-stock/v1/trading/inquire-balance`
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

function setup(env: 'real' | 'paper' = 'real', beforeRequest?: () => void) {
  const creds = fakeKisCredentials()
  const config = parseKisConfig({
    environment: env,
    appKey: creds.appKey,
    appSecret: creds.appSecret,
    account: creds.account,
    restBaseUrl: BASE,
    limits: { restPerSecond: 100 },
  })
  const clock = new ManualClock(Date.parse('2026-11-24T01:00:00Z'))
  const events: KisEvent[] = []
  const secrets = new SecretRegistry()
  secrets.add(creds.appKey)
  secrets.add(creds.appSecret)
  const emit = (e: KisEvent) => events.push(e)
  const client = new KisRestClient({
    config,
    clock,
    random: seededRandom(7),
    limiter: new SlidingWindowLimiter({ name: 'rest', limit: 100, clock }),
    tokenLimiter: new SlidingWindowLimiter({ name: 'token', limit: 1, clock }),
    approvalLimiter: new SlidingWindowLimiter({ name: 'approval', limit: 1, clock }),
    secrets,
    emit,
    ...(beforeRequest ? { beforeRequest } : {}),
  })
  let n = 0
  const invalidated: string[] = []
  const tokens: TokenSource & { current: string } = {
    current: 'token-1-abcdefgh',
    async get() {
      return this.current
    },
    invalidate(v, reason) {
      invalidated.push(`${v}:${reason}`)
      this.current = `token-${++n + 1}-abcdefgh`
    },
  }
  client.useTokens(tokens)
  return { client, clock, events, creds, config, invalidated, secrets, tokens }
}

/** Let real I/O and virtual time progress until the promise settles. */
async function drive<T>(clock: ManualClock, p: Promise<T>, stepMs = 50, max = 400): Promise<T> {
  let done = false
  p.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  for (let i = 0; i < max && !done; i++) await clock.advanceAsync(stepMs)
  return p
}

const orderBody = (cano: string) => ({
  CANO: cano,
  ACNT_PRDT_CD: '01',
  PDNO: '005930',
  ORD_DVSN: '00',
  ORD_QTY: '10',
  ORD_UNPR: '70000',
  EXCG_ID_DVSN_CD: 'KRX',
})
const egw = (code: string, msg: string) =>
  HttpResponse.json({ rt_cd: '1', msg_cd: code, msg1: msg }, { status: 500 })

describe('KisRestClient', () => {
  it('sends the §3.1 headers and an upper-case string body, with the paper TR id on paper', async () => {
    const { client, clock, creds } = setup('paper')
    let seen: { headers: Record<string, string>; body: unknown } | undefined
    server.use(
      http.post(ORDER, async ({ request }) => {
        seen = { headers: Object.fromEntries(request.headers.entries()), body: await request.json() }
        return HttpResponse.json({
          rt_cd: '0',
          msg_cd: '40600000',
          msg1: '모의투자 매수주문이 완료 되었습니다.',
          output: { KRX_FWDG_ORD_ORGNO: '00950', ODNO: '0000038614', ORD_TMD: '152556' },
        })
      }),
    )
    const res = await drive(
      clock,
      client.call({
        op: 'order-cash-buy',
        lane: 'order',
        operation: 'placeOrder',
        body: orderBody('12345678'),
      }),
    )
    expect(res.body.output).toMatchObject({ ODNO: '0000038614' })
    expect(seen?.headers).toMatchObject({
      authorization: 'Bearer token-1-abcdefgh',
      appkey: creds.appKey,
      appsecret: creds.appSecret,
      tr_id: 'VTTC0012U',
      custtype: 'P',
      tr_cont: '',
    })
    expect(seen?.headers['content-type']).toContain('application/json')
    expect(seen?.body).toEqual(orderBody('12345678'))
  })

  it('beforeRequest throwing stops the request before it leaves; its error reaches the caller', async () => {
    let allowed = true
    const { client, clock } = setup('real', () => {
      if (!allowed) throw new Error('lease lost')
    })
    let hits = 0
    server.use(
      http.post(ORDER, () => {
        hits++
        return HttpResponse.json({
          rt_cd: '0',
          msg_cd: 'APBK0013',
          msg1: 'ok',
          output: { KRX_FWDG_ORD_ORGNO: '06010', ODNO: '0000001001', ORD_TMD: '100000' },
        })
      }),
    )
    const order = () =>
      drive(
        clock,
        client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
      )
    await order()
    allowed = false
    await expect(order()).rejects.toThrow('lease lost')
    expect(hits).toBe(1)
  })

  it('beforeRequest is asked again after the token wait: a lease lost meanwhile sends nothing', async () => {
    let allowed = true
    const { client, clock, tokens } = setup('real', () => {
      if (!allowed) throw new Error('lease lost')
    })
    // The token source is slow (a refresh): the lease goes while the request waits for it.
    tokens.get = async function () {
      allowed = false
      return this.current
    }
    let hits = 0
    server.use(
      http.post(ORDER, () => {
        hits++
        return HttpResponse.json({ rt_cd: '0', msg_cd: 'APBK0013', msg1: 'ok', output: {} })
      }),
    )
    await expect(
      drive(
        clock,
        client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
      ),
    ).rejects.toThrow('lease lost')
    expect(hits).toBe(0)
  })

  it('order + EGW00201 → rate_limited, sent exactly once, limiter blocked for a window', async () => {
    const { client, clock, events } = setup()
    let hits = 0
    server.use(
      http.post(ORDER, () => {
        hits++
        return egw('EGW00201', '초당 거래건수를 초과하였습니다.')
      }),
    )
    const err = await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'rate_limited')).toBe(true)
    expect((err as BrokerError).brokerCode).toBe('EGW00201')
    expect((err as BrokerError).httpStatus).toBe(500)
    expect(hits).toBe(1)
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'rest.reject', code: 'EGW00201', kind: 'rate_limited' }),
    )
  })

  it('query + EGW00201 → backs off with jitter and retries until it succeeds', async () => {
    const { client, clock, events } = setup()
    let hits = 0
    server.use(
      http.get(BALANCE, () => {
        hits++
        if (hits <= 2) return egw('EGW00201', '초당 거래건수를 초과하였습니다.')
        return HttpResponse.json({ rt_cd: '0', msg_cd: '20310000', msg1: 'ok', output1: [], output2: [{}] })
      }),
    )
    const res = await drive(
      clock,
      client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'getPositions', query: {} }),
    )
    expect(res.body.rt_cd).toBe('0')
    expect(hits).toBe(3)
    expect(events.filter((e) => e.type === 'rest.retry')).toHaveLength(2)
  })

  it('order timeout after sending → unknown_outcome, never retried', async () => {
    const { client, clock, events } = setup()
    let hits = 0
    server.use(
      http.post(ORDER, async () => {
        hits++
        await new Promise(() => {})
        return HttpResponse.json({})
      }),
    )
    const err = await drive(
      clock,
      client.call({ op: 'order-cash-sell', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
      500,
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'unknown_outcome')).toBe(true)
    expect((err as BrokerError).retryable).toBe(false)
    expect(hits).toBe(1)
    expect(events).toContainEqual(expect.objectContaining({ type: 'rest.request', outcome: 'timeout' }))
  })

  it('order connection lost after sending → unknown_outcome; a query in the same situation retries', async () => {
    const { client, clock } = setup()
    let orderHits = 0
    let queryHits = 0
    server.use(
      http.post(ORDER, () => {
        orderHits++
        return HttpResponse.error()
      }),
      http.get(BALANCE, () => {
        queryHits++
        if (queryHits === 1) return HttpResponse.error()
        return HttpResponse.json({ rt_cd: '0', msg_cd: 'X', msg1: '', output1: [] })
      }),
    )
    const err = await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'unknown_outcome')).toBe(true)
    expect(orderHits).toBe(1)
    await drive(
      clock,
      client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'getPositions', query: {} }),
    )
    expect(queryHits).toBe(2)
  })

  it('EGW00123 on a query: refresh the token once and retry; twice → auth', async () => {
    const { client, clock, invalidated } = setup()
    const auths: string[] = []
    server.use(
      http.get(BALANCE, ({ request }) => {
        auths.push(request.headers.get('authorization') ?? '')
        if (auths.length === 1) return egw('EGW00123', '기간이 만료된 token 입니다.')
        return HttpResponse.json({ rt_cd: '0', msg_cd: 'X', msg1: '', output1: [] })
      }),
    )
    await drive(clock, client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'q', query: {} }))
    expect(auths).toEqual(['Bearer token-1-abcdefgh', 'Bearer token-2-abcdefgh'])
    expect(invalidated).toEqual(['token-1-abcdefgh:EGW00123'])

    server.use(http.get(BALANCE, () => egw('EGW00121', '유효하지 않은 token 입니다.')))
    const err = await drive(
      clock,
      client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'q', query: {} }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'auth')).toBe(true)
  })

  it('EGW00123 on an order → auth without a second send', async () => {
    const { client, clock } = setup()
    let hits = 0
    server.use(
      http.post(ORDER, () => {
        hits++
        return egw('EGW00123', '기간이 만료된 token 입니다.')
      }),
    )
    const err = await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'auth')).toBe(true)
    expect(hits).toBe(1)
  })

  it('a malformed 200 body is protocol for a query and unknown_outcome for an order', async () => {
    const { client, clock } = setup()
    server.use(
      http.get(BALANCE, () => new HttpResponse('<html>oops</html>', { status: 200 })),
      http.post(ORDER, () => HttpResponse.json({ hello: 'world' })),
    )
    const q = await drive(
      clock,
      client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'q', query: {} }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(q, 'protocol')).toBe(true)
    const o = await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(o, 'unknown_outcome')).toBe(true)
  })

  it('a business reject is `rejected` with the trimmed msg1 and the code, even on HTTP 200', async () => {
    const { client, clock } = setup()
    server.use(
      http.post(ORDER, () =>
        HttpResponse.json({ rt_cd: '1', msg_cd: 'APBK0919', msg1: '주문가능금액을 초과 했습니다   ' }),
      ),
    )
    const err = (await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)) as BrokerError
    expect(err.kind).toBe('rejected')
    expect(err.brokerCode).toBe('APBK0919')
    expect(err.message).toMatch(
      /placeOrder POST \/uapi\/domestic-stock\/v1\/trading\/order-cash TTTC0012U \[APBK0919\] 주문가능금액을 초과 했습니다$/,
    )
  })

  it('never puts a secret into an error, even when the broker echoes it', async () => {
    const { client, clock, creds } = setup()
    server.use(
      http.post(ORDER, () =>
        HttpResponse.json(
          { rt_cd: '1', msg_cd: 'EGW00105', msg1: `bad appsecret ${creds.appSecret} for ${creds.appKey}` },
          { status: 403 },
        ),
      ),
    )
    const err = (await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)) as BrokerError
    expect(err.kind).toBe('auth')
    const everything = `${err.message} ${JSON.stringify(err)} ${String(err.stack)}`
    expect(everything).not.toContain(creds.appSecret)
    expect(everything).not.toContain(creds.appKey)
  })

  it('paginates over tr_cont M…D, sending tr_cont N and the previous cursors (§3.3)', async () => {
    const { client, clock } = setup()
    const seen: { trCont: string | null; fk: string | null; nk: string | null }[] = []
    server.use(
      http.get(BALANCE, ({ request }) => {
        const u = new URL(request.url)
        seen.push({
          trCont: request.headers.get('tr_cont'),
          fk: u.searchParams.get('CTX_AREA_FK100'),
          nk: u.searchParams.get('CTX_AREA_NK100'),
        })
        const page = seen.length
        return HttpResponse.json(
          {
            rt_cd: '0',
            msg_cd: 'X',
            msg1: '',
            output1: [{ page }],
            ctx_area_fk100: `fk${page}`,
            ctx_area_nk100: `nk${page}`,
          },
          { headers: { tr_cont: page < 3 ? 'M' : 'D' } },
        )
      }),
    )
    const pages = await drive(
      clock,
      client.paginate({ op: 'inquire-balance', lane: 'reconcile', operation: 'q', query: { CANO: '1' } }),
    )
    expect(pages.map((p) => (p.output1 as { page: number }[])[0]?.page)).toEqual([1, 2, 3])
    expect(seen).toEqual([
      { trCont: '', fk: '', nk: '' },
      { trCont: 'N', fk: 'fk1', nk: 'nk1' },
      { trCont: 'N', fk: 'fk2', nk: 'nk2' },
    ])
  })

  it('refuses to loop when the broker repeats a cursor', async () => {
    const { client, clock } = setup()
    server.use(
      http.get(BALANCE, () =>
        HttpResponse.json(
          { rt_cd: '0', msg_cd: 'X', msg1: '', output1: [], ctx_area_fk100: 'same', ctx_area_nk100: 'same' },
          { headers: { tr_cont: 'M' } },
        ),
      ),
    )
    const err = await drive(
      clock,
      client.paginate({ op: 'inquire-balance', lane: 'reconcile', operation: 'q' }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'protocol')).toBe(true)
  })

  it('tokenP: expiry from the absolute KST timestamp; EGW00133 (403) is rate_limited', async () => {
    const { client, clock, creds } = setup()
    let body: Record<string, string> | undefined
    server.use(
      http.post(`${BASE}/oauth2/tokenP`, async ({ request }) => {
        body = (await request.json()) as Record<string, string>
        return HttpResponse.json({
          access_token: 'eyJfake.token.value',
          token_type: 'Bearer',
          expires_in: 86400,
          access_token_token_expired: '2026-11-25 09:59:00',
        })
      }),
    )
    const t = await drive(clock, client.issueToken())
    expect(body).toEqual({
      grant_type: 'client_credentials',
      appkey: creds.appKey,
      appsecret: creds.appSecret,
    })
    expect(t.expiresAt).toBe(Date.parse('2026-11-25T00:59:00Z'))
    server.use(
      http.post(`${BASE}/oauth2/tokenP`, () =>
        HttpResponse.json(
          { error_code: 'EGW00133', error_description: '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)' },
          { status: 403 },
        ),
      ),
    )
    const err = (await drive(clock, client.issueToken()).catch((e: unknown) => e)) as BrokerError
    expect(err.kind).toBe('rate_limited')
    expect(err.brokerCode).toBe('EGW00133')
    expect(err.retryAfterMs).toBe(60_000)
  })

  it('tokenP refusing the credentials (403 EGW00103/EGW00105) is auth, says what to fix, and leaks no secret', async () => {
    const { client, clock, creds } = setup()
    for (const [code, text, hint] of [
      ['EGW00103', '유효하지 않은 AppKey입니다.', /KIS_APP_KEY.*real and paper keys differ/],
      ['EGW00105', '유효하지 않은 AppSecret입니다.', /KIS_APP_SECRET/],
    ] as const) {
      server.use(
        http.post(`${BASE}/oauth2/tokenP`, () =>
          HttpResponse.json({ error_code: code, error_description: text }, { status: 403 }),
        ),
      )
      clock.advance(1_500)
      const err = (await drive(clock, client.issueToken()).catch((e: unknown) => e)) as BrokerError
      expect(err.kind).toBe('auth')
      expect(err.brokerCode).toBe(code)
      expect(err.message).toContain(text)
      expect(err.message).toMatch(hint)
      expect(err.message).not.toContain(creds.appKey)
      expect(err.message).not.toContain(creds.appSecret)
    }
  })

  it('Approval sends the secret as `secretkey` (§2.3)', async () => {
    const { client, clock, creds } = setup()
    let body: Record<string, string> | undefined
    server.use(
      http.post(`${BASE}/oauth2/Approval`, async ({ request }) => {
        body = (await request.json()) as Record<string, string>
        return HttpResponse.json({ approval_key: '062f61cb-0000-4b8f-9fab-000000000000' })
      }),
    )
    expect(await drive(clock, client.issueApprovalKey())).toBe('062f61cb-0000-4b8f-9fab-000000000000')
    expect(body).toEqual({
      grant_type: 'client_credentials',
      appkey: creds.appKey,
      secretkey: creds.appSecret,
    })
  })

  it('refuses an operation the environment does not offer', async () => {
    const { client } = setup('paper')
    await expect(
      client.call({ op: 'inquire-psbl-rvsecncl', lane: 'reconcile', operation: 'getOpenOrders' }),
    ).rejects.toSatisfy((e: unknown) => BrokerError.isKind(e, 'invalid_request'))
  })
})

describe('KisRestClient order safety', () => {
  // [description, expected kind, response]. Every case: the order POST is sent exactly once.
  const CASES: [string, string, () => Response][] = [
    [
      'HTTP 502 proxy page (no envelope)',
      'unknown_outcome',
      () => new HttpResponse('<html>bad gateway</html>', { status: 502 }),
    ],
    ['HTTP 500 empty body', 'unknown_outcome', () => new HttpResponse('', { status: 500 })],
    [
      'HTTP 504 JSON without rt_cd',
      'unknown_outcome',
      () => HttpResponse.json({ error: 'timeout' }, { status: 504 }),
    ],
    ['EGW00001 after sending', 'unknown_outcome', () => egw('EGW00001', '일시적 오류가 발생했습니다.')],
    ['EGW00002 after sending', 'unknown_outcome', () => egw('EGW00002', '서버 에러가 발생했습니다.')],
    [
      'HTTP 500 carrying a success envelope (rt_cd "0")',
      'unknown_outcome',
      () =>
        HttpResponse.json(
          {
            rt_cd: '0',
            msg_cd: 'APBK0013',
            msg1: '주문 전송 완료 되었습니다.',
            output: { ODNO: '0000000001' },
          },
          { status: 500 },
        ),
    ],
    [
      'an EGW code this version does not know',
      'unknown_outcome',
      () => egw('EGW00399', '새 게이트웨이 오류'),
    ],
    [
      'EGW00201 (a definite reject)',
      'rate_limited',
      () => egw('EGW00201', '초당 거래건수를 초과하였습니다.'),
    ],
    [
      'business reject on HTTP 200',
      'rejected',
      () => HttpResponse.json({ rt_cd: '1', msg_cd: 'APBK0919', msg1: '주문가능금액을 초과 했습니다' }),
    ],
  ]
  it.each(CASES)('%s → %s, sent once', async (_d, kind, respond) => {
    const { client, clock } = setup()
    let hits = 0
    server.use(
      http.post(ORDER, () => {
        hits++
        return respond()
      }),
    )
    const err = await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isInstance(err) && err.kind).toBe(kind)
    expect(hits).toBe(1)
  })

  it('an oversized body is abandoned without being buffered: a query fails with protocol (not retried), an order with unknown_outcome', async () => {
    const { client, clock, config } = setup()
    const max = config.limits.maxResponseBytes
    let pulled = 0
    // No Content-Length: the body streams 64 KiB chunks for ever; the client must stop reading.
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulled += 65_536
          c.enqueue(new Uint8Array(65_536).fill(32))
        },
      })
    let queries = 0
    let orders = 0
    server.use(
      http.get(BALANCE, () => {
        queries++
        return new HttpResponse(endless(), { status: 200, headers: { 'Content-Type': 'application/json' } })
      }),
      http.post(ORDER, () => {
        orders++
        // Declared up front this time.
        return new HttpResponse('x'.repeat(max + 1), {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        })
      }),
    )
    const q = (await drive(
      clock,
      client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'getPositions', query: {} }),
    ).catch((e: unknown) => e)) as BrokerError
    expect(q.kind).toBe('protocol')
    expect(q.message).toMatch(/exceeds the 4194304-byte limit/)
    expect(queries).toBe(1)
    // Read up to the cap, plus what the transport had buffered ahead: then it stops for good.
    expect(pulled).toBeLessThanOrEqual(max + 8 * 65_536)
    const o = (await drive(
      clock,
      client.call({ op: 'order-cash-buy', lane: 'order', operation: 'placeOrder', body: orderBody('1') }),
    ).catch((e: unknown) => e)) as BrokerError
    expect(o.kind).toBe('unknown_outcome')
    expect(o.message).toMatch(/may have been placed/)
    expect(orders).toBe(1)
  })

  it('a query answered 500 with a success envelope is not taken as success nor as a business reject', async () => {
    const { client, clock } = setup()
    let hits = 0
    server.use(
      http.get(BALANCE, () => {
        hits++
        return HttpResponse.json({ rt_cd: '0', msg_cd: 'X', msg1: '', output1: [] }, { status: 500 })
      }),
    )
    const err = await drive(
      clock,
      client.call({ op: 'inquire-balance', lane: 'reconcile', operation: 'q', query: {} }),
    ).catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'unavailable')).toBe(true)
    expect(hits).toBe(4)
  })
})
