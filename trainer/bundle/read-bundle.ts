/**
 * Reads a model bundle from disk for Node-side tools (`npm run recommend`, tests): validates the
 * manifest and catalogue against the contract and every file against its sha256, as the worker does.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type Catalogue,
  CatalogueSchema,
  type Manifest,
  ManifestSchema,
  type ModelEntry,
  type ModelRole,
} from '../../contracts/manifest';

/** Thrown when a bundle is missing, malformed or fails a checksum. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

/** A verified bundle. */
export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  catalogue: Catalogue;
  /** The model with that role (the first listed), or undefined. */
  model(role: ModelRole): ModelEntry | undefined;
  /** Verified bytes of a model file. */
  modelBytes(entry: ModelEntry): Promise<Uint8Array>;
}

async function readVerified(dir: string, file: string, sha256: string): Promise<Buffer> {
  const bytes = await readFile(path.join(dir, file)).catch((error: NodeJS.ErrnoException) => {
    throw new BundleError(`bundle ${dir}: cannot read ${file} (${error.code ?? error.message})`);
  });
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256)
    throw new BundleError(`bundle ${dir}: ${file} does not match its sha256 in manifest.json`);
  return bytes;
}

/** Loads and verifies the bundle in `dir`. */
export async function readBundle(dir: string): Promise<LoadedBundle> {
  const text = await readFile(path.join(dir, 'manifest.json'), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      throw new BundleError(
        `no model bundle in ${dir}: cannot read manifest.json (${error.code ?? error.message})`,
      );
    },
  );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BundleError(`bundle ${dir}: manifest.json is not valid JSON`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(
      `bundle ${dir}: manifest.json ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const manifest = parsed.data;
  const catalogueBytes = await readVerified(dir, manifest.catalogue.file, manifest.catalogue.sha256);
  const catalogue = CatalogueSchema.parse(JSON.parse(catalogueBytes.toString('utf8')));
  if (catalogue.items.length !== manifest.catalogue.count) {
    throw new BundleError(
      `bundle ${dir}: catalogue has ${catalogue.items.length} items, manifest says ${manifest.catalogue.count}`,
    );
  }
  return {
    dir,
    manifest,
    catalogue,
    model: (role) => manifest.models.find((m) => m.role === role),
    modelBytes: async (entry) => new Uint8Array(await readVerified(dir, entry.file, entry.sha256)),
  };
}
