/**
 * The shop's Content-Security-Policy and the two elements proxy mode injects: the plugin's
 * `<script src="https://shop.example/rx.js">` and the blocks' inline `<style data-rx-styles>` (docs/proxy.md "Shops with
 * a Content-Security-Policy"). For each enforced policy, the directive that governs the element
 * either already allows it, or gets a fresh per-response nonce that the element then carries, or,
 * when the only way in would weaken the shop's policy, the element is not injected. On a page a
 * shared cache may keep, no nonce of ours unless the page then goes out `private` (csp-shared.ts).
 * The blocks' images are judged too: a nonce does not apply to them, so where a policy refuses them the blocks
 * go out without images.
 */
import { safeUrl } from '../../../contracts/markup';
import {
  allowsNothing,
  type Directive,
  governing,
  hasKeyword,
  hasNonceOrHash,
  matchesUrl,
  type Policy,
  parsePolicies,
} from './csp-policy';
import { nonceValues, SHARED_NONCE_REASON, type SharedCopy, sharedNonce } from './csp-shared';

export { defaultStylesHash, type SharedCopy } from './csp-shared';

export type InjectedElement = 'script' | 'style';

/** What a policy may refuse: our two tags, the plugin's `/v1` calls, the blocks' images. */
export type CspSubject = InjectedElement | 'connect' | 'image';

/** Why an element cannot be allowed without weakening the shop's policy; no URL, no value quoted. */
export interface CspRefusal {
  element: CspSubject;
  directive: string;
  reason: string;
}

const CHAINS: Record<CspSubject, readonly string[]> = {
  script: ['script-src-elem', 'script-src', 'default-src'],
  style: ['style-src-elem', 'style-src', 'default-src'],
  connect: ['connect-src', 'default-src'],
  image: ['img-src', 'default-src'],
};

/** The plugin's path (rewriter.ts PLUGIN_PATH) and the API path it sends events to. */
const PLUGIN_URL_PATH = '/rx.js';
const EVENTS_URL_PATH = '/v1/events';

/** What one policy says of one element: allowed as it is, allowed with a nonce added here, or refused. */
type Verdict = 'allowed' | Directive | CspRefusal;

/** What a page gets: the plugin's tag always, the stylesheet with blocks (not for held-out shoppers). */
export function injectedElements(withStyle: boolean): InjectedElement[] {
  return withStyle ? ['script', 'style'] : ['script'];
}

/** 128 random bits, base64: CSP's nonce grammar takes base64 as it is (`+`, `/`, `=`). */
function freshNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/**
 * One page's decision. `apply` reads each policy the page is under (the headers first, then each
 * `<meta http-equiv>` before the injection point); an element refused by any of them stays refused.
 */
export class PageCsp {
  private nonceValue: string | undefined;
  /** A fresh nonce went into the header of a shared-cacheable page: it must go out `private`. */
  private privateCopy = false;
  private readonly refusals = new Map<InjectedElement | 'connect', CspRefusal>();
  /** Every enforced policy read so far: each block's images must pass all of them. */
  private readonly policies: Policy[] = [];
  /** A policy says `upgrade-insecure-requests`: http: subresources are fetched over https. */
  private upgradeInsecure = false;

  constructor(
    private readonly page: URL,
    /** The elements this page may get (no stylesheet on a held-out shopper's page). */
    private readonly wanted: readonly InjectedElement[],
    /** Set when a shared cache may store the page (SharedCopy); undefined for a `private` one. */
    private readonly shared?: SharedCopy,
  ) {}

  /** The nonce our script carries; undefined while no policy needed one. */
  get nonce(): string | undefined {
    return this.nonceValue;
  }

  /** The nonce our stylesheet carries: none on a shared-cacheable page (its hash lets it in). */
  get styleNonce(): string | undefined {
    return this.shared ? undefined : this.nonceValue;
  }

  /**
   * The header now names a nonce of ours on a page a shared cache could have kept: the page must go
   * out for the browser alone (proxy.ts), so no other shopper gets that nonce.
   */
  get needsPrivateCopy(): boolean {
    return this.privateCopy;
  }

  /** Why the element must not be injected, or undefined when it may be. */
  refusal(element: InjectedElement | 'connect'): CspRefusal | undefined {
    return this.refusals.get(element);
  }

