import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { contentCodingOf, decompressBody } from './compressed-body';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** A `Content-Type` header's media type, lower-cased, without parameters (media types ignore case). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Whether a media type (mediaTypeOf) is JSON: `application/json` or a `+json` type. */
export function isJsonMediaType(mediaType: string): boolean {
  return JSON_TYPE.test(mediaType);
}

/**
 * Admits JSON bodies sent as `application/json` or `text/plain`, uncompressed or gzip/deflate
 * (compressed-body.ts: at most `maxBytes` once decompressed, the route's body limit), and parses them
 * once, so the zod validators that follow see the parsed value and malformed JSON is a clear 400.
 *
 * Why `text/plain`: browsers' `navigator.sendBeacon` and Segment's analytics.js post events
 * as `text/plain` to avoid a CORS preflight; Segment's own API accepts that, so we do too.
 * Hono's JSON validator only reads `application/json`, hence the request is re-labelled.
 */
export function acceptJsonBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async function acceptJsonBody(c, next) {
    const mediaType = mediaTypeOf(c.req.header('content-type'));
    if (mediaType !== 'text/plain' && !isJsonMediaType(mediaType)) {
      throw new ApiError(415, 'unsupported_media_type', 'Send the body as application/json (or text/plain)', [
        { field: 'content-type', reason: `"${mediaType.slice(0, 64)}" is not accepted` },
      ]);
    }
    const coding = contentCodingOf(c.req.header('content-encoding'));
    if (mediaType === 'text/plain' || coding !== undefined) {
      const headers = new Headers(c.req.raw.headers);
      headers.set('content-type', 'application/json');
      if (coding === undefined) {
        c.req.raw = new Request(c.req.raw, { headers });
      } else {
        // The compressed body is within the limit already (limitBodySize ran first): read it whole.
        const body = decompressBody(new Uint8Array(await c.req.raw.arrayBuffer()), coding, maxBytes);
        headers.delete('content-encoding');
        headers.delete('content-length');
        c.req.raw = new Request(c.req.raw, { headers, body });
      }
    }
    try {
      await c.req.json();
    } catch {
      throw new ApiError(400, 'malformed_json', 'The request body is not valid JSON');
    }
    await next();
  };
}
