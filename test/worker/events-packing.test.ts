import { describe, expect, it } from 'vitest';
import { jsonByteSize, type StoredEvent } from '../../contracts/events';
import { EVENT_PACK_KIND, type EventPack, PACK_LIMITS } from '../../worker/src/events/event-pack';
import { QueueSendError, sendStoredEvents } from '../../worker/src/events/producer';
import { QUEUE_LIMITS } from '../../worker/src/events/queue-chunks';
import { refusingQueue, runId, viewEvent } from './events-support';

function storedEvents(run: string, count: number, padding = 0): StoredEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const event = viewEvent(run, i);
    return {
      ...event,
      type: 'track' as const,
      properties: { ...event.properties, note: 'x'.repeat(padding) },
      receivedAt: new Date().toISOString(),
      site: 'test',
      bucket: 'treatment' as const,
      model_version: null,
    };
  });
}

/** An `EVENTS` binding that records each `sendBatch` call's message bodies. */
function recordingQueue() {
  const calls: unknown[][] = [];
  const queue = {
    send: () => Promise.reject(new Error('the producer uses sendBatch')),
    sendBatch: async (messages: Iterable<{ body: unknown; contentType?: string }>) => {
      const list = [...messages];
      for (const message of list) expect(message.contentType).toBe('json');
      calls.push(list.map((message) => message.body));
    },
  } as unknown as Queue<unknown>;
  return { queue, calls };
}

describe('event packs (the producer side)', () => {
  it("packs a 250-event flush into 3 messages of at most 100 events, in one sendBatch, keeping the events' order", async () => {
    const events = storedEvents(runId(), 250);
    const { queue, calls } = recordingQueue();
    await sendStoredEvents(queue, events);
    expect(calls).toHaveLength(1);
    const packs = calls[0] as EventPack[];
    expect(packs.map((pack) => pack.kind)).toEqual([EVENT_PACK_KIND, EVENT_PACK_KIND, EVENT_PACK_KIND]);
    expect(packs.map((pack) => pack.events.length)).toEqual([100, 100, 50]);
    expect(packs.flatMap((pack) => pack.events.map((event) => event.messageId))).toEqual(
      events.map((event) => event.messageId),
    );
  });

  it('leaves every message 1 KB under the limit, room for metadata beyond the documented ~100 bytes', async () => {
    // Events of ~1.3 KB fill a pack to within a few hundred bytes of its size bound, whatever it is.
    const events = storedEvents(runId(), 300, 1_300);
    const { queue, calls } = recordingQueue();
    await sendStoredEvents(queue, events);
    const packs = calls.flat() as EventPack[];
    expect(packs.length).toBeGreaterThan(3);
    for (const pack of packs) {
      expect(jsonByteSize(pack) + QUEUE_LIMITS.metadataBytes).toBeLessThanOrEqual(
        QUEUE_LIMITS.maxMessageBytes - 1_000,
      );
    }
  });

  it("keeps every message under Queues' 128 KB and every call under 256 KB with events of 30 KB", async () => {
    const events = storedEvents(runId(), 40, 30_000);
    const { queue, calls } = recordingQueue();
    await sendStoredEvents(queue, events);
    const packs = calls.flat() as EventPack[];
    for (const pack of packs) {
      expect(jsonByteSize(pack)).toBeLessThanOrEqual(PACK_LIMITS.maxBytes);
    }
    for (const call of calls) {
      const bytes = call.reduce<number>(
        (sum, body) => sum + jsonByteSize(body) + QUEUE_LIMITS.metadataBytes,
        0,
      );
      expect(bytes).toBeLessThanOrEqual(QUEUE_LIMITS.maxBatchBytes);
    }
    // 4 events of ~30 KB fit a message; fewer, larger messages would break the limit.
    expect(packs.map((pack) => pack.events.length)).toEqual(Array(10).fill(4));
    expect(packs.flatMap((pack) => pack.events.map((event) => event.messageId))).toEqual(
      events.map((event) => event.messageId),
    );
  });

  it('a refused send reports the events it held, not the messages', async () => {
    const events = storedEvents(runId(), 250);
    const refused = await sendStoredEvents(refusingQueue(), events).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QueueSendError);
    expect((refused as QueueSendError).failedEvents).toBe(250);
  });
});
