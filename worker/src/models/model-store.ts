import { z } from 'zod';
import { toHex } from '../hex';
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

/** The published pointer, or undefined when nothing was published. Throws when it is unreadable. */
export async function readPointer(bucket: R2Bucket): Promise<StorePointer | undefined> {
  const object = await bucket.get(POINTER_KEY);
  if (!object) return undefined;
  const parsed = PointerSchema.safeParse(await object.json());
  if (!parsed.success)
    throw new Error(`${POINTER_KEY} is malformed: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

export async function writePointer(bucket: R2Bucket, version: string): Promise<StorePointer> {
  const pointer = { version, publishedAt: new Date().toISOString() };
  await bucket.put(POINTER_KEY, JSON.stringify(pointer), {
    httpMetadata: { contentType: 'application/json' },
  });
  return pointer;
}

/** Reads a published bundle's files from the store. */
export function storeBundleSource(bucket: R2Bucket, version: string): BundleSource {
  return {
    origin: 'store',
    async read(file) {
      if (!BUNDLE_FILE_PATTERN.test(file)) return undefined;
      const object = await bucket.get(bundleObjectKey(version, file));
      return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
    },
  };
}

/** The sha256 a version's stored manifest names for `file`; undefined when it names none or there is none to read. */
async function manifestSha256(bucket: R2Bucket, version: string, file: string): Promise<string | undefined> {
  let manifest: Awaited<ReturnType<typeof readManifest>>;
  try {
    manifest = await readManifest(storeBundleSource(bucket, version));
  } catch (error) {
    // None yet, or one no activation can accept (refused there, with the reason): it fixes no file.
    // The store failing is not "no manifest": that is the caller's error.
    if (error instanceof BundleError) return undefined;
    throw error;
  }
  if (manifest.catalogue.file === file) return manifest.catalogue.sha256;
  return manifest.models.find((model) => model.file === file)?.sha256;
}

/** The sha256 of the object at `key`, or undefined when there is none. */
async function storedSha256(bucket: R2Bucket, key: string): Promise<string | undefined> {
  const head = await bucket.head(key);
  if (!head) return undefined;
  const recorded = head.checksums.sha256;
  if (recorded) return toHex(new Uint8Array(recorded));
  // Stored before uploads recorded their sha256 (or by hand): its bytes tell.
  const object = await bucket.get(key);
  return object ? sha256Hex(await object.arrayBuffer()) : undefined;
}

/** How storing one file of a version ended: stored (now, or the same bytes were already), or refused. */
export type StoreFileOutcome = { ok: true } | { ok: false; reason: string };

/**
 * Stores one file of a bundle version, never replacing what a version holds. The version is part of
 * every cache key and isolates load a published version at their own time, so a file that changed
 * under a name would mix two bundles' answers, or make every isolate but the one that activated it
 * refuse it. Publishers can race (two CI jobs, a retry and the run it retries), so the checks are the
 * store's own, not a read followed by a write:
 * - each object is created only where none exists (R2 `onlyIf: { etagDoesNotMatch: '*' }`, decided by
 *   R2 atomically), with its sha256 (R2 checks the bytes against it and keeps it). Of two uploads at
 *   once, one is stored; the other finds it and is `ok` only if its bytes are the same (a retry);
 * - once a version's manifest is stored, it fixes the bytes of every file it names: other bytes are
 *   refused even where that file is not stored yet. A file created while a manifest naming other
 *   bytes for it was being stored is removed again and refused: it could never be activated, and it
 *   would stop the manifest's own file from being stored.
 * So a file the caller is told is stored holds its bytes, and once an activation has verified a
 * version against its manifest, nothing in the store can make it differ from what was verified.
 * Cloudflare KV could not do this: it has no conditional write (the last write wins).
 */
export async function storeBundleFile(
  bucket: R2Bucket,
  version: string,
  file: string,
  bytes: Uint8Array,
): Promise<StoreFileOutcome> {
  const key = bundleObjectKey(version, file);
  const sha256 = await sha256Hex(bytes);
  const isManifest = file === MANIFEST_FILE;
  const namedBy = (named: string) =>
    `${MANIFEST_FILE} of ${version} names ${file} with sha256 ${named.slice(0, 12)}…, these bytes have ${sha256.slice(0, 12)}…`;
  const named = isManifest ? undefined : await manifestSha256(bucket, version, file);
  if (named !== undefined && named !== sha256) return { ok: false, reason: namedBy(named) };
  // Another round only when the object went between our attempt and our look at it (a refused file
  // removed again, see above, or a removal by hand).
  for (let round = 0; round < 3; round += 1) {
    const created = await bucket.put(key, bytes, { onlyIf: { etagDoesNotMatch: '*' }, sha256 });
    if (created) {
      if (isManifest || named !== undefined) return { ok: true };
      const namedNow = await manifestSha256(bucket, version, file);
      if (namedNow !== undefined && namedNow !== sha256) {
        await bucket.delete(key);
        return { ok: false, reason: namedBy(namedNow) };
      }
      return { ok: true };
    }
    const stored = await storedSha256(bucket, key);
    if (stored === undefined) continue;
    return stored === sha256
      ? { ok: true }
      : { ok: false, reason: `${file} of ${version} is stored with other bytes` };
  }
  throw new Error(`${key} could neither be created nor read`);
}
