import { z } from 'zod';
import { canonicalJson } from '../../../contracts/canonical-json';
import type { Manifest } from '../../../contracts/manifest';
import { toHex } from '../hex';
import { DeadlineError, withDeadline } from '../with-deadline';
import { BundleError, type BundleSource, readManifest } from './bundle';
import { sha256Hex } from './sha256';

/**
 * Layout of published bundles in the model store (the `MODEL_STORE` R2 bucket):
 * `bundles/{version}/{file}` for every file of a bundle folder, and `current.json`
 * (`{ "version", "publishedAt" }`) naming the bundle to serve. Workers read the small pointer at most
 * every `MODEL_POLL_SECONDS` and switch by version, so publishing needs no redeploy.
 */
export const POINTER_KEY = 'current.json';
const MANIFEST_FILE = 'manifest.json';

/** File names allowed in a bundle folder (the manifest's own rule for model files, plus the JSON files). */
export const BUNDLE_FILE_PATTERN = /^[\w.-]+\.(onnx|json)$/;
export const BUNDLE_VERSION_PATTERN = /^[\w.-]{1,64}$/;

const PointerSchema = z.object({
  version: z.string().regex(BUNDLE_VERSION_PATTERN),
  publishedAt: z.string(),
});
export type StorePointer = z.infer<typeof PointerSchema>;

export function bundleObjectKey(version: string, file: string): string {
  return `bundles/${version}/${file}`;
}

/**
 * How long one read of the store may take before it counts as failed. R2 answers a small object in
 * milliseconds; one that hangs instead of failing held a cold isolate's first load, and every request
 * that waited on it, for good (the load is what later requests wait on). A model file may be 32 MB,
 * hence the longer budget for bundle files.
 */
export const POINTER_READ_BUDGET_MS = 5_000;
export const FILE_READ_BUDGET_MS = 20_000;

/**
 * The model store could not be used: an R2 call failed or took longer than its budget, or
 * `current.json` is not a pointer. Nothing is said about a bundle's content (that is a BundleError):
 * the same request may well succeed later. The message names the step and the cause, never more
 * than the binding's own error says (R2 bindings carry no credentials).
 */
export class ModelStoreError extends Error {
  override readonly name = 'ModelStoreError';
}

/**
 * Runs one step against the store (`what`: "reading current.json"), within `budgetMs` when given; any
 * failure but a ModelStoreError or BundleError comes out as a ModelStoreError naming the step. A
 * DeadlineError's message says it already ("Reading current.json took longer than 5000 ms").
 */
async function storeStep<T>(what: string, work: () => Promise<T>, budgetMs?: number): Promise<T> {
  try {
    return await (budgetMs === undefined
      ? work()
      : withDeadline(work(), budgetMs, `${what.charAt(0).toUpperCase()}${what.slice(1)}`));
  } catch (error) {
    if (error instanceof ModelStoreError || error instanceof BundleError) throw error;
    if (error instanceof DeadlineError) throw new ModelStoreError(error.message, { cause: error });
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelStoreError(`${reason} (${what})`, { cause: error });
  }
}

/**
 * The published pointer, or undefined when nothing was published. Throws a ModelStoreError when the
 * store cannot be read in time or `current.json` is not a pointer (its content is not quoted).
 */
