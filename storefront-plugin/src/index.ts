/**
 * The `<script src=".../rx.js" async data-site="...">` entry (IIFE, one global: `window.rx`).
 *
 * Pages may call the API before this file arrives through the stub snippet
 * `window.rx = window.rx || []; rx.push(['track', 'Product Added', {...}])`; those calls are replayed
 * here, and `window.rx` becomes the real API, whose `push` keeps working for code that still pushes.
 */
import { configFromScript, findOwnScript } from './config';
import { guard } from './lib/guard';
import { createRx, RX_MARK } from './rx';

type RxGlobal = Window & { rx?: unknown };

guard('boot', () => {
  const host = window as RxGlobal;
  const existing = host.rx as Record<string, unknown> | undefined;
  // The tag pasted twice (theme plus an app): one instance is enough.
  if (existing?.[RX_MARK]) return;
  const queued = Array.isArray(existing) ? [...existing] : [];
  const rx = createRx(configFromScript(findOwnScript(), location.href), queued);
  // Code that kept a reference to the stub array keeps working: its pushes now run at once.
  if (Array.isArray(existing)) {
    existing.push = (...calls: unknown[]) => {
      for (const call of calls) rx.push(call);
      return existing.length;
    };
  }
  host.rx = rx;
})();
