import {
  type Catalogue,
  type CatalogueItem,
  CatalogueSchema,
  declaredModelBytes,
  MAX_BUNDLE_BYTES,
  type Manifest,
  ManifestSchema,
  type ModelRole,
  popularityOrder,
} from '../../../contracts/manifest';
import { loadRecommender, type Recommender } from './recommender';
import { sha256Hex } from './sha256';

/** Where a bundle's files are read from: the copy built into the worker, or the model store (R2). */
export interface BundleSource {
  /** `default` (built in) or `store` (published with `npm run models:publish`). */
  readonly origin: 'default' | 'store';
  /** The bytes of a file of the bundle folder, or undefined when it does not exist. */
  read(file: string): Promise<Uint8Array | undefined>;
}

/**
 * A bundle whose files are verified and whose catalogue is parsed, before any ORT session exists:
 * enough for prices, popularity and cache keys (the bundle version), none of which run a model.
 */
export interface BundleCatalogue {
  version: string;
  origin: BundleSource['origin'];
  manifest: Manifest;
  catalogue: Catalogue;
  /** `catalogue.items`: index i is item i of every model's item axis. */
  items: CatalogueItem[];
  byId: Map<string, number>;
  /** Catalogue indices by popularity, most popular first: the fallback that needs no model. */
  popularityOrder: Int32Array;
}

/** A verified bundle with its model files' bytes, ready for `createSessions`. */
export interface VerifiedBundle extends BundleCatalogue {
  /** Model name → the verified bytes of its graph. */
  readonly modelFiles: ReadonlyMap<string, Uint8Array>;
}

/** A verified bundle with its sessions created: what recommendations run on. */
export interface LoadedBundle extends BundleCatalogue {
  models: Partial<Record<ModelRole, Recommender>>;
  loadedAt: number;
}

/** A bundle that must not be served; `problems` lists every reason found, not only the first. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly version: string,
    readonly problems: string[],
  ) {
    super(`model bundle ${version} refused: ${problems.join('; ')}`);
  }
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new BundleError('?', [
      `${what} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    ]);
  }
}

function zodProblems(
  what: string,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
): string[] {
  return issues.slice(0, 5).map((issue) => `${what}.${issue.path.map(String).join('.')}: ${issue.message}`);
}

/** Reads and validates `manifest.json`. */
export async function readManifest(source: BundleSource): Promise<Manifest> {
  const bytes = await source.read('manifest.json');
  if (!bytes) throw new BundleError('?', ['manifest.json is missing']);
  const parsed = ManifestSchema.safeParse(parseJson(bytes, 'manifest.json'));
  if (!parsed.success) throw new BundleError('?', zodProblems('manifest', parsed.error.issues));
  return parsed.data;
}

/** Reads a file listed in the manifest and checks its size and sha256. */
async function readVerified(
  source: BundleSource,
  file: string,
  sha256: string,
  problems: string[],
  bytes?: number,
): Promise<Uint8Array | undefined> {
  const data = await source.read(file);
  if (!data) {
    problems.push(`${file} is missing`);
    return undefined;
  }
  if (bytes !== undefined && data.byteLength !== bytes) {
    problems.push(`${file} has ${data.byteLength} bytes, the manifest says ${bytes}`);
    return undefined;
  }
  const actual = await sha256Hex(data);
  if (actual !== sha256) {
    problems.push(`${file} sha256 is ${actual.slice(0, 12)}…, the manifest says ${sha256.slice(0, 12)}…`);
    return undefined;
  }
  return data;
}

/**
 * A product listed twice in a catalogue, as problems (the first few). `byId` keeps one index per id,
 * so the other copy could not be excluded by id: the product on the page, or one already bought, could
 * be recommended back through it. A trainer never writes one; a hand-edited catalogue might.
 */
function duplicateProductIds(items: readonly CatalogueItem[]): string[] {
  const first = new Map<string, number>();
  const problems: string[] = [];
  for (const [index, item] of items.entries()) {
    const seen = first.get(item.product_id);
    if (seen === undefined) first.set(item.product_id, index);
    else if (problems.length < 5)
      problems.push(`catalogue lists product_id ${item.product_id} twice (items ${seen} and ${index})`);
  }
  return problems;
}

/**
 * Verifies a bundle without creating sessions: validates the manifest, checks the catalogue and every
 * model file against their sha256, and checks the catalogue matches the models' item axis and lists
 * each product once; a bundle over MAX_BUNDLE_BYTES is refused before its models are read. Throws a
 * BundleError listing every problem found.
 */
