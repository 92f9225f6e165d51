import { describe, expect, it } from 'vitest'
import type { Finding } from './breaks'
import { defaultKillSwitchPolicy } from './kill-switch'

const finding = (patch: Partial<Finding>): Finding => ({
  kind: 'missing_locally',
  dedupKey: 'k',
  account: 'A1',
  severity: 'warning',
  summary: 's',
  evidence: { local: null, broker: null },
  resolution: 'ticketed',
  ...patch,
})

describe('defaultKillSwitchPolicy', () => {
  const policy = defaultKillSwitchPolicy({ maxTicketedPasses: 2, maxFailedPasses: 2 })
  const base = { account: 'A1', consecutiveTicketedPasses: 1, consecutiveFailedPasses: 0 }

  it('engages the account at once on a ticketed critical break', () => {
    const d = policy({ ...base, findings: [finding({ kind: 'cash_mismatch', severity: 'critical' })] })
    expect(d).toMatchObject({ scope: 'account', key: 'A1' })
    expect(d?.reason).toMatch(/cash_mismatch/)
  })

  it('leaves trading on for warnings and for resolved critical breaks', () => {
    expect(policy({ ...base, findings: [finding({})] })).toBeNull()
    expect(
      policy({ ...base, findings: [finding({ severity: 'critical', resolution: 'auto_resolved' })] }),
    ).toBeNull()
  })

  it('engages after repeated ticketed or failed passes', () => {
    expect(policy({ ...base, consecutiveTicketedPasses: 2, findings: [finding({})] })?.reason).toMatch(
      /2 consecutive passes with unacknowledged/,
    )
    expect(policy({ ...base, consecutiveFailedPasses: 2, findings: [] })?.reason).toMatch(/could not read/)
  })
})
