/**
 * The training pipeline behind `npm run train`: read → clean → aggregate → train each model →
 * export ONNX → bundle contents. The CLI writes the result with writeBundle.
 */
import path from 'node:path';
import type { ModelRole } from '../../contracts/manifest';
import {
  buildCatalogue,
  DEFAULT_LINKS,
  readShopCatalogue,
  type ShopCatalogueEntry,
  unsignedPriceLines,
  untrustedTitleLines,
} from '../bundle/catalogue';
import { dataCurrency, mixedCurrencyNote } from '../bundle/catalogue-price';
import {
  type BundleContents,
  type BundleModel,
  catalogueFile,
  checkPlannedBundleSize,
  type PlannedGraph,
  TRAINER,
} from '../bundle/write-bundle';
import { DEFAULT_CURRENCY } from '../data/currency-code';
import { InputError } from '../data/lines';
import { aggregate } from '../data/matrix';
import { dataPriceSource, type Format, inputName, openSource, readAll } from '../data/sources';
import { type Interaction, isSignal, type ReadReport } from '../data/types';
import { trainItemItem } from '../models/item-item';
import { itemPopularity } from '../models/popularity';
import { buildRecommenderGraph, type ScoringBody } from '../onnx/recommender-graphs';
import { type PersonalOptions, personalGraphs, trainPersonal } from './personal';
import { MODEL_TOP_K } from './top-k';

export { MODEL_TOP_K } from './top-k';

/** Options of `trainBundle`. */
export interface TrainOptions extends PersonalOptions {
  format: Format;
  input: string;
  /** Optional shop catalogue JSON: restricts and describes the items (order = index map). */
  catalogue?: string;
  /**
   * The currency (upper case) of prices the input does not name (`--currency`): an Online Retail
   * file without a `Currency` column, events without one, catalogue entries without one.
   */
  currency?: string;
  /** Top-k each graph returns (default MODEL_TOP_K). */
  k?: number;
  /** Rank of the item-item factorisation for catalogues above `maxDenseItems`. */
  rank?: number;
  maxDenseItems?: number;
  /** Largest bundle to train (default MAX_BUNDLE_BYTES; smaller in tests). */
  maxBundleBytes?: number;
  log?: (line: string) => void;
}

/** Trained models, ready to bundle, and the data report. */
export interface TrainResult {
  contents: BundleContents;
  report: ReadReport;
  bodies: Map<string, ScoringBody>;
}

/**
 * Interactions whose item is in the catalogue (all when there is none). What is left out is counted
 * and logged: a catalogue keyed by other ids than the data (SKU vs product id, another case) would
 * otherwise train on a fraction of the data without a word, or fail as "no usable interactions".
 */
function restrict(
  interactions: Interaction[],
  shop: ShopCatalogueEntry[],
  file: string,
  log: (line: string) => void,
): Interaction[] {
  if (shop.length === 0) return interactions;
  const ids = new Set(shop.map((e) => e.product_id));
  const kept = interactions.filter((it) => ids.has(it.item));
  const outside = [...new Set(interactions.filter((it) => !ids.has(it.item)).map((it) => it.item))];
  const quote = (list: string[]) =>
    list
      .slice(0, 3)
      .map((id) => `"${id}"`)
      .join(', ');
  if (interactions.length > 0 && kept.length === 0)
    throw new InputError(
      `catalogue ${path.basename(file)}: none of the data's ${outside.length} products is in it (data ids such as ${quote(outside)}; catalogue ids such as ${quote([...ids])}): product_id must be the id the data uses`,
    );
  if (kept.length < interactions.length)
    log(
      `catalogue ${path.basename(file)}: left out ${interactions.length - kept.length} of ${interactions.length} interactions, of ${outside.length} products not in it (such as ${quote(outside)})`,
    );
  const seen = new Set(kept.map((it) => it.item));
  const unseen = shop.filter((e) => !seen.has(e.product_id)).length;
  if (unseen > 0)
    log(
      `catalogue ${path.basename(file)}: ${unseen} of ${shop.length} products have no interactions in the data`,
    );
  return kept;
}