  /**
   * Decides for every policy of one serialized CSP list, and returns the text with the nonce added
   * to each directive that needed it, or undefined when the text needs no change (byte for byte).
   */
  apply(text: string, delivery: 'header' | 'meta'): string | undefined {
    const policies = parsePolicies(text);
    this.policies.push(...policies);
    this.upgradeInsecure ||= policies.some((policy) => policy.has('upgrade-insecure-requests'));
    /** The sources to add at each directive's end, in the order they are decided. */
    const additions = new Map<number, Set<string>>();
    const add = (directives: readonly Directive[], source: string) => {
      for (const { end, sources } of directives) {
        if (sources.includes(source)) continue;
        const at = additions.get(end) ?? new Set<string>();
        additions.set(end, at.add(source));
      }
    };
    for (const element of this.wanted) {
      if (this.refusals.has(element)) continue;
      const needed: Directive[] = [];
      for (const policy of policies) {
        const verdict = this.verdict(element, policy, delivery);
        if (verdict === 'allowed') continue;
        if ('reason' in verdict) {
          this.refusals.set(element, verdict);
          needed.length = 0;
          break;
        }
        needed.push(verdict);
      }
      if (needed.length === 0) continue;
      if (element === 'style' && this.shared) {
        add(needed, this.shared.styleHash);
        continue;
      }
      const nonce = this.nonceFor(element, needed, delivery);
      if (typeof nonce !== 'string') {
        this.refusals.set(element, nonce);
        continue;
      }
      // The shop's nonce reused is already in its directives (in whatever case they wrote `'nonce-`).
      add(
        needed.filter((directive) => !nonceValues(directive).includes(nonce)),
        `'nonce-${nonce}'`,
      );
    }
    this.checkConnect(policies);
    if (additions.size === 0) return undefined;
    let extended = text;
    for (const [end, sources] of [...additions].sort(([a], [b]) => b - a)) {
      extended = `${extended.slice(0, end)} ${[...sources].join(' ')}${extended.slice(end)}`;
    }
    return extended;
  }

  /**
   * The nonce `element` carries through these directives. A fresh one, but on a page a shared cache
   * may store (SharedCopy): the shop's own nonce when every directive names it (the origin put it in
   * that copy already), else a fresh one in a header (the page then goes out `private`), and in a
   * `<meta>`, read after the headers went out, none: the element stays out.
   */
  private nonceFor(
    element: InjectedElement,
    needed: readonly Directive[],
    delivery: 'header' | 'meta',
  ): string | CspRefusal {
    if (this.shared && !this.privateCopy) {
      const shops = this.nonceValue ?? sharedNonce(needed);
      if (shops !== undefined && needed.every((directive) => nonceValues(directive).includes(shops))) {
        this.nonceValue = shops;
        return shops;
      }
      if (delivery === 'meta' || this.nonceValue !== undefined) {
        return { element, directive: needed[0]?.name ?? '', reason: SHARED_NONCE_REASON };
      }
      this.privateCopy = true;
    }
    this.nonceValue ??= freshNonce();
    return this.nonceValue;
  }

  /**
   * Why the browser would refuse a block's images (its items' `image` fields, as the renderer writes
   * them into `src`), or undefined when every policy read so far allows all of them. `base` is the
   * document's base URL (documentBaseUrl). A nonce does not apply to images, and widening the shop's
   * list is not ours to do: a refusal means the block goes out without images.
   */
  imageRefusal(items: readonly { image: string }[], base: URL): CspRefusal | undefined {
    const directives = this.policies.flatMap((policy) => governing(policy, CHAINS.image) ?? []);
    // Policies without img-src and default-src say nothing of images: no URL is parsed for them.
    if (directives.length === 0) return undefined;
    const upgrade = this.upgradeInsecure || this.page.protocol === 'https:';
    const urls = items.flatMap(({ image }) => {
      // markup.ts renders `safeUrl(image)` as the src, and no <img> where that is empty or `#`.
      const src = safeUrl(image);
      const url = src && src !== '#' ? requestedUrl(src, base, upgrade) : undefined;
      return url ? [url] : [];
    });
    if (urls.length === 0) return undefined;
    for (const directive of directives) {
      if (allowsNothing(directive.sources)) {
        return { element: 'image', directive: directive.name, reason: "'none'" };
      }
      if (!urls.every((url) => matchesUrl(directive.sources, url, this.page))) {
        return {
          element: 'image',
          directive: directive.name,
          reason: "the catalogue images' address not allowed",
        };
      }
    }
    return undefined;
  }

  /** Whether every `base-uri` read so far allows this `<base href>` (no fallback to default-src). */
  allowsBase(url: URL): boolean {
    return this.policies.every((policy) => {
      const directive = policy.get('base-uri');
      return !directive || matchesUrl(directive.sources, url, this.page);
    });
  }