export async function readPointer(bucket: R2Bucket): Promise<StorePointer | undefined> {
  const text = await storeStep(
    `reading ${POINTER_KEY}`,
    async () => {
      const object = await bucket.get(POINTER_KEY);
      return object ? await object.text() : undefined;
    },
    POINTER_READ_BUDGET_MS,
  );
  if (text === undefined) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ModelStoreError(`${POINTER_KEY} is not a valid pointer: not JSON`);
  }
  const parsed = PointerSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
    throw new ModelStoreError(
      `${POINTER_KEY} is not a valid pointer: ${where}${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/**
 * Moves the pointer to `version` only if it is still the object it was when the activation started:
 * `expected` is its etag then, or null when nothing was published (R2 `onlyIf`, decided by R2
 * atomically). Two activations in different isolates each load their bundle before moving it, so
 * without this the one that finished loading last would win, however the publishers were ordered, and
 * both would be told they published. `publishedAt` makes every write's bytes, and so its etag (an MD5
 * of them), differ from the one before. Undefined when another write landed since `expected`.
 */
export async function writePointer(
  bucket: R2Bucket,
  version: string,
  expected: string | null,
): Promise<StorePointer | undefined> {
  const pointer = { version, publishedAt: new Date().toISOString() };
  const written = await storeStep(`writing ${POINTER_KEY}`, () =>
    bucket.put(POINTER_KEY, JSON.stringify(pointer), {
      httpMetadata: { contentType: 'application/json' },
      onlyIf: expected === null ? { etagDoesNotMatch: '*' } : { etagMatches: expected },
    }),
  );
  return written ? pointer : undefined;
}

/**
 * The pointer's etag now (what writePointer's `expected` takes), or null when nothing was published.
 * The plain `etag`, not the quoted `httpEtag`: workerd refuses a quoted one in an `onlyIf` object.
 */
export async function pointerEtag(bucket: R2Bucket): Promise<string | null> {
  const head = await storeStep(
    `reading ${POINTER_KEY}`,
    () => bucket.head(POINTER_KEY),
    POINTER_READ_BUDGET_MS,
  );
  return head?.etag ?? null;
}

/** Reads a published bundle's files from the store. */
export function storeBundleSource(bucket: R2Bucket, version: string): BundleSource {
  return {
    origin: 'store',
    async read(file) {
      if (!BUNDLE_FILE_PATTERN.test(file)) return undefined;
      return storeStep(
        `reading ${file} of bundle ${version}`,
        async () => {
          const object = await bucket.get(bundleObjectKey(version, file));
          return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
        },
        FILE_READ_BUDGET_MS,
      );
    },
  };
}

/** The sha256 a version's stored manifest names for `file`; undefined when it names none or there is none to read. */
async function manifestSha256(bucket: R2Bucket, version: string, file: string): Promise<string | undefined> {
  const manifest = await validManifest(storeBundleSource(bucket, version));
  if (!manifest) return undefined;
  if (manifest.catalogue.file === file) return manifest.catalogue.sha256;
  return manifest.models.find((model) => model.file === file)?.sha256;
}

/**
 * The manifest a source holds, or undefined when there is none or it is one no activation can accept
 * (refused there, with the reason): such a manifest fixes no file. The store failing is not "no
 * manifest": that is the caller's error.
 */
async function validManifest(source: BundleSource): Promise<Manifest | undefined> {
  try {
    return await readManifest(source);
  } catch (error) {
    if (error instanceof BundleError) return undefined;
    throw error;
  }
}

/** The sha256 of the object at `key` (`head`: its metadata, read by the caller), or undefined when there is none. */
async function storedSha256(
  bucket: R2Bucket,
  key: string,
  head?: R2Object | null,
): Promise<string | undefined> {
  const found = head === undefined ? await bucket.head(key) : head;
  if (!found) return undefined;
  const recorded = found.checksums.sha256;
  if (recorded) return toHex(new Uint8Array(recorded));
  // Stored before uploads recorded their sha256 (or by hand): its bytes tell.
  const object = await bucket.get(key);
  return object ? sha256Hex(await object.arrayBuffer()) : undefined;
}

/** Why a file cannot be stored: the request field at fault (`file`, or the manifest's) and what differs. */
type Refusal = { field: string; reason: string };

/**
 * The first file `manifest` names that the version holds with another size or other bytes, named by
 * the manifest field that disagrees (`manifest.models[1].sha256`); undefined when every stored one fits.
 */
async function storedMismatch(
  bucket: R2Bucket,
  version: string,
  manifest: Manifest,
): Promise<Refusal | undefined> {
  // The manifest gives no size for the catalogue.
  const named: Array<{ field: string; file: string; sha256: string; bytes?: number }> = [
    { field: 'manifest.catalogue', file: manifest.catalogue.file, sha256: manifest.catalogue.sha256 },
    ...manifest.models.map((model, index) => ({
      field: `manifest.models[${index}]`,
      file: model.file,
      sha256: model.sha256,
      bytes: model.bytes,
    })),
  ];
  const found = await Promise.all(
    named.map(async (entry): Promise<Refusal | undefined> => {
      const key = bundleObjectKey(version, entry.file);
      const head = await bucket.head(key);
      if (!head) return undefined;
      if (entry.bytes !== undefined && head.size !== entry.bytes) {
        return {
          field: `${entry.field}.bytes`,
          reason: `${entry.file} of ${version} is stored with ${head.size} bytes, ${MANIFEST_FILE} says ${entry.bytes}`,
        };
      }
      const stored = await storedSha256(bucket, key, head);
      if (stored === undefined || stored === entry.sha256) return undefined;
      return {
        field: `${entry.field}.sha256`,
        reason: `${entry.file} of ${version} is stored with sha256 ${stored.slice(0, 12)}…, ${MANIFEST_FILE} names ${entry.sha256.slice(0, 12)}…`,
      };
    }),
  );
  return found.find((refusal) => refusal !== undefined);
}

/**
 * Creates the object at `key` only where none exists (R2 `onlyIf: { etagDoesNotMatch: '*' }`, decided
 * by R2 atomically), with its sha256 (R2 checks the bytes against it and keeps it): `created`, or what
 * is there instead, the `same` bytes (a retry) or `other` ones.
 */
async function createOnce(
  bucket: R2Bucket,
  key: string,
  bytes: Uint8Array,
  sha256: string,
): Promise<'created' | 'same' | 'other'> {
  // Another round only when the object went between our attempt and our look at it (a refused file
  // removed again, see storeBundleFile, or a removal by hand).
  for (let round = 0; round < 3; round += 1) {
    if (await bucket.put(key, bytes, { onlyIf: { etagDoesNotMatch: '*' }, sha256 })) return 'created';
    const stored = await storedSha256(bucket, key);
    if (stored !== undefined) return stored === sha256 ? 'same' : 'other';
  }
  throw new Error(`${key} could neither be created nor read`);
}

/** How storing one file of a version ended: stored (now, or the same bytes were already), or refused. */
export type StoreFileOutcome = { ok: true } | ({ ok: false; invalid?: true } & Refusal);

/**
 * Stores one file of a bundle version, never replacing what a version holds. The version is part of
 * every cache key and isolates load a published version at their own time, so a file that changed
 * under a name would mix two bundles' answers, or make every isolate but the one that activated it
 * refuse it. Publishers can race (two CI jobs, a retry and the run it retries), so the checks are the
 * store's own, not a read followed by a write:
 * - each object is created only where none exists (createOnce). Of two uploads at once, one is
 *   stored; the other finds it and is `ok` only if its bytes are the same (a retry);
 * - a version's manifest and the files it names must agree, and whichever comes second is refused at
 *   its own upload, naming what differs: a file whose bytes the stored manifest does not name (even
 *   where that file is not stored yet), or a manifest naming another size or sha256 for a file the
 *   version holds (it could never be activated, and it would fix a version no upload can complete).
 *   Of a file and a manifest created at once, each looks for the other once it is written, and one
 *   that finds a disagreeing one removes itself again and is refused (both may be);
 * - a manifest that differs from the stored one only in `createdAt` is the same bundle trained again
 *   (the trainer's version is a hash of the files): accepted like the same bytes, the stored one kept.
 * So a file the caller is told is stored holds its bytes, and once an activation has verified a
 * version against its manifest, nothing in the store can make it differ from what was verified.
 * Cloudflare KV could not do this: it has no conditional write (the last write wins).
 * Throws a ModelStoreError when the store fails on the way (nothing is said about the file then).
 */
export async function storeBundleFile(
  bucket: R2Bucket,
  version: string,
  file: string,
  bytes: Uint8Array,
): Promise<StoreFileOutcome> {
  // Every R2 call below is the store's: one that fails is a ModelStoreError naming this upload.
  return storeStep(`storing ${file} of bundle ${version}`, () =>
    file === MANIFEST_FILE
      ? storeManifest(bucket, version, bytes)
      : storeNamedFile(bucket, version, file, bytes),
  );
}

async function storeNamedFile(
  bucket: R2Bucket,
  version: string,
  file: string,
  bytes: Uint8Array,
): Promise<StoreFileOutcome> {
  const key = bundleObjectKey(version, file);
  const sha256 = await sha256Hex(bytes);
  const namedBy = (named: string) => ({
    ok: false as const,
    field: 'file',
    reason: `${MANIFEST_FILE} of ${version} names ${file} with sha256 ${named.slice(0, 12)}…, these bytes have ${sha256.slice(0, 12)}…`,
  });
  const named = await manifestSha256(bucket, version, file);
  if (named !== undefined && named !== sha256) return namedBy(named);
  const stored = await createOnce(bucket, key, bytes, sha256);
  if (stored === 'other')
    return { ok: false, field: 'file', reason: `${file} of ${version} is stored with other bytes` };
  if (stored === 'created' && named === undefined) {
    // A manifest stored meanwhile (its own look found this file not there yet).
    const namedNow = await manifestSha256(bucket, version, file);
    if (namedNow !== undefined && namedNow !== sha256) {
      await bucket.delete(key);
      return namedBy(namedNow);
    }
  }
  return { ok: true };
}

async function storeManifest(
  bucket: R2Bucket,
  version: string,
  bytes: Uint8Array,
): Promise<StoreFileOutcome> {
  const key = bundleObjectKey(version, MANIFEST_FILE);
  // Checked before anything is stored: a stored manifest is never replaced, so one no activation can
  // accept (not JSON, not a manifest, another version's) would use up the version's name for good.
  let manifest: Manifest;
  try {
    manifest = await readManifest({
      origin: 'store',
      read: async (file) => (file === MANIFEST_FILE ? bytes : undefined),
    });
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    return { ok: false, invalid: true, field: 'body', reason: error.problems.join('; ') };
  }
  if (manifest.version !== version) {
    return {
      ok: false,
      invalid: true,
      field: 'manifest.version',
      reason: `names version ${manifest.version}, but it is uploaded as ${version}`,
    };
  }
  const mismatch = await storedMismatch(bucket, version, manifest);
  if (mismatch) return { ok: false, ...mismatch };
  const stored = await createOnce(bucket, key, bytes, await sha256Hex(bytes));
  if (stored === 'other') {
    // The trainer names a bundle by its content, so training the same data again gives the same version
    // with a manifest that differs only in `createdAt`: the bundle already stored, not another one.
    if (await sameBundleAsStored(bucket, key, bytes)) return { ok: true };
    return { ok: false, field: 'file', reason: `${MANIFEST_FILE} of ${version} is stored with other bytes` };
  }
  if (stored === 'created') {
    // A file stored meanwhile (its own look found no manifest yet).
    const late = await storedMismatch(bucket, version, manifest);
    if (late) {
      await bucket.delete(key);
      return { ok: false, ...late };
    }
  }
  return { ok: true };
}

/**
 * Whether `bytes` is the stored manifest at `key` but for its `createdAt` (when the bundle was
 * written): every other field, every file's name, size and sha256 included, the same. The stored
 * manifest stays as it is.
 */
async function sameBundleAsStored(bucket: R2Bucket, key: string, bytes: Uint8Array): Promise<boolean> {
  const object = await bucket.get(key);
  if (!object) return false;
  const withoutCreatedAt = (text: string): string | undefined => {
    try {
      const json = JSON.parse(text) as unknown;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
      const { createdAt: _createdAt, ...rest } = json as Record<string, unknown>;
      return canonicalJson(rest);
    } catch {
      return undefined;
    }
  };
  const stored = withoutCreatedAt(await object.text());
  return stored !== undefined && stored === withoutCreatedAt(new TextDecoder().decode(bytes));
}
