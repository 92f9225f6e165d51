import type { AccessToken } from './token-store'

// One refresh per store key (app key + environment) in flight in this process, whoever asks:
// every tokenP call costs the account holder a KakaoTalk notice (reference §2.1), so gateways that
// share an app key wait for one issuance instead of each making their own.
const inflight = new Map<string, Promise<AccessToken>>()

/**
 * Run `refresh` for `key` unless a refresh of that key is already running in this process; then
 * the caller gets that one's token instead when `accept` takes it (a caller that saw the result
 * rejected by the broker runs its own). At most two rounds, so a caller never waits forever.
 */
export async function singleflightRefresh(
  key: string,
  refresh: () => Promise<AccessToken>,
  accept: (token: AccessToken) => boolean,
): Promise<AccessToken> {
  for (let round = 0; round < 2; round++) {
    const other = inflight.get(key)
    if (!other) break
    const t = await other.catch(() => undefined)
    if (t && accept(t)) return t
  }
  const own = refresh()
  inflight.set(key, own)
  try {
    return await own
  } finally {
    if (inflight.get(key) === own) inflight.delete(key)
  }
}
