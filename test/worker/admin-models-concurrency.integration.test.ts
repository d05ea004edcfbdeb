/**
 * Two publishers of one bundle version at once (two CI jobs, a retry racing the original run,
 * `models:publish` from two laptops), against the real MODEL_STORE R2 binding of the test's workerd.
 * The bucket handed to a request is that binding, with some of its `put`s held back: the upload is
 * caught between its checks and its write, as a slow upload of a large file is in production.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { BundleRegistry } from '../../worker/src/models';
import { verifyBundle } from '../../worker/src/models/bundle';
import {
  pointerEtag,
  readPointer,
  storeBundleSource,
  writePointer,
} from '../../worker/src/models/model-store';
import { ADMIN_TOKEN, call, edgeEnv, provided } from './edge-api-support';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const store = (env as unknown as { MODEL_STORE: R2Bucket }).MODEL_STORE;

function bytesOf(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

/** Fixture bundle v1's files, its manifest naming `version` (as a bundle trained under that name has). */
function bundleAs(version: string): Array<[string, Uint8Array]> {
  return Object.entries(provided().bundles.v1).map(([file, base64]) => {
    if (file !== 'manifest.json') return [file, bytesOf(base64)];
    const manifest = JSON.parse(new TextDecoder().decode(bytesOf(base64))) as { version: string };
    return [file, new TextEncoder().encode(JSON.stringify({ ...manifest, version }))];
  });
}

