import { z } from 'zod';
import type { BundleSource } from './bundle';

/**
 * Layout of published bundles in the model store (the `MODEL_STORE` R2 bucket):
 * `bundles/{version}/{file}` for every file of a bundle folder, and `current.json`
 * (`{ "version", "publishedAt" }`) naming the bundle to serve. Workers read the small pointer at most
 * every `MODEL_POLL_SECONDS` and switch by version, so publishing needs no redeploy.
 */
export const POINTER_KEY = 'current.json';

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
