/**
 * Secrets in the URLs events carry. A page's query string is left out by the plugin and the proxy, but
 * its path can hold a credential too: Shopify's password reset and account activation links
 * (`/account/reset/<customer id>/<token>`), order status pages (`/<shop id>/orders/<token>`), checkout
 * and unsubscribe links. Anyone who can read the events could follow them. A Segment source sends the
 * query string as well (`?key=wc_order_…`, WooCommerce's order and password reset keys). So the worker
 * replaces each token-like part of every URL-valued field with REDACTED before an event is queued or
 * held, and the shop's ordinary paths (product handles, SKUs such as 85123A, numeric ids, hyphenated
 * slugs) stay as sent: the rules below look for randomness, not for letters mixed with digits.
 */
export const REDACTED = ':redacted';

/*
 * HEX_RUN and EMAIL start a match only where a run of their characters starts (the lookbehind): a match
 * found inside a run is found from its start too, so they find the same, but tried from every position of
 * a long run each scanned the rest of it, the square of its length: a 30 KB segment of digits cost ~2 s
 * of CPU, here and again in the consumer, where a few such events passed a batch's CPU limit.
 */
/** Hex of 16 or more characters with a digit and a letter: Shopify's 32-hex tokens, digests. */
const HEX_RUN = /(?<![0-9a-f])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{16,}/i;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const EMAIL = /(?<![^@\s])[^@\s]+@[^@\s]+\.[^@\s]+/;
/** The pieces a reader sees in an alphanumeric run: digits, Capitalized or lowercase words, CAPITALS. */
const PIECES = /\d+|[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g;
/** A run this long that breaks into pieces this often is random (a base64url or base36 token). */
const RANDOM_RUN_MIN = 12;
const RANDOM_PIECES_MIN = 4;
const RANDOM_PIECES_PER_CHAR = 0.3;
const CONSONANT_RUN_MIN = 16;
/** Five consonants in a row ("y" not counted: "rhythm"), in a long run with a digit; rare in words. */
const UNPRONOUNCEABLE = /[bcdfghjklmnpqrstvwxz]{5}/i;

/**
 * Whole segments after which the next ones are credentials even when short (`/unsubscribe/ab12cd34`,
 * `/account/reset/<id>/<token>`): they are redacted once they have a digit and 8 characters, or 20.
 */
const SECRET_AFTER = new Set([
  'reset',
  'activate',
  'activation',
  'unsubscribe',
  'confirm',
  'confirmation',
  'verify',
  'verification',
  'invite',
  'invitation',
  'token',
  'magic-link',
  'password',
]);

/**
 * Query parameters whose value is a credential or personal, whatever it looks like: named so, or
 * with such a word in their name (`reset_password_token`, `api-key`; `keyword` is not `key`).
 */
const SECRET_PARAMETERS = new Set([
  'key',
  'token',
  'code',
  'password',
  'pass',
  'pwd',
  'secret',
  'signature',
  'sig',
  'auth',
  'session',
  'sessionid',
  'jsessionid',
  'email',
]);

function isSecretParameter(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    SECRET_PARAMETERS.has(lower) || lower.split(/[^a-z0-9]+/).some((word) => SECRET_PARAMETERS.has(word))
  );
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Whether an alphanumeric run looks random: long, and broken into many short pieces. */
function isRandomRun(run: string): boolean {
  if (run.length < RANDOM_RUN_MIN) return false;
  const pieces = run.match(PIECES)?.length ?? 0;
  if (pieces >= RANDOM_PIECES_MIN && pieces / run.length >= RANDOM_PIECES_PER_CHAR) return true;
  // Fewer digits (base36): words have vowels, random letters have long runs of consonants.
  return run.length >= CONSONANT_RUN_MIN && /\d/.test(run) && UNPRONOUNCEABLE.test(run);
}

/**
 * Whether a path segment or query value is a token (or an email address). A hyphenated slug is
 * runs of words and numbers, none random: `olivia-1-4-zip-light-jacket`, `mb-pro-14-m3-512gb`.
 */
export function isSecretLike(text: string): boolean {
  const value = decoded(text);
  if (EMAIL.test(value) || UUID.test(value) || HEX_RUN.test(value)) return true;
  if (value.split(/[^A-Za-z0-9]+/).some(isRandomRun)) return true;
  // A base64url token whose `-` or `_` cut it into short runs: read as one run. A slug is lowercase,
  // or Capitalized words, where a capital never follows a small letter (`Galaxy-S23-Ultra-5G-Black`).
  return (
    /^[\w-]{20,}$/.test(value) &&
    (value.match(/[a-z][A-Z]/g)?.length ?? 0) >= 2 &&
    isRandomRun(value.replace(/[-_]/g, ''))
  );
}

function redactPath(path: string): string {
  let afterKeyword = false;
  return path
    .split('/')
    .map((segment) => {
      const value = decoded(segment);
      const secret =
        isSecretLike(segment) ||
        (afterKeyword && (value.length >= 20 || (value.length >= 8 && /\d/.test(value))));
      if (SECRET_AFTER.has(value.toLowerCase())) afterKeyword = true;
      return secret ? REDACTED : segment;
    })
    .join('/');
}

/** `a=1&key=…` with each secret value (by its parameter's name, else its look) replaced. */
function redactParameters(text: string): string {
  return text
    .split('&')
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at < 0) return isSecretLike(pair) ? REDACTED : pair;
      const value = pair.slice(at + 1);
      const secret = value !== '' && (isSecretParameter(decoded(pair.slice(0, at))) || isSecretLike(value));
      return secret ? `${pair.slice(0, at + 1)}${REDACTED}` : pair;
    })
    .join('&');
}

