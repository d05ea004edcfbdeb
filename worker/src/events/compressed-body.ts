import { gunzipSync, inflateSync } from 'node:zlib';
import { ApiError } from '../errors';
import { bodyTooLarge } from '../middleware/body-size-limit';

/** The `Content-Encoding`s the intake decompresses. */
export type ContentCoding = 'gzip' | 'deflate';

/**
 * A request's `Content-Encoding`: `undefined` for none (or `identity`), else the coding to undo.
 * Segment's HTTP API takes gzip, and RudderStack's Ruby SDK sends it by default; `deflate` (the zlib
 * format, as HTTP means it) costs nothing more. Any other coding is a 415 naming the header, so the
 * sender learns why instead of getting `malformed_json` for bytes it never meant as JSON.
 */
export function contentCodingOf(header: string | undefined): ContentCoding | undefined {
  const coding = (header ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return undefined;
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  throw new ApiError(
    415,
    'unsupported_media_type',
    'Send the body uncompressed, or compressed with gzip or deflate',
    [{ field: 'content-encoding', reason: `"${coding.slice(0, 64)}" is not accepted` }],
  );
}

/**
 * The body decompressed, at most `maxBytes` long: the limit is the route's body limit, applied to what
 * the body becomes, or a few KB of gzip (a zip bomb) would become gigabytes. Longer is the same 413 as
 * an oversized body (limitBodySize, middleware/body-size-limit.ts); bytes that are not in the coding
 * are `malformed_json`, as any body that does not parse.
 *
 * Why node:zlib and not DecompressionStream: workerd's DecompressionStream inflates each written chunk
 * in full before its reader sees the first output, whatever the reader does (a 190 KB gzip body was
 * 200 MB in memory before 600 KB had been read), so the limit could only be checked after the harm.
 * zlib's `maxOutputLength` stops inflating at the limit (2 ms for that body).
 */
export function decompressBody(body: Uint8Array, coding: ContentCoding, maxBytes: number): Uint8Array {
  try {
    const options = { maxOutputLength: maxBytes };
    return coding === 'gzip' ? gunzipSync(body, options) : inflateSync(body, options);
  } catch (error) {
    // The same answer as limitBodySize's, so senders need to handle one 413.
    if (error instanceof RangeError) throw bodyTooLarge(maxBytes);
    throw new ApiError(400, 'malformed_json', `The request body is not valid ${coding} data`);
  }
}
