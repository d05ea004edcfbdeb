/**
 * The storefront plugin's script tag as proxy mode writes it into pages: here, apart from the rewriter,
 * so the demo traffic's page reader and its tests read the same tag the worker writes.
 */
import { escapeAttr } from './markup';

/** Path of the storefront plugin the worker serves (DESIGN.md "HTTP API"). */
export const PLUGIN_PATH = '/rx.js';

export interface PluginTagOptions {
  /**
   * The public origin the page was requested from (this worker's host for the shop). The tag's `src` is
   * absolute on it: a relative one resolves against the page's `<base href>`, so a page with
   * `<base href="https://elsewhere/">` (the shop's own, or one injected into its markup) would load
   * `elsewhere`'s rx.js with our CSP nonce, and the plugin would take its API host from that URL.
   */
  origin: string;
  /** This worker already sent the page-view event for this page, so it is not counted twice. */
  pageViewSent: boolean;
  /** `RX_CONSENT=required`: the plugin tracks only after consent (remembered in `rx_consent`). */
  consentRequired?: boolean;
  /** `RX_HONOUR_GPC=true`: the plugin never tracks a browser sending Global Privacy Control. */
  honourGpc?: boolean;
  /** The page's Content-Security-Policy nonce for our elements (csp.ts), when it needs one. */
  nonce?: string | undefined;
}

/** The plugin's script tag, with the attributes that give it proxy mode's tracking rules. */
export function pluginScriptTag({
  origin,
  pageViewSent,
  consentRequired,
  honourGpc,
  nonce,
}: PluginTagOptions): string {
  const attributes =
    (nonce ? ` nonce="${nonce}"` : '') +
    (pageViewSent ? ' data-rx-page-view="sent"' : '') +
    (consentRequired ? ' data-consent="required"' : '') +
    (honourGpc ? ' data-gpc' : '');
  return `<script src="${escapeAttr(origin + PLUGIN_PATH)}" async${attributes}></script>`;
}