/** Runs the whole pipeline and returns bundle contents. */
export async function trainBundle(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? (() => {});
  const k = options.k ?? MODEL_TOP_K;
  const source = await openSource(
    options.format,
    options.input,
    options.currency ? { currency: options.currency } : {},
  );
  const shop = options.catalogue ? await readShopCatalogue(options.catalogue) : [];
  const all = await readAll(source);
  log(source.report.summary());
  const interactions = restrict(all, shop, options.catalogue ?? '', log);
  // Removals from the cart are read for validation's cart, but are nothing to learn from (isSignal).
  const signals = interactions.filter(isSignal);
  if (signals.length === 0)
    throw new InputError(`no usable interactions in ${inputName(options.format, options.input)}`);

  const itemOrder = shop.length > 0 ? shop.map((e) => e.product_id) : undefined;
  const byUser = aggregate(interactions, itemOrder ? { items: itemOrder } : {});
  const items = byUser.items;
  const byBasket = aggregate(interactions, { by: 'basket', items });
  log(
    `${byUser.users.length} users, ${items.length} items, ${byUser.matrix.values.length} user-item pairs, ${byBasket.users.length} baskets`,
  );
  // Where the shop catalogue gives the price, the data's currencies do not matter.
  const shopPriced = new Set(shop.filter((e) => e.price !== undefined).map((e) => e.product_id));
  const mixed = mixedCurrencyNote(
    items.filter((item) => !shopPriced.has(item)),
    (item) => source.items.get(item)?.prices,
  );
  if (mixed) log(`  ${mixed}`);

  const popularity = itemPopularity(byUser.matrix);
  // A catalogue entry without a currency, for a product the data never priced, is in the shop's currency.
  const currency =
    options.currency ?? dataCurrency([...source.items.values()].map((s) => s.prices)) ?? DEFAULT_CURRENCY;
  const catalogue = buildCatalogue(
    items,
    source.items,
    popularity,
    shop,
    DEFAULT_LINKS,
    currency,
    dataPriceSource(options.format),
  );
  for (const line of unsignedPriceLines(catalogue)) log(line);
  for (const line of untrustedTitleLines(catalogue, source.items, shop, dataPriceSource(options.format)))
    log(line);
  const itemItemOptions = { rank: options.rank ?? 128, maxDenseItems: options.maxDenseItems ?? 1000 };
  // Before training (the catalogue is built first for this): the whole bundle, three graphs and
  // catalogue.json, must fit what a worker takes.
  const itemItem: PlannedGraph = {
    kind: items.length <= itemItemOptions.maxDenseItems ? 'dense' : 'factorized',
  };
  checkPlannedBundleSize(
    {
      items: items.length,
      rank: itemItemOptions.rank,
      graphs: [personalGraphs(options, items.length), [itemItem], [itemItem]],
      catalogueBytes: catalogueFile(catalogue).bytes.byteLength,
    },
    options.maxBundleBytes,
  );
  const bodies = new Map<string, ScoringBody>();
  const models: BundleModel[] = [];
  const add = (name: string, role: ModelRole, body: ScoringBody, params: BundleModel['params']) => {
    bodies.set(name, body);
    const onnx = buildRecommenderGraph({
      name,
      items: items.length,
      k,
      body,
      producerVersion: TRAINER.version,
    });
    models.push({ name, role, onnx, k, params: { kind: body.kind, ...params } });
  };

  // Validation lists are capped per family as the worker caps them, with the catalogue's families.
  const personal = await trainPersonal(
    { byUser, interactions, families: catalogue, identities: source.identities },
    options,
    log,
  );
  add('personal', 'personal', personal.body, personal.params);
  const similar = trainItemItem(byUser.matrix, itemItemOptions);
  add('similar', 'similar', similar, similarParams(similar, 'users'));
  const complements = trainItemItem(byBasket.matrix, itemItemOptions);
  add('complements', 'complements', complements, similarParams(complements, 'baskets'));

  const times = signals.map((it) => it.time);
  const first = times.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const last = times.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  return {
    report: source.report,
    bodies,
    contents: {
      catalogue,
      models,
      backend: personal.backend,
      ...(personal.metrics ? { metrics: personal.metrics } : {}),
      data: {
        format: options.format,
        source: inputName(options.format, options.input),
        from: Number.isFinite(first) ? new Date(first).toISOString() : null,
        to: Number.isFinite(last) ? new Date(last).toISOString() : null,
        interactions: signals.length,
        users: byUser.users.length,
        items: items.length,
      },
    },
  };
}

function similarParams(body: ScoringBody, rows: string): BundleModel['params'] {
  return body.kind === 'factorized'
    ? { cooccurrence: rows, rank: body.rank }
    : { cooccurrence: rows, exact: true };
}
