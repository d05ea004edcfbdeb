import type { RxEvent } from '../../../contracts/events';
import type { Shopper } from '../shopper';
import type { PageSession } from './page-session';

/**
 * The server-side page-view event of a personalized page: `Product Viewed` on a product page,
 * else a `page` call. The URL is sent without its query string, which can carry personal data.
 */
export function pageViewEvent(shopper: Shopper, url: URL, session: PageSession): RxEvent {
  const shown = session.shown[0];
  const context = {
    page: { path: url.pathname, url: `${url.origin}${url.pathname}` },
    source: 'rx-proxy',
    personalized: session.changed,
  };
  const base: RxEvent = {
    type: 'page',
    messageId: crypto.randomUUID(),
    anonymousId: shopper.anonymousId,
    timestamp: new Date().toISOString(),
    context,
  };
  if (shopper.userId !== undefined) base.userId = shopper.userId;
  const recommendation =
    shown === undefined
      ? {}
      : { recommendation_id: shown.recommendationId, model_version: shown.modelVersion };
  const productId = session.context.productId;
  if (session.context.placement === 'product' && productId) {
    return {
      ...base,
      type: 'track',
      event: 'Product Viewed',
      properties: { product_id: productId, ...recommendation },
    };
  }
  return { ...base, name: session.context.placement, properties: { path: url.pathname, ...recommendation } };
}
