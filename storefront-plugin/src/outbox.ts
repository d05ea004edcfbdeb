import { MAX_EVENT_BYTES, type RxEventInput } from '../../contracts/event-types';
import { groups } from './lib/groups';
import { guard, report } from './lib/guard';
import { readItem, removeItem, writeItem } from './lib/storage';

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
  record(event: RxEventInput): void;
  /**
   * Sends what waits now (consent granted, `rx.flush()`, clicks): everything, or while the worker is
   * failing one batch. `leaving` (pagehide, hidden): everything, failing or not, since this page may
   * get no other chance.
   */
  flush(leaving?: boolean): void;
  /** Drops everything waiting, stored queue included (consent refused). */
  discard(): void;
  /** Takes in events an earlier page left in storage (once storage is allowed) and sends them. */
  resume(): void;
}

/**
 * An event as it waits: its JSON, made once when the event is recorded, and that JSON's UTF-8 size.
 * The JSON also tells events apart: each has its own `messageId`, and a stored copy reads back the same.
 */
interface Queued {
  jsonText: string;
  bytes: number;
}

/**
 * `canSend` gates every send (consent); while it is false events accumulate in memory only,
 * because storage is off too. Every unacknowledged event stays in `pending` (persisted) until the
 * worker answers 2xx, so a page that unloads mid-request re-sends on the next page; `messageId`
 * makes that re-send harmless. `onAccepted` runs after each batch the worker took.
 *
 * Each event is serialised once, in `add`: the size checks, the batches, the request bodies and the
 * stored queue are all made of that text. It is also what the shopper did: a shop that reuses or
 * clears the object it passed to `rx.track` (a cart emptied after the order) changes nothing sent.
 */
