import type { RxConfig } from './config';
import { createRx, type Rx } from './rx';

/**
 * `_rx`: what marks a running instance (createRx sets it on the instance), and where it goes when the
 * shop's own code has a `window.rx`. (Written out, not as a named constant: `._rx` is shorter in rx.js.)
 */
type RxGlobal = Window & { rx?: unknown; _rx?: unknown };

/**
 * Starts the one plugin instance of the page and publishes it as `window.rx`; when one already
 * runs, returns it instead. Both entries go through here, so the tag pasted twice (theme plus an
 * app), or the ESM build in the shop's bundle plus the tag the proxy injects, start once: two
 * instances would send every click and add-to-cart twice under different messageIds.
 *
 * Pages may call the API before the plugin arrives through the stub snippet
 * `window.rx = window.rx || []; rx.push(['track', 'Product Added', {...}])`; those calls are replayed
 * here, and code that kept a reference to the stub array keeps working: its pushes now run at once.
 *
 * A `window.rx` that is neither the stub (an array) nor ours belongs to the shop's own code: it is
 * left alone, never overwritten, and the instance goes to `window._rx` instead, where a second copy
 * finds it (and the ESM `init` returns it).
 */
export function startOnce(config: RxConfig): Rx {
  const host = window as RxGlobal;
  const existing = host.rx;
  // A running instance is marked; it is `window.rx`, or `window._rx` where the shop has a `window.rx`.
  const running = (host._rx ?? existing) as { _rx?: unknown } | undefined;
  if (running?._rx) return running as Rx;
  // No stub: an empty one, its push left unused.
  const stub: unknown[] = Array.isArray(existing) ? existing : [];
  const rx = createRx(config, [...stub]);
  // (rx.push takes one call, and leaves forEach's index and array alone.)
  stub.push = (...calls: unknown[]) => {
    calls.forEach(rx.push);
    return stub.length;
  };
  // Nothing there, the stub, or only an element with id="rx" (which browsers expose as `window.rx`,
  // not as an own property): `window.rx` is ours to take. Anything else is the shop's own.
  // biome-ignore lint/suspicious/noPrototypeBuiltins: Object.hasOwn is newer than the browsers the plugin supports.
  host[existing !== stub && host.hasOwnProperty('rx') ? '_rx' : 'rx'] = rx;
  return rx;
}
