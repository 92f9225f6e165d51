import type { BrokerErrorKind } from '@vellab/broker-gateway'

/** What the classifier needs to know about one failed exchange. */
export interface KisFailure {
  /** HTTP status, when a response arrived. */
  httpStatus?: number | undefined
  /** `msg_cd` of the envelope or `error_code` of a tokenP/Approval error body. */
  code?: string | undefined
  /**
   * Whether the request could have an effect at the broker (orders, cancels, replaces). For such
   * requests every answer that does not prove "nothing happened" is `unknown_outcome`.
   */
  sideEffect: boolean
}

// reference/kis-openapi.md §6.1: gateway codes that mean "the request never took effect".
const RATE_LIMITED = new Set(['EGW00201', 'EGW00215', 'EGW00133'])
const AUTH = new Set([
  'EGW00003',
  'EGW00004',
  'EGW00102',
  'EGW00103',
  'EGW00104',
  'EGW00105',
  'EGW00121',
  'EGW00122',
  'EGW00123',
  // session key / corporate / account / HTS id / user checks (§6.1 EGW00124–00130)
  'EGW00124',
  'EGW00125',
  'EGW00126',
  'EGW00127',
  'EGW00128',
  'EGW00129',
  'EGW00130',
  'EGW00205',
  'EGW00206',
  'EGW00207',
])
const INVALID = new Set([
  'EGW00101',
  // §6.1 EGW00106–00120: OAuth request-field checks; EGW00204 bad gateway instance; EGW00211/00212
  // missing personal fields; EGW00303/00304 corporate IP / customer key invalid.
  'EGW00106',
  'EGW00107',
  'EGW00108',
  'EGW00109',
  'EGW00110',
  'EGW00111',
  'EGW00112',
  'EGW00113',
  'EGW00114',
  'EGW00115',
  'EGW00116',
  'EGW00117',
  'EGW00118',
  'EGW00119',
  'EGW00120',
  'EGW00204',
  'EGW00211',
  'EGW00212',
  'EGW00303',
  'EGW00304',
  'EGW00131',
  'EGW00132',
  'EGW00208',
  'EGW00209',
  'EGW00210',
  'EGW00213',
  // §6.2: OPSQ input checks.
  'OPSQ0002',
  'OPSQ2000',
  'OPSQ2001',
  'OPSQ2002',
  'OPSQ9995',
  'OPSQ9996',
  'OPSQ9997',
  'OPSQ9998',
  'OPSQ9999',
])
// Transient gateway/server trouble. For a query it is safe to retry; for an order the gateway may
// already have forwarded it (EGW00302 literally says "check the previous transaction"), so it is
// `unknown_outcome` there.
const TRANSIENT = new Set([
  'EGW00001',
  'EGW00002',
  'EGW00202',
  'EGW00203',
  'EGW00300',
  'EGW00301',
  'EGW00302',
  'OPSQ0001',
  'OPSQ0003',
  'OPSQ0004',
  'OPSQ0005',
  'OPSQ0006',
  'OPSQ0007',
  'OPSQ0008',
  'OPSQ0009',
  'OPSQ0010',
  'OPSQ0011',
  'OPSQ1002',
  'OPSQ3001',
  'OPSQ3002',
  'OPSQ3003',
  'OPSQ3004',
])

/**
 * Map a failed KIS exchange to the contract's error kind.
 *
 * - Known gateway codes decide first (reference §6.1/§6.2): EGW00201/EGW00215/EGW00133 are
 *   `rate_limited` (a definite reject: nothing was placed), token/app-key codes are `auth`, input
 *   checks are `invalid_request`, transient codes are `unavailable` — or `unknown_outcome` for
 *   requests with a side effect.
 * - An `EGW…` code missing from the table is treated like a transient one (it cannot prove that
 *   nothing happened).
 * - Any other code with an envelope is a business rejection (`rejected`), whatever the HTTP status
 *   (reference §3.4: clients must check `rt_cd` regardless of status).
 * - Without a code, the HTTP status decides: 401/403 `auth`, 429 `rate_limited`, other 4xx
 *   `invalid_request`, 5xx and the rest `unavailable` (`unknown_outcome` with a side effect).
 */
export function classifyKisFailure(f: KisFailure): BrokerErrorKind {
  const code = f.code?.trim()
  if (code) {
    if (RATE_LIMITED.has(code)) return 'rate_limited'
    if (AUTH.has(code)) return 'auth'
    if (INVALID.has(code)) return 'invalid_request'
    if (TRANSIENT.has(code)) return f.sideEffect ? 'unknown_outcome' : 'unavailable'
    // A gateway code this table does not know: the gateway sits in front of the order system and
    // some of its codes mean "timed out after forwarding" (EGW00301/00302), so an unknown one cannot
    // prove that nothing happened.
    if (code.startsWith('EGW')) return f.sideEffect ? 'unknown_outcome' : 'unavailable'
    return 'rejected'
  }
  const s = f.httpStatus
  if (s === 401 || s === 403) return 'auth'
  if (s === 429) return 'rate_limited'
  if (s !== undefined && s >= 400 && s < 500) return 'invalid_request'
  return f.sideEffect ? 'unknown_outcome' : 'unavailable'
}

/** Token problems after which one refresh-and-retry is allowed (reference §6.1, §3.4). */
export const TOKEN_REJECT_CODES: ReadonlySet<string> = new Set(['EGW00121', 'EGW00123'])
