import type { EventProperties } from '../../contracts/event-types';
import type { PriceQuote } from './api';
import { guard } from './lib/guard';

/** Sends one track event; `urgent` ones (clicks) go out at once because a navigation follows. */
export type Track = (event: string, properties: EventProperties, urgent?: boolean) => void;

/** The product a page is about: an element marked `data-rx-view`, else a product-placement slot. */
export function viewedProductId(): string | undefined {
  const marked =
    document.querySelector<HTMLElement>('[data-rx-view][data-rx-product-id]') ??
    document.querySelector<HTMLElement>('[data-rx-slot][data-rx-placement="product"][data-rx-product-id]');
  return marked?.dataset.rxProductId || undefined;
}

/**
 * One capturing click listener for the whole page (capture, so a host handler that stops
 * propagation cannot hide the click from us): recommendation links → `Product Clicked` and
 * `Recommendation Clicked`; `[data-rx-add-to-cart]` → `Product Added`.
 */
export function trackClicks(track: Track, prices: Map<string, PriceQuote>): void {
  const onClick = guard('click', (event: Event) => {
    const target = event.target instanceof Element ? event.target : null;
    const link = target?.closest<HTMLElement>('a[data-rx-recommendation-id]');
    if (link) {
      const data = link.dataset;
      const properties: EventProperties = {
        product_id: data.rxProductId,
        position: Number(data.rxPosition),
        recommendation_id: data.rxRecommendationId,
        placement: link.closest<HTMLElement>('[data-rx-placement]')?.dataset.rxPlacement,
      };
      track('Product Clicked', properties, true);
      track('Recommendation Clicked', properties, true);
      return;
    }
    const button = target?.closest<HTMLElement>('[data-rx-add-to-cart]');
    if (!button) return;
    const productId =
      button.dataset.rxAddToCart || button.closest<HTMLElement>('[data-rx-product-id]')?.dataset.rxProductId;
    if (!productId) return;
    const quote = prices.get(productId);
    // The demo shop's (and most themes') form has a quantity field next to the button.
    const field = button.closest('form')?.querySelector<HTMLInputElement>('[name=quantity]');
    const quantity = Number(button.dataset.rxQuantity ?? field?.value ?? 1);
    track(
      'Product Added',
      {
        product_id: productId,
        quantity: Number.isFinite(quantity) && quantity > 0 ? quantity : 1,
        ...(quote ? { price: quote.price, currency: quote.currency } : {}),
      },
      true,
    );
  });
  document.addEventListener('click', onClick, true);
}

/**
 * Single-page apps: `pushState` and back/forward produce a page event and a re-scan of slots and
 * prices. The re-scan waits a tick because routers render the new view after changing the URL.
 */
export function trackNavigation(onNavigate: () => void): void {
  let lastUrl = location.href;
  const changed = guard('navigate', () => {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    setTimeout(guard('navigate', onNavigate), 0);
  });
  const original = history.pushState;
  history.pushState = function pushState(this: History, ...args: Parameters<History['pushState']>) {
    original.apply(this, args);
    changed();
  };
  addEventListener('popstate', changed);
}
