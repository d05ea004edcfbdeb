/**
 * The `<script src=".../rx.js" async data-site="...">` entry (IIFE, one global: `window.rx`, or `window._rx` where the shop has its own `window.rx`),
 * configured by the tag's `data-*` attributes. `startOnce` (boot.ts) replays the stub snippet's
 * queued calls and does nothing when an instance already runs on the page.
 */
import { startOnce } from './boot';
import { configFromScript, findOwnScript } from './config';
import { guard } from './lib/guard';

guard('boot', () => startOnce(configFromScript(findOwnScript(), location.href)))();
