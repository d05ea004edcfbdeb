import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { requestInProgress, warmBundle } from '../models';
import { isWorkerPath } from '../proxy';

/** What the middleware tells the model registry (tests pass recorders). */
export interface WarmupHooks {
  /** Starts a cold isolate's first model load in the background. */
  warm: (env: AppEnv['Bindings'], ctx: ExecutionContext) => void;
  /** Marks a request in progress until the returned function is called. */
  inProgress: () => () => void;
}

/**
 * Loads a cold isolate's models around shoppers' requests instead of inside them.
 * - Every request counts as in progress until its answer is made, so the ORT session phase (one
 *   synchronous block of ~0.3-0.5 s) waits for a moment between requests (BundleRegistry). A
 *   proxied page extends this to the end of its stream itself (proxy.ts).
 * - The first request for the worker's own paths (the plugin's script, the API, /healthz) starts the
 *   load once its own answer is made, so it overlaps what the shopper's browser does next (parsing the
 *   page, running the plugin) instead of delaying the first recommendation. Proxied responses do not:
 *   a passed-through body still streams after its handler returns, and a rewritten page starts the
 *   load itself and holds the session phase until its end.
 * A warm isolate pays a counter and one check.
 */
export function warmModels(
  hooks: WarmupHooks = { warm: warmBundle, inProgress: requestInProgress },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const answered = hooks.inProgress();
    try {
      await next();
    } finally {
      answered();
    }
    let ctx: ExecutionContext | undefined;
    try {
      ctx = c.executionCtx;
    } catch {
      // `app.request()` without an ExecutionContext (some tests): nothing to keep the load alive with.
    }
    if (ctx && isWorkerPath(c.req.path)) hooks.warm(c.env, ctx);
  };
}
