/**
 * Test helpers shipped with `@vellab/kis-sim`: a manual-clock simulator preset and frame parsing for
 * assertions. They are for tests of code that talks to KIS; adapters must not reuse them as wire
 * code (the simulator and the adapter are written independently on purpose).
 */
import { decryptNotice } from '../frames'
import { createKisSim, type KisSim, type KisSimOptions } from '../sim'

export { decryptNotice, encryptNotice, FIELD_COUNTS } from '../frames'

/** A Tuesday in the continuous session under Regime B (2026-11-24 10:00 KST). */
export const TRADING_TIME = '2026-11-24 10:00:00'

/**
 * Starts a simulator with a manual clock at {@link TRADING_TIME} and static prices (prices move only
 * through `control.setPrice`), the most deterministic setup for adapter tests.
 */
export function createTestSim(options: KisSimOptions = {}): Promise<KisSim> {
  return createKisSim({
    ...options,
    clock: options.clock ?? { mode: 'manual', start: TRADING_TIME },
    market: { priceModel: 'static', ...options.market },
  })
}

/** A parsed real-time data frame (reference/kis-openapi.md §7.5). */
export interface ParsedFrame {
  encrypted: boolean
  trId: string
  count: number
  /** Records split by the TR's field count when known, else one record with all fields. */
  records: string[][]
}

/** Splits `<enc>|<tr_id>|<count>|<payload>`; decrypts with `keys` when the frame is encrypted. */
export function parseFrame(frame: string, keys?: { key: string; iv: string }): ParsedFrame {
  const [enc = '', trId = '', count = '0', ...rest] = frame.split('|')
  let payload = rest.join('|')
  const encrypted = enc === '1'
  if (encrypted && keys) {
    payload = decryptNotice(payload, keys.key, keys.iv)
  }
  const fields = payload.split('^')
  const n = Number(count)
  const per = n > 0 && fields.length % n === 0 ? fields.length / n : fields.length
  const records: string[][] = []
  for (let i = 0; i < fields.length; i += per) records.push(fields.slice(i, i + per))
  return { encrypted, trId, count: n, records }
}