/** A manifest whose second model carries the first one's name. */
function duplicateModelName(manifestBytes: Uint8Array): Uint8Array {
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as { models: Array<{ name: string }> };
  const [first, second] = manifest.models;
  if (!first || !second) throw new Error('the fixture bundle has fewer than two models');
  second.name = first.name;
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** The same bytes with one bit flipped: another training run's file of the same name. */
function other(bytes: Uint8Array): Uint8Array {
  const changed = bytes.slice();
  changed[changed.length - 2] = (changed[changed.length - 2] ?? 0) ^ 1;
  return changed;
}

function put(version: string, file: string, body: Uint8Array, bucket?: R2Bucket) {
  return call(
    `/admin/models/${version}/${file}`,
    { method: 'PUT', headers: auth, body },
    bucket ? { MODEL_STORE: bucket } : {},
  );
}

async function stored(key: string): Promise<Uint8Array | undefined> {
  const object = await store.get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
}

/**
 * The real bucket, whose `put`s (or `get`s) of `key` wait until `release()` (or, with `together`, until
 * that many of them have been asked for). `reached` settles when the first such call is asked for.
 */
function holdingPuts(key: string, together = Number.POSITIVE_INFINITY, method: 'put' | 'get' = 'put') {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reachedOnce = () => {};
  const reached = new Promise<void>((resolve) => {
    reachedOnce = resolve;
  });
  let asked = 0;
  const bucket = new Proxy(store, {
    get(target, property) {
      if (property === method) {
        return async (...args: [string, ...unknown[]]) => {
          if (args[0] === key) {
            reachedOnce();
            asked += 1;
            if (asked >= together) release();
            await released;
          }
          return (target[method] as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { bucket, reached, release };
}

async function errorCode(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { error?: { code?: string } }).error?.code;
}

describe('two uploads of one file of one version at the same time', () => {
  it('with other bytes: one is stored and answered 201, the other 409 version_exists (never both 201)', async () => {
    const catalogue = bytesOf(provided().bundles.v1['catalogue.json'] ?? '');
    const mine = catalogue;
    const theirs = other(catalogue);
    // Both uploads have made their checks (nothing stored yet) before either writes.
    const held = holdingPuts('bundles/race-file/catalogue.json', 2);
    const [first, second] = await Promise.all([
      put('race-file', 'catalogue.json', mine, held.bucket),
      put('race-file', 'catalogue.json', theirs, held.bucket),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([201, 409]);
    const loser = first.status === 409 ? first : second;
    expect(await errorCode(loser)).toBe('version_exists');
    // What a 201 said was stored is what is stored.
    expect(await stored('bundles/race-file/catalogue.json')).toEqual(first.status === 201 ? mine : theirs);
  });

  it('with the same bytes (a retry racing the original): both 201, stored once', async () => {
    const catalogue = bytesOf(provided().bundles.v1['catalogue.json'] ?? '');
    const held = holdingPuts('bundles/race-retry/catalogue.json', 2);
    const answers = await Promise.all([
      put('race-retry', 'catalogue.json', catalogue, held.bucket),
      put('race-retry', 'catalogue.json', catalogue, held.bucket),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([201, 201]);
    expect(await stored('bundles/race-retry/catalogue.json')).toEqual(catalogue);
  });
});

describe('an upload still in flight when another publisher activates the same version', () => {
  it('cannot change the files of the activated version: other isolates load what was verified', async () => {
    const version = 'race-live';
    const files = bundleAs(version);
    const catalogue = files.find(([file]) => file === 'catalogue.json')?.[1] ?? new Uint8Array();
    // Publisher B's upload of its own catalogue.json has made its checks and is writing (slowly)...
    const held = holdingPuts(`bundles/${version}/catalogue.json`);
    const late = put(version, 'catalogue.json', other(catalogue), held.bucket);
    await held.reached;
    // ...while publisher A uploads the whole bundle and activates it.
    for (const [file, bytes] of files) expect((await put(version, file, bytes)).status).toBe(201);
    const activation = await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
    expect(activation.status).toBe(200);
    expect((await readPointer(store))?.version).toBe(version);

    // B's write lands after the activation.
    held.release();
    const response = await late;
    expect(response.status).toBe(409);
    expect(await errorCode(response)).toBe('version_exists');
    // Every other isolate loads the published version from the store: it must be what A activated.
    expect(await stored(`bundles/${version}/catalogue.json`)).toEqual(catalogue);
    await expect(verifyBundle(storeBundleSource(store, version))).resolves.toMatchObject({ version });
    // Before, a fresh isolate refused the published version (catalogue.json sha256 mismatch): models down.
    const freshIsolate = new BundleRegistry();
    expect((await freshIsolate.bundle(edgeEnv({ DEMO_BUNDLE: 'false' })))?.version).toBe(version);
  }, 60_000);
});

describe("a file of a version whose manifest is stored is fixed by the manifest's sha256", () => {
  it('409 version_exists for bytes the stored manifest does not name, even before the file is stored; its own bytes 201', async () => {
    const version = 'race-manifest-first';
    const files = new Map(bundleAs(version));
    // Another publisher's client sent its manifest first (models:publish sends it last).
    expect((await put(version, 'manifest.json', files.get('manifest.json') ?? new Uint8Array())).status).toBe(
      201,
    );
    const similar = files.get('similar.onnx') ?? new Uint8Array();
    const refused = await put(version, 'similar.onnx', other(similar));
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as {
      error: { code: string; details: Array<{ field: string; reason: string }> };
    };
    expect(body.error.code).toBe('version_exists');
    expect(body.error.details[0]).toMatchObject({
      field: 'file',
      reason: expect.stringContaining('manifest.json'),
    });
    expect(await store.head(`bundles/${version}/similar.onnx`)).toBeNull();
    // The manifest's own files still go in, and the version activates.
    for (const [file, bytes] of files) expect((await put(version, file, bytes)).status).toBe(201);
    const activation = await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
    expect(activation.status).toBe(200);
  }, 60_000);
});

describe('a file written while a manifest naming other bytes for it is stored', () => {
  it("is removed and refused (409), so the manifest's own file can still be stored and the version activated", async () => {
    const version = 'race-manifest-meanwhile';
    const files = new Map(bundleAs(version));
    const similar = files.get('similar.onnx') ?? new Uint8Array();
    // B's similar.onnx has found no manifest and is being written...
    const held = holdingPuts(`bundles/${version}/similar.onnx`);
    const late = put(version, 'similar.onnx', other(similar), held.bucket);
    await held.reached;
    // ...when A's manifest (naming A's similar.onnx) is stored.
    expect((await put(version, 'manifest.json', files.get('manifest.json') ?? new Uint8Array())).status).toBe(
      201,
    );
    held.release();
    const response = await late;
    expect(response.status).toBe(409);
    expect(await errorCode(response)).toBe('version_exists');
    expect(await store.head(`bundles/${version}/similar.onnx`)).toBeNull();
    // A's files go in, and the version it describes activates.
    for (const [file, bytes] of files) expect((await put(version, file, bytes)).status).toBe(201);
    const activation = await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
    expect(activation.status).toBe(200);
  }, 60_000);
});

describe('two activations of one version at the same time (a retry racing the original run)', () => {
  it('both answer 200 and the version is published: neither is "superseded" by the other', async () => {
    const version = 'race-activate';
    for (const [file, bytes] of bundleAs(version)) expect((await put(version, file, bytes)).status).toBe(201);
    const activate = () => call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
    const answers = await Promise.all([activate(), activate()]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect((await readPointer(store))?.version).toBe(version);
  }, 60_000);
});

describe('files stored before checksums were recorded', () => {
  it('are still compared by their bytes: the same 201, others 409', async () => {
    const catalogue = bytesOf(provided().bundles.v1['catalogue.json'] ?? '');
    await store.put('bundles/race-legacy/catalogue.json', catalogue);
    expect((await put('race-legacy', 'catalogue.json', catalogue)).status).toBe(201);
    const refused = await put('race-legacy', 'catalogue.json', other(catalogue));
    expect(refused.status).toBe(409);
    expect(await stored('bundles/race-legacy/catalogue.json')).toEqual(catalogue);
  });
});

describe('a manifest uploaded after a file it describes otherwise', () => {
  const manifestOf = (files: Map<string, Uint8Array>) =>
    JSON.parse(new TextDecoder().decode(files.get('manifest.json'))) as {
      models: Array<{ file: string }>;
    };

  it('is refused at its own upload (409 version_exists naming the manifest field), not at the activation', async () => {
    const cases = [
      { version: 'late-manifest-sha', change: other, property: 'sha256' },
      { version: 'late-manifest-size', change: (bytes: Uint8Array) => bytes.slice(0, -1), property: 'bytes' },
    ];
    for (const { version, change, property } of cases) {
      const files = new Map(bundleAs(version));
      const similar = files.get('similar.onnx') ?? new Uint8Array();
      const index = manifestOf(files).models.findIndex((model) => model.file === 'similar.onnx');
      // A client uploading in an order of its own stored another similar.onnx first...
      expect((await put(version, 'similar.onnx', change(similar))).status).toBe(201);
      // ...then the manifest naming the trained one: that version could never be activated.
      const refused = await put(version, 'manifest.json', files.get('manifest.json') ?? new Uint8Array());
      expect(refused.status).toBe(409);
      const body = (await refused.json()) as {
        error: { code: string; details: Array<{ field: string; reason: string }> };
      };
      expect(body.error.code).toBe('version_exists');
      expect(body.error.details[0]).toMatchObject({
        field: `manifest.models[${index}].${property}`,
        reason: expect.stringContaining('similar.onnx'),
      });
      expect(await store.head(`bundles/${version}/manifest.json`)).toBeNull();
    }
  }, 60_000);

  it('is removed and refused when the file was stored while the manifest was being written', async () => {
    const version = 'late-manifest-race';
    const files = new Map(bundleAs(version));
    const similar = files.get('similar.onnx') ?? new Uint8Array();
    // The manifest has found no similar.onnx and is being written...
    const held = holdingPuts(`bundles/${version}/manifest.json`);
    const late = put(version, 'manifest.json', files.get('manifest.json') ?? new Uint8Array(), held.bucket);
    await held.reached;
    // ...when another similar.onnx is stored (it finds no manifest yet, so it is kept).
    expect((await put(version, 'similar.onnx', other(similar))).status).toBe(201);
    held.release();
    const response = await late;
    expect(response.status).toBe(409);
    expect(await errorCode(response)).toBe('version_exists');
    expect(await store.head(`bundles/${version}/manifest.json`)).toBeNull();
  }, 60_000);

  it('that fits the stored files is stored as before', async () => {
    const version = 'late-manifest-fits';
    const files = bundleAs(version);
    for (const [file, bytes] of files) expect((await put(version, file, bytes)).status).toBe(201);
    expect(
      (await put(version, 'manifest.json', new Map(files).get('manifest.json') ?? new Uint8Array())).status,
    ).toBe(201);
  }, 60_000);
});

describe('the same bundle trained again (same version, same files, a new createdAt)', () => {
  /** The version's manifest with `change` made to its JSON. */
  function manifestWith(version: string, change: (manifest: Record<string, unknown>) => void): Uint8Array {
    const files = new Map(bundleAs(version));
    const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json'))) as Record<
      string,
      unknown
    >;
    change(manifest);
    return new TextEncoder().encode(JSON.stringify(manifest, null, 2));
  }

  it('publishes as the version already stored: 201 for every file, activation 200, the stored manifest kept', async () => {
    const version = 'retrained-same';
    const files = bundleAs(version);
    for (const [file, bytes] of files) expect((await put(version, file, bytes)).status).toBe(201);
    expect((await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth })).status).toBe(
      200,
    );
    const first = await stored(`bundles/${version}/manifest.json`);

    // The retrain's manifest: only createdAt differs (and how the JSON is laid out).
    const retrained = manifestWith(version, (manifest) => {
      manifest.createdAt = '2031-02-03T04:05:06.000Z';
    });
    for (const [file, bytes] of files) {
      const response = await put(version, file, file === 'manifest.json' ? retrained : bytes);
      // Before, the manifest was refused: 409 version_exists "publish the changed bundle under a new version".
      expect(response.status).toBe(201);
    }
    expect((await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth })).status).toBe(
      200,
    );
    expect(await stored(`bundles/${version}/manifest.json`)).toEqual(first);
    expect((await readPointer(store))?.version).toBe(version);
  }, 60_000);

  it('any other difference in the manifest is still 409 version_exists', async () => {
    const version = 'retrained-other';
    for (const [file, bytes] of bundleAs(version)) expect((await put(version, file, bytes)).status).toBe(201);
    const first = await stored(`bundles/${version}/manifest.json`);
    const changes: Array<(manifest: Record<string, unknown>) => void> = [
      (manifest) => {
        manifest.createdAt = '2031-02-03T04:05:06.000Z';
        manifest.metrics = { personal: { ndcg_at_10: 0.123 } };
      },
      (manifest) => {
        manifest.data = { ...(manifest.data as object), source: 'another-export.csv' };
      },
    ];
    for (const change of changes) {
      const refused = await put(version, 'manifest.json', manifestWith(version, change));
      expect(refused.status).toBe(409);
      expect(await errorCode(refused)).toBe('version_exists');
    }
    expect(await stored(`bundles/${version}/manifest.json`)).toEqual(first);
  }, 60_000);
});

describe('a manifest no activation could accept', () => {
  it('is refused at its upload (400 naming the field) and not stored, so the version stays publishable', async () => {
    const version = 'bad-manifest-first';
    const files = new Map(bundleAs(version));
    const good = files.get('manifest.json') ?? new Uint8Array();
    const cases: Array<[Uint8Array, string, RegExp?]> = [
      [new TextEncoder().encode('{"version": "bad-manifest-first",'), 'body'],
      [new TextEncoder().encode(JSON.stringify({ version })), 'body'],
      [
        bundleAs('another-version').find(([file]) => file === 'manifest.json')?.[1] ?? good,
        'manifest.version',
      ],
      // Two entries under one name: the second model's graph would run in the first one's place.
      [duplicateModelName(good), 'body', /models\.1\.name: name "\w+" is given to another model too/],
    ];
    for (const [bytes, field, reason] of cases) {
      const refused = await put(version, 'manifest.json', bytes);
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as {
        error: { code: string; details: Array<{ field: string; reason: string }> };
      };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.details[0]?.field).toBe(field);
      if (reason) expect(body.error.details[0]?.reason).toMatch(reason);
      expect(await store.head(`bundles/${version}/manifest.json`)).toBeNull();
    }
    // The version's name is not used up: the right bundle publishes under it.
    for (const [file, bytes] of files) expect((await put(version, file, bytes)).status).toBe(201);
    const activated = await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
    expect(activated.status).toBe(200);
  }, 60_000);
});

describe('two activations of different versions at once, in different isolates', () => {
  const activate = (version: string, bucket?: R2Bucket) =>
    call(
      `/admin/models/${version}/activate`,
      { method: 'POST', headers: auth },
      bucket ? { MODEL_STORE: bucket } : {},
    );
  async function upload(version: string) {
    for (const [file, bytes] of bundleAs(version)) expect((await put(version, file, bytes)).status).toBe(201);
  }
  /**
   * Activates `version` here, and while it loads (held at its read of similar.onnx, after it has read
   * the pointer) runs `meanwhile`: another isolate's activation landing.
   */
  async function activateWhile(version: string, meanwhile: () => Promise<void>): Promise<Response> {
    const held = holdingPuts(`bundles/${version}/similar.onnx`, Number.POSITIVE_INFINITY, 'get');
    const answer = activate(version, held.bucket);
    await held.reached;
    await meanwhile();
    held.release();
    return answer;
  }
  const served = async () =>
    (
      (await (await call('/admin/models', { headers: auth })).json()) as {
        serving: { version: string } | null;
      }
    ).serving?.version;

  it('the one asked first but finishing last does not overwrite the other: 409 pointer_moved, and it is not served', async () => {
    await upload('cas-first');
    await upload('cas-other');
    expect((await activate('cas-first')).status).toBe(200);
    await upload('cas-mine');
    const response = await activateWhile('cas-mine', async () => {
      // Another isolate's activation of cas-other moves the pointer (its own compare-and-swap).
      expect((await writePointer(store, 'cas-other', await pointerEtag(store)))?.version).toBe('cas-other');
    });
    expect(response.status).toBe(409);
    const body = (await response.json()) as {
      error: { code: string; message: string; details: Array<{ field: string; reason: string }> };
    };
    expect(body.error.code).toBe('pointer_moved');
    expect(body.error.message).toMatch(/Activate again/);
    expect(body.error.details[0]).toMatchObject({
      field: 'version',
      reason: expect.stringContaining('cas-other'),
    });
    // Before, it answered 200 and current.json named cas-mine: the other publisher's 200 was undone.
    expect((await readPointer(store))?.version).toBe('cas-other');
    expect(await served()).not.toBe('cas-mine');
    // Asked again, it wins: the pointer it starts from is the current one.
    expect((await activate('cas-mine')).status).toBe(200);
    expect((await readPointer(store))?.version).toBe('cas-mine');
  }, 60_000);

  it('the first publish of all (no current.json yet) is refused the same way when another landed first', async () => {
    await upload('cas-none-mine');
    await store.delete('current.json');
    const response = await activateWhile('cas-none-mine', async () => {
      expect((await writePointer(store, 'cas-other', null))?.version).toBe('cas-other');
    });
    expect(response.status).toBe(409);
    expect(await errorCode(response)).toBe('pointer_moved');
    expect((await readPointer(store))?.version).toBe('cas-other');
  }, 60_000);

  it('a pointer moved meanwhile to the same version (another publisher of this bundle) is a 200', async () => {
    await upload('cas-same');
    const response = await activateWhile('cas-same', async () => {
      expect((await writePointer(store, 'cas-same', await pointerEtag(store)))?.version).toBe('cas-same');
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { published: { version: string } };
    expect(body.published.version).toBe('cas-same');
    expect((await readPointer(store))?.version).toBe('cas-same');
    expect(await served()).toBe('cas-same');
  }, 60_000);
});
