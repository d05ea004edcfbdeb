/**
 * Header rules of the reverse proxy: hop-by-hop headers dropped both ways, `X-Forwarded-*` set,
 * `Location`, `Content-Location`, `Refresh`, `Link` and cookie domains and paths rewritten from the
 * origin's host to the public one, and a rewritten page's description of the origin's bytes left out.
 */
import { secretsEqual } from '../constant-time';

/** RFC 9110 §7.6.1 connection-specific headers, plus the ones every proxy strips in practice. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Removes hop-by-hop headers, including any the `Connection` header names. */
export function dropHopByHop(headers: Headers, keepUpgrade = false): void {
  const named = (headers.get('connection') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) {
    if (keepUpgrade && (name === 'upgrade' || name === 'connection')) continue;
    headers.delete(name);
  }
}

/**
 * What a client may say about the path its request took, which only this proxy can know. The origin
 * (or a cache in front of it) may build links, redirects or cache keys from them, or take the client's
 * address from one (frameworks and WAF rules read `True-Client-IP`, `X-Client-IP`, `X-Cluster-Client-IP`
 * or `Fastly-Client-IP` before the connecting address): any client could then choose the address the
 * origin logs, rate-limits or allows. The one address the origin gets is `X-Forwarded-For`, from
 * `CF-Connecting-IP` (below). Cloudflare's own `True-Client-IP` (an Enterprise setting) would equal it.
 */
const CLIENT_FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-original-url',
  'x-rewrite-url',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
];

/**
 * `Expect: 100-continue` is the client's question to the server in front of it (Cloudflare's edge), not
 * to the origin. Passed on, an origin that honours it (Node, nginx, Apache) answers `100 Continue` first,
 * and workerd's fetch then never resolves: curl and Guzzle uploads, which send it for larger bodies, hung
 * until the client gave up. Without it the origin simply reads the streamed body.
 */
const CLIENT_EXPECTATIONS = ['expect'];

/**
 * Drops an `Authorization` header that carries the worker's `ADMIN_TOKEN` (as `Bearer <token>`, in
 * any case, or bare): the operator's secret is for the worker's admin API, never for the shop. A
 * request for the admin API under a path the worker does not answer (`/en/admin/models/…`, a
 * `models:publish --url` with a path) is the shop's, and was passed on to the origin with the token.
 * Any other `Authorization` (the shop's own Basic auth, a customer's bearer token) is the origin's
 * and goes on unchanged. Compared in constant time (secretsEqual), as the admin API compares it.
 */
export async function withoutAdminToken(headers: Headers, adminToken: string | undefined): Promise<void> {
  const expected = adminToken?.trim();
  const header = headers.get('authorization');
  if (!expected || header === null) return;
  const given = /^bearer +(\S+) *$/i.exec(header)?.[1] ?? header.trim();
  if (await secretsEqual(given, expected)) headers.delete('authorization');
}

/**
 * The `Accept-Encoding` the shopper sent, for a byte range. The runtime hands the worker `br, gzip` in
 * its place (the shopper's is `request.cf.clientAcceptEncoding`) and decodes and encodes whole answers
 * for the shopper itself; but a slice of a gzip or br file cannot be decoded, so a client that takes no
 * coding (a resumed download, a media element) got a few garbled bytes, or none, under a Content-Range
 * naming others. Asked with the shopper's own header, the origin picks a coding the shopper takes. No
 * header at all (curl, wget) asks for the plain file, as origins answer such a client themselves.
 */
function rangeAcceptEncoding(request: Request): string | undefined {
  const original: unknown = request.cf?.clientAcceptEncoding;
  if (typeof original !== 'string') return undefined;
  return original.trim() === '' ? 'identity' : original;
}

/**
 * Headers for the origin request: the shopper's, minus hop-by-hop ones, `Expect` and whatever the
 * client said about forwarding, with `X-Forwarded-For` set to the connecting IP Cloudflare saw (a
 * client-sent value would let anyone choose the address the origin logs and rate-limits) and
 * `X-Forwarded-Host`/`-Proto` from the public URL. A Range request carries the shopper's own
 * `Accept-Encoding` (rangeAcceptEncoding).
 */
export function originRequestHeaders(request: Request, publicUrl: URL, isUpgrade: boolean): Headers {
  const headers = new Headers(request.headers);
  dropHopByHop(headers, isUpgrade);
  const rangeEncoding = request.headers.has('range') ? rangeAcceptEncoding(request) : undefined;
  if (rangeEncoding !== undefined) headers.set('accept-encoding', rangeEncoding);
  headers.delete('host');
  for (const name of CLIENT_FORWARDING_HEADERS) headers.delete(name);
  for (const name of CLIENT_EXPECTATIONS) headers.delete(name);
  const clientIp = request.headers.get('cf-connecting-ip');
  if (clientIp) headers.set('x-forwarded-for', clientIp);
  else headers.delete('x-forwarded-for');
  headers.set('x-forwarded-host', publicUrl.host);
  headers.set('x-forwarded-proto', publicUrl.protocol.slice(0, -1));
  return headers;
}

