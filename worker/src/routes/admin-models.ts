import { Hono, type MiddlewareHandler } from 'hono';
import { declaredModelBytes, MAX_BUNDLE_BYTES } from '../../../contracts/manifest';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { log } from '../log';
import { adminAuth } from '../middleware/admin-auth';
import { limitBodySize } from '../middleware/body-size-limit';
import {
  activateStoredBundle,
  BUNDLE_FILE_PATTERN,
  BUNDLE_VERSION_PATTERN,
  bundleObjectKey,
  getBundle,
  readPointer,
} from '../models';
import { readManifest } from '../models/bundle';
import {
  ModelStoreError,
  pointerEtag,
  storeBundleFile,
  storeBundleSource,
  writePointer,
} from '../models/model-store';
import type { PublishActivation } from '../models/registry';
import { redactSecrets } from '../redact';

/** Largest single bundle file accepted: no file can be larger than a whole bundle may be. */
export const MAX_MODEL_FILE_BYTES = MAX_BUNDLE_BYTES;

function bucketOf(env: AppEnv['Bindings']): R2Bucket {
  if (!env.MODEL_STORE)
    throw new ApiError(503, 'model_store_missing', 'No MODEL_STORE R2 binding is configured');
  return env.MODEL_STORE;
}

/**
 * 503 model_store_unavailable: the store failed (an R2 error, a read past its budget, a `current.json`
 * that is not a pointer); `details` give the cause (`field: MODEL_STORE`). Not the bundle's fault:
 * the same call may succeed later. The cause is the binding's own message (R2 bindings hold no
 * credentials; a URL's userinfo is dropped all the same) or ours; a `current.json` is never quoted.
 */
function storeUnavailable(message: string, reason: string): ApiError {
  return new ApiError(503, 'model_store_unavailable', message, [
    { field: 'MODEL_STORE', reason: redactSecrets(reason) },
  ]);
}

/** `work`, with a ModelStoreError answered as 503 model_store_unavailable (`message`) instead of a bare 500. */
async function fromStore<T>(message: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ModelStoreError) throw storeUnavailable(message, error.message);
    throw error;
  }
}

function checkVersion(version: string): void {
  if (!BUNDLE_VERSION_PATTERN.test(version)) {
    throw new ApiError(400, 'invalid_request', 'Invalid bundle version', [
      { field: 'version', reason: 'must be 1-64 letters, digits, _ . -' },
    ]);
  }
}

/**
 * 413 before anything is loaded when the stored bundle is over MAX_BUNDLE_BYTES (its manifest's model
 * `bytes` plus the stored catalogue): loading it could exhaust the isolate's memory instead of being
 * refused. A manifest that cannot be read is left to the activation, which says why.
 */
async function refuseOversizedBundle(bucket: R2Bucket, version: string): Promise<void> {
  let models: number;
  let catalogue: number;
  try {
    const manifest = await readManifest(storeBundleSource(bucket, version));
    models = declaredModelBytes(manifest);
    catalogue = (await bucket.head(bundleObjectKey(version, manifest.catalogue.file)))?.size ?? 0;
  } catch {
    return;
  }
  if (models + catalogue > MAX_BUNDLE_BYTES) {
    throw new ApiError(413, 'bundle_too_large', `Bundle ${version} is over ${MAX_BUNDLE_BYTES} bytes`, [
      {
        field: 'manifest.models.bytes',
        reason: `the models (${models} bytes) and catalogue.json (${catalogue}) add up to more than ${MAX_BUNDLE_BYTES} bytes`,
      },
    ]);
  }
}

/**
 * The activation's move of `current.json` to `version`: only from the pointer `expected` (its etag
 * when the activation started, null for none), so of two activations of different versions at once,
 * in any isolates, the one that moves it first wins and the other is told (`moved`), instead of the
 * one that finished loading last overwriting it and both answering 200. A pointer moved meanwhile to
 * this same version (another publisher of the same bundle) is this activation's work done.
 */
function movePointerFrom(bucket: R2Bucket, version: string, expected: string | null): PublishActivation {
  return async () => {
    const written = await writePointer(bucket, version, expected);
    if (written) return { published: written };
    const now = await readPointer(bucket);
    if (now?.version === version) return { published: now };
    return {
      moved: `current.json now names ${now?.version ?? 'nothing'}, published by another activation after this one started`,
    };
  };
}

/**
 * 411 for an upload without Content-Length (a chunked body). Such a body reaches the route only through
 * bodyLimit's own growing buffer, then is copied again to be stored: near the 32 MB limit that is over
 * 60 MB of a 128 MB isolate. `models:publish` always sends the length; a file's size is known up front.
 */
const requireContentLength: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header('content-length') === undefined) {
    throw new ApiError(411, 'length_required', 'Send the file with a Content-Length header', [
      { field: 'content-length', reason: 'required: a chunked upload is refused' },
    ]);
  }
  await next();
};
/**
 * Publishing model bundles without a redeploy (`npm run models:publish -- DIR` drives these):
 * - `PUT /admin/models/:version/:file` stores one file of a bundle in the model store (409 when the
 *   version already holds that file with other bytes, or its stored manifest names other bytes for it,
 *   however many publishers race: see storeBundleFile);
 * - `POST /admin/models/:version/activate` loads that bundle here, verifying every checksum and
 *   creating its sessions, and only then moves `current.json` to it (422 with the problems otherwise;
 *   503 model_store_unavailable when the store failed on the way, which says nothing of the bundle),
 *   provided no other activation moved it since this one started (409 pointer_moved otherwise: see
 *   movePointerFrom). No stored file of a version changes after that (storeBundleFile), so every
 *   isolate that follows the pointer loads what was verified here, whatever other publishers are
 *   still uploading;
 * - `GET /admin/models` shows the published pointer and what this isolate serves.
 * A store that fails (R2 error, a read past its budget, a `current.json` that is no pointer) is
 * `503 model_store_unavailable` naming the cause on every route, never a bare 500.
 */
