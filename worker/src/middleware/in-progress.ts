import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { requestInProgress } from '../models';

/**
 * Counts every request as in progress until its answer is made. A cold isolate creates its ORT
 * sessions (one synchronous block of ~0.3-0.5 s that stalls everything else it does) only when no
 * request is in progress, so the block falls between requests (BundleRegistry). A proxied page counts
 * on until the end of its stream (proxy.ts). A warm isolate pays a counter.
 *
 * Nothing starts the model load ahead of need (the plugin's script, say): an isolate then answers its
 * first calls from the catalogue at once and creates its sessions in the quiet after them, instead of
 * making calls that arrive during an early block wait for it (bench/benchmarks/cold-start.ts).
 */
export function countInProgress(inProgress: () => () => void = requestInProgress): MiddlewareHandler<AppEnv> {
  return async (_c, next) => {
    const answered = inProgress();
    try {
      await next();
    } finally {
      answered();
    }
  };
}
