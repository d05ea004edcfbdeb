/**
 * Reading a serialized Content-Security-Policy list (a header value, or a `<meta http-equiv>`'s
 * content) the way browsers do (CSP Level 3, "Parse a serialized CSP list"), keeping where each
 * directive ends in the text, so a source can be added to one directive and everything else left as
 * the shop wrote it.
 */

/** One directive of one policy, and where its last source ends in the text it was read from. */
export interface Directive {
  /** Lower case: directive names are case-insensitive. */
  name: string;
  /** As written; keywords and schemes are compared case-insensitively by the helpers below. */
  sources: string[];
  /** Offset just after the directive's last character (before `;`, `,` or trailing whitespace). */
  end: number;
}

/** One policy: its directives by name, the first of a name only (browsers ignore repeats). */
export type Policy = Map<string, Directive>;

// CSP's "ASCII whitespace": tab, line feed, form feed, carriage return, space.
const WHITESPACE = /[\t\n\f\r ]+/;
const DIRECTIVE_NAME = /^[a-z0-9-]+$/i;

/**
 * The policies of a serialized CSP list: split on commas (several `Content-Security-Policy` headers
 * arrive joined by `, `, and every one of them applies), each split on semicolons into directives.
 */
export function parsePolicies(text: string): Policy[] {
  const policies: Policy[] = [];
  let policyStart = 0;
  for (const policyText of text.split(',')) {
    const policy: Policy = new Map();
    let start = policyStart;
    for (const directiveText of policyText.split(';')) {
      const leading = directiveText.length - directiveText.trimStart().length;
      const trimmed = directiveText.trim();
      if (trimmed !== '') {
        const [name = '', ...sources] = trimmed.split(WHITESPACE);
        const key = name.toLowerCase();
        if (DIRECTIVE_NAME.test(name) && !policy.has(key)) {
          policy.set(key, { name: key, sources, end: start + leading + trimmed.length });
        }
      }
      start += directiveText.length + 1;
    }
    if (policy.size > 0) policies.push(policy);
    policyStart += policyText.length + 1;
  }
  return policies;
}

/** The directive a fetch falls back through (`script-src-elem`, else `script-src`, else `default-src`). */
export function governing(policy: Policy, chain: readonly string[]): Directive | undefined {
  for (const name of chain) {
    const directive = policy.get(name);
    if (directive) return directive;
  }
  return undefined;
}

/** Whether the source list has this keyword (`'unsafe-inline'`, `'strict-dynamic'`), in any case. */
export function hasKeyword(sources: readonly string[], keyword: string): boolean {
  return sources.some((source) => source.toLowerCase() === keyword);
}

/** A nonce or hash source: with one, browsers ignore `'unsafe-inline'` in the same list. */
export function hasNonceOrHash(sources: readonly string[]): boolean {
  return sources.some((source) => /^'(nonce|sha256|sha384|sha512)-/i.test(source));
}

/** `'none'` alone, or no source at all: nothing may load, and adding a source would change that. */
export function allowsNothing(sources: readonly string[]): boolean {
  return sources.length === 0 || (sources.length === 1 && sources[0]?.toLowerCase() === "'none'");
}

const SCHEME_SOURCE = /^([a-z][a-z0-9+.-]*):$/i;
const HOST_SOURCE =
  /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*|(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\*|\d+))?(\/[^?#]*)?$/i;

/** `http:` also matches `https:` (and `ws:` `wss:`): browsers let a policy's insecure scheme upgrade. */
function schemeMatches(expression: string, scheme: string): boolean {
  const e = expression.toLowerCase();
  return e === scheme || (e === 'http' && scheme === 'https') || (e === 'ws' && scheme === 'wss');
}

function defaultPort(scheme: string): number {
  return scheme === 'https' || scheme === 'wss' ? 443 : 80;
}

/**
 * Whether a URL matches a source list by its address (CSP3 "Does url match expression"): `*`, a
 * scheme (`https:`), `'self'` or a host source (`shop.example`, `*.shop.example`,
 * `https://shop.example:8443/path/`). Nonces, hashes and other keywords never match by address.
 * `self` is the page's own URL.
 */
export function matchesUrl(sources: readonly string[], url: URL, self: URL): boolean {
  const scheme = url.protocol.slice(0, -1);
  return sources.some((source) => {
    if (source === '*') return ['http', 'https', 'ws', 'wss'].includes(scheme) || scheme === selfScheme(self);
    if (source.toLowerCase() === "'self'") return matchesSelf(url, self);
    const schemeOnly = SCHEME_SOURCE.exec(source);
    if (schemeOnly) return schemeMatches(schemeOnly[1] ?? '', scheme);
    const host = HOST_SOURCE.exec(source);
    if (!host) return false;
    const [, sourceScheme, sourceHost = '', sourcePort, sourcePath] = host;
    if (!schemeMatches(sourceScheme ?? selfScheme(self), scheme)) return false;
    if (!hostMatches(sourceHost.toLowerCase(), url.hostname.toLowerCase())) return false;
    if (!portMatches(sourcePort, url, scheme)) return false;
    return sourcePath === undefined || pathMatches(sourcePath, url.pathname);
  });
}

/**
 * `'self'` (CSP3): the page's own origin, or the same host on default-or-equal ports reached over
 * https (an http page's `'self'` also allows its host over https, as browsers upgrade it).
 */
function matchesSelf(url: URL, self: URL): boolean {
  if (url.origin === self.origin) return true;
  if (url.hostname !== self.hostname) return false;
  const scheme = url.protocol.slice(0, -1);
  const ownScheme = selfScheme(self);
  // URL keeps a port only when it is not the scheme's default: equal strings, same or both default.
  return (
    url.port === self.port &&
    (scheme === 'https' || scheme === 'wss' || (ownScheme === 'http' && scheme === 'ws'))
  );
}

function selfScheme(self: URL): string {
  return self.protocol.slice(0, -1);
}

function hostMatches(source: string, host: string): boolean {
  if (source.startsWith('*.')) return host.endsWith(source.slice(1));
  return source === host;
}

function portMatches(source: string | undefined, url: URL, scheme: string): boolean {
  if (source === '*') return true;
  const port = url.port === '' ? defaultPort(scheme) : Number(url.port);
  if (source === undefined) return url.port === '';
  // An `http` source's port 80 also stands for `https` on 443 (the same upgrade as the scheme).
  return Number(source) === port || (Number(source) === 80 && scheme === 'https' && port === 443);
}

function pathMatches(source: string, path: string): boolean {
  let wanted = source;
  let actual = path;
  try {
    wanted = decodeURIComponent(source);
    actual = decodeURIComponent(path);
  } catch {
    // Not valid percent-encoding: compared as written.
  }
  return wanted.endsWith('/') ? actual.startsWith(wanted) : actual === wanted;
}
