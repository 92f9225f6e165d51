import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimApp } from './auth'
import type { SimCore } from './core'
import { normalizeOdno, type SimAccount, type SimEnv, type SimOrder } from './exchange'
import type { FaultRule, RestFaultEffect } from './faults'
import { drawLatency } from './faults'
import { int } from './format'
import {
  balanceRow,
  balanceSummary,
  dailyCcldRow,
  holidayRows,
  priceOutput,
  psblRvsecnclRow,
  psblSellRow,
} from './inquiries'
import { kstDate, kstDateTimeDashed } from './kst'
import { masterFile, zipSingle } from './master'
import type { MessageKey } from './messages'
import { randomString } from './random'

/** A response before it is written. */
export interface RestResponse {
  status: number
  body: unknown
  trId?: string
  trCont?: string
  /** The request was an order that the broker committed (for the ledger). */
  ledgerOrderIndex?: number
  msgCd?: string
}

/** A parsed inbound request. */
export interface RestRequest {
  method: string
  path: string
  headers: Record<string, string>
  /** Query parameters with lower-cased keys (reference §3.1: query keys are case-insensitive). */
  query: Record<string, string>
  raw: string
  json: unknown
  jsonError: boolean
}

interface Route {
  method: 'GET' | 'POST'
  path: string
  /** TR ids accepted on real accounts (new and old ids, reference §4.0). */
  real: readonly string[]
  /** TR ids accepted on paper accounts (V…, reference §3.1). */
  paper: readonly string[]
  /** custtype header required. */
  custtype: boolean
  handler: (core: SimCore, req: RestRequest, ctx: AuthedContext) => RestResponse
}

interface AuthedContext {
  app: SimApp
  env: SimEnv
  trId: string
}

/** Request bodies above this are refused with HTTP 413 (the rest of the body is read and dropped). */
const MAX_BODY_BYTES = 1_048_576

const TRADING = '/uapi/domestic-stock/v1/trading'
const QUOTES = '/uapi/domestic-stock/v1/quotations'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** reference §3.2: `rt_cd`/`msg_cd`/`msg1` envelope. */
function envelope(ok: boolean, m: { msgCd: string; msg1: string }, rest: Record<string, unknown> = {}) {
  return { rt_cd: ok ? '0' : '1', msg_cd: m.msgCd, msg1: m.msg1, ...rest }
}

function gatewayError(core: SimCore, key: MessageKey, env: SimEnv = 'real', trId = ''): RestResponse {
  const m = core.msg(key, env)
  // reference §3.4: EGW errors on REST arrive as HTTP 500 with the normal envelope.
  return { status: core.status.gateway, body: envelope(false, m), trId, msgCd: m.msgCd }
}

function businessError(core: SimCore, key: MessageKey, env: SimEnv, trId: string): RestResponse {
  const m = core.msg(key, env)
  // reference §3.4: business rejections are most likely HTTP 200 (UNVERIFIED; configurable).
  return { status: core.status.business, body: envelope(false, m), trId, msgCd: m.msgCd }
}

/** reference §2.1: tokenP/Approval errors are HTTP 403 with `error_code`/`error_description`. */
function oauthError(core: SimCore, key: MessageKey): RestResponse {
  const m = core.msg(key, 'real')
  return {
    status: core.status.auth,
    body: { error_description: m.msg1, error_code: m.msgCd },
    msgCd: m.msgCd,
  }
}

// ------------------------------------------------------------------ oauth

/**
 * The client-credentials checks shared by tokenP and Approval, in the order KIS reports them
 * (reference §2.1, §6.1): grant type, appkey present and known, secret present and matching.
 */
function checkClientCredentials(
  core: SimCore,
  b: Record<string, unknown>,
  secretField: 'appsecret' | 'secretkey',
): { appkey: string } | { error: RestResponse } {
  if (str(b.grant_type) !== 'client_credentials') return { error: oauthError(core, 'EGW00112') }
  const appkey = str(b.appkey)
  if (!appkey) return { error: oauthError(core, 'EGW00102') }
  const app = core.auth.apps.get(appkey)
  if (!app) return { error: oauthError(core, 'EGW00103') }
  const secret = str(b[secretField])
  if (!secret) return { error: oauthError(core, 'EGW00104') }
  if (secret !== app.appsecret) return { error: oauthError(core, 'EGW00105') }
  return { appkey }
}

function tokenP(core: SimCore, req: RestRequest): RestResponse {
  const b = (req.json ?? {}) as Record<string, unknown>
  if (req.jsonError) return oauthError(core, 'EGW00101')
  const checked = checkClientCredentials(core, b, 'appsecret')
  if ('error' in checked) return checked.error
  const { appkey } = checked
  const now = core.clock.now()
  const issued = core.auth.issueToken(appkey, now)
  if (issued === 'throttled') {
    core.ledger.rateViolations.push({
      at: core.limitNow(),
      appkey,
      channel: 'token',
      path: req.path,
      trId: '',
      inWindow: 1,
      limit: 1,
      forced: false,
    })
    core.log({ type: 'rate-violation', appkey, channel: 'token' })
    return oauthError(core, 'EGW00133')
  }
  core.ledger.tokenIssues.push({ at: now, appkey, reused: issued.reused })
  const { record } = issued
  return {
    status: 200,
    body: {
      access_token: record.token,
      access_token_token_expired: kstDateTimeDashed(record.expiresAt),
      token_type: 'Bearer',
      // reference §2.1: a number, not a string.
      expires_in: Math.max(0, Math.floor((record.expiresAt - now) / 1000)),
    },
  }
}