/**
 * A path on the origin as the public host has it: `ORIGIN_URL`'s base path removed by whole segments
 * (`/shop` and `/shop/cart` under base `/shop` become `/` and `/cart`; `/shopping` and paths outside
 * the base stay as they are).
 */
function withoutBasePath(path: string, origin: URL): string {
  const base = basePath(origin);
  return base !== '' && underBasePath(path, origin) ? path.slice(base.length) || '/' : path;
}

/** `ORIGIN_URL`'s path without its trailing `/` (`''` for an origin at its root). */
function basePath(origin: URL): string {
  return origin.pathname.endsWith('/') ? origin.pathname.slice(0, -1) : origin.pathname;
}

/** Whether `path` on the origin is one the worker serves: under `ORIGIN_URL`'s base path, by whole segments. */
function underBasePath(path: string, origin: URL): boolean {
  const base = basePath(origin);
  return base === '' || path === base || path.startsWith(`${base}/`);
}

/**
 * `Location` pointing at the origin becomes the same place on the public host: an absolute URL on the
 * origin host under `ORIGIN_URL`'s base path, or a path from the root, loses that base path (whole
 * segments only); an absolute one outside it stays as it is (no public URL serves it). A
 * Location relative to the request (`login`, `?page=2`, `#top`) is left alone: the browser resolves it
 * against the public URL, which maps onto the origin the same way.
 */
export function rewriteLocation(location: string, origin: URL, publicUrl: URL): string {
  const absolute = /^[a-z][a-z0-9+.-]*:|^\/\//i.test(location);
  if (!absolute && !location.startsWith('/')) return location;
  let target: URL;
  try {
    target = new URL(location, origin);
  } catch {
    return location;
  }
  if (target.host !== origin.host) return location;
  // An origin URL outside the base path (`/other` under base `/shop`) is no public page: the public
  // `/other` is the origin's `/shop/other`. It is left pointing at the origin. A path from the root is
  // a public path, as the page's links are (docs/proxy.md), so it stays a path.
  if (absolute && !underBasePath(target.pathname, origin)) return location;
  const path = withoutBasePath(target.pathname, origin);
  // A path that starts `//` (the origin's `/shop//evil.example/` under base `/shop`) would be a
  // protocol-relative URL, another host to the browser: it is given the public host in full instead.
  if (!absolute && !path.startsWith('//')) return `${path}${target.search}${target.hash}`;
  return `${publicUrl.protocol}//${publicUrl.host}${path}${target.search}${target.hash}`;
}

/**
 * The delay and separator of a `Refresh` value, as HTML's declarative refresh reads it: a time (digits
 * and dots), then optionally `;` or `,` and `url=` (any case), each with whitespace around. What follows
 * is the URL, in quotes or not.
 */
const REFRESH_PREFIX = /^\s*[\d.]+\s*(?:[;,]\s*)?(?:url\s*=\s*)?/i;

/**
 * `Refresh: 0; url=https://origin.example/x`, which browsers follow like a redirect, gets the URL
 * part rewritten as `Location` is (rewriteLocation): otherwise it would reveal the private origin
 * and send shoppers around the worker. Anything else in the value is kept as it came.
 */
export function rewriteRefresh(refresh: string, origin: URL, publicUrl: URL): string {
  const prefix = REFRESH_PREFIX.exec(refresh)?.[0];
  if (prefix === undefined) return refresh;
  const rest = refresh.slice(prefix.length);
  const quote = rest[0] === '"' || rest[0] === "'" ? rest[0] : '';
  // A quoted URL ends at its closing quote (the browser ignores what follows); an unquoted one at the
  // value's end, its trailing whitespace kept outside it.
  const end = quote ? rest.indexOf(quote, 1) : rest.trimEnd().length;
  const urlEnd = end === -1 ? rest.length : end;
  const url = rest.slice(quote.length, urlEnd);
  if (url === '') return refresh;
  return `${prefix}${quote}${rewriteLocation(url, origin, publicUrl)}${rest.slice(urlEnd)}`;
}

