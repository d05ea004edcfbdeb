/**
 * What a simulated shopper reads off a proxied demo shop page: the recommendations the worker filled
 * in, product links, the price shown, and whether the page view was already recorded by the worker.
 */
export interface ShownRecommendation {
  recommendationId: string;
  placement: string;
  productId: string;
  position: number;
}

export interface ParsedPage {
  recommendations: ShownRecommendation[];
  /** Product ids linked from the page's own listings (not from recommendation blocks). */
  productLinks: string[];
  /** Category paths in the navigation. */
  categoryLinks: string[];
  /** The price shown for a product (`data-rx-price` spans), personalized or not. */
  priceOf(productId: string): number | undefined;
  /**
   * The worker recorded this page view itself (treatment pages); otherwise rx.js would send it,
   * so the simulation does.
   */
  pageViewSent: boolean;
  order?: { orderId: string; revenue: number; currency: string };
}

const BLOCK =
  /<section class="rx-block[^"]*" data-rx-recommendation-id="([^"]+)" data-rx-placement="([^"]+)"[\s\S]*?<\/section>/g;
const REC_LINK = /data-rx-product-id="([^"]+)" data-rx-recommendation-id="[^"]+" data-rx-position="(\d+)"/g;

export function parsePage(html: string): ParsedPage {
  const recommendations: ShownRecommendation[] = [];
  for (const block of html.matchAll(BLOCK)) {
    const [text, recommendationId = '', placement = ''] = block;
    for (const link of text.matchAll(REC_LINK)) {
      recommendations.push({
        recommendationId,
        placement,
        productId: link[1] ?? '',
        position: Number(link[2]),
      });
    }
  }
  const withoutBlocks = html.replace(BLOCK, '');
  const productLinks = [...withoutBlocks.matchAll(/<a class="card" href="\/products\/([^"]+)"/g)].map((m) =>
    decodeURIComponent(m[1] ?? ''),
  );
  const categoryLinks = [
    ...new Set([...html.matchAll(/href="(\/categories\/[^"]+)"/g)].map((m) => m[1] ?? '')),
  ];
  const prices = new Map<string, number>();
  for (const span of html.matchAll(
    /<span [^>]*data-rx-price data-rx-product-id="([^"]+)"[^>]*>[^0-9<]*([0-9]+(?:\.[0-9]+)?)/g,
  )) {
    if (!prices.has(span[1] ?? '')) prices.set(span[1] ?? '', Number(span[2]));
  }
  const order = /data-rx-order-id="([^"]+)" data-rx-revenue="([0-9.]+)" data-rx-currency="([A-Z]{3})"/.exec(
    html,
  );
  return {
    recommendations,
    productLinks,
    categoryLinks,
    priceOf: (productId) => prices.get(productId),
    // The worker's tag has an absolute src on the public host (worker/src/proxy/rewriter.ts pluginScriptTag).
    pageViewSent: /<script src="[^"]*\/rx\.js"[^>]*data-rx-page-view="sent"/.test(html),
    order: order
      ? { orderId: order[1] ?? '', revenue: Number(order[2]), currency: order[3] ?? 'GBP' }
      : undefined,
  };
}