function revokeP(core: SimCore, req: RestRequest): RestResponse {
  const b = (req.json ?? {}) as Record<string, unknown>
  if (req.jsonError) return oauthError(core, 'EGW00101')
  const app = core.auth.apps.get(str(b.appkey))
  if (!str(b.appkey)) return oauthError(core, 'EGW00102')
  if (!app) return oauthError(core, 'EGW00103')
  if (!str(b.appsecret)) return oauthError(core, 'EGW00104')
  if (str(b.appsecret) !== app.appsecret) return oauthError(core, 'EGW00105')
  const rec = core.auth.tokens.get(str(b.token))
  if (!rec || rec.appkey !== app.appkey || !core.auth.revoke(rec.token)) return oauthError(core, 'EGW00121')
  // reference §2.2
  return { status: 200, body: { code: 200, message: '접근토큰 폐기에 성공하였습니다' } }
}

function approval(core: SimCore, req: RestRequest): RestResponse {
  const b = (req.json ?? {}) as Record<string, unknown>
  if (req.jsonError) return oauthError(core, 'EGW00101')
  // reference §2.3: the field is `secretkey`, not `appsecret`.
  const checked = checkClientCredentials(core, b, 'secretkey')
  if ('error' in checked) return checked.error
  const { appkey } = checked
  // reference §8: approval key issuance 1/s. The error shape for this case is UNVERIFIED.
  const w = core.limiter.tryAcquire(`approval:${appkey}`, core.limitNow(), core.limits.approvalPerSecond)
  if (!w.ok) {
    core.ledger.rateViolations.push({
      at: core.limitNow(),
      appkey,
      channel: 'approval',
      path: req.path,
      trId: '',
      inWindow: w.count,
      limit: core.limits.approvalPerSecond,
      forced: false,
    })
    core.log({ type: 'rate-violation', appkey, channel: 'approval' })
    return oauthError(core, 'EGW00201')
  }
  const rec = core.auth.issueApproval(appkey, core.clock.now())
  core.ledger.approvalIssues.push({ at: rec.issuedAt, appkey })
  return { status: 200, body: { approval_key: rec.key } }
}

// ------------------------------------------------------------------ helpers for /uapi

function bodyField(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key]
  return typeof v === 'string' ? v : undefined
}

function requireFields(
  b: Record<string, unknown>,
  keys: readonly string[],
  optional: readonly string[] = [],
): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const k of keys) {
    // reference §3.1: keys upper case, numbers as strings.
    const v = bodyField(b, k)
    if (v === undefined) return undefined
    out[k] = v
  }
  for (const k of optional) {
    const v = b[k]
    if (v !== undefined && typeof v !== 'string') return undefined
    out[k] = typeof v === 'string' ? v : ''
  }
  return out
}

const parseQty = (s: string): number => (/^\s*\d+\s*$/.test(s) ? Number(s) : Number.NaN)

/**
 * CNDT_PRIC (reference §4.1: only a stop-limit, 22, needs it): empty is 0; anything unreadable is
 * NaN, which only a 22 order refuses (BAD_STOP_PRICE).
 */
const condPrice = (s: string | undefined): number => (s === undefined || s.trim() === '' ? 0 : parseQty(s))

function accountFor(core: SimCore, app: SimApp, cano: string, prdt: string): SimAccount | undefined {
  if (!app.accounts.includes(cano)) return undefined
  const acct = core.exchange.account(cano, prdt)
  return acct && acct.appkey === app.appkey ? acct : undefined
}

/** Record the answer an order request got in its ledger entry (the ledger's "what did the client see"). */
function closeLedgerEntry(core: SimCore, ledgerIdx: number) {
  return (r: RestResponse, odno = ''): RestResponse => {
    const e = core.ledger.orders[ledgerIdx]
    if (e) {
      e.msgCd = r.msgCd ?? ''
      e.odno = odno
      e.outcome = odno ? 'accepted' : 'rejected'
    }
    return { ...r, ledgerOrderIndex: ledgerIdx }
  }
}

/**
 * The success answer of order-cash and order-rvsecncl. reference §4.1: output keys are upper case;
 * §4.2 lists them in lower case for modify/cancel, but python-kis reads upper case, so upper case too.
 */
function orderAccepted(
  core: SimCore,
  env: SimEnv,
  trId: string,
  kind: 'buy' | 'sell' | 'modify' | 'cancel',
  order: { branch: string; odno: string; time: string },
): RestResponse {
  const m = ordersOk(core, env, kind)
  return {
    status: 200,
    trId,
    msgCd: m.msgCd,
    body: envelope(true, m, {
      output: { KRX_FWDG_ORD_ORGNO: order.branch, ODNO: order.odno, ORD_TMD: order.time },
    }),
  }
}

function ordersOk(core: SimCore, env: SimEnv, kind: 'buy' | 'sell' | 'modify' | 'cancel') {
  if (env === 'real') return core.msg('ORDER_OK', env)
  const key: MessageKey =
    kind === 'buy'
      ? 'PAPER_BUY_OK'
      : kind === 'sell'
        ? 'PAPER_SELL_OK'
        : kind === 'modify'
          ? 'PAPER_MODIFY_OK'
          : 'PAPER_CANCEL_OK'
  return core.msg(key, env)
}

function paginate<T>(
  rows: readonly T[],
  pageSize: number,
  req: RestRequest,
  fingerprint: string,
): { page: T[]; trCont: 'M' | 'D'; fk: string; nk: string } {
  // reference §3.3: the next page is asked for with request header tr_cont N plus the cursors.
  let offset = 0
  const nk = req.query.ctx_area_nk100 ?? ''
  if ((req.headers.tr_cont ?? '').toUpperCase() === 'N' && /^SIM\d+$/.test(nk.trim())) {
    offset = Number(nk.trim().slice(3))
  }
  const page = rows.slice(offset, offset + pageSize)
  const more = offset + pageSize < rows.length
  return {
    page,
    // reference §3.3: M when more rows follow, D on the last page.
    trCont: more ? 'M' : 'D',
    fk: fingerprint,
    nk: more ? `SIM${offset + pageSize}` : '',
  }
}

// ------------------------------------------------------------------ trading handlers

