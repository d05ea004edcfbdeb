import type { RxConfig } from './config';
import { createRx, RX_MARK, type Rx } from './rx';

type RxGlobal = Window & { rx?: unknown };

/**
 * Starts the one plugin instance of the page and publishes it as `window.rx`; when one already
 * runs, returns it instead. Both entries go through here, so the tag pasted twice (theme plus an
 * app), or the ESM build in the shop's bundle plus the tag the proxy injects, start once: two
 * instances would send every click and add-to-cart twice under different messageIds.
 *
 * Pages may call the API before the plugin arrives through the stub snippet
 * `window.rx = window.rx || []; rx.push(['track', 'Product Added', {...}])`; those calls are replayed
 * here, and code that kept a reference to the stub array keeps working: its pushes now run at once.
 */
export function startOnce(config: RxConfig): Rx {
  const host = window as RxGlobal;
  const existing = host.rx as Record<string, unknown> | undefined;
  if (existing?.[RX_MARK]) return existing as unknown as Rx;
  // No stub: an empty one, its push left unused.
  const stub: unknown[] = Array.isArray(existing) ? existing : [];
  const rx = createRx(config, [...stub]);
  stub.push = (...calls: unknown[]) => {
    for (const call of calls) rx.push(call);
    return stub.length;
  };
  host.rx = rx;
  return rx;
}
