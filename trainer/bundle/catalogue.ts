/**
 * Builds the bundle catalogue (contracts/manifest.ts CatalogueItem) for the items of a model's item
 * axis, from what the data said about them and, optionally, a shop catalogue file that overrides it.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { categoryOf } from '../../contracts/categories';
import type { CatalogueItem, PriceSource } from '../../contracts/manifest';
import { currencyCode, DEFAULT_CURRENCY } from '../data/currency-code';
import type { ItemStats } from '../data/types';
import { cataloguePrice } from './catalogue-price';

/** A shop catalogue entry (scripts/demo-data/catalogue.json has this shape); all but the id optional. */
export const ShopCatalogueEntrySchema = z.object({
  product_id: z.string().min(1),
  title: z.string().optional(),
  price: z.number().nonnegative().optional(),
  // Upper case, as the data's and the worker's codes are: "gbp" kept as written was another currency to
  // the worker's price check ("GBP" on the page) and found none of the data's GBP prices.
  currency: z
    .string()
    .transform((raw, ctx) => {
      const code = currencyCode(raw);
      if (code === undefined)
        ctx.addIssue({ code: 'custom', message: `must be a three-letter code such as EUR, got "${raw}"` });
      return code ?? raw;
    })
    .optional(),
  category: z.string().optional(),
  url: z.string().optional(),
  image: z.string().optional(),
  available: z.boolean().optional(),
});
export type ShopCatalogueEntry = z.infer<typeof ShopCatalogueEntrySchema>;

