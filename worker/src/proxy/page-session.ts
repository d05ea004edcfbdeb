import { diversifiedCut } from '../../../contracts/diversify';
import type { PriceFormat } from '../../../contracts/markup';
import { logRepeating } from '../log-repeating';
import type { Deadline } from './deadline';
import type { PageContext } from './page-context';
import { otherCurrency } from './price-check';
import type { PersonalizationSource, PriceQuote, RecommendationQuery, Recommendations } from './source';

/**
 * How many items the up-front fetch asks for, so most slots of the page can share it: a slot of fewer
 * items takes its own row from it (`cut`), the one the source answers for the slot's limit.
 */
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

/** What the worker's sources answer besides the contract: each item's product family (RecommendationResult). */
type WithFamilies = Recommendations & { families?: readonly string[] };

/**
 * The answer for `limit` items cut from `answer`, the source's answer to `fetched` (`fetched.limit`
 * items, at least `limit`): the row the source gives for `limit` itself. Not a prefix: the family cap (at most 40% of a row from one
 * family, contracts/diversify.ts) is `limit`'s, so a prefix of the 12-item row (5 of a family allowed)
 * could make a 4-item slot all one family where the API, asked for 4, answers 2 of it and 2 others.
 * Undefined when the longer row cannot tell (diversifiedCut) or says nothing of families: the slot is
 * then fetched for its own limit.
 */
function cut(
  fetched: RecommendationFetch,
  answer: Recommendations,
  limit: number,
): Recommendations | undefined {
  if (fetched.limit === limit) return answer;
  const { families } = answer as WithFamilies;
  if (families?.length !== answer.items.length) return undefined;
  const positions = diversifiedCut(families, fetched.limit, limit);
  if (!positions) return undefined;
  const items = positions.flatMap((position) => answer.items[position] ?? []);
  return {
    ...answer,
    items,
    families: positions.map((position) => families[position] ?? ''),
  } as WithFamilies;
}

/** What a fetch asked for past the deadline gets instead (PageSession.startFetch), marked as handled. */
function pastDeadline(): Promise<never> {
  const refused = Promise.reject(new Error('past the personalization budget'));
  refused.catch(() => undefined);
  return refused;
}

/**
 * The personalization of one page: recommendations and prices fetched at most once per distinct
 * query and product, the first one in parallel with the origin, every wait bounded by the deadline.
 * It also records what was shown, for the page-view event.
 */
export class PageSession {
  /** Per distinct query (queryKey), its fetches: one per limit asked for that `cut` could not serve. */
  private readonly recommendationCache = new Map<string, RecommendationFetch[]>();
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
    if (this.deadline.passed) return;
    void this.fetchRecommendations({ ...this.context, limit: PREFETCH_LIMIT });
    if (this.context.productId) void this.fetchPrice(this.context.productId);
  }

  /**
   * The answer for a query: fetched for its limit, or cut from a fetch of the same query for more items
   * (the page's prefetch) once that arrives. A longer row that cannot tell the shorter one (`cut`)
   * costs a fetch of the slot's own, shared by the page's later slots of that limit.
   */
  private fetchRecommendations(query: RecommendationQuery): Promise<Recommendations> {
    const fetches = this.recommendationCache.get(queryKey(query)) ?? [];
    const exact = fetches.find((fetched) => fetched.limit === query.limit);
    if (exact) return exact.result;
    const longer = fetches.find((fetched) => fetched.limit > query.limit);
    if (!longer) return this.startFetch(query);
    return longer.result.then((answer) => cut(longer, answer, query.limit) ?? this.startFetch(query));
  }

  /**
   * A fetch of the query for its own limit, unless one is under way (asked for while a longer one was).
   * None past the deadline: its answer could no longer go into the page, and a lookup costs a cache read
   * and often a model inference. The refusal reaches only `recommendations`' wait, which reads it as no
   * answer.
   */
  private startFetch(query: RecommendationQuery): Promise<Recommendations> {
    if (this.deadline.passed) return pastDeadline();
    const key = queryKey(query);
    const fetches = this.recommendationCache.get(key) ?? [];
    const exact = fetches.find((fetched) => fetched.limit === query.limit);
    if (exact) return exact.result;
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
    this.recommendationCache.set(key, [...fetches, entry]);
    return result;
  }

  private primePrices(productIds: string[]): Promise<void> {
    // Past the deadline no price can go into the page (see startFetch): recommendations that arrive
    // late, and price elements reached late, ask for none.
    if (this.deadline.passed) return Promise.resolve();
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
    if (this.deadline.passed) return undefined;
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
    const fetches = this.recommendationCache.get(queryKey(query)) ?? [];
    let result: Recommendations | undefined;
    for (const fetched of fetches) {
      if (fetched.limit >= query.limit && fetched.settled)
        result ??= cut(fetched, fetched.settled, query.limit);
    }
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
