/** The `EVENTS` queue consumer and the Durable Object that holds its MongoDB client. */
export { EventWriter } from './event-writer-object';
export { type ConsumerHooks, handleEventBatch } from './handler';
export { registerConsumerHealth } from './health-probe';