/** Reads a shop catalogue JSON file: an array of entries or `{ items: [...] }`. */
export async function readShopCatalogue(file: string): Promise<ShopCatalogueEntry[]> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`catalogue ${file}: cannot read it (${error.code ?? error.message})`);
  });
  let json: unknown;
  try {
    // A BOM, as Windows PowerShell's `Out-File -Encoding utf8` and Notepad write, is no JSON token.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new Error(
      `catalogue ${file}: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const list = Array.isArray(json) ? json : (json as { items?: unknown } | null)?.items;
  // Another shape ({ "products": [...] }) used to say only "Invalid input: expected array, received
  // undefined", not which shapes are read.
  if (!Array.isArray(list)) {
    throw new Error(`catalogue ${file}: must be a JSON array of entries or { "items": [...] }`);
  }
  const parsed = z.array(ShopCatalogueEntrySchema).min(1).safeParse(list);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    throw new Error(`catalogue ${file}: ${where ? `${where} ` : ''}${issue?.message ?? 'invalid'}`);
  }
  // One entry per product: a second one would leave the first an empty column of the model, and the
  // worker would exclude only one of the two (a product recommended on its own page).
  const seen = new Set<string>();
  for (const [index, entry] of parsed.data.entries()) {
    if (seen.has(entry.product_id)) {
      throw new Error(`catalogue ${file}: ${index}.product_id "${entry.product_id}" appears more than once`);
    }
    seen.add(entry.product_id);
  }
  return parsed.data;
}

/** URL templates: `{id}` is replaced by the URL-encoded product id. */
export interface LinkTemplates {
  url: string;
  image: string;
}

export const DEFAULT_LINKS: LinkTemplates = { url: '/products/{id}', image: '/images/{id}.svg' };

function mostCommon(counts: Map<string, number>): string {
  let best = '';
  let bestCount = -1;
  for (const [value, count] of counts) {
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/**
 * What the data is (trainer/data/sources.ts `dataPriceSource`), and so whose its prices, titles,
 * categories and product ids are: the shop's own order lines, or behaviour events, which anyone can
 * send to /v1/events (unauthenticated, only rate-limited per IP).
 */
export type DataPrices = Extract<PriceSource, 'orders' | 'events'>;

/**
 * Where an item's catalogue title came from: the shop catalogue file, the shop's own order lines,
 * behaviour events, or nowhere (the product id stands in for it). Its category follows the same
 * rule: the entry's, else the data's where the title may come from the data, else the title's family.
 *
 * Not in catalogue.json: contracts/manifest.ts CatalogueItemSchema has no field for it (the writer's
 * parse would drop one); `train` says it in its log instead (`untrustedTitleLines`).
 */
export type TitleSource = 'catalogue' | 'orders' | 'events' | 'id';

/**
 * An item's title, category and where they came from.
 *
 * With a shop catalogue and event data, the catalogue is the only source: a title or category from
 * events is whatever the sender wanted shoppers to read. The title is the name sent most often, so
 * anyone who posts more events than the real shoppers (600 a minute per address) chose it ("Refund
 * scam: call …" as 85123A's title, shown on every page with recommendations), and the category is the
 * last one sent, so one event moved a product into another category's lists. The catalogue is the
 * shop's own feed: an entry without a title shows the product id, never an event's `name`.
 *
 * Without a catalogue, event data keeps its titles and categories (the demo and small shops train on
 * events alone; there is nothing else to show), and `train` warns (`untrustedTitleLines`). Counting
 * distinct shoppers per title, or preferring `Order Completed` names, would not make them harder to
 * forge: the sender picks the anonymousId and the event name, and an order costs as little to post as
 * a view. Order lines (`--format online-retail`) are the shop's own export: their titles are kept,
 * under a catalogue title where there is one.
 */
export function describeItem(
  id: string,
  entry: ShopCatalogueEntry | undefined,
  seen: ItemStats | undefined,
  data: DataPrices,
  shopGiven: boolean,
): { title: string; category: string; titleSource: TitleSource } {
  const dataTrusted = data === 'orders' || !shopGiven;
  const dataTitle = dataTrusted && seen ? mostCommon(seen.titles) : '';
  // An empty catalogue title is none given (it showed the id before; now the order lines' title).
  const title = entry?.title || dataTitle || id;
  const titleSource: TitleSource = entry?.title ? 'catalogue' : dataTitle ? data : 'id';
  const category = entry?.category ?? (dataTrusted ? seen?.category : undefined) ?? categoryOf(title);
  return { title, category, titleSource };
}

/**
 * Where an item's price and currency came from (contracts/manifest.ts PriceSourceSchema). A catalogue
 * price is the shop's only with a currency from the shop too: from its entry, or from order data. From
 * events, its currency would be whatever most events named (`cataloguePrice`), so 10 meant as GBP
 * could be signed as 10 JPY: such a price counts as from events.
 */
function priceSourceOf(
  entry: ShopCatalogueEntry | undefined,
  dataPriced: boolean,
  dataPrices: DataPrices,
): PriceSource {
  if (entry?.price !== undefined)
    return entry.currency !== undefined || dataPrices === 'orders' ? 'catalogue' : 'events';
  return dataPriced ? dataPrices : 'none';
}

/**
 * One catalogue item per model item, in model order (the catalogue order IS the index map).
 * `dataPrices` says what the data is; by default events, whose prices the worker does not sign, and
 * whose titles and categories are not taken when a shop catalogue is given (`describeItem`).
 */
export function buildCatalogue(
  items: string[],
  stats: Map<string, ItemStats>,
  popularity: ArrayLike<number>,
  shop: ShopCatalogueEntry[] = [],
  links: LinkTemplates = DEFAULT_LINKS,
  defaultCurrency = DEFAULT_CURRENCY,
  dataPrices: DataPrices = 'events',
): CatalogueItem[] {
  const byId = new Map(shop.map((e) => [e.product_id, e]));
  return items.map((id, i) => {
    const seen = stats.get(id);
    const entry = byId.get(id);
    const { title, category } = describeItem(id, entry, seen, dataPrices, shop.length > 0);
    const link = (template: string) => template.replaceAll('{id}', encodeURIComponent(id));
    const data = cataloguePrice(seen?.prices, defaultCurrency, entry?.currency);
    return {
      product_id: id,
      title,
      url: entry?.url ?? link(links.url),
      image: entry?.image ?? link(links.image),
      // A shop catalogue's price as it gives it (1.235 KWD is no 1.24); the data's is rounded to its
      // currency's minor units by cataloguePrice, and one of 0 there is no price (`none`), not free.
      price: entry?.price ?? data.price,
      currency: entry?.currency ?? data.currency,
      category,
      available: entry?.available ?? true,
      popularity: popularity[i] ?? 0,
      price_source: priceSourceOf(entry, data.priced, dataPrices),
    };
  });
}

/**
 * The train output's lines about prices the worker will not sign (PriceSourceSchema): those from
 * events, and items with no price at all. None when every price is the shop's own.
 */
export function unsignedPriceLines(catalogue: readonly CatalogueItem[]): string[] {
  const lines: string[] = [];
  const fromEvents = catalogue.filter((item) => item.price_source === 'events');
  const unpriced = catalogue.filter((item) => item.price_source === 'none');
  const example = (items: CatalogueItem[]) => `such as "${items[0]?.product_id ?? ''}"`;
  if (fromEvents.length > 0)
    lines.push(
      `warning: ${fromEvents.length} of ${catalogue.length} catalogue prices came from events (${example(fromEvents)}), which anyone can send to /v1/events: the worker shows them but signs no price token for them (GET /v1/prices answers "token": null, so a checkout charges its own price). For trusted prices, pass --catalogue FILE.json with a price and a currency for each product`,
    );
  if (unpriced.length > 0)
    lines.push(
      `note: ${unpriced.length} of ${catalogue.length} items have no price in the data or the catalogue (${example(unpriced)}): the worker shows them without a price (recommendations say "price": null) and GET /v1/prices leaves them out, so they have no price token`,
    );
  return lines;
}

/**
 * The train output's lines about titles, categories and products that anyone could have chosen: with
 * event data and no shop catalogue, every product of the catalogue is one some event named, and its
 * title and category are the events' (`describeItem`), so a warning, in the style of the one about
 * prices. With a catalogue and event data, a note for its entries without a title, which now show
 * their product id (events' names are not taken). None for order data, the shop's own.
 */
export function untrustedTitleLines(
  catalogue: readonly CatalogueItem[],
  stats: Map<string, ItemStats>,
  shop: readonly ShopCatalogueEntry[],
  data: DataPrices,
): string[] {
  if (data !== 'events' || catalogue.length === 0) return [];
  const n = catalogue.length;
  if (shop.length === 0) {
    const titled = catalogue.filter(
      (item) =>
        describeItem(item.product_id, undefined, stats.get(item.product_id), data, false).titleSource ===
        'events',
    );
    const categorised = catalogue.filter((item) => stats.get(item.product_id)?.category !== undefined);
    const example = titled[0] ?? categorised[0] ?? catalogue[0];
    return [
      `warning: the catalogue's ${n} products, ${titled.length} of their titles and ${categorised.length} of their categories came from events (such as "${example?.product_id ?? ''}"), which anyone can send to /v1/events: a sender can add products and choose the titles and categories shoppers see (a title is the name sent most often, a category the last one sent). For the shop's own, pass --catalogue FILE.json with a title for each product: then titles and categories come only from it, and only its products are recommended`,
    ];
  }
  const byId = new Map(shop.map((entry) => [entry.product_id, entry]));
  const untitled = catalogue.filter((item) => !byId.get(item.product_id)?.title);
  if (untitled.length === 0) return [];
  return [
    `note: ${untitled.length} of ${n} catalogue entries have no title (such as "${untitled[0]?.product_id ?? ''}"): the catalogue shows their product id, since titles in events are anyone's (give each entry a "title")`,
  ];
}
