import { MAX_EVENT_BYTES, type RxEventInput } from '../../contracts/event-types';
import { groups } from '../../contracts/groups';
import { guard, report } from './lib/guard';
import { allowed, readItem, removeItem, storedKeys, writeItem } from './lib/storage';

/** Batches events to `POST /v1/events`, keeping unsent ones (bounded) in memory and localStorage. */
export interface Outbox {
  record(event: RxEventInput): void;
  /**
   * Sends what waits now (consent granted, `rx.flush()`, clicks): everything, or while the worker is
   * failing one batch. `leaving` (pagehide, hidden): everything, failing or not, since this page may
   * get no other chance.
   */
  post(leaving?: boolean): void;
  /** Drops everything waiting, every page's stored queue included (consent refused). */
  discard(): void;
  /** Takes in the events other pages left in storage (once storage is allowed) and sends them. */
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
  // The limits are declared here, not at the top of the module: esbuild writes a function's constants
  // into the code that uses them, but keeps those of a module that imports anything as variables
  // (22 bytes of rx.js gzipped).
  /** Send when this many events wait... */
  const BATCH_SIZE = 10;
  /** ...or when the oldest has waited this long. */
  const BATCH_DELAY_MS = 5000;
  /** Unsent events kept across failures and reloads; the oldest are dropped beyond it. */
  const MAX_QUEUED = 100;
  /**
   * Largest request body: a `keepalive` request (what lets a batch outlive the page) may carry at most
   * 64 KiB, so a batch of big events is split before it reaches that and is refused for good.
   */
  const MAX_BATCH_BYTES = 60_000;
  /** Retries back off from BATCH_DELAY_MS doubling up to this. */
  const MAX_BACKOFF_MS = 60_000;
  const ownKey = `rx_q.${Math.random()}`;
  let pending: Queued[] = [];
  const inFlight = new Set<Queued>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  adopt();
  /**
   * Failed requests since the last accepted one. While it is not 0 the worker is taken to be down:
   * one batch at a time probes it, and the rest follows once one is accepted, so an outage does not
   * turn every event of every page into a burst of requests. A queue left by an earlier page counts
   * as a failure (its sends failed, or their answers were lost with the page).
   */
  let failures = +(pending.length > 0);
  /** Bytes of keepalive request bodies in flight. */
  let keepaliveBytes = 0;

  /**
   * A page writes only its own key, so no tab's save can overwrite another's events. (Tabs that shared
   * one key lost each other's events when they saved within tens of ms: Chromium hands a tab's
   * localStorage write to the other tabs asynchronously, so a read-merge-write is not atomic.)
   */
  function persist(): void {
    writeItem(ownKey, `[${pending.map((e) => e.jsonText).join()}]`);
  }

  /**
   * Takes in the events of every other queue key (closed pages', open tabs', the legacy `rx_q`), each
   * once, removes the keys taken (which also frees room under the storage quota) and saves it all
   * under this page's key. A tab still open writes its key again at its next save, so its events may
   * be sent twice: delivery is at least once, and the intake stores an event once by its messageId.
   */
  function adopt(): void {
    // Before consent storage is not touched at all, not even listed (rx.consent(true) adopts then).
    if (!allowed) return;
    // This page's own key holds what `pending` holds; it is written again below.
    removeItem(ownKey);
    // Only keys it can read.
    const keys = queueKeys().filter(readItem);
    // Each event once, by its JSON, this page's own copy kept (it may be in flight). Past MAX_QUEUED
    // the front goes: the events taken, then this page's oldest.
    pending = [...new Map([...keys.flatMap(restore), ...pending].map((e) => [e.jsonText, e])).values()].slice(
      -MAX_QUEUED,
    );
    keys.forEach(removeItem);
    persist();
  }