const ORDER_CASH_SIDE: Record<string, 'buy' | 'sell'> = {
  TTTC0011U: 'sell',
  TTTC0801U: 'sell',
  TTTC0012U: 'buy',
  TTTC0802U: 'buy',
  VTTC0011U: 'sell',
  VTTC0801U: 'sell',
  VTTC0012U: 'buy',
  VTTC0802U: 'buy',
}

function orderCash(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const b = (req.json ?? {}) as Record<string, unknown>
  const f = requireFields(
    b,
    ['CANO', 'ACNT_PRDT_CD', 'PDNO', 'ORD_DVSN', 'ORD_QTY', 'ORD_UNPR'],
    ['SLL_TYPE', 'CNDT_PRIC', 'EXCG_ID_DVSN_CD', 'CTAC_TLNO', 'ALGO_NO'],
  )
  const side = ORDER_CASH_SIDE[ctx.trId] ?? 'buy'
  const contentKey = f
    ? [
        f.CANO,
        f.ACNT_PRDT_CD,
        side,
        f.PDNO,
        f.ORD_DVSN,
        Number(f.ORD_QTY),
        Number(f.ORD_UNPR),
        f.SLL_TYPE,
        f.EXCG_ID_DVSN_CD || 'KRX',
        Number(f.CNDT_PRIC || '0'),
      ].join('|')
    : `malformed|${req.raw}`
  const ledgerIdx =
    core.ledger.orders.push({
      at: core.clock.now(),
      date: kstDate(core.clock.now()),
      appkey: ctx.app.appkey,
      env: ctx.env,
      cano: f?.CANO ?? '',
      trId: ctx.trId,
      kind: 'new',
      contentKey,
      odno: '',
      outcome: 'rejected',
      msgCd: '',
      responseLost: false,
    }) - 1
  const done = closeLedgerEntry(core, ledgerIdx)
  if (!f) return done(businessError(core, 'OPSQ2002', ctx.env, ctx.trId))
  const acct = accountFor(core, ctx.app, f.CANO ?? '', f.ACNT_PRDT_CD ?? '')
  if (!acct) return done(businessError(core, 'OPSQ2000', ctx.env, ctx.trId))
  const qty = parseQty(f.ORD_QTY ?? '')
  const price = parseQty(f.ORD_UNPR ?? '')
  if (Number.isNaN(qty)) return done(businessError(core, 'BAD_QUANTITY', ctx.env, ctx.trId))
  if (Number.isNaN(price)) return done(businessError(core, 'BAD_PRICE', ctx.env, ctx.trId))
  const r = core.exchange.placeOrder({
    account: acct,
    trId: ctx.trId,
    side,
    symbol: (f.PDNO ?? '').trim(),
    ordDvsn: f.ORD_DVSN ?? '',
    qty,
    price,
    sllType: f.SLL_TYPE || '01',
    exchangeId: f.EXCG_ID_DVSN_CD ?? '',
    condPrice: condPrice(f.CNDT_PRIC),
  })
  if (!r.ok) return done(businessError(core, r.key, ctx.env, ctx.trId))
  return done(orderAccepted(core, ctx.env, ctx.trId, side, r.order), r.order.odno)
}

function orderRvsecncl(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const b = (req.json ?? {}) as Record<string, unknown>
  const f = requireFields(
    b,
    [
      'CANO',
      'ACNT_PRDT_CD',
      'KRX_FWDG_ORD_ORGNO',
      'ORGN_ODNO',
      'ORD_DVSN',
      'RVSE_CNCL_DVSN_CD',
      'ORD_QTY',
      'ORD_UNPR',
      'QTY_ALL_ORD_YN',
    ],
    ['CNDT_PRIC', 'EXCG_ID_DVSN_CD'],
  )
  const kind = f?.RVSE_CNCL_DVSN_CD === '02' ? 'cancel' : 'modify'
  const contentKey = f
    ? [
        f.CANO,
        f.ACNT_PRDT_CD,
        kind,
        normalizeOdno(f.ORGN_ODNO ?? ''),
        f.ORD_DVSN,
        Number(f.ORD_QTY),
        Number(f.ORD_UNPR),
        f.QTY_ALL_ORD_YN,
      ].join('|')
    : `malformed|${req.raw}`
  const ledgerIdx =
    core.ledger.orders.push({
      at: core.clock.now(),
      date: kstDate(core.clock.now()),
      appkey: ctx.app.appkey,
      env: ctx.env,
      cano: f?.CANO ?? '',
      trId: ctx.trId,
      kind,
      contentKey,
      odno: '',
      outcome: 'rejected',
      msgCd: '',
      responseLost: false,
    }) - 1
  const done = closeLedgerEntry(core, ledgerIdx)
  if (!f || (f.RVSE_CNCL_DVSN_CD !== '01' && f.RVSE_CNCL_DVSN_CD !== '02')) {
    return done(businessError(core, 'OPSQ2002', ctx.env, ctx.trId))
  }
  if (f.QTY_ALL_ORD_YN !== 'Y' && f.QTY_ALL_ORD_YN !== 'N')
    return done(businessError(core, 'OPSQ2002', ctx.env, ctx.trId))
  const acct = accountFor(core, ctx.app, f.CANO ?? '', f.ACNT_PRDT_CD ?? '')
  if (!acct) return done(businessError(core, 'OPSQ2000', ctx.env, ctx.trId))
  const qty = parseQty(f.ORD_QTY ?? '')
  const price = parseQty(f.ORD_UNPR ?? '')
  if (Number.isNaN(qty) || Number.isNaN(price))
    return done(businessError(core, 'OPSQ2002', ctx.env, ctx.trId))
  const r = core.exchange.amendOrder({
    account: acct,
    trId: ctx.trId,
    kind,
    origOdno: f.ORGN_ODNO ?? '',
    branch: f.KRX_FWDG_ORD_ORGNO ?? '',
    ordDvsn: f.ORD_DVSN ?? '',
    qty,
    qtyAll: f.QTY_ALL_ORD_YN === 'Y',
    price,
    exchangeId: f.EXCG_ID_DVSN_CD ?? '',
    condPrice: condPrice(f.CNDT_PRIC),
  })
  if (!r.ok) return done(businessError(core, r.key, ctx.env, ctx.trId))
  return done(orderAccepted(core, ctx.env, ctx.trId, kind, r.order), r.order.odno)
}

