import demoCatalogue from '../../../scripts/demo-data/catalogue.json';
import type { PersonalizationSource, PriceQuote, RecommendationQuery, Recommendations } from './source';

interface DemoProduct {
  product_id: string;
  title: string;
  price: number;
  currency: string;
  category: string;
  customers: number;
}

const ranked: readonly DemoProduct[] = [...(demoCatalogue as DemoProduct[])].sort(
  (a, b) => b.customers - a.customers,
);
const byId = new Map(ranked.map((product) => [product.product_id, product]));

/**
 * Best sellers of the bundled demo catalogue, same category first: the non-personalized source the
 * proxy uses until the EDGE API's `getRecommendations`/`getPrices` are wired in (they fall back to
 * popularity themselves). Prices are base prices, so price elements stay as the origin printed them.
 */
export const bestSellers: PersonalizationSource = {
  async recommend(query: RecommendationQuery): Promise<Recommendations> {
    const exclude = new Set([query.productId, ...(query.productIds ?? [])]);
    const category = query.category ?? (query.productId ? byId.get(query.productId)?.category : undefined);
    const candidates = ranked.filter((product) => !exclude.has(product.product_id));
    const preferred = category ? candidates.filter((product) => product.category === category) : [];
    const picked = [...new Set([...preferred, ...candidates])].slice(0, query.limit);
    return {
      recommendation_id: crypto.randomUUID(),
      model_version: 'popularity',
      source: 'popularity',
      items: picked.map((product, index) => ({
        product_id: product.product_id,
        title: product.title,
        url: `/products/${encodeURIComponent(product.product_id)}`,
        image: `/images/${encodeURIComponent(product.product_id)}.svg`,
        price: product.price,
        score: picked.length - index,
      })),
    };
  },
  async prices(productIds: string[]): Promise<PriceQuote[]> {
    return productIds.flatMap((id) => {
      const product = byId.get(id);
      if (!product) return [];
      return [
        {
          product_id: id,
          base_price: product.price,
          price: product.price,
          currency: product.currency,
          discount: 0,
          personalized: false,
          token: '',
        },
      ];
    });
  },
};
