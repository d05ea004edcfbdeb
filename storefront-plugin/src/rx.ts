import { USER_ID_PATTERN } from '../../contracts/api-types';
import { CONSENT_COOKIE, CONSENT_MAX_AGE_SECONDS } from '../../contracts/consent';
import type { EventProperties } from '../../contracts/event-types';
import { createApi, type PriceQuote } from './api';
import type { RxConfig } from './config';
import { buildEvent } from './events';
import { createIdentity } from './identity';
import { guard, report, setDebug } from './lib/guard';
import { allowStorage, readCookie, writeCookie } from './lib/storage';
import { createOutbox } from './outbox';
import { updatePrices } from './prices';
import { createSlotFiller, ensureStyles } from './slots';
import { productView, trackClicks, trackNavigation } from './tracking';

/** The public API, `window.rx` (DESIGN.md "Events"; docs/plugin.md). */
export interface Rx {
  /** Records an action: `rx.track('Order Completed', { order_id, revenue, products })`. */
  track(event: string, properties?: EventProperties): void;
  /** Records a page view; called automatically on load and on single-page-app navigations. */
  page(name?: string, properties?: EventProperties): void;
  /** Ties this browser to the shop's user id (and optional traits) from now on; `null` forgets it (logout). */
  identify(userId: string | null, traits?: Record<string, unknown>, options?: IdentifyOptions): void;
  /** Grants (`true`) or withdraws (`false`) consent to tracking; required with `data-consent="required"`. */
  consent(granted: boolean): void;
  /** Sends waiting events now. */
  flush(): void;
  /** Fills new slots and prices (after rendering new markup outside a history navigation). */
  scan(): void;
  /** Runs a queued call `[method, ...args]`, as the stub-array snippet pushes them. */
  push(call: unknown): void;
}

/** `signature`: the shop server's HMAC of the user id, when the worker sets `USER_ID_SECRET` (docs/api.md). */
export interface IdentifyOptions {
  signature?: string;
}

/** Product ids with `Product Viewed` already sent on this page view. */
type Viewed = Set<string>;

/**
 * Creates a plugin instance, runs the `queued` stub calls (so `identify` and `consent` made before
 * the script loaded apply to the first page event), then fills slots and prices and starts tracking.
 */