function queryAccount(core: SimCore, req: RestRequest, ctx: AuthedContext): SimAccount | RestResponse {
  const cano = req.query.cano ?? ''
  const prdt = req.query.acnt_prdt_cd ?? ''
  const acct = accountFor(core, ctx.app, cano, prdt)
  return acct ?? businessError(core, 'OPSQ2000', ctx.env, ctx.trId)
}

function inquiryOk(core: SimCore, env: SimEnv): { msgCd: string; msg1: string } {
  return core.msg('INQUIRY_OK', env)
}

function inquireBalance(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const acct = queryAccount(core, req, ctx)
  if ('status' in acct) return acct
  const codes = [...acct.positions.keys()].sort()
  const size = core.pageSizes.balance[ctx.env]
  const p = paginate(codes, size, req, `${acct.cano}^${acct.productCode}^B`)
  return {
    status: 200,
    trId: ctx.trId,
    trCont: p.trCont,
    body: {
      ctx_area_fk100: p.fk,
      ctx_area_nk100: p.nk,
      output1: p.page.map((c) => balanceRow(core, acct, c)),
      // reference §3.2: output2 is an array with one element.
      output2: [balanceSummary(core, acct)],
      ...envelope(true, inquiryOk(core, ctx.env)),
    },
  }
}

function inquireDailyCcld(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const acct = queryAccount(core, req, ctx)
  if ('status' in acct) return acct
  const q = req.query
  const today = kstDate(core.clock.now())
  const from = q.inqr_strt_dt || today
  const to = q.inqr_end_dt || today
  const side = q.sll_buy_dvsn_cd ?? '00'
  const pdno = (q.pdno ?? '').trim()
  const odno = (q.odno ?? '').trim()
  const ccld = q.ccld_dvsn ?? '00'
  // reference §4.4 EXCG_ID_DVSN_CD: KRX / NXT / SOR / ALL. Empty (or any other value) lists every
  // venue, as before the filter existed here (what KIS does with it is UNVERIFIED). SOR picks the
  // orders sent as SOR; KRX/NXT pick the venue the row shows (`market.sorInquiryVenue`).
  const venue = (q.excg_id_dvsn_cd ?? '').trim().toUpperCase()
  const rows: SimOrder[] = []
  for (const o of core.exchange.orders.values()) {
    if (o.cano !== acct.cano || o.productCode !== acct.productCode) continue
    if (o.date < from || o.date > to) continue
    if (side === '01' && o.side !== 'sell') continue
    if (side === '02' && o.side !== 'buy') continue
    if (pdno && o.symbol !== pdno) continue
    if (odno && normalizeOdno(odno) !== o.odno) continue
    if (ccld === '01' && o.filledQty === 0) continue
    if (ccld === '02' && o.remaining === 0) continue
    if (venue === 'SOR' && o.route !== 'SOR') continue
    if ((venue === 'KRX' || venue === 'NXT') && core.exchange.inquiryVenue(o) !== venue) continue
    rows.push(o)
  }
  rows.sort((a, b) => a.seq - b.seq)
  // reference §4.4: INQR_DVSN 00 역순 (newest first), 01 정순.
  if ((q.inqr_dvsn ?? '00') !== '01') rows.reverse()
  // reference §7.10: a paper account saw no order rows at all, only output2's totals.
  const hidden = ctx.env === 'paper' && !core.paper.listsOrders
  const p = paginate(
    hidden ? [] : rows,
    core.pageSizes.dailyCcld[ctx.env],
    req,
    `${acct.cano}^${acct.productCode}^${from}^${to}`,
  )
  let totOrd = 0
  let totCcld = 0
  let totAmt = 0
  for (const o of rows) {
    totOrd += o.qty
    totCcld += o.filledQty
    totAmt += o.filledAmount
  }
  return {
    status: 200,
    trId: ctx.trId,
    trCont: p.trCont,
    body: {
      ctx_area_fk100: p.fk,
      ctx_area_nk100: p.nk,
      output1: p.page.map((o) => dailyCcldRow(core, o)),
      // reference §3.2: output2 is an object here.
      output2: {
        tot_ord_qty: int(totOrd),
        tot_ccld_qty: int(totCcld),
        tot_ccld_amt: int(totAmt),
        prsm_tlex_smtl: '0',
        pchs_avg_pric: totCcld > 0 ? (totAmt / totCcld).toFixed(4) : '0.0000',
      },
      ...envelope(true, hidden ? core.msg('PAPER_NO_ROWS', ctx.env) : inquiryOk(core, ctx.env)),
    },
  }
}

function inquirePsblRvsecncl(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const acct = queryAccount(core, req, ctx)
  if ('status' in acct) return acct
  const side = req.query.inqr_dvsn_2 ?? '0'
  const rows = core.exchange
    .openOrders()
    .filter(
      (o) =>
        o.cano === acct.cano &&
        o.productCode === acct.productCode &&
        o.remaining > 0 &&
        (side === '1' ? o.side === 'sell' : side === '2' ? o.side === 'buy' : true),
    )
  if (req.query.inqr_dvsn_1 === '1') rows.sort((a, b) => a.symbol.localeCompare(b.symbol) || a.seq - b.seq)
  const p = paginate(rows, core.pageSizes.psblRvsecncl, req, `${acct.cano}^${acct.productCode}^R`)
  return {
    status: 200,
    trId: ctx.trId,
    trCont: p.trCont,
    body: {
      ctx_area_fk100: p.fk,
      ctx_area_nk100: p.nk,
      output: p.page.map((o) => psblRvsecnclRow(core, o)),
      ...envelope(true, inquiryOk(core, ctx.env)),
    },
  }
}

