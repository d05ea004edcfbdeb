import type { Context, MiddlewareHandler } from 'hono';
import type { RxEvent } from '../../../contracts/events';
import type { AppEnv } from '../app-env';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { holdEvents } from '../events/outbox';
import { enqueueEvents } from '../events/producer';
import { log } from '../log';
import { logRepeating } from '../log-repeating';
import { overShopperLimit } from '../middleware/rate-limit';
import { requestInProgress } from '../models';
import { anonymousIdCookie, identifyShopper, type Shopper } from '../shopper';
import { isBot } from './bots';
import { sniffCharset } from './charset-sniff';
import { isExcludedPath, type ProxyConfig, proxySettings } from './config';
import { trackingAllowed } from './consent';
import { defaultStylesHash, pageCsp, type SharedCopy } from './csp';
import { Deadline } from './deadline';
import { edgeSource } from './edge-source';
import { isPageRequest, rewritableAcceptEncoding, rewritableHtml } from './eligibility';
import { headAnswer } from './head-charset';
import {
  appendVary,
  forgetOriginBytes,
  originRequestHeaders,
  shopperResponseHeaders,
  withoutAdminToken,
} from './headers';
import { asciiOnly } from './html-text';
import { nonPersonalSource } from './non-personal-source';
import { fetchOrigin } from './origin-fetch';
import { originTarget } from './origin-url';
import { pageContextFromUrl } from './page-context';
import { PageSession } from './page-session';
import { PAGE_VIEW_RETRY_DELAYS_MS, pageViewEvent, queuePageView } from './page-view';
import { type PageFacts, pageRewriter, viewedProduct } from './rewriter';
import { CDN_CACHE_HEADERS, keepFromSharedCaches, sharedCacheMayStore } from './shared-cache';
import type { PersonalizationSource } from './source';
import { ORIGIN_UNREACHABLE, originMisconfigured, originUnreachable } from './unavailable';

/** What the proxy depends on, as options with defaults (tests pass slow or failing ones). */
export interface ProxyDependencies {
  source: (env: Env, ctx: ExecutionContext, shopper: Shopper) => PersonalizationSource;
  /** Fills the slots of pages whose shopper may not be tracked (consent pending, GPC). */
  nonPersonalSource: (env: Env, ctx: ExecutionContext) => PersonalizationSource;
  sendEvents: (env: Env, events: RxEvent[]) => Promise<void>;
  /** Keeps page-view events the queue refused until it takes them again (see queuePageView). */
  holdEvents: (env: Env, events: RxEvent[]) => Promise<{ waiting: number }>;
  /** Longest wait for a page to finish streaming before its page-view event is sent anyway. */
  pageViewWaitMs: number;
  /** Waits before each retry of a page-view event the queue refused (see queuePageView). */
  pageViewRetryDelaysMs: readonly number[];
  /** Marks a page in progress until the returned function is called (see BundleRegistry.busy). */
  requestInProgress: () => () => void;
}

const defaults: ProxyDependencies = {
  source: edgeSource,
  nonPersonalSource,
  sendEvents: (env, events) => enqueueEvents(env, events),
  holdEvents,
  pageViewWaitMs: 10_000,
  pageViewRetryDelaysMs: PAGE_VIEW_RETRY_DELAYS_MS,
  requestInProgress,
};

/** How long after the page's end its page-view event waits, so the last bytes go out first. */
const PAGE_VIEW_AFTER_PAGE_MS = 1;

const CONDITIONAL_HEADERS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
];

/**
 * The reverse proxy for `ORIGIN_URL` (DESIGN.md "HTTP API": everything else). Pages for shoppers
 * in the treatment arm are personalized as they stream; everything else passes through untouched.
 */
export function proxyHandler(overrides: Partial<ProxyDependencies> = {}): MiddlewareHandler<AppEnv> {
  const deps: ProxyDependencies = { ...defaults, ...overrides };
  return async function proxy(c, next) {
    // The worker's own paths are never proxied, wherever the proxy is mounted relative to them (and
    // whatever the proxy's settings are: an unknown /v1 path stays a 404, an old /rx.<hash>.js a redirect).
    if (isWorkerPath(c.req.path)) return next();
    const { config, originProblem } = proxySettings(c.env);
    if (originProblem !== undefined) return originMisconfigured(c.req.raw);
    if (!config) return next();
    try {
      return await handle(c, config, deps);
    } catch (error) {
      if (error instanceof ApiError && error.code === ORIGIN_UNREACHABLE) return originUnreachable(c.req.raw);
      throw error;
    }
  };
}

