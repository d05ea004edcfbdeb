import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { warmBundle } from '../models';

/**
 * Starts a cold isolate's model load after its first answer of any kind (the plugin's script, a page,
 * a proxied asset), in the background. Creating the ORT sessions takes ~0.3-0.5 s, nearly all of it
 * the WebAssembly runtime starting; begun at first contact, it overlaps what the shopper's browser
 * does next (parsing the page, running the plugin) instead of delaying the first recommendation.
 * After `next()`, so that this request's own answer is made first. A warm isolate pays one check.
 */
export function warmModels(
  warm: (env: AppEnv['Bindings'], ctx: ExecutionContext) => void = warmBundle,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    let ctx: ExecutionContext | undefined;
    try {
      ctx = c.executionCtx;
    } catch {
      // `app.request()` without an ExecutionContext (some tests): nothing to keep the load alive with.
    }
    if (ctx) warm(c.env, ctx);
  };
}