/** 매도가능수량조회 (real only, `TTTC8408R`): one `output` object for the asked symbol. */
function inquirePsblSell(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const acct = queryAccount(core, req, ctx)
  if ('status' in acct) return acct
  const code = (req.query.pdno ?? '').trim()
  if (!/^\d{6}$/.test(code)) return businessError(core, 'OPSQ2002', ctx.env, ctx.trId)
  return {
    status: 200,
    trId: ctx.trId,
    body: {
      output: psblSellRow(core, acct, code),
      ...envelope(true, inquiryOk(core, ctx.env)),
    },
  }
}

function inquirePsblOrder(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const acct = queryAccount(core, req, ctx)
  if ('status' in acct) return acct
  const code = (req.query.pdno ?? '').trim()
  const sym = code ? core.exchange.symbols.get(code) : undefined
  if (code && !sym) return businessError(core, 'PRODUCT_NOT_FOUND', ctx.env, ctx.trId)
  const unpr = Number(req.query.ord_unpr ?? '') || 0
  const cash = core.exchange.orderableCash(acct)
  // reference §4.1: price-less orders are costed at the upper limit.
  const calc = sym ? (unpr > 0 ? unpr : sym.upper) : 0
  const qty = calc > 0 ? Math.floor(cash / calc) : 0
  return {
    status: 200,
    trId: ctx.trId,
    body: {
      output: {
        ord_psbl_cash: int(cash),
        ord_psbl_sbst: '0',
        ruse_psbl_amt: '0',
        fund_rpch_chgs: '0',
        psbl_qty_calc_unpr: int(calc),
        nrcvb_buy_amt: int(cash),
        nrcvb_buy_qty: int(qty),
        max_buy_amt: int(cash),
        max_buy_qty: int(qty),
        cma_evlu_amt: '0',
        ovrs_re_use_amt_wcrc: '0',
        ord_psbl_frcr_amt_wcrc: '0',
      },
      ...envelope(true, inquiryOk(core, ctx.env)),
    },
  }
}

function inquirePrice(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const mrkt = (req.query.fid_cond_mrkt_div_code ?? '').toUpperCase()
  // reference §4.7: J KRX, NX NXT, UN 통합; the simulator lists KRX only.
  if (mrkt !== 'J') return businessError(core, 'OPSQ2001', ctx.env, ctx.trId)
  const out = priceOutput(core, (req.query.fid_input_iscd ?? '').trim())
  if (!out) return businessError(core, 'PRODUCT_NOT_FOUND', ctx.env, ctx.trId)
  return {
    status: 200,
    trId: ctx.trId,
    body: { output: out, ...envelope(true, core.msg('QUOTE_OK', ctx.env)) },
  }
}

function chkHoliday(core: SimCore, req: RestRequest, ctx: AuthedContext): RestResponse {
  const bass = (req.query.bass_dt ?? '').trim() || kstDate(core.clock.now())
  if (!/^\d{8}$/.test(bass)) return businessError(core, 'OPSQ2002', ctx.env, ctx.trId)
  return {
    status: 200,
    trId: ctx.trId,
    trCont: 'D',
    body: {
      ctx_area_nk: '',
      ctx_area_fk: '',
      output: holidayRows(core, bass, core.pageSizes.holidays),
      ...envelope(true, inquiryOk(core, ctx.env)),
    },
  }
}

/** reference §4.0 endpoint table. */
const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: `${TRADING}/order-cash`,
    real: ['TTTC0011U', 'TTTC0012U', 'TTTC0801U', 'TTTC0802U'],
    paper: ['VTTC0011U', 'VTTC0012U', 'VTTC0801U', 'VTTC0802U'],
    custtype: true,
    handler: orderCash,
  },
  {
    method: 'POST',
    path: `${TRADING}/order-rvsecncl`,
    real: ['TTTC0013U', 'TTTC0803U'],
    paper: ['VTTC0013U', 'VTTC0803U'],
    custtype: true,
    handler: orderRvsecncl,
  },
  {
    method: 'GET',
    path: `${TRADING}/inquire-psbl-rvsecncl`,
    real: ['TTTC0084R', 'TTTC8036R'],
    // reference §4.3: not supported in paper.
    paper: [],
    custtype: true,
    handler: inquirePsblRvsecncl,
  },
  {
    method: 'GET',
    path: `${TRADING}/inquire-daily-ccld`,
    real: ['TTTC0081R', 'TTTC8001R', 'CTSC9215R', 'CTSC9115R'],
    paper: ['VTTC0081R', 'VTTC8001R', 'VTSC9215R', 'VTSC9115R'],
    custtype: true,
    handler: inquireDailyCcld,
  },
  {
    method: 'GET',
    path: `${TRADING}/inquire-balance`,
    real: ['TTTC8434R'],
    paper: ['VTTC8434R'],
    custtype: true,
    handler: inquireBalance,
  },
  {
    method: 'GET',
    path: `${TRADING}/inquire-psbl-sell`,
    real: ['TTTC8408R'],
    // reference §4.0 / §9: not offered on paper.
    paper: [],
    custtype: true,
    handler: inquirePsblSell,
  },
  {
    method: 'GET',
    path: `${TRADING}/inquire-psbl-order`,
    real: ['TTTC8908R'],
    paper: ['VTTC8908R'],
    custtype: true,
    handler: inquirePsblOrder,
  },
  {
    method: 'GET',
    path: `${QUOTES}/inquire-price`,
    real: ['FHKST01010100'],
    paper: ['FHKST01010100'],
    custtype: false,
    handler: inquirePrice,
  },
  {
    method: 'GET',
    path: `${QUOTES}/chk-holiday`,
    real: ['CTCA0903R'],
    // reference §9: no chk-holiday on paper.
    paper: [],
    custtype: false,
    handler: chkHoliday,
  },
]

const ROUTE_BY_PATH = new Map(ROUTES.map((r) => [r.path, r]))

