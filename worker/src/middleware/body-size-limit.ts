import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env';
import { errorBody } from '../errors';

/**
 * 413 with the JSON error format when the body is over `maxBytes` (the event routes: Segment's limits,
 * 32 KB for one call and 500 KB for a batch; an admin model file: MAX_BUNDLE_BYTES). Hono's bodyLimit
 * checks Content-Length and the bytes actually read, so a chunked body or a lying header does not get
 * past it, and nothing beyond the limit is buffered.
 */
export function limitBodySize(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        errorBody('payload_too_large', `The request body is over the ${maxBytes}-byte limit`, [
          { reason: `limit is ${maxBytes} bytes` },
        ]),
        413,
      ),
  });
}
