/** Settings of one plugin instance, from the script tag (IIFE) or from `createRx` options (ESM). */
export interface RxConfig {
  /** The shop's id (`data-site`), sent as the `site` context of events. */
  site: string;
  /** Base URL of the worker API without a trailing slash (`data-api`, else the script's own origin). */
  api: string;
  /** `data-consent="required"`: no cookie, no storage and no events until `rx.consent(true)`. */
  consentRequired: boolean;
  /** `data-gpc`: a browser sending Global Privacy Control is never tracked. */
  honourGpc: boolean;
  /** `data-debug`: log the first problem to the console. */
  debug: boolean;
  /** `data-currency` (ISO 4217): formats block prices when the page prints no price to copy. */
  currency: string;
  /** `data-rx-page-view="sent"`: proxy mode already recorded this page's view server-side. */
  pageViewSent?: boolean;
  /**
   * The tag's Content-Security-Policy nonce, put on the stylesheet the plugin adds: a policy that let
   * the script in by its nonce refuses an inline style without one (`style-src 'nonce-…'`).
   */
  nonce?: string;
}

/** True for a boolean data attribute that is present and not explicitly "false"/"0". */
export function flag(value: string | undefined): boolean {
  return value !== undefined && value !== 'false' && value !== '0';
}

/**
 * Reads the configuration off the plugin's `<script>` tag. Without `data-api` the API is the
 * origin the script was loaded from, which is the worker serving `/rx.js`.
 */
export function configFromScript(script: HTMLScriptElement | null, pageUrl: string): RxConfig {
  const data = script?.dataset ?? {};
  return {
    site: data.site ?? '',
    api: (data.api || new URL(script?.src || pageUrl, pageUrl).origin).replace(/\/+$/, ''),
    consentRequired: data.consent === 'required',
    honourGpc: flag(data.gpc),
    debug: flag(data.debug),
    // Upper-cased: codes are compared as ISO 4217 writes them ("gbp" would make "GBP 2.55" foreign).
    currency: (data.currency ?? '').toUpperCase(),
    pageViewSent: data.rxPageView === 'sent',
    // The property, not the attribute: browsers hide a nonce attribute once the tag is parsed.
    nonce: script?.nonce,
  };
}

/** The tag that loaded the plugin: `currentScript` while it runs, else the tag carrying `data-site`. */
export function findOwnScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement) return current;
  return document.querySelector<HTMLScriptElement>('script[data-site][src*="rx"]');
}