/** reference §3.1: the paper id replaces a leading T, J or C with V. */
function looksReal(trId: string): boolean {
  return /^[TJC]/.test(trId)
}

/** Validates headers, limits and token for a /uapi request. */
function authenticate(
  core: SimCore,
  req: RestRequest,
  route: Route | undefined,
): AuthedContext | RestResponse {
  const h = req.headers
  const appkey = h.appkey ?? ''
  const trId = h.tr_id ?? ''
  if (!appkey) return gatewayError(core, 'EGW00102', 'real', trId)
  const app = core.auth.apps.get(appkey)
  if (!app) return gatewayError(core, 'EGW00103', 'real', trId)
  const env = app.env
  if (!h.appsecret) return gatewayError(core, 'EGW00104', env, trId)
  if (h.appsecret !== app.appsecret) return gatewayError(core, 'EGW00105', env, trId)
  // reference §8 / NOTICE-LIMITS: per-appkey requests per second; excess → HTTP 500 EGW00201.
  const limit = core.limits.restPerSecond[env]
  const now = core.limitNow()
  core.ledger.recordArrival(appkey, now)
  const w = core.limiter.tryAcquire(`rest:${appkey}`, now, limit)
  if (!w.ok) {
    core.ledger.rateViolations.push({
      at: now,
      appkey,
      channel: 'rest',
      path: req.path,
      trId,
      inWindow: w.count,
      limit,
      forced: false,
    })
    core.log({ type: 'rate-violation', appkey, channel: 'rest' })
    return gatewayError(core, 'EGW00201', env, trId)
  }
  if (req.path === '/uapi/hashkey') return { app, env, trId }
  const auth = h.authorization ?? ''
  if (!auth) return gatewayError(core, 'EGW00122', env, trId)
  // reference §2.1: "토큰 지정시 토큰 타입("Bearer") 지정 필요".
  if (!/^Bearer\s+/.test(auth)) return gatewayError(core, 'EGW00205', env, trId)
  const bad = core.auth.checkToken(appkey, auth.replace(/^Bearer\s+/, '').trim(), core.clock.now())
  if (bad) return gatewayError(core, bad, env, trId)
  if (!route) return gatewayError(core, 'OPSQ0002', env, trId)
  if (!trId) return gatewayError(core, 'OPSQ9999', env, trId)
  const allowed = env === 'real' ? route.real : route.paper
  if (!allowed.includes(trId)) {
    // reference §3.1: a real TR on the paper host → EGW00213 "모의투자 tr이 아닙니다".
    if (env === 'paper' && looksReal(trId)) return gatewayError(core, 'EGW00213', env, trId)
    // reference §7.10: paper psbl-rvsecncl (VTTC8036R) answered rt_cd 1, msg_cd 90000000.
    if (env === 'paper' && route.handler === inquirePsblRvsecncl && core.paper.psblRvsecncl === 'refused') {
      return businessError(core, 'PAPER_PSBL_REFUSED', env, trId)
    }
    // reference §4.0 / §9: inquire-psbl-rvsecncl and chk-holiday are not offered on paper at all.
    if (env === 'paper' && route.paper.length === 0)
      return gatewayError(core, 'PAPER_NOT_SUPPORTED_API', env, trId)
    return gatewayError(core, 'OPSQ0002', env, trId)
  }
  const ct = h.custtype
  if ((route.custtype && !ct) || (ct !== undefined && ct !== 'P' && ct !== 'B')) {
    return gatewayError(core, 'EGW00208', env, trId)
  }
  if (core.validateHashkey && h.hashkey !== undefined && req.method === 'POST') {
    if (h.hashkey !== hashOf(req.raw)) return gatewayError(core, 'EGW00131', env, trId)
  }
  const badBody = checkPostBody(core, req, env, trId)
  if (badBody) return badBody
  return { app, env, trId }
}

/** Content type and JSON body of a POST to /uapi (reference §3.1, §6.1, §6.2). */
function checkPostBody(core: SimCore, req: RestRequest, env: SimEnv, trId: string): RestResponse | undefined {
  if (req.method !== 'POST') return undefined
  const ctype = req.headers['content-type']
  if (ctype !== undefined && !ctype.toLowerCase().includes('json'))
    return gatewayError(core, 'EGW00132', env, trId)
  // reference §6.2: OPSQ9995 body not found, OPSQ9997 invalid json format. A body that parses but
  // is not a JSON object (`null`, `[]`, `"x"`) cannot carry the upper-case fields either.
  if (req.raw.trim() === '') return gatewayError(core, 'OPSQ9995', env, trId)
  const j = req.json
  if (req.jsonError || j === null || typeof j !== 'object' || Array.isArray(j))
    return gatewayError(core, 'OPSQ9997', env, trId)
  return undefined
}

/** The simulator's hashkey (reference §2.4: algorithm UNVERIFIED; sha256 hex of the raw body). */
export function hashOf(raw: string): string {
  return createHash('sha256').update(raw).digest('hex')
}

function hashkey(core: SimCore, req: RestRequest): RestResponse {
  const ctx = authenticate(core, req, undefined)
  if ('status' in ctx) return ctx
  const badBody = checkPostBody(core, req, ctx.env, ctx.trId)
  if (badBody) return badBody
  return { status: 200, body: { JsonBody: req.json ?? {}, HASH: hashOf(req.raw) } }
}

