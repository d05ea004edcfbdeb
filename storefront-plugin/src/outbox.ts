import { EVENT_LIMITS, type RxEventInput } from '../../contracts/event-types';
import { groups } from './lib/groups';
import { guard, report } from './lib/guard';
import { readItem, writeItem } from './lib/storage';

/** Send when this many events wait... */
export const BATCH_SIZE = 10;
/** ...or when the oldest has waited this long. */
export const BATCH_DELAY_MS = 5000;
/** Unsent events kept across failures and reloads; the oldest are dropped beyond it. */
export const MAX_QUEUED = 100;
/**
 * Largest request body: a `keepalive` request (what lets a batch outlive the page) may carry at most
 * 64 KiB, so a batch of big events is split before it reaches that and is refused for good.
 */
export const MAX_BATCH_BYTES = 60_000;
/** Retries back off from BATCH_DELAY_MS doubling up to this. */
const MAX_BACKOFF_MS = 60_000;
const STORAGE_KEY = 'rx_q';

/** Batches events to `POST /v1/events`, keeping unsent ones (bounded) in memory and localStorage. */
export interface Outbox {
  add(event: RxEventInput): void;
  /** Sends everything waiting now (pagehide, consent granted, `rx.flush()`). */
  flush(): void;
  /** Drops everything waiting (consent refused). */
  clear(): void;
  /** Takes in events an earlier page left in storage (once storage is allowed) and sends them. */
  resume(): void;
  /** Events waiting to be sent (for tests and debugging). */
  size(): number;
}

/**
 * `canSend` gates every send (consent); while it is false events accumulate in memory only,
 * because storage is off too. Every unacknowledged event stays in `pending` (persisted) until the
 * worker answers 2xx, so a page that unloads mid-request re-sends on the next page; `messageId`
 * makes that re-send harmless. `onAccepted` runs after each batch the worker took.
 */
export function createOutbox(endpoint: string, canSend: () => boolean, onAccepted?: () => void): Outbox {
  let pending: RxEventInput[] = restore();
  const inFlight = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  /** Bytes of keepalive request bodies in flight. */
  let keepaliveBytes = 0;

  function persist(): void {
    writeItem(STORAGE_KEY, JSON.stringify(pending));
  }

  function schedule(delay: number): void {
    // Guarded like every entry point: a timer callback that threw would reach the host's onerror.
    if (timer === undefined) timer = setTimeout(guard('flush', flush), delay);
  }

  function send(batch: RxEventInput[]): void {
    const body = JSON.stringify({ batch });
    const ids = batch.map((e) => e.messageId ?? '');
    for (const id of ids) inFlight.add(id);
    // Browsers allow 64 KiB of keepalive bodies in flight per page, all requests together; past it
    // fetch fails at once. A request beyond that budget goes without keepalive (it still arrives
    // unless the page unloads first, and then the next page sends it again).
    const bytes = utf8Bytes(body);
    const keepalive = keepaliveBytes + bytes <= MAX_BATCH_BYTES;
    if (keepalive) keepaliveBytes += bytes;
    const settle = (delivered: boolean) => {
      if (keepalive) keepaliveBytes -= bytes;
      for (const id of ids) inFlight.delete(id);
      if (delivered) {
        failures = 0;
        pending = pending.filter((e) => !ids.includes(e.messageId ?? ''));
        persist();
      } else {
        failures++;
        schedule(Math.min(BATCH_DELAY_MS * 2 ** failures, MAX_BACKOFF_MS));
      }
    };
    fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      // keepalive lets the request outlive the page (pagehide).
      keepalive,
      credentials: 'omit',
    }).then(
      (response) => {
        // 4xx other than 429 will never succeed: drop the batch instead of retrying it forever.
        const permanent = response.status >= 400 && response.status < 500 && response.status !== 429;
        if (permanent) report(`events rejected (${response.status})`);
        settle(response.ok || permanent);
        if (response.ok) onAccepted?.();
      },
      (error: unknown) => {
        report('events not sent', error);
        settle(false);
      },
    );
  }

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!canSend()) return;
    const waiting = pending.filter((e) => !inFlight.has(e.messageId ?? ''));
    for (const batch of batches(waiting)) send(batch);
  }

  if (pending.length > 0) schedule(0);

  return {
    add: guard('track', (event: RxEventInput) => {
      // Checked once, here: an event that cannot be sent would otherwise stay queued, fail every
      // request and every save of the queue, and hold back the good events beside it.
      const bytes = jsonBytes(event);
      if (bytes === undefined) return report('event dropped: not JSON');
      if (bytes > EVENT_LIMITS.maxEventBytes) return report('event dropped: over 32 KB');
      pending.push(event);
      if (pending.length > MAX_QUEUED) pending = pending.slice(-MAX_QUEUED);
      persist();
      if (pending.length - inFlight.size >= BATCH_SIZE) flush();
      else schedule(BATCH_DELAY_MS);
    }),
    flush: guard('flush', flush),
    clear: () => {
      pending = [];
      persist();
    },
    resume: guard('resume', () => {
      const known = new Set(pending.map((e) => e.messageId));
      pending = [...restore().filter((e) => !known.has(e.messageId)), ...pending].slice(-MAX_QUEUED);
      persist();
      flush();
    }),
    size: () => pending.length,
  };
}

/** Consecutive batches of at most BATCH_SIZE events and (but for a lone event) MAX_BATCH_BYTES. */
export function batches(events: readonly RxEventInput[]): RxEventInput[][] {
  // `{"batch":[` + `]}` around them, and a comma after each.
  return groups(events, BATCH_SIZE, MAX_BATCH_BYTES - 12, (event) => (jsonBytes(event) ?? 0) + 1);
}

/** UTF-8 size of a text (what a request body weighs). */
const utf8Bytes = (text: string) => new Blob([text]).size;

/** UTF-8 size of `value` as JSON, or undefined when it cannot be JSON (a cycle, a BigInt). */
function jsonBytes(value: unknown): number | undefined {
  try {
    return utf8Bytes(JSON.stringify(value));
  } catch {
    return undefined;
  }
}

function restore(): RxEventInput[] {
  try {
    const parsed: unknown = JSON.parse(readItem(STORAGE_KEY) ?? '[]');
    if (!Array.isArray(parsed)) return [];
    // Storage is the host's too: keep only entries that look like events we wrote.
    return parsed
      .filter((e: unknown): e is RxEventInput => typeof (e as RxEventInput | null)?.messageId === 'string')
      .slice(-MAX_QUEUED);
  } catch {
    return [];
  }
}