export function createOutbox(endpoint: string, canSend: () => boolean, onAccepted?: () => void): Outbox {
  let pending: Queued[] = restore();
  const inFlight = new Set<Queued>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Failed requests since the last accepted one. While it is not 0 the worker is taken to be down:
   * one batch at a time probes it, and the rest follows once one is accepted, so an outage does not
   * turn every event of every page into a burst of requests. A queue left by an earlier page counts
   * as a failure (its sends failed, or their answers were lost with the page).
   */
  let failures = pending.length > 0 ? 1 : 0;
  /** Bytes of keepalive request bodies in flight. */
  let keepaliveBytes = 0;

  /**
   * Every tab of the shop shares `rx_q` but holds only its own events in memory: the queue to store is
   * the stored one (other tabs' events, and earlier pages') but for the events this tab holds or has
   * finished with (`done`: accepted, or refused for good), then this tab's. Past MAX_QUEUED the front
   * goes: other tabs' events, then this tab's oldest. (A tab that wrote its own copy over the stored
   * one dropped the others' unsent events, lost for good when such a tab closed offline.)
   */
  function merged(done: readonly Queued[] = []): Queued[] {
    const skip = new Set([...done, ...pending].map((e) => e.jsonText));
    return [...restore().filter((e) => !skip.has(e.jsonText)), ...pending].slice(-MAX_QUEUED);
  }

  function persist(done?: readonly Queued[]): void {
    writeItem(
      STORAGE_KEY,
      `[${merged(done)
        .map((e) => e.jsonText)
        .join()}]`,
    );
  }

  function schedule(delay: number): void {
    // Guarded like every entry point: a timer callback that threw would reach the host's onerror.
    if (timer === undefined) timer = setTimeout(guard('flush', flush), delay);
  }

  function send(batch: Queued[]): void {
    const body = `{"batch":[${batch.map((e) => e.jsonText).join()}]}`;
    for (const e of batch) inFlight.add(e);
    // Browsers allow 64 KiB of keepalive bodies in flight per page, all requests together; past it
    // fetch fails at once. A request beyond that budget goes without keepalive (it still arrives
    // unless the page unloads first, and then the next page sends it again).
    // `{"batch":[` and `]}` are 12 bytes, and each event but the last has a comma.
    const bytes = batch.reduce((sum, e) => sum + e.bytes + 1, 11);
    const keepalive = keepaliveBytes + bytes <= MAX_BATCH_BYTES;
    if (keepalive) keepaliveBytes += bytes;
    const settle = (delivered: boolean) => {
      if (keepalive) keepaliveBytes -= bytes;
      for (const e of batch) inFlight.delete(e);
      if (delivered) {
        // The worker is back: what waited behind the probe goes now.
        if (failures) schedule(0);
        failures = 0;
        pending = pending.filter((e) => !batch.includes(e));
        persist(batch);
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
        settle(response.ok || permanent);
        if (response.ok) onAccepted?.();
        // The intake stores the good events of a batch and names the others, by index, field and
        // reason (`rejected` in a 202, the error's `details` in a 400): in debug mode, the console says so.
        const rejected = `events rejected (${response.status})`;
        response.json().then(
          (answer: { rejected?: unknown[] } | null) => {
            if (permanent || answer?.rejected?.length) report(rejected, answer);
          },
          () => permanent && report(rejected),
        );
      },
      (error: unknown) => {
        report('events not sent', error);
        settle(false);
      },
    );
  }

  function flush(leaving?: boolean): void {
    clearTimeout(timer);
    timer = undefined;
    const probing = failures && !leaving;
    // While the worker is failing, one request at a time.
    if (!canSend() || (probing && inFlight.size)) return;
    for (const batch of batches(pending.filter((e) => !inFlight.has(e)))) {
      send(batch);
      if (probing) break;
    }
  }

  if (pending.length > 0) schedule(0);

  return {
    record: guard('track', (event: RxEventInput) => {
      // Checked once, here: an event that cannot be sent would otherwise stay queued, fail every
      // request and every save of the queue, and hold back the good events beside it.
      const entry = queued(event);
      if (!entry) return report('event dropped: not JSON');
      if (entry.bytes > MAX_EVENT_BYTES) return report('event dropped: over 32 KB');
      pending.push(entry);
      if (pending.length > MAX_QUEUED) pending = pending.slice(-MAX_QUEUED);
      persist();
      // A full batch goes at once, unless the worker is failing: then the back-off timer sends.
      if (!failures && pending.length - inFlight.size >= BATCH_SIZE) flush();
      else schedule(BATCH_DELAY_MS);
    }),
    flush: guard('flush', flush),
    discard: () => {
      pending = [];
      // Every tab's events: consent withdrawn holds for the whole shop (and storage is off by now).
      removeItem(STORAGE_KEY);
    },
    resume: guard('resume', () => {
      pending = merged();
      persist();
      flush();
    }),
  };
}

/** Consecutive batches of at most BATCH_SIZE events and (but for a lone event) MAX_BATCH_BYTES. */
function batches(events: readonly Queued[]): Queued[][] {
  // `{"batch":[` + `]}` around them, and a comma after each.
  return groups(events, BATCH_SIZE, MAX_BATCH_BYTES - 12, (e) => e.bytes + 1);
}

/** The event serialised for sending, or undefined when it cannot be JSON (a cycle, a BigInt). */
function queued(event: RxEventInput): Queued | undefined {
  try {
    const jsonText = JSON.stringify(event);
    // TextEncoder, not `new Blob([text]).size`: every save re-reads the stored queue (tabs merge it),
    // and a Blob costs ~0.2 ms in Chromium: a full queue made each tracked event block the page ~30 ms
    // while the intake was unreachable (encoding all 100: ~0.4 ms).
    return { jsonText, bytes: new TextEncoder().encode(jsonText).length };
  } catch {
    return undefined;
  }
}

function restore(): Queued[] {
  try {
    const parsed: unknown = JSON.parse(readItem(STORAGE_KEY) ?? '[]');
    if (!Array.isArray(parsed)) return [];
    // Storage is the host's too: keep only entries that look like events we wrote.
    return parsed
      .filter((e: unknown): e is RxEventInput => typeof (e as RxEventInput | null)?.messageId === 'string')
      .slice(-MAX_QUEUED)
      .flatMap((e) => queued(e) ?? []);
  } catch {
    return [];
  }
}