/** Whether `host` is `domain` or under it, by whole labels (RFC 6265 §5.1.3 "domain-match"). */
function domainMatches(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/**
 * A `Set-Cookie` scoped to the origin's own host name, or to a domain the origin's host is under and
 * the public host is not (`Domain=shop-backend.example` from `origin.shop-backend.example`, for
 * `shop.example`), would be refused by the browser on the public host; dropping that `Domain` makes it
 * a host-only cookie of the public host. A domain both hosts are under (`shop.example` for
 * `origin.shop.example` and `www.shop.example`) keeps its scope. `Domain = x`, with
 * whitespace around the `=`, is the same attribute to a browser (RFC 6265 §5.2). A `Path` under
 * `ORIGIN_URL`'s base path loses it as a `Location` does (`Path=/shop/cart` under base `/shop` becomes
 * `Path=/cart`): shoppers browse the public paths, where the origin's would never match, so the
 * browser would never send the cookie back (sessions, carts and logins lost). Other cookies pass as-is.
 */
export function rewriteSetCookie(cookie: string, origin: URL, publicUrl: URL): string {
  return cookie
    .replace(/;\s*domain\s*=\s*\.?([^;]*)/gi, (attribute, written: string) => {
      const domain = written.trim().toLowerCase();
      const refusedOnPublicHost =
        domainMatches(origin.hostname, domain) && !domainMatches(publicUrl.hostname, domain);
      return refusedOnPublicHost ? '' : attribute;
    })
    .replace(/(;\s*path\s*=\s*)([^;]*)/gi, (attribute, name: string, value: string) => {
      const path = value.trimEnd();
      // A Path not starting `/` is no path to a browser (it uses the default path): left alone.
      if (!path.startsWith('/')) return attribute;
      return `${name}${withoutBasePath(path, origin)}${value.slice(path.length)}`;
    });
}

/**
 * `Link: <https://origin.example/x>; rel="canonical"` (or `rel=preload`, `alternate`...) names the
 * origin to browsers and search engines, which would index the private host. Each `<URI-reference>`
 * is rewritten as a `Location` is (rewriteLocation: relative ones stay); the parameters, and several
 * links in one value, are kept as they came. A `<` inside a quoted parameter is not a link.
 */
export function rewriteLink(link: string, origin: URL, publicUrl: URL): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < link.length; i++) {
    const char = link[i];
    if (quoted) {
      if (char === '\\') {
        out += link.slice(i, i + 2);
        i++;
        continue;
      }
      if (char === '"') quoted = false;
      out += char;
    } else if (char === '"') {
      quoted = true;
      out += char;
    } else if (char === '<') {
      const end = link.indexOf('>', i + 1);
      if (end === -1) return out + link.slice(i);
      out += `<${rewriteLocation(link.slice(i + 1, end), origin, publicUrl)}>`;
      i = end;
    } else {
      out += char;
    }
  }
  return out;
}

/**
 * Adds `names` to the `Vary` header, after the origin's own values as it wrote them, leaving out any
 * it already names (any case). `Vary: *` already says everything: left alone.
 */
export function appendVary(headers: Headers, names: readonly string[]): void {
  const current = headers.get('vary');
  const listed = (current ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (listed.includes('*')) return;
  const added = names.filter(
    (name, index) =>
      !listed.includes(name.toLowerCase()) &&
      names.findIndex((other) => other.toLowerCase() === name.toLowerCase()) === index,
  );
  if (added.length === 0) return;
  headers.set('vary', listed.length > 0 ? `${current}, ${added.join(', ')}` : added.join(', '));
}

/**
 * Response headers for the shopper: hop-by-hop dropped, `Location`, `Content-Location`, `Refresh`, `Link`
 * and cookie domains and paths rewritten.
 */
export function shopperResponseHeaders(response: Response, origin: URL, publicUrl: URL): Headers {
  const headers = new Headers(response.headers);
  dropHopByHop(headers);
  const location = headers.get('location');
  if (location) headers.set('location', rewriteLocation(location, origin, publicUrl));
  const contentLocation = headers.get('content-location');
  if (contentLocation) headers.set('content-location', rewriteLocation(contentLocation, origin, publicUrl));
  const refresh = headers.get('refresh');
  if (refresh) headers.set('refresh', rewriteRefresh(refresh, origin, publicUrl));
  // Several `Link` headers come joined by `, `, which is the same list (RFC 8288 §3).
  const link = headers.get('link');
  if (link) headers.set('link', rewriteLink(link, origin, publicUrl));
  // workerd's `getAll` is the one way to read several Set-Cookie headers without merging them.
  const cookies = response.headers.getAll('set-cookie');
  if (cookies.length > 0) {
    headers.delete('set-cookie');
    for (const cookie of cookies) headers.append('set-cookie', rewriteSetCookie(cookie, origin, publicUrl));
  }
  return headers;
}

/**
 * Headers that describe the origin's exact bytes: its length, its checksums (`Content-MD5`, the
 * `Digest` of RFC 3230 and `Content-Digest`/`Repr-Digest` of RFC 9530). A rewritten page is other
 * bytes, so a client checking them would find the page corrupt.
 */
const ORIGIN_BYTES_HEADERS = ['content-length', 'content-md5', 'digest', 'content-digest', 'repr-digest'];

/**
 * Makes a rewritten page's headers say nothing about the origin's bytes. `Accept-Ranges: bytes`
 * becomes `none`: a Range request is passed to the origin (eligibility.ts), whose slice would not
 * continue the rewritten page a download manager or a resumed transfer started from.
 */
export function forgetOriginBytes(headers: Headers): void {
  for (const name of ORIGIN_BYTES_HEADERS) headers.delete(name);
  if (headers.has('accept-ranges')) headers.set('accept-ranges', 'none');
}