/** Runs one request through routing, validation and the handler (no faults). */
export function processRequest(core: SimCore, req: RestRequest): RestResponse {
  core.exchange.syncTo(core.clock.now())
  if (req.method === 'POST' && req.path === '/oauth2/tokenP') return tokenP(core, req)
  if (req.method === 'POST' && req.path === '/oauth2/revokeP') return revokeP(core, req)
  if (req.method === 'POST' && req.path === '/oauth2/Approval') return approval(core, req)
  if (req.method === 'POST' && req.path === '/uapi/hashkey') return hashkey(core, req)
  const route = ROUTE_BY_PATH.get(req.path)
  if (!req.path.startsWith('/uapi/')) {
    return { status: 404, body: envelope(false, core.msg('OPSQ0002', 'real')), msgCd: 'OPSQ0002' }
  }
  if (route && route.method !== req.method) {
    return { status: 405, body: envelope(false, core.msg('EGW00101', 'real')), msgCd: 'EGW00101' }
  }
  const ctx = authenticate(core, req, route)
  if ('status' in ctx) return ctx
  if (!route) return gatewayError(core, 'OPSQ0002', ctx.env, ctx.trId)
  return route.handler(core, req, ctx)
}

function addDrift(body: unknown, extra: number): unknown {
  const pad = (o: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...o }
    for (let i = 1; i <= extra; i++) out[`sim_drift_${i}`] = ''
    return out
  }
  if (!body || typeof body !== 'object') return body
  const b = { ...(body as Record<string, unknown>) }
  for (const k of ['output', 'output1', 'output2']) {
    const v = b[k]
    if (Array.isArray(v))
      b[k] = v.map((r) => (r && typeof r === 'object' ? pad(r as Record<string, unknown>) : r))
    else if (v && typeof v === 'object') b[k] = pad(v as Record<string, unknown>)
  }
  return pad(b)
}

/**
 * Writes a response with KIS's header names, in KIS's case (reference §3.2): `Content-Type` and
 * `Content-Length` canonical, `tr_id`, `tr_cont` and `gt_uid` lower case. Node sends a name exactly
 * as written here, and clients that turn lower-case names into identifiers depend on it.
 */
export function writeResponse(core: SimCore, res: ServerResponse, r: RestResponse): void {
  const body = JSON.stringify(r.body)
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
  }
  if (r.trId !== undefined) {
    headers.tr_id = r.trId
    headers.tr_cont = r.trCont ?? ''
    headers.gt_uid = randomString(core.rng, 32, '0123456789ABCDEF')
  }
  res.writeHead(r.status, headers)
  res.end(body)
}

/**
 * The request target as an absolute URL. An origin-form target is appended to a dummy origin rather
 * than resolved against it, so `//x/y` stays a path instead of becoming host `x`.
 */
function requestUrl(req: IncomingMessage): string {
  const target = req.url ?? '/'
  return target.startsWith('/') ? `http://sim${target}` : target
}

/** Parses the request line, headers and body. */
export function parseRequest(req: IncomingMessage, raw: string): RestRequest {
  const url = new URL(requestUrl(req))
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string') headers[k.toLowerCase()] = v
    else if (Array.isArray(v)) headers[k.toLowerCase()] = v.join(',')
  }
  const query: Record<string, string> = {}
  for (const [k, v] of url.searchParams) query[k.toLowerCase()] = v
  let json: unknown
  let jsonError = false
  if (raw.length > 0) {
    try {
      json = JSON.parse(raw)
    } catch {
      jsonError = true
    }
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    headers,
    query,
    raw,
    json,
    jsonError,
  }
}

/** Applies the fault plan around {@link processRequest} and writes the answer. */
export class RestFrontend {
  private readonly hanging = new Set<ServerResponse>()

