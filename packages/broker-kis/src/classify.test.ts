import type { BrokerErrorKind } from '@vellab/broker-gateway'
import { describe, expect, it } from 'vitest'
import { classifyKisFailure } from './classify'

// [description, httpStatus, code, kind for a query, kind for an order]
const TABLE: [string, number | undefined, string | undefined, BrokerErrorKind, BrokerErrorKind][] = [
  ['EGW00201 rate limit (HTTP 500, §3.4)', 500, 'EGW00201', 'rate_limited', 'rate_limited'],
  ['EGW00215 ledger TPS', 500, 'EGW00215', 'rate_limited', 'rate_limited'],
  ['EGW00133 token issuance throttle (403)', 403, 'EGW00133', 'rate_limited', 'rate_limited'],
  ['EGW00123 expired token', 500, 'EGW00123', 'auth', 'auth'],
  ['EGW00121 invalid token', 500, 'EGW00121', 'auth', 'auth'],
  ['EGW00103 invalid appkey', 403, 'EGW00103', 'auth', 'auth'],
  ['EGW00105 invalid appsecret', 403, 'EGW00105', 'auth', 'auth'],
  ['EGW00213 not a paper TR', 500, 'EGW00213', 'invalid_request', 'invalid_request'],
  ['EGW00131 bad hashkey', 500, 'EGW00131', 'invalid_request', 'invalid_request'],
  ['OPSQ2000 bad account', 200, 'OPSQ2000', 'invalid_request', 'invalid_request'],
  ['EGW00001 temporary error', 500, 'EGW00001', 'unavailable', 'unknown_outcome'],
  ['EGW00302 transaction timeout', 500, 'EGW00302', 'unavailable', 'unknown_outcome'],
  ['OPSQ0005 server error', 500, 'OPSQ0005', 'unavailable', 'unknown_outcome'],
  ['EGW00128 account number required', 500, 'EGW00128', 'auth', 'auth'],
  ['EGW00204 bad gateway instance', 500, 'EGW00204', 'invalid_request', 'invalid_request'],
  ['EGW0039x: a gateway code not in the table', 500, 'EGW00399', 'unavailable', 'unknown_outcome'],
  ['APBK0919 business reject with 200', 200, 'APBK0919', 'rejected', 'rejected'],
  ['APBK0918 business reject with 500', 500, 'APBK0918', 'rejected', 'rejected'],
  ['paper 40xxxxxx reject', 200, '40580000', 'rejected', 'rejected'],
  ['code with padding', 500, ' EGW00201 ', 'rate_limited', 'rate_limited'],
  ['401 without code', 401, undefined, 'auth', 'auth'],
  ['403 without code', 403, undefined, 'auth', 'auth'],
  ['429 without code', 429, undefined, 'rate_limited', 'rate_limited'],
  ['404 without code', 404, undefined, 'invalid_request', 'invalid_request'],
  ['502 without code', 502, undefined, 'unavailable', 'unknown_outcome'],
  ['no status, no code', undefined, undefined, 'unavailable', 'unknown_outcome'],
]

describe('classifyKisFailure', () => {
  it.each(TABLE)('%s', (_d, httpStatus, code, query, order) => {
    expect(classifyKisFailure({ httpStatus, code, sideEffect: false })).toBe(query)
    expect(classifyKisFailure({ httpStatus, code, sideEffect: true })).toBe(order)
  })
})
