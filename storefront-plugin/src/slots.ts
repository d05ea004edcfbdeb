import { type PriceFormat, parsePrice, renderRecommendationBlock } from '../../contracts/markup';
import { RX_BLOCK_STYLES } from '../../contracts/markup-block-styles';
import { slotLimit, slotProductIds } from '../../contracts/slot-defaults';
import type { Api, RecommendationsQuery, RecommendationsResponse } from './api';
import { otherCurrency } from './lib/currency';
import { guard, report } from './lib/guard';

/** Called for every block rendered into a slot (the `Recommendation Shown` impression), with its placement. */
export type OnRendered = (placement: string, response: RecommendationsResponse) => void;

/**
 * The blocks' default styles, unless the page already has an element marked `data-rx-styles`: proxy
 * mode's `<style>`, or the shop's own copy of the stylesheet, inline or as a `<link rel=stylesheet>` (a
 * shop whose CSP refuses inline styles, `style-src 'self'`, where an injected one would be refused, with
 * a violation report and a console error). Not the slot rules that reserve a slot's height
 * (contracts/markup-styles.ts): injected after first paint they would prevent no layout shift, only
 * grow empty slots, and keep a slot blank when the API fails. Shops get zero layout shift by putting
 * the whole stylesheet (or their own `[data-rx-slot]{min-height:...}`) in their `<head>`.
 */
export function ensureStyles(nonce?: string): void {
  if (document.querySelector('[data-rx-styles]')) return;
  const style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.dataset.rxStyles = '';
  style.textContent = RX_BLOCK_STYLES;
  document.head.appendChild(style);
}

/**
 * How prices in blocks look: the slot's `data-rx-price-format`, else the first price printed on the page
 * that is one price (not a range "£6.38 - £3.95", a multi-buy or a unit price, which a block would print
 * whole around its own number) in `data-currency`'s currency when the tag names one, as proxy mode picks
 * it (worker/src/proxy/page-session.ts `priceFormat`); else the currency in the shopper's locale.
 */
function priceFormat(slot: HTMLElement, currency: string): PriceFormat {
  const template =
    slot.dataset.rxPriceFormat ??
    [...document.querySelectorAll('[data-rx-price]')]
      .map((el) => (el.textContent as string).trim())
      .find((text) => parsePrice(text) !== null && !(currency && otherCurrency(text, currency)));
  return template ? { template } : { currency, locale: navigator.language };
}

/**
 * Fills `[data-rx-slot]` elements with recommendation blocks, lazily: an IntersectionObserver
 * fills a slot when it comes within LOOKAHEAD of the viewport. A failed request leaves the slot as
 * it was (empty, or whatever fallback the shop rendered into it), keeping whatever space the page's
 * own styles reserve for it: the plugin cannot tell an outage from a slow network. An answer with no
 * items marks it `empty`.
 */
export function createSlotFiller(api: Api, currency: string, onRendered: OnRendered) {
  const fill = guard('slot', async (slot: HTMLElement) => {
    const data = slot.dataset;
    const query = slotQuery(data);
    // What the scan found it asks for; changed since, the next scan asks again.
    const key = data.rxFor;
    // Another product's block (filled before, for other attributes) goes, whatever the answer.
    slot.querySelector('.rx-block')?.remove();
    try {
      const response = await api.recommendations(query);
      // Changed again while asked for: the request for its new attributes fills it.
      if (data.rxFor !== key) return;
      const html = renderRecommendationBlock(response.items, {
        recommendationId: response.recommendation_id,
        // Asked for, rendered in the block (which clicks report) and reported shown under one placement.
        placement: query.placement,
        // The slot's own, else the placement's, as the API names it (the heading proxy mode writes).
        // biome-ignore lint/complexity/useLiteralKeys: quoted, the build's mangleProps keeps the JSON field's name (it shortens `heading`, a BlockOptions field).
        heading: data.rxHeading ?? response['heading'],
        price: priceFormat(slot, currency),
      });
      // Nothing to show (no bundle published yet, everything excluded): the slot keeps the shop's
      // own content and, by the default stylesheet, gives back its reserved height.
      data.rxState = html ? 'filled' : 'empty';
      if (!html) return;
      slot.innerHTML = html;
      // Shown only if still in the page: a single-page app may have removed it (navigated away) while
      // the answer was on its way, and an impression nobody saw would lower the block's click rate.
      if (slot.isConnected) onRendered(query.placement, response);
    } catch (error) {
      // Not when asked for other attributes since: that newer request fills (or fails) it.
      if (data.rxFor === key) data.rxState = 'failed';
      report('slot', error);
    }
  });

  // Every browser the plugin's ES2020 build runs in has IntersectionObserver.
  const observer = new IntersectionObserver(
    guard('slot', (entries: IntersectionObserverEntry[]) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        fill(entry.target as HTMLElement);
      }
    }),
    // Slots this far below the viewport are filled ahead of time, so they are ready when scrolled to.
    // (Written here, not as a module constant, which esbuild keeps as a variable: 6 bytes of the budget.)
    { rootMargin: '300px' },
  );

  /**
   * Finds slots not filled yet (first load, new DOM) or filled for other attributes than they have
   * now (a single-page app's next product in the same element). Proxy mode's are left alone.
   */
  return function scan(): void {
    for (const slot of document.querySelectorAll<HTMLElement>('[data-rx-slot]:not([data-rx-filled])')) {
      if (claim(slot.dataset, `${Object.values(slotQuery(slot.dataset))}`)) observer.observe(slot);
    }
  };
}

/**
 * A slot's request: its `data-rx-*` attributes, the limit and product ids read as proxy mode reads
 * them (contracts/slot-defaults.ts): a `data-rx-limit` of 30 or "abc", or a cart of 60 lines, still
 * gets a block instead of the API's 400.
 */
function slotQuery(data: DOMStringMap): RecommendationsQuery {
  return {
    placement: data.rxPlacement ?? 'home',
    product_id: data.rxProductId,
    product_ids: slotProductIds(data.rxProductIds),
    category: data.rxCategory,
    limit: slotLimit(data.rxLimit),
  };
}

/**
 * Takes an element to fill or price for `key`, what its attributes ask for now (`loading`; false when
 * it is done already): one not done yet, or one done for another key (`data-rx-for`), as when a
 * single-page app keeps the element for the next product and changes only its attributes. An element
 * proxy mode marked (a `data-rx-state` and no `data-rx-for`) is done.
 */
export function claim(data: DOMStringMap, key: string): boolean {
  if (data.rxState && (data.rxFor ?? key) === key) return false;
  data.rxFor = key;
  data.rxState = 'loading';
  // The token of a price it showed before is another product's.
  delete data.rxPriceToken;
  return true;
}