  constructor(
    private readonly core: SimCore,
    private readonly control: (req: RestRequest, res: ServerResponse) => void,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    let size = 0
    // A client that disconnects mid-request may make the streams emit 'error' (ECONNRESET); there
    // is nobody left to answer, so it must never surface as an unhandled 'error' event.
    req.on('error', () => {})
    res.on('error', () => {})
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= MAX_BODY_BYTES) chunks.push(c)
    })
    req.on('end', () =>
      this.safely(res, () => {
        // A request target that is not a URL (e.g. `GET http://[`) is refused, not parsed.
        if (!URL.canParse(requestUrl(req))) {
          writeResponse(this.core, res, {
            status: 400,
            body: envelope(false, this.core.msg('EGW00101', 'real')),
            msgCd: 'EGW00101',
          })
          return
        }
        if (size > MAX_BODY_BYTES) {
          // The reference has no code for an oversized body; EGW00101 유효하지 않은 요청입니다.
          writeResponse(this.core, res, {
            status: 413,
            body: envelope(false, this.core.msg('EGW00101', 'real')),
            msgCd: 'EGW00101',
          })
          return
        }
        const parsed = parseRequest(req, Buffer.concat(chunks).toString('utf8'))
        if (parsed.path.startsWith('/__sim/')) {
          this.control(parsed, res)
          return
        }
        const master = /^\/common\/master\/(kospi|kosdaq)_code\.mst\.zip$/.exec(parsed.path)
        if (master && req.method === 'GET') {
          // The daily stock master files (KIS serves them from a download host; the URL is
          // configurable in clients). Built from the simulator's symbols as of now.
          const market = master[1] === 'kospi' ? 'KOSPI' : 'KOSDAQ'
          const file = `${master[1]}_code.mst`
          const zip = zipSingle(file, masterFile(this.core.exchange.symbols.values(), market))
          res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': String(zip.length) })
          res.end(zip)
          return
        }
        this.dispatch(parsed, req, res)
      }),
    )
  }

  /**
   * Runs `fn`; a bug in the simulator becomes HTTP 500 `EGW00002 서버 에러가 발생했습니다.` (reference
   * §6.1) and an `internal-error` event instead of an uncaught exception that kills the process.
   */
  private safely(res: ServerResponse, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      try {
        this.core.log({ type: 'internal-error', message: err instanceof Error ? err.message : String(err) })
      } catch {
        // The observer itself failed (possibly the very error being handled); the client still
        // gets its answer below.
      }
      if (res.headersSent || res.destroyed) {
        res.destroy()
        return
      }
      const m = this.core.msg('EGW00002', 'real')
      writeResponse(this.core, res, {
        status: this.core.status.gateway,
        body: envelope(false, m),
        msgCd: m.msgCd,
      })
    }
  }

  private dispatch(r: RestRequest, req: IncomingMessage, res: ServerResponse): void {
    const core = this.core
    const body = (r.json ?? {}) as Record<string, unknown>
    const appkey = r.headers.appkey ?? (typeof body.appkey === 'string' ? body.appkey : '')
    const trId = r.headers.tr_id ?? ''
    const rules = core.faults.match({ on: 'rest', appkey, path: r.path, trId, method: r.method })
    const effects = rules.map((x) => (x as FaultRule & { effect: RestFaultEffect }).effect)
    for (const x of rules) core.log({ type: 'fault', id: x.id, on: 'rest', effect: x.effect.type })
    let before = 0
    let after = 0
    let afterHost = false
    let beforeHost = false
    for (const e of effects) {
      if (e.type !== 'latency') continue
      const ms = drawLatency(e.latency, core.rng)
      if (e.phase === 'after') {
        after += ms
        afterHost ||= e.timebase === 'host'
      } else {
        before += ms
        beforeHost ||= e.timebase === 'host'
      }
    }
    const run = (): void =>
      this.safely(res, () => {
        const out = this.outcome(
          r,
          effects,
          rules.map((x) => x.id),
        )
        if (out === 'reset') {
          req.socket.destroy()
          return
        }
        if (out === 'hang') {
          this.hanging.add(res)
          res.on('close', () => this.hanging.delete(res))
          return
        }
        const hold = this.paperAnswerHold(r, appkey, out)
        const answer = (): void => writeResponse(core, res, out)
        // A manual clock moves only when told: the paper hold then runs on host time, so an order
        // answer never waits for a clock step.
        const holdThenAnswer = (): void =>
          hold > 0 ? this.delay(hold, afterHost || core.clock.mode === 'manual', answer) : answer()
        if (after > 0) this.delay(after, afterHost, holdThenAnswer)
        else holdThenAnswer()
      })
    if (before > 0) this.delay(before, beforeHost, run)
    else run()
  }

  /**
   * reference §7.10: on paper, notices overtook the answer to an accepted order, modify or cancel
   * by 150–400 ms. The request has taken effect (its notices are out); the answer waits.
   */
  private paperAnswerHold(r: RestRequest, appkey: string, out: RestResponse): number {
    const core = this.core
    if (core.auth.apps.get(appkey)?.env !== 'paper') return 0
    if (!r.path.endsWith('/order-cash') && !r.path.endsWith('/order-rvsecncl')) return 0
    if ((out.body as { rt_cd?: unknown } | undefined)?.rt_cd !== '0') return 0
    const [lo, hi] = core.paper.answerAfterNoticeMs
    return hi > 0 ? lo + core.rng.next() * (hi - lo) : 0
  }

  private delay(ms: number, host: boolean, fn: () => void): void {
    if (host) this.core.host.setTimeout(fn, ms)
    else this.core.clock.setTimeout(fn, ms)
  }

  private outcome(
    r: RestRequest,
    effects: RestFaultEffect[],
    faultIds: string[],
  ): RestResponse | 'reset' | 'hang' {
    const core = this.core
    const appkey = r.headers.appkey ?? ''
    const app = core.auth.apps.get(appkey)
    const env: SimEnv = app?.env ?? 'real'
    const trId = r.headers.tr_id ?? ''
    let result: RestResponse | undefined
    let lost: 'reset' | 'hang' | undefined
    let errorAfter: Extract<RestFaultEffect, { type: 'http-error' }> | undefined
    let drift = 0
    for (const e of effects) {
      if (result) break
      switch (e.type) {
        case 'rate-limit':
          core.ledger.rateViolations.push({
            at: core.limitNow(),
            appkey,
            channel: 'rest',
            path: r.path,
            trId,
            inWindow: 0,
            limit: core.limits.restPerSecond[env],
            forced: true,
          })
          result = gatewayError(core, 'EGW00201', env, trId)
          break
        case 'token-invalid':
          result = gatewayError(core, e.code ?? 'EGW00123', env, trId)
          break
        case 'http-error':
          if (e.commit) errorAfter = e
          else result = this.httpError(e, env, trId)
          break
        case 'drop-response':
          lost = e.mode ?? 'reset'
          break
        case 'schema-drift':
          drift += e.extraFields ?? 1
          break
        default:
          break
      }
    }
    if (!result) {
      result = processRequest(core, r)
      if (errorAfter)
        result = { ...this.httpError(errorAfter, env, trId), ledgerOrderIndex: result.ledgerOrderIndex ?? -1 }
    }
    if (lost && result.ledgerOrderIndex !== undefined) {
      const e = core.ledger.orders[result.ledgerOrderIndex]
      if (e) e.responseLost = true
    }
    if (drift > 0) result = { ...result, body: addDrift(result.body, drift) }
    core.ledger.recordRequest({
      at: core.clock.now(),
      appkey,
      method: r.method,
      path: r.path,
      trId,
      status: lost ? 0 : result.status,
      msgCd: result.msgCd ?? '',
      faults: faultIds,
    })
    core.log({
      type: 'request',
      method: r.method,
      path: r.path,
      trId,
      status: result.status,
      msgCd: result.msgCd ?? '',
    })
    return lost ?? result
  }

  private httpError(
    e: Extract<RestFaultEffect, { type: 'http-error' }>,
    env: SimEnv,
    trId: string,
  ): RestResponse {
    const base = this.core.msg('EGW00001', env)
    const msgCd = e.msgCd ?? base.msgCd
    const known = (this.core.messages as Record<string, { real: string } | undefined>)[msgCd]
    const msg1 = e.msg1 ?? known?.real ?? base.msg1
    return { status: e.status ?? 500, body: envelope(false, { msgCd, msg1 }), trId, msgCd }
  }

  /** Ends responses left hanging by `drop-response: hang`. */
  closeHanging(): void {
    for (const res of this.hanging) res.destroy()
    this.hanging.clear()
  }
}
