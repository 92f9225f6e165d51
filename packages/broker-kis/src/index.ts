// Public API of @vellab/broker-kis. Explicit exports only; test helpers live in ./testing.
// Left private on purpose: the REST envelope schemas (they describe KIS's wire format, not a
// contract with our users) and the session's internal state machine.

export type { BackoffOptions } from './backoff'
export { fullJitterDelay } from './backoff'
export type { KisFailure } from './classify'
export { classifyKisFailure, TOKEN_REJECT_CODES } from './classify'
export type { KisConfig, KisConfigInput, KisEnvironment, LoadKisConfigOptions } from './config'
export {
  describeKisConfig,
  KIS_DEFAULT_CAPABILITIES,
  KIS_DEFAULT_REST_LIMIT,
  KIS_DEFAULT_URLS,
  KIS_MAX_SUBSCRIPTIONS,
  KisConfigSchema,
  loadKisConfigFromEnv,
  parseKisConfig,
} from './config'
export type { KisErrorCode, KisErrorOptions } from './errors'
export { KisError } from './errors'
export type { KisEvent, KisEventListener, KisLane } from './events'
export type { KisGatewayOptions, KisGatewaySnapshot } from './gateway'
export { createKisGateway, KisGateway } from './gateway'
export { kstCompactDate, kstCompactToEpoch, parseKstDateTime } from './kst'
export type { AppKeyLimiterLease, AppKeyLimiters } from './limiter-registry'
export { acquireAppKeyLimiters } from './limiter-registry'
export type { ListingRow, ListingStore, SavedListing } from './listing-store'
export {
  KIS_LISTING_TABLES_DDL,
  listingStoreKey,
  MemoryListingStore,
  PostgresListingStore,
} from './listing-store'
export type { FetchKisStockMasterOptions, KisMasterMarket, KisMasterRecord } from './master'
export {
  fetchKisStockMaster,
  KIS_MASTER_URLS,
  kisMasterTailWidth,
  parseKisStockMaster,
  unzipSingleEntry,
} from './master'
export type { NoticeSyncTuning } from './notice-sync'
export type { OrdDvsn, OrderCashFields } from './order-mapping'
export { describeOrdDvsn, mapOrderIntent } from './order-mapping'
export type { SlidingWindowLimiterOptions } from './rate-limiter'
export { KIS_LANES, SlidingWindowLimiter } from './rate-limiter'
export type { KisReplaceAck, ReplaceLeftover } from './replace-ack'
export type { FetchLike, KisRequest, KisResponse, KisRestClientOptions, TokenSource } from './rest-client'
export { KisRestClient } from './rest-client'
export { SecretRegistry } from './secrets'
export type { ApprovalKeyManagerOptions, TokenManagerOptions } from './token-manager'
export { ApprovalKeyManager, TokenManager } from './token-manager'
export type { AccessToken, SqlConnection, SqlPool, SqlQueryable, TokenStore } from './token-store'
export {
  FileTokenStore,
  KIS_TOKEN_TABLE_DDL,
  MemoryTokenStore,
  PostgresTokenStore,
  tokenStoreKey,
} from './token-store'
export type { KisOperation, KisTrSpec } from './tr-ids'
export { KIS_TR_TABLE, KIS_WS_TR, resolveTrId } from './tr-ids'
export type { NoticeCipherKey } from './ws/aes'
export { decryptNoticePayload } from './ws/aes'
export type { Decoded, ExecutionNotice } from './ws/decoders'
export {
  decodeBookFrame,
  decodeNoticeRecords,
  decodeTradeFrame,
  KIS_FIELD_COUNTS,
  normaliseOrderNo,
} from './ws/decoders'
export type { KisControlFrame, KisDataFrame, KisFrame, KisPingPongFrame } from './ws/frame'
export { parseKisFrame, splitRecords } from './ws/frame'
export type {
  OrderFillSnapshot,
  PendingAmend,
  ReconcileOptions,
  ReconcileResult,
  SnapshotMode,
} from './ws/notice-tracker'
export { OrderNoticeTracker } from './ws/notice-tracker'
export type {
  CircuitBreakerOptions,
  CircuitState,
  ConnectionBudgetOptions,
  ReconnectDecision,
  ReconnectPolicyOptions,
  ReconnectReason,
  SessionEnd,
} from './ws/reconnect'
export { CircuitBreaker, ConnectionBudget, ReconnectPolicy } from './ws/reconnect'
export type {
  KisSocket,
  KisSocketFactory,
  KisStreamSessionOptions,
  StreamListener,
  SubscriptionHooks,
} from './ws/session'
export { KisStreamSession } from './ws/session'
export { SubscriptionBudget } from './ws/subscription-budget'
