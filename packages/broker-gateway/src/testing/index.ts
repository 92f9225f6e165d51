// Test doubles shipped with the contract: a manual clock, an in-memory paper broker, and the
// conformance suite every adapter must pass. Import from `@vellab/broker-gateway/testing`.
export type { ConformanceHarness, ConformanceOptions } from './conformance'
export { describeBrokerGatewayConformance } from './conformance'
export type { InjectedFault, InMemoryBrokerOptions, PaperAccount } from './in-memory-broker'
export { InMemoryBroker } from './in-memory-broker'
export { flushMicrotasks, ManualClock } from './manual-clock'
