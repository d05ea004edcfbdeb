import { type PriceFormat, parsePrice, renderRecommendationBlock } from '../../contracts/markup';
import { RX_DEFAULT_STYLES } from '../../contracts/markup-styles';
import type { Api, RecommendationsResponse } from './api';
import { otherCurrency } from './lib/currency';
import { guard, report } from './lib/guard';

/** Fill slots this far below the viewport ahead of time, so they are ready when scrolled to. */
const LOOKAHEAD = '300px';

/** Called for every block rendered into a slot (the `Recommendation Shown` impression). */
export type OnRendered = (slot: HTMLElement, response: RecommendationsResponse) => void;

/**
 * The shared stylesheet, unless the page already has it. Shops get zero layout shift by putting
 * it (or their own `[data-rx-slot]{min-height:...}`) in their `<head>`: injected here, after first
 * paint, it styles the blocks but comes too late to reserve space above the fold.
 */
export function ensureStyles(nonce?: string): void {
  if (document.querySelector('style[data-rx-styles]')) return;
  const style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.dataset.rxStyles = '';
  style.textContent = RX_DEFAULT_STYLES;
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
 * it was (empty, or whatever fallback the shop rendered into it), keeping its reserved space: the
 * plugin cannot tell an outage from a slow network. An answer with no items marks it `empty`.
 */
export function createSlotFiller(api: Api, currency: string, onRendered: OnRendered) {
  const fill = guard('slot', async (slot: HTMLElement) => {
    const data = slot.dataset;
    if (data.rxState) return;
    data.rxState = 'loading';
    try {
      const response = await api.recommendations({
        placement: data.rxPlacement ?? 'home',
        product_id: data.rxProductId,
        product_ids: data.rxProductIds,
        category: data.rxCategory,
        limit: data.rxLimit,
      });
      const html = renderRecommendationBlock(response.items, {
        recommendationId: response.recommendation_id,
        placement: data.rxPlacement ?? 'home',
        heading: data.rxHeading,
        price: priceFormat(slot, currency),
      });
      // Nothing to show (no bundle published yet, everything excluded): the slot keeps the shop's
      // own content and, by the default stylesheet, gives back its reserved height.
      data.rxState = html ? 'filled' : 'empty';
      if (!html) return;
      slot.innerHTML = html;
      onRendered(slot, response);
    } catch (error) {
      data.rxState = 'failed';
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
    { rootMargin: LOOKAHEAD },
  );

  /** Finds slots not seen yet (first load, or new DOM after a single-page-app navigation). */
  return function scan(): void {
    for (const slot of document.querySelectorAll<HTMLElement>(
      '[data-rx-slot]:not([data-rx-state]):not([data-rx-filled])',
    )) {
      observer.observe(slot);
    }
  };
}
