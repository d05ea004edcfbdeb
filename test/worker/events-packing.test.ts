import { describe, expect, it } from 'vitest';
import { jsonByteSize, type StoredEvent } from '../../contracts/events';
import { EVENT_PACK_KIND, type EventPack, PACK_LIMITS, packEvents } from '../../worker/src/events/event-pack';
import { QueueSendError, sendStoredEvents } from '../../worker/src/events/producer';
import { chunkForQueue, QUEUE_LIMITS } from '../../worker/src/events/queue-chunks';
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

describe('the size bounds, to the byte', () => {
  it('counts the comma between two events: a pack one byte over its bound is split, one at it is not', () => {
    const [first, second] = storedEvents(runId(), 2) as [StoredEvent, StoredEvent];
    const overhead = jsonByteSize({ kind: EVENT_PACK_KIND, events: [] });
    // The padding that makes `{"kind":…,"events":[first,second]}` exactly PACK_LIMITS.maxBytes long.
    const padding = PACK_LIMITS.maxBytes - overhead - 1 - jsonByteSize(first) - jsonByteSize(second);
    const padded = (extra: number) => ({
      ...first,
      properties: { ...first.properties, note: 'x'.repeat(padding + extra) },
    });
    const atBound = packEvents([padded(0), second]);
    expect(atBound.map((pack) => [pack.body.events.length, pack.bytes])).toEqual([[2, PACK_LIMITS.maxBytes]]);
    expect(jsonByteSize(atBound[0]?.body)).toBe(PACK_LIMITS.maxBytes);
    expect(packEvents([padded(1), second]).map((pack) => pack.body.events.length)).toEqual([1, 1]);
  });

  it("counts each message's metadata allowance against the 256 KB of a sendBatch and the 128 KB of a message", () => {
    // Three bodies of 85,300 bytes are 255,900 bytes, under 256,000 only without their metadata.
    const third = { body: 'third', bytes: 85_300 };
    expect(chunkForQueue([{ ...third, body: 'first' }, { ...third, body: 'second' }, third])).toEqual([
      ['first', 'second'],
      ['third'],
    ]);
    const fits = QUEUE_LIMITS.maxMessageBytes - QUEUE_LIMITS.metadataBytes;
    expect(chunkForQueue([{ body: 'fits', bytes: fits }])).toEqual([['fits']]);
    expect(() => chunkForQueue([{ body: 'over', bytes: fits + 1 }])).toThrow(RangeError);
  });
});