  function schedule(delay: number): void {
    // Guarded like every entry point: a timer callback that threw would reach the host's onerror.
    timer ??= setTimeout(guard('flush', flush), delay);
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
    /** Settled already: the catch below may come after the answer was settled (see there). */
    let settled = 0;
    const settle = (delivered: boolean) => {
      if (settled++) return;
      if (keepalive) keepaliveBytes -= bytes;
      for (const e of batch) inFlight.delete(e);
      if (delivered) {
        // The worker is back: what waited behind the probe goes now.
        if (failures) schedule(0);
        failures = 0;
        pending = pending.filter((e) => !batch.includes(e));
        persist();
      } else {
        failures++;
        schedule(Math.min(BATCH_DELAY_MS * 2 ** failures, MAX_BACKOFF_MS));
      }
    };
    // In a promise: a shop's fetch wrapper that throws instead of rejecting fails this send like a
    // network error (retried), instead of leaving the batch in flight, and its keepalive bytes taken,
    // for good. One that resolves to something other than a Response (`undefined`: it forgot to return
    // fetch's promise) makes the handler below throw: the catch fails the send the same way (once;
    // `settled`), instead of the page's uncaught error and a batch in flight for good.
    new Promise<Response>((resolve) =>
      resolve(
        fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          // keepalive lets the request outlive the page (pagehide).
          keepalive,
          credentials: 'omit',
        }),
      ),
    )
      .then((response) => {
        // 4xx other than 408 (the request timed out on its way) and 429 will never succeed: drop the
        // batch instead of retrying it forever.
        // (Shorter than four comparisons: a status is three digits, here a 4 not followed by 08 or 29.)
        const permanent = /^4(?!08|29)/.test(`${response.status}`);
        settle(response.ok || permanent);
        if (response.ok) onAccepted?.();
        // The intake stores the good events of a batch and names the others, by index, field and
        // reason (`rejected` in a 202, the error's `details` in a 400): in debug mode, the console says so.
        response
          .json()
          .catch(() => undefined)
          .then(
            (answer: { rejected?: unknown[] } | undefined) =>
              (permanent || answer?.rejected?.length) && report(`rejected ${response.status}`, answer),
          );
      })
      .catch((error: unknown) => {
        report('flush', error);
        settle(false);
      });
  }

  function flush(leaving?: boolean): void {
    clearTimeout(timer);
    timer = undefined;
    const probing = failures && !leaving;
    // While the worker is failing, one request at a time.
    if (!canSend() || (probing && inFlight.size)) return;
    // Consecutive batches of at most BATCH_SIZE events and (but for a lone event) MAX_BATCH_BYTES:
    // `{"batch":[` + `]}` around them, and a comma after each.
    for (const batch of groups(
      pending.filter((e) => !inFlight.has(e)),
      BATCH_SIZE,
      MAX_BATCH_BYTES - 12,
      (e) => e.bytes + 1,
    )) {
      send(batch);
      if (probing) break;
    }
  }

  if (failures) schedule(0);

  // Not guarded here: every caller is (the public API, listeners, timers), and nothing here throws.
  return {
    record(event: RxEventInput) {
      // Checked once, here: an event that cannot be sent would otherwise stay queued, fail every
      // request and every save of the queue, and hold back the good events beside it.
      const entry = queued(event);
      if (!entry || entry.bytes > MAX_EVENT_BYTES) return report('track', event);
      pending = [...pending, entry].slice(-MAX_QUEUED);
      persist();
      // A full batch goes at once, unless the worker is failing: then the back-off timer sends.
      if (!failures && pending.length - inFlight.size >= BATCH_SIZE) flush();
      else schedule(BATCH_DELAY_MS);
    },
    post: flush,
    discard: () => {
      pending = [];
      // Every tab's events: consent withdrawn holds for the whole shop (and storage is off by now).
      queueKeys().forEach(removeItem);
    },
    resume() {
      adopt();
      flush();
    },
  };
}

/**
 * The stored queues: each page's own key, `rx_q.` and a random number (52 random bits: two pages
 * never pick the same), and `rx_q`, the one queue all tabs shared before 2026-11-29 (older plugin
 * versions may still write it). (The pattern written here, not as a module constant: the size budget.)
 */
function queueKeys(): string[] {
  return storedKeys().filter((key) => /^rx_q(\.|$)/.test(key));
}

/** The event serialised for sending, or undefined when it cannot be JSON (a cycle, a BigInt). */
function queued(event: RxEventInput): Queued | undefined {
  try {
    // Arrays as arrays, whatever the page defines: Prototype.js 1.6's `Array.prototype.toJSON` returns a
    // string, which turned `products` into one and the intake refused the event. The replacer gets the
    // value after toJSON; `this[key]` is the one before it.
    const jsonText = JSON.stringify(
      event,
      function (this: Record<string, unknown>, key: string, value: unknown) {
        return Array.isArray(this[key]) ? this[key] : value;
      },
    );
    // TextEncoder, not `new Blob([text]).size`: a Blob costs ~0.2 ms in Chromium, and a page sizes
    // every event of the queues it takes in (encoding 100: ~0.4 ms).
    return { jsonText, bytes: new TextEncoder().encode(jsonText).length };
  } catch {
    // Undefined (no `return undefined`: the size budget).
  }
}

function restore(key: string): Queued[] {
  try {
    // Storage is the host's too: keep only entries that look like events we wrote. Anything but an
    // array (a key gone reads `null`, which parses to null) has no filter and throws: nothing.
    return (JSON.parse(readItem(key) as string) as unknown[])
      .filter((e: unknown): e is RxEventInput => typeof (e as RxEventInput | null)?.messageId === 'string')
      .flatMap((e) => queued(e) ?? []);
  } catch {
    return [];
  }
}
