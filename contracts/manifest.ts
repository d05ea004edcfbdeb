/**
 * The model bundle contract (DESIGN.md "Model bundle"): written by the trainer, read by the worker.
 *
 * A bundle is a folder: `manifest.json`, `catalogue.json` and one `.onnx` file per model. Every file is
 * listed with its sha256; the worker refuses a bundle whose files do not match and keeps serving the
 * previous one. The catalogue's `items` array order IS the id ↔ index map of every model's item axis.
 */
import { z } from 'zod';

export const BUNDLE_FORMAT = 'rx-model-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['float32', 'int64', 'int32', 'bool']),
  /** Symbolic dims (e.g. "batch") are strings, fixed dims numbers. */
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

/**
 * What a model is used for by the worker:
 * - `personal`: scores from a shopper's weighted item history (known or anonymous shoppers);
 * - `similar`: items like the items given (product page, anonymous session);
 * - `complements`: items bought together with the items given (cart page).
 *
 * Every recommender graph has the same interface (so the worker runs any of them the same way):
 * inputs `history` float32 [batch, items] (weighted item vector) and `mask` float32 [batch, items]
 * (1 = may be recommended, 0 = excluded: seen, current, unavailable, filtered), outputs
 * `scores` float32 [batch, k] and `indices` int64 [batch, k] (top-k by score, descending).
 */
export const ModelRoleSchema = z.enum(['personal', 'similar', 'complements']);
export type ModelRole = z.infer<typeof ModelRoleSchema>;

