import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env';
import { errorBody } from '../errors';

/**
 * 413 with the JSON error format when the body is over `maxBytes` (Segment's limits:
 * 32 KB for one call, 500 KB for a batch). Checked on Content-Length and on the bytes
 * actually read, so a missing or lying header does not get past it.
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
