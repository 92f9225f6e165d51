import { type KisSimProcess, spawnKisSim } from '@vellab/testkit/kis-sim-process'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'

// The `kis-sim` bin as a separate OS process (bundled from the source under test by the test kit),
// driven the way the runner, the lease tests and the soak drive it: over HTTP and WebSocket, with
// its faults, clock and ledger reached through the loopback control routes only.

const procs: KisSimProcess[] = []
afterAll(() => {
  for (const p of procs) p.child.kill('SIGKILL')
})

async function start(args: string[]): Promise<KisSimProcess> {
  const p = await spawnKisSim(args)
  procs.push(p)
  return p
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const json = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init)
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  return { status: r.status, body: (await r.json()) as any }
}
const post = (url: string, body: unknown) =>
  json(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })

describe('kis-sim bin', () => {
  it('--help prints the flags and exits 0', async () => {
    const p = await start(['--help'])
    expect(await p.exit).toBe(0)
    const text = p.out.join('')
    for (const flag of [
      '--ping-interval-ms',
      '--ping-idle-only',
      '--pong-timeout-ms',
      '--paper',
      '--rest-port',
    ])
      expect(text).toContain(flag)
  })

  it.each([
    [['--ping-interval-ms', 'abc'], /--ping-interval-ms must be a whole number/],
    [['--clock', 'fast'], /--clock must be real, accelerated or manual/],
    [['--paper', 'maybe'], /--paper must be reported or documented/],
    [['--paper-apps', '0'], /--paper-apps must be a whole number >= 1/],
    [['--no-such-flag'], /Unknown option/],
  ])('refuses %j with one line and exit code 2', async (args, message) => {
    const p = await start(args)
    expect(await p.exit).toBe(2)
    const err = p.err.join('')
    expect(err).toMatch(message)
    expect(err.trim().split('\n')).toHaveLength(1)
    expect(err).not.toMatch(/\n\s+at /)
  })

  it('serves KIS and its control routes as its own process; PINGPONG settings apply; SIGTERM stops it cleanly', async () => {
    const p = await start([
      '--rest-port',
      '0',
      '--ws-port',
      '0',
      '--clock',
      'manual',
      '--start',
      '2026-11-24 10:00:00',
      '--ping-interval-ms',
      '5000',
      '--pong-timeout-ms',
      '7000',
      '--paper-apps',
      '2',
    ])
    const { restUrl: rest, wsUrl } = await p.urls()
    const banner = p.out.join('')
    expect(banner).toMatch(/PINGPONG\s+every 5000 ms, pong timeout 7000 ms/)
    expect(banner).toMatch(/paper\s+reported/)
    // The secrets are not printed, only reachable over the loopback control route.
    const apps = (await json(`${rest}/__sim/apps`)).body as {
      env: string
      appkey: string
      appsecret: string
      accounts: { cano: string; productCode: string }[]
    }[]
    const app = apps.find((a) => a.env === 'real')!
    // Two paper apps, as asked: two appkeys, two accounts (a sharded deployment's broker).
    const paper = apps.filter((a) => a.env === 'paper')
    expect(paper).toHaveLength(2)
    expect(new Set(paper.map((a) => a.appkey)).size).toBe(2)
    expect(new Set(paper.map((a) => a.accounts[0]!.cano)).size).toBe(2)
    expect(banner).toContain(app.appkey)
    expect(banner).not.toContain(app.appsecret)

    // KIS over HTTP: a token and an approval key.
    const tok = await post(`${rest}/oauth2/tokenP`, {
      grant_type: 'client_credentials',
      appkey: app.appkey,
      appsecret: app.appsecret,
    })
    expect(tok.status).toBe(200)
    expect(tok.body.access_token).toMatch(/.+/)
    const approval = await post(`${rest}/oauth2/Approval`, {
      grant_type: 'client_credentials',
      appkey: app.appkey,
      secretkey: app.appsecret,
    })
    expect(approval.body.approval_key).toMatch(/.+/)

    // The default universe lists NXT-eligible symbols (krx-market-rules §2.2): an NXT order on one
    // is accepted; the KRX-only small cap is refused with the simulator's own code.
    const acct = app.accounts[0]!
    const nxtOrder = (pdno: string, price: string) =>
      json(`${rest}/uapi/domestic-stock/v1/trading/order-cash`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tok.body.access_token}`,
          appkey: app.appkey,
          appsecret: app.appsecret,
          tr_id: 'TTTC0012U',
          custtype: 'P',
        },
        body: JSON.stringify({
          CANO: acct.cano,
          ACNT_PRDT_CD: acct.productCode,
          PDNO: pdno,
          ORD_DVSN: '00',
          ORD_QTY: '1',
          ORD_UNPR: price,
          EXCG_ID_DVSN_CD: 'NXT',
        }),
      })
    expect((await nxtOrder('005930', '60000')).body).toMatchObject({ rt_cd: '0' })
    expect((await nxtOrder('000020', '1990')).body).toMatchObject({ rt_cd: '1', msg_cd: 'APBK0575' })

    // Faults over the control route: switched on, listed, and seen by the next request.
    const added = await post(`${rest}/__sim/faults`, {
      on: 'rest',
      path: 'inquire-price',
      count: 1,
      effect: { type: 'http-error', status: 503 },
    })
    expect(added.body.ids).toHaveLength(1)
    expect((await json(`${rest}/__sim/faults`)).body).toHaveLength(1)
    const price = await fetch(
      `${rest}/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930`,
      {
        headers: {
          authorization: `Bearer ${tok.body.access_token}`,
          appkey: app.appkey,
          appsecret: app.appsecret,
          tr_id: 'FHKST01010100',
        },
      },
    )
    expect(price.status).toBe(503)

    // A client that ignores PINGPONG: one arrives 5 s (virtual) after the session is accepted; the
    // session is dropped 7 s after it, with the clock moved over the control route.
    const ws = new WebSocket(`${wsUrl}/tryitout`)
    const frames: string[] = []
    let closeCode = 0
    ws.on('message', (d) => frames.push(d.toString()))
    ws.on('close', (code) => {
      closeCode = code
    })
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    ws.send(
      JSON.stringify({
        header: {
          approval_key: approval.body.approval_key,
          custtype: 'P',
          tr_type: '1',
          'content-type': 'utf-8',
        },
        body: { input: { tr_id: 'H0STCNT0', tr_key: '005930' } },
      }),
    )
    await waitFor('the subscription ack', () => frames.find((f) => f.includes('"H0STCNT0"')))
    await post(`${rest}/__sim/clock`, { advanceMs: 5_000 })
    await waitFor('a PINGPONG', () => frames.find((f) => f.includes('"PINGPONG"')))
    await post(`${rest}/__sim/clock`, { advanceMs: 6_999 })
    await new Promise((r) => setTimeout(r, 100))
    expect(closeCode).toBe(0)
    await post(`${rest}/__sim/clock`, { advanceMs: 1 })
    await waitFor('the session dropped', () => (closeCode ? closeCode : undefined))
    expect(closeCode).toBe(1006)

    // The ledger over the control route saw all of it.
    const ledger = (await json(`${rest}/__sim/ledger`)).body
    expect(ledger.wsConnects.filter((c: { appkey: string }) => c.appkey === app.appkey)).toHaveLength(1)
    expect(ledger.pongs[app.appkey] ?? { text: 0 }).toMatchObject({ text: 0 })

    p.child.kill('SIGTERM')
    expect(await p.exit).toBe(0)
    expect(p.out.join('')).toContain('SIGTERM, stopping')
    expect(p.err.join('')).toBe('')
  }, 60_000)
})
