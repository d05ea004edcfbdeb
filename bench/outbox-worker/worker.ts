/**
 * Bench-only worker for `npm run bench -- outbox` (not deployed): the product worker, with a switch
 * that makes the EVENTS queue refuse as it does in a Queues outage, for the intake and for the
 * outbox's deliveries alike. Everything else is the product's own code: the app (intake, validation,
 * enrichment, the hand-over to the outbox), the queue consumer, EventWriter and EventOutbox.
 *
 * Bench routes, answered before the app:
 * - `POST /bench/queue?refuse=1|0`: the queue refuses (or takes) events from now on;
 * - `POST /bench/outbox/deliver-now`: the outbox's next delivery runs at once, not after its back-off;
 * - `GET /bench/outbox/status`: the outbox's own status (what `/healthz` summarizes).
 *
 * No RATE_LIMITER binding: the bench sends thousands of requests from one address.
 */
import { createApp } from '../../worker/src/app';
import { handleEventBatch, registerConsumerHealth } from '../../worker/src/consumer';
import type { Env } from '../../worker/src/env';
import {
  OUTBOX_NAME,
  EventOutbox as ProductEventOutbox,
  registerOutboxHealth,
} from '../../worker/src/events/outbox';
import { applyLogLevel } from '../../worker/src/log';

export { EventWriter } from '../../worker/src/consumer';

const REFUSING_KEY = 'bench:queue-refuses';

/** The queue as an outage shows it to a producer: every send rejects. */
const refusingQueue = {
  send: () => Promise.reject(new Error('Queue unavailable (bench outage)')),
  sendBatch: () => Promise.reject(new Error('Queue unavailable (bench outage)')),
} as unknown as Queue<unknown>;

/** The product's outbox, whose deliveries fail while the bench's outage lasts. */
export class EventOutbox extends ProductEventOutbox {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const deliverToQueue = this.deliver;
    this.deliver = async (events) => {
      if ((await this.ctx.storage.get<boolean>(REFUSING_KEY)) === true) {
        throw new Error('Queue unavailable (bench outage)');
      }
      return deliverToQueue(events);
    };
  }

  async benchSetQueueRefuses(refuses: boolean): Promise<void> {
    await this.ctx.storage.put(REFUSING_KEY, refuses);
  }

  async benchDeliverNow(): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now());
  }
}

const app = createApp();
registerConsumerHealth();
registerOutboxHealth();

/** This isolate's side of the switch (wrangler dev runs the worker in one isolate). */
let queueRefuses = false;

function outboxStub(env: Env) {
  if (!env.EVENT_OUTBOX) throw new Error('EVENT_OUTBOX is not bound');
  return env.EVENT_OUTBOX.get(
    env.EVENT_OUTBOX.idFromName(OUTBOX_NAME),
  ) as unknown as DurableObjectStub<EventOutbox>;
}

async function benchRoute(request: Request, env: Env): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (request.method === 'POST' && url.pathname === '/bench/queue') {
    queueRefuses = url.searchParams.get('refuse') === '1';
    await outboxStub(env).benchSetQueueRefuses(queueRefuses);
    return Response.json({ queueRefuses });
  }
  if (request.method === 'POST' && url.pathname === '/bench/outbox/deliver-now') {
    await outboxStub(env).benchDeliverNow();
    return Response.json({ ok: true });
  }
  if (request.method === 'GET' && url.pathname === '/bench/outbox/status') {
    return Response.json(await outboxStub(env).status());
  }
  return undefined;
}

export default {
  async fetch(request, env, ctx) {
    applyLogLevel(env);
    const bench = await benchRoute(request, env);
    if (bench) return bench;
    return app.fetch(request, queueRefuses ? { ...env, EVENTS: refusingQueue } : env, ctx);
  },
  queue: (batch, env) => {
    applyLogLevel(env);
    return handleEventBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;