  private verdict(element: InjectedElement, policy: Policy, delivery: 'header' | 'meta'): Verdict {
    // A sandbox without allow-scripts runs no script on the page, the shop's own included (a <meta>
    // cannot carry `sandbox`: browsers ignore it there).
    const sandbox = policy.get('sandbox');
    if (
      element === 'script' &&
      delivery === 'header' &&
      sandbox &&
      !hasKeyword(sandbox.sources, 'allow-scripts')
    ) {
      return { element, directive: 'sandbox', reason: 'the page is sandboxed without allow-scripts' };
    }
    const directive = governing(policy, CHAINS[element]);
    if (!directive) return 'allowed';
    const { sources, name } = directive;
    if (allowsNothing(sources)) return { element, directive: name, reason: "'none'" };
    const nonceOrHash = hasNonceOrHash(sources);
    const unsafeInline = hasKeyword(sources, "'unsafe-inline'");
    if (element === 'style') {
      if (unsafeInline && !nonceOrHash) return 'allowed';
    } else {
      // Under 'strict-dynamic' addresses ('self', hosts, schemes) no longer count: only a nonce or hash.
      const strictDynamic = hasKeyword(sources, "'strict-dynamic'");
      if (!strictDynamic && matchesUrl(sources, new URL(PLUGIN_URL_PATH, this.page), this.page)) {
        return 'allowed';
      }
      // A nonce added here would switch 'unsafe-inline' off, and with it the shop's own inline scripts.
      if (unsafeInline && !nonceOrHash) {
        return {
          element,
          directive: name,
          reason: "'unsafe-inline' without a nonce or hash, and this host not allowed",
        };
      }
    }
    return directive;
  }

  /**
   * Not ours to change, only to tell: the plugin calls `/v1/*` on the page's own host, and a
   * `connect-src` without that host refuses those calls (no event reaches us). A nonce does not apply
   * to connections, and widening the list would weaken the shop's policy.
   */
  private checkConnect(policies: readonly Policy[]): void {
    if (this.refusals.has('connect')) return;
    const events = new URL(EVENTS_URL_PATH, this.page);
    for (const policy of policies) {
      const directive = governing(policy, CHAINS.connect);
      if (!directive || matchesUrl(directive.sources, events, this.page)) continue;
      this.refusals.set('connect', {
        element: 'connect',
        directive: directive.name,
        reason: 'this host not allowed',
      });
      return;
    }
  }
}

/**
 * The URL the browser checks an `<img src>` against the policy with: resolved against the document's
 * base URL, then upgraded to https as Fetch does before that check (`upgrade-insecure-requests`, and
 * current browsers' upgrade of http images on an https page). Undefined when it does not parse: the
 * browser fetches nothing then.
 */
function requestedUrl(src: string, base: URL, upgrade: boolean): URL | undefined {
  let url: URL;
  try {
    url = new URL(src, base);
  } catch {
    return undefined;
  }
  // Port 80 is already implicit in an http URL, so it becomes https' 443, as the upgrade wants.
  if (upgrade && url.protocol === 'http:') url.protocol = 'https:';
  return url;
}

/**
 * The document's base URL once the first `<base href>` is read (HTML "set the frozen base URL"): the
 * page's own URL when the href does not parse, is `data:` or `javascript:`, or a `base-uri` the page
 * is already under refuses it. Relative block image URLs resolve against it.
 */
export function documentBaseUrl(href: string, page: URL, csp: PageCsp | undefined): URL {
  let url: URL;
  try {
    url = new URL(href, page);
  } catch {
    return page;
  }
  if (url.protocol === 'data:' || url.protocol === 'javascript:') return page;
  return csp && !csp.allowsBase(url) ? page : url;
}

/**
 * The page's decision under its `Content-Security-Policy` header(s), with the header extended where
 * a nonce (or, on a shared copy, the stylesheet's hash) is needed; undefined, with nothing read beyond
 * one header lookup, when the origin sent no such header. `Content-Security-Policy-Report-Only` never
 * blocks anything and is left as it is.
 */
export function pageCsp(
  headers: Headers,
  page: URL,
  withStyle: boolean,
  shared?: SharedCopy,
): PageCsp | undefined {
  const value = headers.get('content-security-policy');
  if (value === null) return undefined;
  const csp = new PageCsp(page, injectedElements(withStyle), shared);
  const extended = csp.apply(value, 'header');
  if (extended !== undefined) headers.set('content-security-policy', extended);
  return csp;
}
