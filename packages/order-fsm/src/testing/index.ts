// Helpers for tests of code that uses @vellab/order-fsm. Import from `@vellab/order-fsm/testing`.
export type { BrokerEventFactoryOptions } from './broker-event-factory'
export { BrokerEventFactory } from './broker-event-factory'
export { anIntent } from './intents'
