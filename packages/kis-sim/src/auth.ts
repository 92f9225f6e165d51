import { createHmac } from 'node:crypto'
import type { SimEnv } from './exchange'
import type { RandomSource } from './random'
import { randomString } from './random'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const B64 = `${ALNUM}+/`
const HEX = '0123456789abcdef'

/** A registered app (appkey/appsecret pair) and what it may trade. */
export interface SimApp {
  readonly appkey: string
  readonly appsecret: string
  readonly env: SimEnv
  /** HTS ID: the tr_key of the execution-notice subscription (reference §7.2). */
  readonly htsId: string
  /** 5-digit branch (KRX_FWDG_ORD_ORGNO); paper is always 00950 (reference §9). */
  readonly branch: string
  /** `CANO` values of its accounts. */
  readonly accounts: string[]
}

/** A token the simulator issued. */
export interface TokenRecord {
  token: string
  appkey: string
  issuedAt: number
  expiresAt: number
  revoked: boolean
  /** Set by `control.invalidateTokens()`: the token now fails with EGW00123 or EGW00121. */
  invalidated: 'expired' | 'invalid' | undefined
}

/** An approval key for the WebSocket (reference §2.3). */
export interface ApprovalRecord {
  key: string
  appkey: string
  issuedAt: number
  expiresAt: number
}

/** Token rules (reference §2.1). */
export interface TokenPolicy {
  /** @default 86_400_000 (24 h) */
  ttlMs: number
  /** A tokenP call within this age of the current token returns the same token. @default 6 h */
  reuseWindowMs: number
  /** Minimum gap between two *new* tokens per appkey → 403 EGW00133. UNVERIFIED (1 min/1 s/5 min). @default 60_000 */
  minIssueIntervalMs: number
  /** Approval keys' lifetime. @default 24 h */
  approvalTtlMs: number
}

/** Deterministic UUID-shaped string (reference §2.3: approval keys look like UUIDs, 36 chars). */
export function uuidLike(rng: RandomSource): string {
  const h = (n: number): string => randomString(rng, n, HEX)
  return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[Math.floor(rng.next() * 4)]}${h(3)}-${h(12)}`
}

/** Generates a 36-char appkey starting with `PS` (reference §2.1) and a 180-char appsecret (§3.1). */
export function generateCredentials(rng: RandomSource): { appkey: string; appsecret: string } {
  return { appkey: `PS${randomString(rng, 34, ALNUM)}`, appsecret: randomString(rng, 180, B64) }
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url')

/** Apps, tokens and approval keys. */
export class AuthRegistry {
  readonly apps = new Map<string, SimApp>()
  readonly tokens = new Map<string, TokenRecord>()
  readonly approvals = new Map<string, ApprovalRecord>()
  private readonly current = new Map<string, TokenRecord>()
  private readonly lastNewIssue = new Map<string, number>()

  constructor(
    private readonly rng: RandomSource,
    public policy: TokenPolicy,
    private readonly signingKey: string,
  ) {}

  addApp(app: SimApp): void {
    if (this.apps.has(app.appkey))
      throw new Error(`kis-sim: appkey ${app.appkey.slice(0, 6)}… registered twice`)
    this.apps.set(app.appkey, app)
  }

  /**
   * reference §2.1: same token within 6 h; at most one new token per interval (EGW00133).
   * Returns the record, or `throttled`.
   */
  issueToken(appkey: string, now: number): { record: TokenRecord; reused: boolean } | 'throttled' {
    const cur = this.current.get(appkey)
    if (
      cur &&
      !cur.revoked &&
      cur.invalidated === undefined &&
      now < cur.expiresAt &&
      now - cur.issuedAt < this.policy.reuseWindowMs
    ) {
      return { record: cur, reused: true }
    }
    const last = this.lastNewIssue.get(appkey)
    if (last !== undefined && now - last < this.policy.minIssueIntervalMs && now >= last) return 'throttled'
    const record: TokenRecord = {
      token: this.makeJwt(appkey, now),
      appkey,
      issuedAt: now,
      expiresAt: now + this.policy.ttlMs,
      revoked: false,
      invalidated: undefined,
    }
    this.tokens.set(record.token, record)
    this.current.set(appkey, record)
    this.lastNewIssue.set(appkey, now)
    return { record, reused: false }
  }

  /** A JWT-shaped token (reference §2.1: HS512 header, iss "unogw"). The signature is the sim's own. */
  private makeJwt(appkey: string, now: number): string {
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS512' }))
    const payload = b64url(
      JSON.stringify({
        sub: 'token',
        aud: uuidLike(this.rng),
        prdt_cd: '',
        iss: 'unogw',
        exp: Math.floor((now + this.policy.ttlMs) / 1000),
        iat: Math.floor(now / 1000),
        jti: appkey,
      }),
    )
    const sig = createHmac('sha512', this.signingKey).update(`${header}.${payload}`).digest('base64url')
    return `${header}.${payload}.${sig}`
  }

  revoke(token: string): boolean {
    const rec = this.tokens.get(token)
    if (!rec || rec.revoked) return false
    rec.revoked = true
    return true
  }

  /** Marks every live token of `appkey` (or all apps) as expired/invalid. */
  invalidate(appkey: string | undefined, how: 'expired' | 'invalid'): number {
    let n = 0
    for (const rec of this.tokens.values()) {
      if ((appkey === undefined || rec.appkey === appkey) && rec.invalidated === undefined && !rec.revoked) {
        rec.invalidated = how
        n++
      }
    }
    return n
  }

  /** Checks a bearer token for an appkey; returns the EGW code to answer with, or undefined. */
  checkToken(appkey: string, token: string, now: number): 'EGW00121' | 'EGW00123' | undefined {
    const rec = this.tokens.get(token)
    if (!rec || rec.appkey !== appkey || rec.revoked) return 'EGW00121'
    if (rec.invalidated === 'invalid') return 'EGW00121'
    if (rec.invalidated === 'expired' || now >= rec.expiresAt) return 'EGW00123'
    return undefined
  }

  issueApproval(appkey: string, now: number): ApprovalRecord {
    const rec: ApprovalRecord = {
      key: uuidLike(this.rng),
      appkey,
      issuedAt: now,
      expiresAt: now + this.policy.approvalTtlMs,
    }
    this.approvals.set(rec.key, rec)
    return rec
  }

  checkApproval(key: string, now: number): ApprovalRecord | undefined {
    const rec = this.approvals.get(key)
    return rec && now < rec.expiresAt ? rec : undefined
  }
}
