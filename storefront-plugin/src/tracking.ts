import type { EventProperties } from '../../contracts/event-types';
import type { PriceQuote } from './api';
import { guard } from './lib/guard';

/** Sends one track event; `urgent` ones (clicks) go out at once because a navigation follows. */
export type Track = (event: string, properties: EventProperties, urgent?: boolean) => void;

/**
 * The view of the product a page is about: an element marked `data-rx-view`, else a product-placement
 * slot. `_rx`: the product id its `Product Viewed` went for (rx.ts), kept on the element itself.
 */
export function productView(): (HTMLElement & { _rx?: string }) | null {
  return (
    document.querySelector<HTMLElement>('[data-rx-view][data-rx-product-id]') ??
    document.querySelector<HTMLElement>('[data-rx-slot][data-rx-placement=product][data-rx-product-id]')
  );
}

/**
 * One capturing click listener for the whole page (capture, so a host handler that stops
 * propagation cannot hide the click from us): recommendation links → `Product Clicked` and
 * `Recommendation Clicked`; `[data-rx-add-to-cart]` → `Product Added`.
 */
export function trackClicks(track: Track, prices: Map<string, PriceQuote>): void {
  const onClick = guard('click', (event: MouseEvent) => {
    // A middle click (`auxclick`, button 1) opens a recommendation in a new tab; other buttons do not.
    if (event.button > 1) return;
    // Clicks target elements (a text node's click is its parent's); `document` has no `closest`.
    const target = event.target as Element;
    const link = target.closest?.<HTMLElement>('a[data-rx-recommendation-id]');
    if (link) {
      const data = link.dataset;
      const properties: EventProperties = {
        product_id: data.rxProductId,
        position: +(data.rxPosition as string),
        recommendation_id: data.rxRecommendationId,
        placement: link.closest<HTMLElement>('[data-rx-placement]')?.dataset.rxPlacement,
      };
      track('Product Clicked', properties, true);
      track('Recommendation Clicked', properties, true);
      return;
    }
    // Adding to the cart takes a (primary) click.
    const button = !event.button && target.closest?.<HTMLElement>('[data-rx-add-to-cart]');
    if (!button) return;
    // Without the spaces around it, as prices read it (prices.ts): the quote shown is under that id.
    const productId = (
      button.dataset.rxAddToCart || button.closest<HTMLElement>('[data-rx-product-id]')?.dataset.rxProductId
    )?.trim();
    if (!productId) return;
    const quote = prices.get(productId);
    // The demo shop's (and most themes') form has a quantity field next to the button.
    const field = button.closest('form')?.querySelector<HTMLInputElement>('[name=quantity]');
    const quantity = +(button.dataset.rxQuantity ?? field?.value ?? 1);
    track(
      'Product Added',
      {
        product_id: productId,
        // A whole number, at least 1, as the event schema takes it ("1.5" from a step=0.5 field is 2).
        quantity: Number.isFinite(quantity) ? Math.max(1, Math.round(quantity)) : 1,
        // Undefined without a quote: JSON leaves them out.
        price: quote?.price,
        currency: quote?.currency,
      },
      true,
    );
  });
  document.addEventListener('click', onClick, true);
  document.addEventListener('auxclick', onClick, true);
}

/**
 * Single-page apps: `pushState` and back/forward produce a page event and a re-scan of slots and
 * prices. The re-scan waits a tick because routers render the new view after changing the URL.
 */
export function trackNavigation(onNavigate: () => void): void {
  // Without the fragment: an in-page link (`#reviews`) is no new page.
  const url = () => location.href.split('#')[0];
  let lastUrl = url();
  const changed = guard('page', () => {
    if (url() === lastUrl) return;
    lastUrl = url();
    setTimeout(guard('page', onNavigate));
  });
  const original = history.pushState;
  history.pushState = function pushState(this: History, ...args: Parameters<History['pushState']>) {
    original.apply(this, args);
    changed();
  };
  addEventListener('popstate', changed);
}