/**
 * A rewritten page for a shopper who is not tracked (slots filled from the page alone) is the same for
 * every such shopper, so the origin's caching stays (unless a nonce of ours went into its policy:
 * untrackedCopy), but it is no longer byte for byte the origin's: a strong ETag becomes weak (RFC 9110
 * 8.8.1), as servers do for compressed variants. `If-None-Match` compares weakly, so revalidation still works.
 */
function weakenEtag(headers: Headers): void {
  const etag = headers.get('etag');
  if (etag && !etag.startsWith('W/')) headers.set('etag', `W/${etag}`);
}

/**
 * An untracked shopper's page keeps the origin's caching, but the same URL is another page for a tracked
 * shopper (personalized, with the `rx_uid` cookie, its view counted by the worker), and which one a
 * browser gets depends on its `rx_consent` cookie (RX_CONSENT=required) and its `Sec-GPC` header
 * (RX_HONOUR_GPC). Without `Vary` a browser kept the untracked copy after `rx.consent(true)` for the
 * origin's max-age: no personalization, no page view on return. `User-Agent` is not added (many shared
 * caches do not store what varies by it; crawler pages go out with exactly the origin's headers).
 */
function varyByTracking(headers: Headers, config: ProxyConfig): void {
  appendVary(headers, [
    ...(config.consentRequired ? ['Cookie'] : []),
    ...(config.honourGpc ? ['Sec-GPC'] : []),
  ]);
}

/**
 * `done` resolves at the end of the rewritten page's document, or after `waitMs` if it never comes
 * (aborted); `cancel` ends the wait for a page that will not be rewritten after all.
 */
function pageEnd(rewriter: HTMLRewriter, waitMs: number): { done: Promise<void>; cancel: () => void } {
  let timeout: ReturnType<typeof setTimeout> | null = null;
  const done = new Promise<void>((resolve) => {
    timeout = setTimeout(resolve, waitMs);
    rewriter.onDocument({
      end: () => {
        clearTimeout(timeout);
        resolve();
      },
    });
  });
  return { done, cancel: () => clearTimeout(timeout) };
}

/**
 * A speculative fetch (`Sec-Purpose: prefetch`, also `prefetch;prerender`; `Purpose: prefetch` from
 * Chrome before it): not yet a page anybody sees.
 */
function isPrefetch(request: Request): boolean {
  const purpose = request.headers.get('sec-purpose') ?? request.headers.get('purpose') ?? '';
  return /(^|[\s;,])prefetch\b/i.test(purpose);
}

/**
 * An untracked shopper's page that a shared cache may store (it keeps the origin's caching), so the
 * Content-Security-Policy decision must not put a nonce of ours in it (csp.ts SharedCopy); undefined
 * for a page only the browser keeps.
 */
async function untrackedCopy(headers: Headers): Promise<SharedCopy | undefined> {
  return sharedCacheMayStore(headers) ? { styleHash: await defaultStylesHash() } : undefined;
}

/** Paths the worker answers itself (DESIGN.md "HTTP API"): the API, health, the plugin and the admin API. */
export function isWorkerPath(path: string): boolean {
  return (
    path === '/v1' ||
    path.startsWith('/v1/') ||
    path === '/healthz' ||
    /^\/rx(\.[\w-]+)?\.js$/.test(path) ||
    // The admin API: a path it does not know is its 404, never the shop's page (with the operator's
    // bearer token passed on to the origin). Under another path (`/en/admin/models/…`) it is the shop's
    // page, without that token (withoutAdminToken).
    /^\/admin\/(models|live)(\/|$)/.test(path)
  );
}