export async function verifyBundle(source: BundleSource): Promise<VerifiedBundle> {
  const manifest = await readManifest(source);
  const problems: string[] = [];
  // Before any model file is read: one too large for the isolate would take it down, not be refused.
  const modelBytes = declaredModelBytes(manifest);
  if (modelBytes > MAX_BUNDLE_BYTES) {
    throw new BundleError(manifest.version, [
      `the models add up to ${modelBytes} bytes, over the ${MAX_BUNDLE_BYTES} a bundle may hold`,
    ]);
  }

  const catalogueBytes = await readVerified(
    source,
    manifest.catalogue.file,
    manifest.catalogue.sha256,
    problems,
  );
  const modelFiles = new Map<string, Uint8Array>();
  for (const entry of manifest.models) {
    const bytes = await readVerified(source, entry.file, entry.sha256, problems, entry.bytes);
    if (bytes) modelFiles.set(entry.name, bytes);
  }
  let catalogue: Catalogue | undefined;
  if (catalogueBytes && catalogueBytes.byteLength + modelBytes > MAX_BUNDLE_BYTES) {
    problems.push(
      `catalogue.json and the models add up to ${catalogueBytes.byteLength + modelBytes} bytes, over the ${MAX_BUNDLE_BYTES} a bundle may hold`,
    );
  } else if (catalogueBytes) {
    const parsed = CatalogueSchema.safeParse(parseJson(catalogueBytes, 'catalogue.json'));
    if (!parsed.success) problems.push(...zodProblems('catalogue', parsed.error.issues));
    else if (parsed.data.items.length !== manifest.catalogue.count) {
      problems.push(
        `catalogue has ${parsed.data.items.length} items, the manifest says ${manifest.catalogue.count}`,
      );
    } else {
      const duplicates = duplicateProductIds(parsed.data.items);
      if (duplicates.length > 0) problems.push(...duplicates);
      else catalogue = parsed.data;
    }
  }
  if (catalogue) {
    for (const entry of manifest.models) {
      // Every graph's item axis must be the catalogue: index i means item i everywhere.
      for (const input of entry.inputs) {
        const axis = input.shape[1];
        if (typeof axis === 'number' && axis !== catalogue.items.length) {
          problems.push(
            `${entry.file} input ${input.name} has ${axis} items, the catalogue ${catalogue.items.length}`,
          );
        }
      }
    }
  }
  if (problems.length > 0 || !catalogue) throw new BundleError(manifest.version, problems);

  const byId = new Map<string, number>();
  for (const [index, item] of catalogue.items.entries()) byId.set(item.product_id, index);
  return {
    version: manifest.version,
    origin: source.origin,
    manifest,
    catalogue,
    items: catalogue.items,
    byId,
    popularityOrder: popularityOrder(catalogue.items.map((item) => item.popularity)),
    modelFiles,
  };
}

/**
 * Creates one ORT session per model role of a verified bundle. The first session of an isolate also
 * starts ORT's WebAssembly runtime, which takes most of the time (~0.3-0.5 s locally; later sessions
 * take a few ms). Throws a BundleError (and releases what it created) if any graph is refused.
 */
export async function createSessions(verified: VerifiedBundle): Promise<LoadedBundle> {
  const { modelFiles, ...bundle } = verified;
  const models: Partial<Record<ModelRole, Recommender>> = {};
  try {
    for (const entry of verified.manifest.models) {
      const bytes = modelFiles.get(entry.name);
      // The first model of a role wins: the manifest lists them in order of preference.
      if (!bytes || models[entry.role]) continue;
      models[entry.role] = await loadRecommender(entry, bytes, verified.items.length);
    }
  } catch (error) {
    await releaseModels(models);
    throw new BundleError(verified.version, [error instanceof Error ? error.message : String(error)]);
  }
  return { ...bundle, models, loadedAt: Date.now() };
}

/** Verifies a bundle and creates its sessions: all or nothing. */
export async function loadBundle(source: BundleSource): Promise<LoadedBundle> {
  return createSessions(await verifyBundle(source));
}

/** Frees the ORT sessions of a bundle that is no longer served. */
export async function releaseModels(models: Partial<Record<ModelRole, Recommender>>): Promise<void> {
  await Promise.allSettled(Object.values(models).map((model) => model.release()));
}