/** Origin (with any `user:password@` replaced), path, `?query` and `#fragment` of a URL or a path. */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/|\/\/)?([^/?#]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is;

/**
 * A URL, or a path, with its token-like path segments, query values and fragment parameters
 * replaced by REDACTED, and any user name and password before its host. Everything else, the
 * host and the ordinary segments, is kept character for character (no normalising).
 */
export function redactUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return url;
  const [, scheme = '', userInfo, hostOrFirst = '', rest = '', query, fragment] = parts;
  // Without a scheme, what the pattern read as a host is the first segment of a relative path.
  const host = scheme === '' ? '' : hostOrFirst;
  const path = scheme === '' ? `${userInfo ?? ''}${hostOrFirst}${rest}` : rest;
  return (
    scheme +
    (scheme !== '' && userInfo !== undefined ? `${REDACTED}@` : '') +
    host +
    redactPath(path) +
    (query === undefined ? '' : `?${redactParameters(query.slice(1))}`) +
    (fragment === undefined ? '' : `#${redactFragment(fragment.slice(1))}`)
  );
}

/**
 * A hash-routed single-page app keeps its route in the fragment (`#/account/reset/<id>/<token>`,
 * hashbang `#!/…`, Backbone's `#reset/<token>` without a leading slash, with its own `?query`): that is
 * a path, so the path rules apply, the keyword rule included. A fragment is a route when it starts with
 * `/` or `!/`, or has a `/` before any `=` or `?`. Any other fragment is read as parameters
 * (`#access_token=…`, `#state=a/b&…`).
 */
const FRAGMENT_ROUTE = /^!?\/|^[^=?/]*\//;

function redactFragment(fragment: string): string {
  if (!FRAGMENT_ROUTE.test(fragment)) return redactParameters(fragment);
  const queryAt = fragment.indexOf('?');
  const path = queryAt < 0 ? fragment : fragment.slice(0, queryAt);
  const query = queryAt < 0 ? undefined : fragment.slice(queryAt + 1);
  return redactPath(path) + (query === undefined ? '' : `?${redactParameters(query)}`);
}

/** A query string as Segment's `search` holds it (`?a=1&b=2`, or without its `?`). */
export function redactSearch(search: string): string {
  return search.startsWith('?') ? `?${redactParameters(search.slice(1))}` : redactParameters(search);
}

/**
 * `tab_url` and `initial_referrer` are RudderStack JS's (context.page of every event, and a page call's
 * properties): `tab_url` is `location.href` as it is, query and fragment included, beside the `url` it
 * cleans up, so redacting `url` alone left the same credential there.
 */
const URL_FIELDS = ['url', 'path', 'referrer', 'tab_url', 'initial_referrer'] as const;

/** Redacts the URL fields of one `properties`-like or `context.page`-like record, in place. */
function redactRecord(record: unknown): void {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return;
  const fields = record as Record<string, unknown>;
  for (const key of URL_FIELDS) {
    const value = fields[key];
    if (typeof value === 'string') fields[key] = redactUrl(value);
  }
  if (typeof fields.search === 'string') fields.search = redactSearch(fields.search);
}

/**
 * The URL-valued fields an event is stored with: `properties.url|path|referrer|search` (a page call's,
 * with RudderStack JS's `tab_url|initial_referrer`),
 * the same fields of `context.page` (every plugin and analytics.js event), `context.referrer.url` and
 * each `properties.products[].url`. Returns copies of the objects it changes; the rest is shared.
 */
export function withRedactedUrls<T extends { context?: unknown; properties?: unknown }>(event: T): T {
  const copy = { ...event };
  if (isRecord(copy.properties)) {
    const properties = { ...copy.properties };
    redactRecord(properties);
    if (Array.isArray(properties.products)) {
      properties.products = properties.products.map((product: unknown) => {
        if (!isRecord(product) || typeof product.url !== 'string') return product;
        return { ...product, url: redactUrl(product.url) };
      });
    }
    copy.properties = properties;
  }
  if (isRecord(copy.context)) {
    const context = { ...copy.context };
    if (isRecord(context.page)) {
      context.page = { ...context.page };
      redactRecord(context.page);
    }
    if (isRecord(context.referrer) && typeof context.referrer.url === 'string') {
      context.referrer = { ...context.referrer, url: redactUrl(context.referrer.url) };
    }
    copy.context = context;
  }
  return copy;
}

/** A body of unknown shape with its URL fields redacted when it is an object (withRedactedUrls), else as it is. */
export function withRedactedUrlsIfEvent(body: unknown): unknown {
  return isRecord(body) ? withRedactedUrls(body) : body;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
