/**
 * The ESM entry, for shops that bundle their storefront: `import { init } from '.../rx.esm.js'`.
 * Same behaviour as the script tag, configured by options instead of `data-*` attributes, and the
 * same single instance per page: `init` publishes it as `window.rx` (`window._rx` where the shop's
 * own code has a `window.rx`), so a tag on the page (the
 * proxy injects one) does not start a second, and returns the running one when a tag came first.
 */
import { startOnce } from './boot';
import { flag, type RxConfig } from './config';
import type { Rx } from './rx';

export type { Rx, RxConfig };

/** Starts the plugin. `api` is the worker's base URL; the rest default to the script tag's defaults. */
export function init(options: Partial<RxConfig> & Pick<RxConfig, 'api'>): Rx {
  const proxy = proxyTagRules();
  return startOnce({
    site: '',
    debug: false,
    currency: '',
    ...options,
    api: options.api.replace(/\/+$/, ''),
    // The stricter rule wins: the proxy's tag would have applied its own had it started first.
    consentRequired: !!options.consentRequired || proxy.consent === 'required',
    honourGpc: !!options.honourGpc || flag(proxy.gpc),
    pageViewSent: !!options.pageViewSent || proxy.rxPageView === 'sent',
  });
}

/**
 * What proxy mode writes on the plugin tag it injects (or on the shop's own tag): the page view it
 * already recorded (`data-rx-page-view="sent"`) and its consent rules (`data-consent`, `data-gpc`).
 * They hold for the page whichever instance starts, so the ESM build reads them too.
 */
function proxyTagRules(): DOMStringMap {
  return (
    document.querySelector<HTMLScriptElement>(
      'script[src*="rx"][data-rx-page-view],script[src*="rx"][data-consent],script[src*="rx"][data-gpc]',
    )?.dataset ?? {}
  );
}