async function handle(c: Context<AppEnv>, config: ProxyConfig, deps: ProxyDependencies): Promise<Response> {
  const request = c.req.raw;
  const publicUrl = new URL(request.url);
  const target = originTarget(publicUrl, config.origin);
  const isUpgrade = (request.headers.get('upgrade') ?? '').toLowerCase() === 'websocket';
  const headers = originRequestHeaders(request, publicUrl, isUpgrade);
  // The operator's admin token never reaches the shop (an admin call under a path prefix is the shop's).
  await withoutAdminToken(headers, c.env.ADMIN_TOKEN);
  if (isUpgrade) {
    // WebSockets: the runtime hands the origin's socket straight to the client. Redirects are not
    // followed (the runtime would follow one to any host, with the shopper's cookies), and an answer
    // other than the upgrade gets the same header treatment as any other.
    const upgraded = await fetchOrigin(target, { method: request.method, headers, redirect: 'manual' });
    if (upgraded.status === 101) return upgraded;
    return originAnswer(upgraded, shopperResponseHeaders(upgraded, config.origin, publicUrl));
  }

  // Excluded paths (checkout, payment, account: RX_EXCLUDE_PATHS) are passed through like a crawler's
  // request: no rewriting, no script, no cookie, no event.
  const page =
    isPageRequest(request) && !isBot(request) && !isExcludedPath(publicUrl.pathname, config.excludedPaths);
  // A page's answer is rewritten, which works only in a coding the runtime decodes; anything else (an
  // asset, an API call, a Range request, a crawler's page) passes through as the shopper asked for it.
  if (page) headers.set('accept-encoding', rewritableAcceptEncoding(request.headers.get('accept-encoding')));
  // Without consent (RX_CONSENT=required) or under GPC (RX_HONOUR_GPC) a page gets non-personal slots and
  // the plugin, told the same rules, so the shop's consent manager can still call rx.consent(true): no
  // id, no event.
  const tracked = page && trackingAllowed(request, config);
  const shopper = tracked ? await identifyShopper(request, c.env) : undefined;
  const deadline = new Deadline();
  const treatment = shopper?.bucket === 'treatment';
  let session: PageSession | undefined;
  // HEAD gets a personalized page's headers but no body, so there is nothing to fetch for it.
  // A tracked shopper's page carries no validators, in either arm (see TRACKED_PAGE_CACHING below), so a
  // conditional request could only get a 304 for a body this shopper was never sent: a personalized one,
  // or the page a shopper got before they consented.
  if (shopper) for (const name of CONDITIONAL_HEADERS) headers.delete(name);
  if (treatment && request.method === 'GET') {
    const source = deps.source(c.env, c.executionCtx, shopper);
    session = new PageSession(source, deadline, pageContextFromUrl(publicUrl));
  } else if (page && !tracked && request.method === 'GET') {
    // Not trackable, still a shopper: the slots get the same non-personal results for everybody, in
    // the initial HTML. The page stays as cacheable as the origin made it (see weakenEtag below), but
    // for a nonce of ours in its policy (untrackedCopy).
    session = new PageSession(
      deps.nonPersonalSource(c.env, c.executionCtx),
      deadline,
      pageContextFromUrl(publicUrl),
    );
  }

  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const originResponse = fetchOrigin(target, {
    method: request.method,
    headers,
    body: hasBody ? request.body : null,
    redirect: 'manual',
  });
  if (session) {
    // The origin request goes out first: in production the origin is the long wait, and the lookups'
    // own CPU (a few hundred µs) must not delay it. workerd writes a request out only when the isolate
    // yields to its event loop, hence the one macrotask before the lookups start; they then run while
    // the origin works. Measured: first byte +0.3 ms over pass-through instead of +0.8 (docs/proxy.md).
    originResponse.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    await new Promise((resolve) => setTimeout(resolve, 0));
    session.prefetch();
  }
  const response = await originResponse;
  deadline.start(config.budgetMs);

  const responseHeaders = shopperResponseHeaders(response, config.origin, publicUrl);
  const html = page ? rewritableHtml(response) : undefined;
  if (!html) {
    deadline.expire();
    if (page && response.status === 304) {
      // A page's 304 stands for the rewritten page this browser holds, which went out with a weak ETag
      // (below): the 304 says the same, or the browser would store the origin's strong one in its place.
      weakenEtag(responseHeaders);
      // A 304 names what the stored page varies by, as its 200 did (RFC 9110 §15.4.5).
      if (!tracked) varyByTracking(responseHeaders, config);
      if (!tracked && responseHeaders.has('content-security-policy')) {
        // A 304 says the caching its page's 200 said: `private` where that 200's header got a nonce of
        // ours (the same decision, on the policy the 304 repeats). A 304 without the policy keeps the
        // origin's caching: it only updates this browser's copy, which no shared cache holds.
        const shared = await untrackedCopy(responseHeaders);
        if (pageCsp(responseHeaders, publicUrl, true, shared)?.needsPrivateCopy) {
          keepFromSharedCaches(responseHeaders);
        }
      }
      // A browser replaces the stored page's headers with a 304's: the origin's policy would take the
      // nonce (or hash) the stored page's style and script were let in by (csp.ts), which only its 200
      // carried.
      responseHeaders.delete('content-security-policy');
      responseHeaders.delete('content-security-policy-report-only');
    }
    return originAnswer(response, responseHeaders);
  }
  if (request.method === 'HEAD') {
    // A HEAD answers with the headers its GET would get, which can hang on the page's bytes (head-charset.ts).
    const asGet = await headAnswer(
      html.charset,
      responseHeaders.get('content-type') ?? '',
      () => pageForHead(target, headers),
      config.budgetMs,
    );
    if (asGet.untouched) {
      deadline.expire();
      return originAnswer(response, responseHeaders);
    }
    responseHeaders.set('content-type', asGet.contentType);
  }

  if (shopper?.isNew) {
    responseHeaders.append('set-cookie', anonymousIdCookie(shopper.anonymousId));
  }
  if (shopper) {
    // TRACKED_PAGE_CACHING: a tracked shopper's page, in either arm, is this shopper's (personalized, or
    // carrying their new cookie, or marking their page view sent): only the browser may keep it, and
    // not even the browser when the origin said no-store (an account page must not come back after
    // logout). Held-out pages get the same: a held-out page a browser reused from its cache would show
    // without the view being counted (it says the worker sent it), and quicker than treatment's, which
    // would tilt the experiment towards the control arm (docs/proxy.md "Behaviour rules").
    const noStore = /(^|,)\s*no-store\s*(,|$)/i.test(responseHeaders.get('cache-control') ?? '');
    responseHeaders.set('cache-control', noStore ? 'private, no-store' : 'private');
    responseHeaders.delete('expires');
    // Instructions to CDNs in front of this worker would still let them keep the page.
    for (const name of CDN_CACHE_HEADERS) responseHeaders.delete(name);
  }
  if (shopper) {
    responseHeaders.delete('etag');
    responseHeaders.delete('last-modified');
  } else {
    // Every page past this point is rewritten (at least the plugin tag goes in), for GET and HEAD
    // alike: no longer byte for byte the origin's.
    weakenEtag(responseHeaders);
    varyByTracking(responseHeaders, config);
  }
  forgetOriginBytes(responseHeaders);
  // Under the shop's Content-Security-Policy our script and stylesheet get a nonce where the policy
  // needs one, or stay out where letting them in would weaken it (csp.ts). No header: one lookup.
  // A HEAD is decided as its GET (which gets the stylesheet whenever it gets slots), so it names the
  // same policy and caching.
  const withStyle = treatment || !tracked;
  const sharedCopy = shopper ? undefined : await untrackedCopy(responseHeaders);
  const csp = pageCsp(responseHeaders, publicUrl, withStyle, sharedCopy);
  // A nonce of ours in a copy a CDN could keep would be every shopper's, known to anyone who fetched
  // it: that page is the browser's alone (its max-age, validators and Vary kept as they are).
  if (csp?.needsPrivateCopy) keepFromSharedCaches(responseHeaders);
  const init = { status: response.status, statusText: response.statusText, headers: responseHeaders };
  if (request.method === 'HEAD' || response.body === null) {
    deadline.expire();
    return new Response(null, init);
  }

  let body = response.body;
  let charset = html.charset;
  if (charset === undefined) {
    // No charset in the header: the page's own declaration, as the browser reads it (charset-sniff.ts),
    // looked for within the personalization budget: the shop's first byte is never held for longer.
    const sniffed = await sniffCharset(body, config.budgetMs);
    body = sniffed.body;
    charset = sniffed.charset;
    if (sniffed.undecided) {
      logRepeating('warn', 'proxy_charset_undecided', {
        waitedMs: config.budgetMs,
        hint: 'the origin stalled before its head said which charset: name it in the Content-Type header',
      });
    }
    if (charset === 'utf-16' || sniffed.undecided) {
      // Not ASCII-compatible, or not known in time: the untouched page, as a crawler gets it.
      deadline.expire();
      const untouched = shopperResponseHeaders(response, config.origin, publicUrl);
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: untouched,
      });
    }
    if (charset !== undefined) responseHeaders.set('content-type', `text/html; charset=${charset}`);
  }
  const encode = charset === 'utf-8' || charset === 'utf8' ? (s: string) => s : asciiOnly;
  // Every tracked shopper's page view is sent from here, in both arms (see pageViewEvent), but for a
  // prefetch: a browser fetches pages the shopper may never open (speculation rules on hover), and a
  // view would put a product the shopper only pointed at into their activity. Left unmarked, the page
  // is counted by the plugin if it is shown.
  const pageViewSent = shopper !== undefined && !isPrefetch(request);
  const facts: PageFacts = {};
  const rewriter = pageRewriter({
    config,
    session,
    personal: treatment,
    pageViewSent,
    encode,
    page: publicUrl,
    csp,
    sharedCopy,
    ...(pageViewSent ? { facts } : {}),
  });
  const { done, cancel: cancelPageEnd } = pageEnd(rewriter, deps.pageViewWaitMs);
  const input = new Response(body, init);
  let rewritten: Response;
  try {
    rewritten = rewriter.transform(input);
  } catch (error) {
    // HTMLRewriter refuses a page it cannot read as ASCII-compatible text before reading a byte: a
    // charset label it does not know (`utf8mb4`, `latin-1`), UTF-16 under another name (`unicode`),
    // two Content-Type headers joined into one. The shopper gets the untouched page, as any shopper
    // would without us; no page view is sent for a page that was not ours to show.
    deadline.expire();
    cancelPageEnd();
    logRepeating('warn', 'proxy_page_not_rewritable', { charset: charset ?? null, error });
    return originAnswer(input, shopperResponseHeaders(response, config.origin, publicUrl));
  }
  // The page streams on after this handler returns, so it counts as a request in progress until its
  // end: a cold isolate then creates its model sessions (one long synchronous block) after the page,
  // not in the middle of it (BundleRegistry).
  c.executionCtx.waitUntil(done.then(deps.requestInProgress()));
  if (pageViewSent) {
    const current = session;
    const context = current?.context ?? pageContextFromUrl(publicUrl);
    c.executionCtx.waitUntil(
      done
        .then(async () => {
          deadline.expire();
          // The document's end handler runs before its last chunk is written out, and a 0 ms timer
          // fires before that write too: the event's CPU then delayed the page's last bytes (measured
          // +0.35-0.6 ms locally, docs/proxy.md). A timer that needs the clock to move lets the write go
          // first; the event is no less sent (waitUntil), only a millisecond later.
          await new Promise((resolve) => setTimeout(resolve, PAGE_VIEW_AFTER_PAGE_MS));
          // The page went out whatever the client's rate; its view counts only within the shopper limit.
          if (await overShopperLimit(c)) {
            logRepeating('warn', 'proxy_page_view_over_limit', {});
            return;
          }
          const event = pageViewEvent(shopper, publicUrl, context, current, viewedProduct(facts));
          await queuePageView(
            () => deps.sendEvents(c.env, [event]),
            () => deps.holdEvents(c.env, [event]),
            deps.pageViewRetryDelaysMs,
          );
        })
        .catch((error: unknown) => log('error', 'proxy_page_view_not_queued', { error })),
    );
  }
  return rewritten;
}

/**
 * The page a HEAD stands for, as its GET gets it from the origin, for what its bytes say
 * (head-charset.ts); undefined when there is no 200 to read (the origin failed or answered otherwise).
 */
async function pageForHead(target: URL, headers: Headers): Promise<Response | undefined> {
  try {
    const page = await fetchOrigin(target, { method: 'GET', headers, redirect: 'manual' });
    if (page.status === 200) return page;
    page.body?.cancel().catch(() => undefined);
  } catch {
    // The HEAD's own answer came: it is answered as a page declaring nothing, as before.
  }
  return undefined;
}

/**
 * The origin's answer, passed on with `headers` (the shopper's: see shopperResponseHeaders). A status
 * the Response constructor refuses (outside 200-599: LinkedIn's 999 to bots, a 600) would make the
 * shop's answer a 500, so that answer goes out exactly as the origin sent it.
 */
function originAnswer(response: Response, headers: Headers): Response {
  if (response.status < 200 || response.status > 599) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