export const adminModels = new Hono<AppEnv>()
  .use(adminAuth())
  .get('/', async (c) => {
    // With the request's waitUntil: a first load this call starts is awaited by every later request
    // of the isolate, and must not be cancelled with this one if its client goes away mid-load.
    const bundle = await getBundle(c.env, c.executionCtx);
    const pointer = c.env.MODEL_STORE
      ? await fromStore('The model store could not be read', readPointer(c.env.MODEL_STORE))
      : undefined;
    return c.json({
      published: pointer ?? null,
      serving: bundle
        ? { version: bundle.version, origin: bundle.origin, models: Object.keys(bundle.models) }
        : null,
    });
  })
  .put('/:version/:file', requireContentLength, limitBodySize(MAX_MODEL_FILE_BYTES), async (c) => {
    const { version, file } = c.req.param();
    checkVersion(version);
    if (!BUNDLE_FILE_PATTERN.test(file)) {
      throw new ApiError(400, 'invalid_request', 'Invalid file name', [
        { field: 'file', reason: 'must be a .json or .onnx file name (letters, digits, _ . -)' },
      ]);
    }
    // Over MAX_MODEL_FILE_BYTES never gets here (413 payload_too_large, on the header or the bytes read).
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength === 0) {
      throw new ApiError(400, 'invalid_request', 'Empty file', [
        { field: 'body', reason: `must hold 1 to ${MAX_MODEL_FILE_BYTES} bytes` },
      ]);
    }
    const stored = await fromStore(
      `The model store failed while storing ${file} of bundle ${version}; the file was not refused: send it again`,
      storeBundleFile(bucketOf(c.env), version, file, new Uint8Array(bytes)),
    );
    if (!stored.ok && stored.invalid) {
      throw new ApiError(
        400,
        'invalid_request',
        `Not a manifest that bundle ${version} can be published with`,
        [{ field: stored.field, reason: stored.reason }],
      );
    }
    if (!stored.ok) {
      const what =
        stored.field === 'file'
          ? `already has a different ${file}`
          : `holds a file that this ${file} describes otherwise`;
      throw new ApiError(
        409,
        'version_exists',
        `Bundle ${version} ${what}: publish the changed bundle under a new version`,
        [{ field: stored.field, reason: stored.reason }],
      );
    }
    // The same bytes again (a retry, or another publisher of the same bundle) are a 201 too.
    return c.json({ stored: bundleObjectKey(version, file), bytes: bytes.byteLength }, 201);
  })
  .post('/:version/activate', async (c) => {
    const { version } = c.req.param();
    checkVersion(version);
    const bucket = bucketOf(c.env);
    // Read before anything is loaded: what this activation may replace.
    const expected = await fromStore(
      `The model store could not be read before activating bundle ${version}; nothing was loaded: activate again`,
      pointerEtag(bucket),
    );
    await refuseOversizedBundle(bucket, version);
    const outcome = await activateStoredBundle(
      bucket,
      version,
      movePointerFrom(bucket, version, expected),
      c.executionCtx,
    );
    if (!outcome.ok && outcome.superseded) {
      // Another activation was asked for while this one loaded, and stands: the pointer is not moved.
      throw new ApiError(
        409,
        'activation_superseded',
        `Bundle ${version} loaded, but a later activation overtook it; the pointer was not moved`,
        [{ field: 'version', reason: outcome.problems[0] ?? 'overtaken by a later activation' }],
      );
    }
    if (!outcome.ok && outcome.pointerMoved) {
      throw new ApiError(
        409,
        'pointer_moved',
        `Bundle ${version} loaded, but another activation moved current.json after this one started; the pointer was not moved. Activate again if ${version} should be the one served`,
        [{ field: 'version', reason: outcome.problems[0] ?? 'current.json was moved by another activation' }],
      );
    }
    if (!outcome.ok && outcome.storeFailed) {
      // An R2 error or timeout, or the pointer's move failing: nothing is known against the bundle.
      throw storeUnavailable(
        `The model store failed while activating bundle ${version}; it was not refused, and the previous one is still served: activate again`,
        outcome.problems[0] ?? 'the model store failed',
      );
    }
    if (!outcome.ok && outcome.refused) {
      throw new ApiError(
        422,
        'bundle_refused',
        `Bundle ${version} was refused; the previous one is still served`,
        outcome.problems.map((reason) => ({ reason })),
      );
    }
    if (!outcome.ok) {
      // Neither the bundle's content nor the store: an unexpected failure, not a verdict on the bundle.
      throw new ApiError(
        500,
        'internal_error',
        `Bundle ${version} could not be activated (an unexpected failure, not a refusal); the previous one is still served`,
        outcome.problems.map((reason) => ({ reason })),
      );
    }
    log('info', 'model_bundle_published', { version });
    // `published` is always there: this route's activations run movePointerFrom (or share one that did).
    return c.json({ published: outcome.published ?? null, models: Object.keys(outcome.bundle.models) });
  });
