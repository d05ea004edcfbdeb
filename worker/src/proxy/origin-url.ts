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

/** What `ORIGIN_URL` accepts, as its problem says it. */
const ORIGIN_ACCEPTS = 'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example)';

/**
 * Parses `ORIGIN_URL`; undefined when unset/empty. Throws an Error whose message is the setting's
 * problem when it is set but not an http(s) URL. The message says what was wrong without quoting the
 * value: `/healthz` is public, and the origin's host name is what a shop behind the worker keeps to
 * itself (requests straight to it would bypass the worker and whatever sits in front of it).
 */
export function parseOriginUrl(raw: string | undefined): URL | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const text = raw.trim();
  const noScheme = `${ORIGIN_ACCEPTS}, got a value without http:// or https://`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      /^[a-z][a-z\d+.-]*:/i.test(text) ? `${ORIGIN_ACCEPTS}, got a value that is not a URL` : noScheme,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // `shop.example:8080` and `localhost:8787` parse, as a URL whose "scheme" is the host name.
    if (url.protocol.includes('.') || /^[^:]+:\d/.test(text)) throw new Error(noScheme);
    throw new Error(`${ORIGIN_ACCEPTS}, got ${url.protocol}`);
  }
  return url;
}
