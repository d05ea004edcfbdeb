import type { PriceFormat } from '../../../contracts/markup';
import { logRepeating } from '../log-repeating';
import type { Deadline } from './deadline';
import type { PageContext } from './page-context';
import { otherCurrency } from './price-check';
import type { PersonalizationSource, PriceQuote, RecommendationQuery, Recommendations } from './source';

/** How many items the up-front fetch asks for, so most slots of the page can share it. */
export const PREFETCH_LIMIT = 12;

function queryKey(query: RecommendationQuery): string {
  return JSON.stringify([
    query.placement,
    query.productId ?? '',
    query.productIds ?? [],
    query.category ?? '',
  ]);
}

interface RecommendationFetch {
  limit: number;
  result: Promise<Recommendations>;
  /** The answer, once `result` has resolved. */
  settled?: Recommendations;
}

/**
 * The personalization of one page: recommendations and prices fetched at most once per distinct
 * query and product, the first one in parallel with the origin, every wait bounded by the deadline.
 * It also records what was shown, for the page-view event.
 */
export class PageSession {
  private readonly recommendationCache = new Map<string, RecommendationFetch>();
  private readonly priceCache = new Map<string, Promise<PriceQuote | undefined>>();
  /**
   * Quotes whose fetch has settled (undefined: none for that product). A price handler that finds its
   * quote here finishes synchronously: an HTMLRewriter handler that returns a promise suspends the
   * parser and costs workerd CPU on every page, and by the time a price element ends its quote has
   * usually been known since the prefetch.
   */
  private readonly settledPrices = new Map<string, PriceQuote | undefined>();
  /**
   * The shop's own texts of the page's first prices that are one price each (onePriceText), a few at
   * most: how rendered prices are formatted, by the first in the catalogue's currency (priceFormat).
   */
  readonly priceTemplates: string[] = [];
  /**
   * The page's own product id, for prices outside every `RX_PRODUCT_ID_SELECTOR` match with content
   * (PriceRewriter.productIdElement): from the URL (`/products/ID`), or from a match without content
   * (`<meta content>`, `<input value>`, `<link>`), the last one seen. Single-product pages.
   */
  pageProductId: string | undefined;
  /** Currency of the shopper's price quotes, for rendering when the page shows no price text. */
  currency: string | undefined;
  readonly shown: Array<{ recommendationId: string; modelVersion: string; placement: string }> = [];
  changed = false;

  constructor(
    private readonly source: PersonalizationSource,
    readonly deadline: Deadline,
    readonly context: PageContext,
  ) {
    this.pageProductId = context.productId;
  }

  /** Starts the fetches the URL already tells us about; called before the origin answers. */
  prefetch(): void {
    void this.fetchRecommendations({ ...this.context, limit: PREFETCH_LIMIT });
    if (this.context.productId) void this.fetchPrice(this.context.productId);
  }

  private fetchRecommendations(query: RecommendationQuery): Promise<Recommendations> {
    const key = queryKey(query);
    const cached = this.recommendationCache.get(key);
    if (cached && cached.limit >= query.limit) return cached.result;
    const result = this.source.recommend(query);
    const entry: RecommendationFetch = { limit: query.limit, result };
    result.then(
      (value) => {
        entry.settled = value;
        // Priced as soon as known, so that a slot reached later finds its prices settled too.
        void this.primePrices(value.items.map((item) => item.product_id));
      },
      (error: unknown) => logRepeating('warn', 'proxy_recommendations_failed', { error }),
    );
    this.recommendationCache.set(key, entry);
    return result;
  }

  private primePrices(productIds: string[]): Promise<void> {
    const missing = productIds.filter((id) => !this.priceCache.has(id));
    if (missing.length === 0) return Promise.resolve();
    const batch = this.source.prices(missing);
    batch.catch((error: unknown) => logRepeating('warn', 'proxy_prices_failed', { error }));
    for (const id of missing) {
      const quote = batch
        .then((quotes) => quotes.find((quote) => quote.product_id === id))
        .catch(() => undefined);
      void quote.then((settled) => this.settledPrices.set(id, settled));
      this.priceCache.set(id, quote);
    }
    return batch.then(() => undefined).catch(() => undefined);
  }

  private fetchPrice(productId: string): Promise<PriceQuote | undefined> {
    void this.primePrices([productId]);
    return this.priceCache.get(productId) ?? Promise.resolve(undefined);
  }

  /**
   * Recommendations for a slot, trimmed to its limit; undefined past the deadline or on failure. An
   * answer with no items (nothing published yet, everything excluded) is an answer like any other: the
   * slot is then marked empty, not left for the plugin to ask again.
   */
  async recommendations(query: RecommendationQuery): Promise<Recommendations | undefined> {
    const result = await this.deadline.within(this.fetchRecommendations(query));
    if (!result) return undefined;
    const items = result.items.slice(0, query.limit);
    // The block shows this shopper's prices, the same ones the page's price elements show. Items are
    // priced in one batch when their recommendations arrive; this covers any not priced yet.
    void this.primePrices(items.map((item) => item.product_id));
    const quotes = await this.deadline.within(
      Promise.all(items.map((item) => this.priceCache.get(item.product_id) ?? Promise.resolve(undefined))),
    );
    return this.priced(result, items, quotes);
  }

  /**
   * The same as `recommendations(query)` when everything it needs has already arrived (the usual case
   * when the origin takes longer than the cache), else undefined: the slot handler then finishes
   * synchronously, and HTMLRewriter neither suspends the parser nor splits the page's output there.
   */
  settledRecommendations(query: RecommendationQuery): { value: Recommendations | undefined } | undefined {
    const fetched = this.recommendationCache.get(queryKey(query));
    const result = fetched && fetched.limit >= query.limit ? fetched.settled : undefined;
    if (!result) return undefined;
    const items = result.items.slice(0, query.limit);
    const quotes: Array<PriceQuote | undefined> = [];
    for (const item of items) {
      const known = this.settledPrice(item.product_id);
      if (!known) return undefined;
      quotes.push(known.quote);
    }
    return { value: this.priced(result, items, quotes) };
  }

  private priced(
    result: Recommendations,
    items: Recommendations['items'],
    quotes: ReadonlyArray<PriceQuote | undefined> | undefined,
  ): Recommendations {
    this.currency ??= quotes?.find((quote) => quote !== undefined)?.currency;
    const priced = items.map((item, index) => {
      const quote = quotes?.[index];
      return quote ? { ...item, price: quote.price } : item;
    });
    return { ...result, items: priced };
  }

  /** This shopper's price quote for a product; undefined past the deadline or on failure. */
  price(productId: string): Promise<PriceQuote | undefined> {
    return this.deadline.within(this.fetchPrice(productId));
  }

  /**
   * The quote for a product when its fetch has already settled (`{ quote: undefined }` when there is
   * none), else undefined: the caller then waits with `price()`, bounded by the deadline.
   */
  settledPrice(productId: string): { quote: PriceQuote | undefined } | undefined {
    return this.settledPrices.has(productId) ? { quote: this.settledPrices.get(productId) } : undefined;
  }

  /**
   * How rendered prices look: the page's own price text when one was seen in the catalogue's currency
   * (a multi-currency shop's "€2,95" must not dress a GBP amount), else the currency.
   */
  priceFormat(): PriceFormat {
    const currency = this.currency;
    const template = this.priceTemplates.find((text) => !currency || !otherCurrency(text, currency));
    if (template) return { template };
    return currency ? { currency } : {};
  }
}
