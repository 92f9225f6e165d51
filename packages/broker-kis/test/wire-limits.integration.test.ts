import { BrokerError } from '@vellab/broker-gateway'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SimRig, startRig } from './sim-harness'

// Values that do not fit KIS's request fields are refused before the wire: invalid_request, and
// the simulator's ledger shows no request for them.

let rig: SimRig
beforeAll(async () => {
  rig = await startRig('real')
})
afterAll(async () => rig?.close())

const restRequests = () => rig.sim.control.ledger().requests

describe('field lengths checked before the wire', () => {
  it('an 11-digit quantity is invalid_request and sends nothing', async () => {
    await rig.gateway.getCash(rig.account) // warm up: token issued
    const before = restRequests()
    const err = await rig.gateway
      .placeOrder({
        intentId: 'too-many-shares',
        account: rig.account,
        strategyId: 's',
        symbol: '005930',
        side: 'buy',
        quantity: 12_345_678_901,
        orderType: 'limit',
        limitPrice: 70_000,
      })
      .catch((e: unknown) => e)
    expect(BrokerError.isKind(err, 'invalid_request')).toBe(true)
    expect((err as Error).message).toMatch(/ORD_QTY has 11 characters; KIS accepts at most 10/)
    expect(restRequests()).toBe(before)
  })

  it('a quantity that fits still goes out (the check does not refuse valid orders)', async () => {
    const before = restRequests()
    const ack = await rig.gateway.placeOrder({
      intentId: 'fits',
      account: rig.account,
      strategyId: 's',
      symbol: '005930',
      side: 'buy',
      quantity: 1,
      orderType: 'limit',
      limitPrice: 70_000,
    })
    expect(ack.brokerOrderId).toBeTruthy()
    expect(restRequests()).toBeGreaterThan(before)
  })
})
