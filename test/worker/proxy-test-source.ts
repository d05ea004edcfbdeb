/** A controllable `PersonalizationSource` for proxy tests: chosen items, prices, delays and failures. */
import catalogue from '../../scripts/demo-data/catalogue.json';
import type { PersonalizationSource, PriceQuote, Recommendations } from '../../worker/src/proxy';

interface DemoProduct {
  product_id: string;
  title: string;
  price: number;
  currency: string;
}
const products = catalogue as DemoProduct[];

export interface TestSourceOptions {
  /** Items every query returns (before the query's limit); defaults to the first catalogue products. */
  items?: Recommendations['items'];
  /** Shopper's price = base price × factor (1 = not personalized). */
  priceFactor?: number;
  delayMs?: number;
  /** Prices alone take this long (default: `delayMs`). */
  priceDelayMs?: number;
  /** Recommendations wait for this (a test opens it when it has seen what it wanted meanwhile). */
  gate?: Promise<void>;
  fail?: boolean;
}

export interface RecordingSource extends PersonalizationSource {
  recommendCalls: number;
  /** Every query asked, in order. */
  queries: Parameters<PersonalizationSource['recommend']>[0][];
  priceCalls: string[][];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function testSource(options: TestSourceOptions = {}): RecordingSource {
  const factor = options.priceFactor ?? 1;
  const source: RecordingSource = {
    recommendCalls: 0,
    queries: [],
    priceCalls: [],
    async recommend(query) {
      source.recommendCalls += 1;
      source.queries.push(query);
      if (options.delayMs) await sleep(options.delayMs);
      if (options.gate) await options.gate;
      if (options.fail) throw new Error('recommender down');
      const items =
        options.items ??
        products
          .filter((p) => p.product_id !== query.productId)
          .slice(0, query.limit)
          .map((p, i) => ({
            product_id: p.product_id,
            title: p.title,
            url: `/products/${p.product_id}`,
            image: `/images/${p.product_id}.svg`,
            price: p.price,
            score: 1 - i / 100,
          }));
      // Each item its own product family, as the worker's sources tell them (RecommendationResult
      // `families`): a slot of fewer items than a fetch of the page's takes that fetch's first ones.
      const families = items.map((item) => item.product_id);
      return {
        recommendation_id: 'rec-test-1',
        model_version: 'test-model',
        source: 'test',
        items,
        families,
      };
    },
    async prices(ids) {
      source.priceCalls.push(ids);
      const priceDelay = options.priceDelayMs ?? options.delayMs;
      if (priceDelay) await sleep(priceDelay);
      if (options.fail) throw new Error('prices down');
      return ids.flatMap((id): PriceQuote[] => {
        const product = products.find((p) => p.product_id === id);
        if (!product) return [];
        const price = Math.round(product.price * factor * 100) / 100;
        return [
          {
            product_id: id,
            base_price: product.price,
            price,
            currency: product.currency,
            discount: Math.round((product.price - price) * 100) / 100,
            personalized: factor !== 1,
            token: 'test-token',
            expires_at: new Date(Date.now() + 30 * 60_000).toISOString(),
          },
        ];
      });
    },
  };
  return source;
}

export function productById(id: string): DemoProduct {
  const product = products.find((p) => p.product_id === id);
  if (!product) throw new Error(`no demo product ${id}`);
  return product;
}
