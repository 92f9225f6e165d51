// The test doubles without the conformance suite, so code that is not itself a test (a demo, a
// package's own shipped `./testing`) can use them without loading vitest. Import from
// `@vellab/broker-gateway/testing/doubles`.
export type { InjectedFault, InMemoryBrokerOptions, PaperAccount } from '../in-memory-broker'
export { InMemoryBroker } from '../in-memory-broker'
export { flushMicrotasks, ManualClock } from '../manual-clock'
