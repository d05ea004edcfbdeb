import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env';
import { ApiError, errorBody } from '../errors';

/**
 * 413 with the JSON error format when the body is over `maxBytes` (the event routes: Segment's limits,
 * 32 KB for one call and 500 KB for a batch; an admin model file: MAX_BUNDLE_BYTES). Hono's bodyLimit
 * checks Content-Length when there is one (the runtime delivers no more of the body than it says, so
 * a small header cannot carry a large body) and counts the bytes read of a chunked body, so nothing
 * beyond the limit is buffered either way.
 */
export function limitBodySize(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      const error = bodyTooLarge(maxBytes);
      return c.json(errorBody(error.code, error.message, error.details), 413);
    },
  });
}

/** The 413 of a body over `maxBytes`, as sent or once decompressed (events/compressed-body.ts). */
export function bodyTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `The request body is over the ${maxBytes}-byte limit`, [
    { reason: `limit is ${maxBytes} bytes` },
  ]);
}
