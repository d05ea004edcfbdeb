/**
 * Where a proxied request goes: always and only the configured origin (no open proxy).
 *
 * The target is built by setting path and query on a copy of `ORIGIN_URL`, never by resolving the
 * incoming URL or `Host` against it: `//evil.example/x`, absolute-form request targets and forged
 * `Host` headers all stay on the origin's scheme, host and port.
 */
export function originTarget(requestUrl: URL, origin: URL): URL {
  const target = new URL(origin.href);
  const base = origin.pathname.endsWith('/') ? origin.pathname.slice(0, -1) : origin.pathname;
  target.pathname = `${base}${requestUrl.pathname}`;
  target.search = requestUrl.search;
  target.hash = '';
  if (target.origin !== origin.origin) throw new Error('proxy target escaped the configured origin');
  return target;
}

/** Parses `ORIGIN_URL`; undefined when unset/empty, an Error message when it is not http(s). */
export function parseOriginUrl(raw: string | undefined): URL | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const url = new URL(raw.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`ORIGIN_URL must be an http(s) URL, got ${url.protocol}`);
  }
  return url;
}
