import type { Finding } from './breaks'

/**
 * What the reconciler needs of a kill-switch board: `@vellab/risk-kr`'s `KillSwitchBoard`
 * satisfies it as is (reconcile does not depend on risk-kr).
 */
export interface KillSwitchPort {
  engage(input: {
    scope: 'global' | 'account' | 'strategy' | 'symbol'
    key: string
    actor: string
    reason: string
    source?: string
  }): Promise<unknown>
}

/** What a kill-switch policy sees after each pass of an account. */
export interface KillSwitchPolicyInput {
  account: string
  /** The pass's findings, after ticketing. */
  findings: readonly Omit<Finding, 'afterTicket'>[]
  /**
   * Consecutive passes of this account that saw a ticket nobody has acknowledged yet (this one
   * included). An acknowledged ticket means a person is on it: it no longer counts.
   */
  consecutiveTicketedPasses: number
  /** Consecutive failed passes of this account (a failed pass has no findings). */
  consecutiveFailedPasses: number
}

/** A decision to engage: scope and key as the board takes them, and why. */
export interface KillSwitchDecision {
  scope: 'global' | 'account' | 'strategy' | 'symbol'
  key: string
  reason: string
}

/** Decides when unresolved or severe breaks stop trading. Pure; return `null` to leave trading on. */
export type KillSwitchPolicy = (input: KillSwitchPolicyInput) => KillSwitchDecision | null

/** Options of {@link defaultKillSwitchPolicy}. */
export interface DefaultKillSwitchPolicyOptions {
  /** Engage after this many consecutive passes with ticketed breaks. @default 3 */
  maxTicketedPasses?: number
  /** Engage after this many consecutive failed passes (the account is blind). @default 3 */
  maxFailedPasses?: number
}

/**
 * The default policy: stop the account at once on a critical break (a live order nobody tracks,
 * local fills the broker does not have, an order missing at the broker, unexplained positions or
 * cash, an ambiguous lost ack), and after repeated ticketed or failed passes.
 */
export function defaultKillSwitchPolicy(options: DefaultKillSwitchPolicyOptions = {}): KillSwitchPolicy {
  const maxTicketed = options.maxTicketedPasses ?? 3
  const maxFailed = options.maxFailedPasses ?? 3
  return (input) => {
    const critical = input.findings.find((f) => f.severity === 'critical' && f.resolution === 'ticketed')
    if (critical) {
      return {
        scope: 'account',
        key: input.account,
        reason: `reconciliation: ${critical.kind}: ${critical.summary}`,
      }
    }
    if (input.consecutiveTicketedPasses >= maxTicketed) {
      return {
        scope: 'account',
        key: input.account,
        reason: `reconciliation: ${input.consecutiveTicketedPasses} consecutive passes with unacknowledged tickets`,
      }
    }
    if (input.consecutiveFailedPasses >= maxFailed) {
      return {
        scope: 'account',
        key: input.account,
        reason: `reconciliation: ${input.consecutiveFailedPasses} consecutive passes could not read the broker`,
      }
    }
    return null
  }
}