export const ModelEntrySchema = z.object({
  name: z.string().min(1),
  role: ModelRoleSchema,
  /** File name inside the bundle folder. */
  file: z.string().regex(/^[\w.-]+\.onnx$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  /** Size of the top-k the graph returns; the worker asks for at most this many. */
  k: z.number().int().positive(),
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
  /** How the model was built, for people: e.g. { "hidden": 200, "epochs": 31 }. */
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

/**
 * Where an item's catalogue price (its amount and its currency) came from:
 * - `catalogue`: the shop catalogue file (`train --catalogue`), its currency from that file or from
 *   the shop's own order data;
 * - `orders`: the median of the shop's own order lines (`--format online-retail`, a file the shop
 *   exported);
 * - `events`: the median of behaviour events' prices (`--format events` or `mongodb`), or a
 *   catalogue price whose currency only events named. Anyone can send events to `/v1/events`, so
 *   such a price can be anybody's: the worker shows it but signs no price token for it;
 * - `none`: no price anywhere (0; MovieLens has none): no token either, it would sell the item for 0.
 *
 * Optional: a bundle written before this field was read as its prices always were (every one
 * signed), and still is; retrain an events-built bundle to have its event prices left unsigned.
 */
export const PriceSourceSchema = z.enum(['catalogue', 'orders', 'events', 'none']);
export type PriceSource = z.infer<typeof PriceSourceSchema>;

export const CatalogueItemSchema = z.object({
  product_id: z.string().min(1),
  title: z.string(),
  url: z.string(),
  image: z.string(),
  price: z.number().nonnegative(),
  currency: z.string().length(3),
  category: z.string(),
  available: z.boolean().default(true),
  /** Popularity score in the training window (higher is more popular); the cold-start fallback. */
  popularity: z.number().nonnegative(),
  /** Where `price` and `currency` came from (PriceSourceSchema); absent in bundles older than it. */
  price_source: PriceSourceSchema.optional(),
});
export type CatalogueItem = z.infer<typeof CatalogueItemSchema>;

/**
 * Whether the worker may sign a price token for the item's catalogue price: only for a price from
 * the shop's own data (`catalogue`, `orders`), or from a bundle that does not say (as before).
 */
export function isSignablePrice(item: Pick<CatalogueItem, 'price_source'>): boolean {
  return (
    item.price_source === undefined || item.price_source === 'catalogue' || item.price_source === 'orders'
  );
}

export const CatalogueSchema = z.object({
  items: z.array(CatalogueItemSchema).min(1),
});
export type Catalogue = z.infer<typeof CatalogueSchema>;

export const ManifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  /** Unique per bundle content; part of every cache key, so a new bundle never serves stale results. */
  version: z.string().regex(/^[\w.-]{1,64}$/),
  createdAt: z.string().datetime(),
  trainer: z.object({ name: z.string(), version: z.string(), backend: z.string() }),
  data: z.object({
    format: z.enum(['online-retail', 'movielens', 'events', 'mongodb']),
    /** A file name or a database name, never a path or a connection string with credentials. */
    source: z.string(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    interactions: z.number().int().nonnegative(),
    users: z.number().int().nonnegative(),
    items: z.number().int().nonnegative(),
  }),
  catalogue: z.object({
    file: z.literal('catalogue.json'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    count: z.number().int().positive(),
    fields: z.array(z.string()),
  }),
  /**
   * Each name, file and role once: the worker keeps models by name and serves them by role, so a
   * second entry of either would silently run one model's graph in another's place.
   */
  models: z
    .array(ModelEntrySchema)
    .min(1)
    .superRefine((models, ctx) => {
      for (const key of ['name', 'file', 'role'] as const) {
        const seen = new Set<string>();
        models.forEach((model, index) => {
          if (seen.has(model[key]))
            ctx.addIssue({
              code: 'custom',
              path: [index, key],
              message: `${key} "${model[key]}" is given to another model too`,
            });
          seen.add(model[key]);
        });
      }
    }),
  /** Offline evaluation of each model at training time: metrics[model][metric] = value. */
  metrics: z.record(z.string(), z.record(z.string(), z.number())).default({}),
  /** Optional HMAC-SHA256 (hex) over the manifest without this field, with the publisher's key. */
  signature: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * Largest bundle a worker takes, in bytes: its model files (the sum of the manifest's `bytes`) plus
 * `catalogue.json`. A Workers isolate has 128 MB of memory. Loading a bundle holds all its model files
 * at once (the worker verifies every checksum before it creates any session), ONNX Runtime copies each
 * graph into its WebAssembly heap for its session, and during a swap the served bundle's sessions are
 * still alive beside the new one: some three times the bundle at the peak, plus the runtime itself
 * (~14 MB of WebAssembly) and the parsed catalogue. 32 MB keeps that peak inside the isolate, and far
 * above real bundles: a 10,000-item model with 64 factors is ~3 MB, the demo bundle ~1 MB in all.
 */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

/** The model bytes a manifest declares (without the catalogue, which it gives no size for). */
export function declaredModelBytes(manifest: Pick<Manifest, 'models'>): number {
  return manifest.models.reduce((sum, model) => sum + model.bytes, 0);
}

/** Input and output names every recommender graph uses (see ModelRoleSchema). */
export const GRAPH_IO = {
  history: 'history',
  mask: 'mask',
  scores: 'scores',
  indices: 'indices',
} as const;

/**
 * What a graph's score says, for every reader of a top-k (the worker, `npm run recommend`, `npm run
 * eval`): at or below MASKED_SCORE the mask excluded the item (the graphs subtract 1e9 from it).
 */
export const MASKED_SCORE = -1e8;

/**
 * Whether a score is evidence for the item. Exactly 0 is none: EASE and item-to-item give 0 to every
 * item unrelated to the history, and the graph's TopK returns those in catalogue order, so the most
 * popular allowed items take their places. A score that is not finite comes from a broken model.
 */
export function isModelEvidence(score: number): boolean {
  return Number.isFinite(score) && score > MASKED_SCORE && score !== 0;
}

/**
 * Catalogue indices by descending popularity, ties in catalogue order: the order in which popularity
 * fills a list, in the worker and in the trainer's `recommend` and `eval`.
 */
export function popularityOrder(popularity: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: popularity.length }, (_, i) => i);
  return order.sort((a, b) => (popularity[b] ?? 0) - (popularity[a] ?? 0) || a - b);
}
