import type { KisEnvironment } from './config'

/** The REST operations this adapter uses. */
export type KisOperation =
  | 'order-cash-sell'
  | 'order-cash-buy'
  | 'order-rvsecncl'
  | 'inquire-psbl-rvsecncl'
  | 'inquire-daily-ccld'
  | 'inquire-daily-ccld-archive'
  | 'inquire-balance'
  | 'inquire-psbl-order'
  | 'inquire-psbl-sell'
  | 'inquire-price'
  | 'inquire-asking-price'

/** One row of the TR table. `null` means the environment does not offer the API. */
export interface KisTrSpec {
  method: 'GET' | 'POST'
  path: string
  /** Whether the request has an effect at the broker (orders): such requests are never retried. */
  sideEffect: boolean
  real: { current: string; legacy?: string }
  paper: { current: string; legacy?: string } | null
}

const ORDER_CASH = '/uapi/domestic-stock/v1/trading/order-cash'
const DAILY_CCLD = '/uapi/domestic-stock/v1/trading/inquire-daily-ccld'

// reference/kis-openapi.md §4.0: every id, new and old, real and paper. The old ids "may be blocked
// without notice" so the current ones are the default; `legacyTrIds` switches for brokers that lag.
/** The TR id table (reference/kis-openapi.md §4.0). */
export const KIS_TR_TABLE: Readonly<Record<KisOperation, KisTrSpec>> = {
  'order-cash-sell': {
    method: 'POST',
    path: ORDER_CASH,
    sideEffect: true,
    real: { current: 'TTTC0011U', legacy: 'TTTC0801U' },
    paper: { current: 'VTTC0011U', legacy: 'VTTC0801U' },
  },
  'order-cash-buy': {
    method: 'POST',
    path: ORDER_CASH,
    sideEffect: true,
    real: { current: 'TTTC0012U', legacy: 'TTTC0802U' },
    paper: { current: 'VTTC0012U', legacy: 'VTTC0802U' },
  },
  'order-rvsecncl': {
    method: 'POST',
    path: '/uapi/domestic-stock/v1/trading/order-rvsecncl',
    sideEffect: true,
    real: { current: 'TTTC0013U', legacy: 'TTTC0803U' },
    paper: { current: 'VTTC0013U', legacy: 'VTTC0803U' },
  },
  // §4.3: "not supported in paper".
  'inquire-psbl-rvsecncl': {
    method: 'GET',
    path: '/uapi/domestic-stock/v1/trading/inquire-psbl-rvsecncl',
    sideEffect: false,
    real: { current: 'TTTC0084R', legacy: 'TTTC8036R' },
    paper: null,
  },
  'inquire-daily-ccld': {
    method: 'GET',
    path: DAILY_CCLD,
    sideEffect: false,
    real: { current: 'TTTC0081R', legacy: 'TTTC8001R' },
    paper: { current: 'VTTC0081R', legacy: 'VTTC8001R' },
  },
  // §4.4: the same path answers for orders older than three months under another TR.
  'inquire-daily-ccld-archive': {
    method: 'GET',
    path: DAILY_CCLD,
    sideEffect: false,
    real: { current: 'CTSC9215R', legacy: 'CTSC9115R' },
    paper: { current: 'VTSC9215R', legacy: 'VTSC9115R' },
  },
  'inquire-balance': {
    method: 'GET',
    path: '/uapi/domestic-stock/v1/trading/inquire-balance',
    sideEffect: false,
    real: { current: 'TTTC8434R' },
    paper: { current: 'VTTC8434R' },
  },
  'inquire-psbl-order': {
    method: 'GET',
    path: '/uapi/domestic-stock/v1/trading/inquire-psbl-order',
    sideEffect: false,
    real: { current: 'TTTC8908R' },
    paper: { current: 'VTTC8908R' },
  },
  'inquire-psbl-sell': {
    method: 'GET',
    path: '/uapi/domestic-stock/v1/trading/inquire-psbl-sell',
    sideEffect: false,
    real: { current: 'TTTC8408R' },
    paper: null,
  },
  // Quotation TRs (FH…) are the same id on both hosts (§3.1, §4.0).
  'inquire-price': {
    method: 'GET',
    path: '/uapi/domestic-stock/v1/quotations/inquire-price',
    sideEffect: false,
    real: { current: 'FHKST01010100' },
    paper: { current: 'FHKST01010100' },
  },
  'inquire-asking-price': {
    method: 'GET',
    path: '/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn',
    sideEffect: false,
    real: { current: 'FHKST01010200' },
    paper: { current: 'FHKST01010200' },
  },
}

/**
 * The TR id for an operation in an environment, or `undefined` when the environment does not offer
 * it (e.g. `inquire-psbl-rvsecncl` on paper). With `legacy`, the old id where one exists.
 */
export function resolveTrId(op: KisOperation, env: KisEnvironment, legacy = false): string | undefined {
  const row = KIS_TR_TABLE[op][env]
  if (!row) return undefined
  return legacy ? (row.legacy ?? row.current) : row.current
}

/** Real-time (WebSocket) TR ids used by the adapter (reference §7.6). */
export const KIS_WS_TR = {
  trade: 'H0STCNT0',
  book: 'H0STASP0',
  /** Execution notices: H0STCNI0 on real, H0STCNI9 on paper. */
  notice: { real: 'H0STCNI0', paper: 'H0STCNI9' },
} as const
