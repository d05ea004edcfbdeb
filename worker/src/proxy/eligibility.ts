/** Which requests and responses the proxy may personalize; everything else passes through untouched. */

/** A page navigation that could be personalized: GET/HEAD for HTML, not a byte range. */
export function isPageRequest(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  // A Range response is a slice of the origin's bytes; rewritten bytes would not line up.
  if (request.headers.has('range')) return false;
  const dest = request.headers.get('sec-fetch-dest');
  // A document a shopper sees: the top one, or one in a frame (an <iframe>'s quick view, a frameset's
  // <frame>), each with its own plugin and page view. Anything else is a script's or an element's fetch.
  if (dest) return dest === 'document' || dest === 'iframe' || dest === 'frame';
  // No Sec-Fetch-Dest (Safari before 16.4, any browser over plain http): a script's own request for an
  // HTML fragment (a cart drawer, a quick view: jQuery's `$.get`, htmx) still says who made it, and is
  // the shop's bytes to pass on, as the same request is from a browser that says `empty`.
  if (request.headers.has('x-requested-with') || request.headers.has('hx-request')) return false;
  const accept = request.headers.get('accept');
  return accept === null || accept.trim() === '*/*' || accept.includes('text/html');
}

// Encodings HTMLRewriter cannot stream as ASCII-compatible text; those pages pass through untouched.
const UNSAFE_CHARSET = /^(utf-16|utf-32|iso-2022|utf-7|hz-gb-2312)/;
// Content codings the runtime decodes for us when it fetches (and encodes again when it answers):
// `gzip` and `br`, as written, in lower case. Any other (`deflate`, `x-gzip`, `GZIP`, `zstd`) arrives as
// the origin's compressed bytes, into which a rewrite would splice plain text: those pages pass through.
const RUNTIME_DECODED_CODINGS = ['gzip', 'br'];
const DECODED_CODINGS = new Set(['', 'identity', ...RUNTIME_DECODED_CODINGS]);

/**
 * The `Accept-Encoding` to send for a page the proxy may rewrite: the shopper's `gzip` and `br` entries
 * (with their q-values, in the shopper's order, in lower case), else `identity` (an absent header would
 * accept any coding).
 * Chrome 123+ and Firefox 126+ offer `zstd`, and origins that prefer it (Caddy) then answered in a
 * coding the runtime does not decode: those pages passed through untouched, so personalization and
 * tracking were off for most shoppers. Only the origin-to-worker hop changes: Cloudflare compresses
 * what the worker answers for the shopper as the shopper's own header allows.
 */
export function rewritableAcceptEncoding(accepted: string | null): string {
  const kept = (accepted ?? '')
    .split(',')
    // Lower case: codings are case-insensitive here, but an origin may echo `GZIP`, which the runtime
    // does not decode (above).
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => {
      const [coding = '', ...parameters] = entry.split(';').map((part) => part.trim());
      if (!RUNTIME_DECODED_CODINGS.includes(coding)) return false;
      const quality = parameters.find((parameter) => parameter.startsWith('q='));
      // `gzip;q=0` means "not gzip" (RFC 9110 12.5.3).
      return quality === undefined || Number(quality.slice(2)) > 0;
    });
  return kept.length > 0 ? kept.join(', ') : 'identity';
}

export interface HtmlResponseInfo {
  /** Lower-case charset from Content-Type; undefined when none is declared. */
  charset: string | undefined;
}

/** An HTML page the rewriter can handle (200, text/html, not a download, known coding and charset), else undefined. */
export function rewritableHtml(response: Response): HtmlResponseInfo | undefined {
  if (response.status !== 200) return undefined;
  const contentType = (response.headers.get('content-type') ?? '').toLowerCase();
  // Only text/html: an XHTML page (application/xhtml+xml) is parsed as XML, where the injected tags
  // (`async`, unclosed `<img>`) are not well-formed and the browser would show an error instead.
  if (!contentType.startsWith('text/html')) return undefined;
  // A download (an invoice or an export as an .html file): the browser saves the bytes, which must stay
  // the origin's, not carry our tag and blocks into the shopper's file.
  if (/^\s*attachment\s*(;|$)/i.test(response.headers.get('content-disposition') ?? '')) return undefined;
  const coding = (response.headers.get('content-encoding') ?? '').trim();
  if (!DECODED_CODINGS.has(coding)) return undefined;
  const charset = /charset\s*=\s*"?([^";\s]+)/.exec(contentType)?.[1];
  if (charset && UNSAFE_CHARSET.test(charset)) return undefined;
  return { charset };
}