export function createRx(config: RxConfig, queued: readonly unknown[]): Rx {
  setDebug(config.debug);
  const gpcBlocked =
    config.honourGpc && (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl;
  // Consent given on an earlier page is remembered in `rx_consent` (also what proxy mode checks),
  // so the shop's consent manager need not call `rx.consent(true)` on every page.
  const remembered = () => config.consentRequired && readCookie(CONSENT_COOKIE, true) === '1';
  /** Consent here rests on the remembered cookie (read at load, or written by `rx.consent(true)`). */
  let onCookie = remembered();
  let consented: boolean | undefined = !config.consentRequired || onCookie || undefined;
  const allowed = () => {
    // Withdrawn in another tab, which deleted the cookie: this tab withdraws too before it records,
    // stores or sends anything more (else its next save would write its queue back).
    if (onCookie && !remembered()) setConsent(false);
    return consented === true && !gpcBlocked;
  };
  allowStorage(allowed());

  const identity = createIdentity();
  const outbox = createOutbox(`${config.api}/v1/events`, allowed, identity.eventsDelivered);
  const api = createApi(config.api, identity, allowed);
  const prices = new Map<string, PriceQuote>();
  const viewed: Viewed = new Set();
  /**
   * Proxy mode sent this page's view server-side (the worker saw the request, and its product viewed):
   * the first scan marks the product viewed without counting either twice.
   */
  let sent = config.pageViewSent;

  /**
   * Hidden, or unloading (Chromium fires pagehide while the page is still visible): a batch timer may
   * never run again on this page, so what is recorded now goes now.
   */
  let away = document.hidden;

  function enqueue(fields: Parameters<typeof buildEvent>[2], urgent?: boolean): void {
    // Refused consent (here, or in another tab: `allowed` notices) or GPC: nothing is recorded at
    // all, not even in memory. Pending consent records in memory.
    if (!allowed() && (gpcBlocked || consented === false)) return;
    outbox.record(buildEvent(identity, config.site, fields));
    if (urgent || away) outbox.post(away);
  }

  const track = (event: string, properties: EventProperties = {}, urgent?: boolean) =>
    enqueue({ type: 'track', event: String(event), properties }, urgent);

  const scanSlots = createSlotFiller(api, config.currency, (placement, response) =>
    track('Recommendation Shown', {
      recommendation_id: response.recommendation_id,
      model_version: response.model_version,
      placement,
      products: response.items.map((item, i) => ({ product_id: item.product_id, position: i + 1 })),
    }),
  );

  /**
   * Fills slots and prices, and sends `Product Viewed` for the product the page is about, once per page
   * view: on load, after a navigation, and on `rx.scan()` (a single-page app's view rendered later).
   */
  function scan(): void {
    scanSlots();
    updatePrices(api, prices);
    const view = productView();
    const productId = view?.dataset.rxProductId;
    // None again for an element still showing the product its view went for: a router that pushes the
    // next URL before it swaps the view (a React transition) still shows the old one at the
    // navigation's scan. (A new element, or one reused for another product, is a new view.)
    if (productId && !viewed.has(productId) && view._rx !== productId) {
      viewed.add(productId);
      view._rx = productId;
      // Proxy mode recorded the first page's view itself (`sent`, cleared after the first scan).
      if (!sent) track('Product Viewed', { product_id: productId });
    }
  }

  // Also `rx.page` (one function for both, for the size budget): the page's own view is `rx.page()`,
  // whose undefined name JSON leaves out, as before.
  const pageView = (name?: string, properties?: EventProperties) =>
    enqueue({ type: 'page', name: name ? String(name) : undefined, properties: properties ?? {} });

  /** `rx.consent(granted)`; also what this tab runs once it notices a withdrawal in another one. */
  function setConsent(granted: boolean): void {
    consented = granted === true;
    onCookie = false;
    allowStorage(allowed());
    // Remembered only once granted (storage allowed); a refusal deletes it.
    writeCookie(CONSENT_COOKIE, consented ? '1' : '', consented ? CONSENT_MAX_AGE_SECONDS : 0);
    onCookie = remembered();
    if (gpcBlocked) report('consent');
    if (allowed()) {
      identity.getAnonymousId();
      // A user id given before consent (in memory only) is stored now, so the next page knows it too.
      identity.setUserId(identity.getUserId(), identity.userSignature());
      outbox.resume();
      return;
    }
    outbox.discard();
    identity.forget();
  }

  const rx: Rx = {
    track: (event: string, properties?: EventProperties) => track(event, properties),
    page: pageView,
    identify(userId: string | null, traits?: Record<string, unknown>, options?: IdentifyOptions) {
      // Logout: the user id and its signature are forgotten (consent and the anonymous id stay).
      if (userId === null) return identity.setUserId();
      const id = String(userId ?? '');
      // What the API and the event schema take (1-256 characters, no control characters): an id
      // they would refuse would fail every request of a logged-in shopper.
      if (!USER_ID_PATTERN.test(id)) return report('identify', userId);
      identity.setUserId(id, typeof options?.signature === 'string' ? options.signature : undefined);
      enqueue({ type: 'identify', traits: traits || undefined });
    },
    consent: setConsent,
    flush: () => outbox.post(),
    scan,
    push(call: unknown) {
      // Anything but an array (not iterable) throws here, and the guard drops it.
      const [name, ...args] = call as [keyof Rx, ...unknown[]];
      const method = rx[name] as ((...a: unknown[]) => void) | undefined;
      if (typeof method === 'function') method(...args);
      else report('push', name);
    },
  };
  // Every method guarded under its own name: none throws into the page.
  for (const name in rx) rx[name as 'scan'] = guard(name, rx[name as 'scan']) as never;
  // Marks a real instance, so a second copy of the script on the page does not start again (boot.ts).
  (rx as Rx & { _rx?: boolean })._rx = true;

  queued.forEach(rx.push);

  const start = guard('scan', (): void => {
    // A page the browser prerenders (speculation rules) may never be shown: its page view and product
    // view wait until the shopper opens it (`prerenderingchange`, fired once, on activation).
    if ((document as Document & { prerendering?: boolean }).prerendering) {
      document.addEventListener('prerenderingchange', start);
      return;
    }
    // Only now, with the page parsed: a shop's `<link rel=stylesheet data-rx-styles>` later in a head
    // still arriving would be missed, and the inline copy refused under `style-src 'self'`.
    ensureStyles(config.nonce);
    // Single-page navigations count from the first page view on: a URL the app pushes before it (while
    // the page is parsed, or prerendered and perhaps never opened) is that view's own URL, no second
    // page view, and a page never opened sends nothing. (This runs once: on load, or on activation.)
    trackNavigation(() => {
      viewed.clear();
      pageView();
      scan();
    });
    if (!sent) pageView();
    scan();
    sent = false;
  });
  // An async script can run before the page is parsed (from the browser's cache on a repeat visit,
  // say): the slots, prices and product id below it do not exist yet, so the first scan waits for them.
  // (DOMContentLoaded fires once per document: no `once` needed.)
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
  trackClicks(track, prices);
  // The page may be going away: everything waiting goes, even while the worker is failing.
  const leave = guard('flush', (gone: boolean) => {
    away = gone;
    if (gone) outbox.post(true);
  });
  addEventListener('pagehide', () => leave(true));
  // Shown again (back from the back-forward cache, or the tab brought back): batches again.
  document.addEventListener('visibilitychange', () => leave(document.hidden));
  return rx;
}
