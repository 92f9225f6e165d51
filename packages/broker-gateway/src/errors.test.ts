import { describe, expect, it } from 'vitest'
import { OrderIntentSchema } from './domain'
import { BROKER_ERROR_KINDS, BrokerError, redactSecrets } from './errors'
import { parseOrThrow } from './validate'

describe('BrokerError', () => {
  it('computes retryable from the kind: only rate_limited and unavailable', () => {
    const retryable = BROKER_ERROR_KINDS.filter((k) => new BrokerError(k, 'x').retryable)
    expect(retryable).toEqual(['rate_limited', 'unavailable'])
    expect(new BrokerError('unknown_outcome', 'timeout').retryable).toBe(false)
  })

  it('is recognised across copies through the Symbol.for marker, not instanceof', () => {
    const e = new BrokerError('rejected', 'no', { brokerCode: 'APBK0919' })
    const foreign = Object.assign(Object.create(null), {
      [Symbol.for('@vellab/broker-gateway/BrokerError')]: true,
    })
    expect(BrokerError.isInstance(e)).toBe(true)
    expect(BrokerError.isInstance(foreign)).toBe(true)
    expect(BrokerError.isInstance(new Error('x'))).toBe(false)
    expect(BrokerError.isInstance(null)).toBe(false)
    expect(BrokerError.isKind(e, 'rejected')).toBe(true)
    expect(BrokerError.isKind(e, 'auth')).toBe(false)
  })

  it('names the operation and code, chains the cause, and redacts secrets', () => {
    const cause = new Error('socket hang up')
    const secret = 'S3cr3tAppSecretValue'
    const e = new BrokerError('unknown_outcome', `timed out with appsecret ${secret}`, {
      operation: 'POST order-cash',
      brokerCode: 'EGW00001',
      cause,
      secrets: [secret],
    })
    expect(e.message).toBe('POST order-cash [EGW00001] timed out with appsecret [REDACTED]')
    expect(e.cause).toBe(cause)
    expect(JSON.stringify(e)).not.toContain(secret)
    expect(e.toJSON()).toMatchObject({ kind: 'unknown_outcome', retryable: false, brokerCode: 'EGW00001' })
  })
})

describe('redactSecrets', () => {
  it('redacts bearer tokens, JWTs and key=value secrets even when not listed', () => {
    const jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0b2tlbiJ9.c2lnbmF0dXJlc2lnbmF0dXJl'
    const text = `authorization: Bearer abcdefghijk123 token=${jwt} {"appsecret":"zzzzzzzzzz"} appkey=PSabcdef123`
    const out = redactSecrets(text)
    expect(out).not.toContain('abcdefghijk123')
    expect(out).not.toContain(jwt)
    expect(out).not.toContain('zzzzzzzzzz')
    expect(out).not.toContain('PSabcdef123')
  })

  it('leaves ordinary text and short values alone', () => {
    expect(redactSecrets('order 0000006555 rejected: 주문가능금액을 초과 했습니다', ['abc'])).toBe(
      'order 0000006555 rejected: 주문가능금액을 초과 했습니다',
    )
  })
})

describe('parseOrThrow', () => {
  it('throws invalid_request for our inputs and protocol for broker payloads', () => {
    expect(() => parseOrThrow(OrderIntentSchema, {}, { operation: 'placeOrder' })).toThrow(
      /^placeOrder intentId:/,
    )
    try {
      parseOrThrow(OrderIntentSchema, { nope: 1 }, { kind: 'protocol' })
      expect.unreachable()
    } catch (e) {
      expect(BrokerError.isKind(e, 'protocol')).toBe(true)
    }
  })
})
