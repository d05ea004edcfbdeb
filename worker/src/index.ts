import { createApp } from './app';
import { handleEventBatch, registerConsumerHealth } from './consumer';
import type { Env } from './env';
import { registerOutboxHealth } from './events/outbox';
import { applyLogLevel } from './log';

const app = createApp();
registerConsumerHealth();
registerOutboxHealth();

export default {
  fetch: (request, env, ctx) => {
    applyLogLevel(env);
    return app.fetch(request, env, ctx);
  },
  // The EVENTS consumer lives in this worker: see docs/analytics.md "Why one worker".
  queue: (batch, env) => {
    applyLogLevel(env);
    return handleEventBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;

/** Durable Object holding the events consumer's MongoDB client (binding EVENT_WRITER). */
export { EventWriter } from './consumer';
/** Durable Object holding the proxy's page views while the queue refuses them (binding EVENT_OUTBOX). */
export { EventOutbox } from './events/outbox';
