// Test doubles shipped with the contract: a manual clock, an in-memory paper broker, and the
// conformance suite every adapter must pass. Import from `@vellab/broker-gateway/testing`.
// The conformance suite loads vitest; `@vellab/broker-gateway/testing/doubles` has the doubles
// alone for code that must not.
export type { ConformanceHarness, ConformanceOptions } from './conformance'
export { describeBrokerGatewayConformance } from './conformance'
export type { InjectedFault, InMemoryBrokerOptions, PaperAccount } from './doubles'
export { flushMicrotasks, InMemoryBroker, ManualClock } from './doubles'
