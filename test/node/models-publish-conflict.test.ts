/**
 * What `models:publish` prints when its activation loses a race to another publisher: the worker's
 * answers are replayed by a small HTTP server (a real race against `wrangler dev` cannot be timed from
 * here; the worker's side is test/worker/admin-models-concurrency.integration.test.ts).
 */

import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishError, publishBundle } from '../../scripts/models-publish';
import { buildFixtureBundle, writeFixtureBundle } from '../support/fixture-bundle';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A worker that stores every upload and answers the activation with `status` and `error`. */
async function workerAnswering(status: number, error: object): Promise<string> {
  const worker = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const activation = request.url?.endsWith('/activate');
      response.writeHead(activation ? status : 201, { 'content-type': 'application/json' });
      response.end(JSON.stringify(activation ? { error } : { stored: request.url }));
    });
  });
  server = worker;
  await new Promise<void>((resolve) => worker.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(worker.address() as AddressInfo).port}`;
}

async function bundleDir(version: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-publish-conflict-'));
  await writeFixtureBundle(buildFixtureBundle({ version }), dir);
  return dir;
}

describe('models:publish when another activation moved current.json first', () => {
  it('says the version is not the one served and that running it again publishes it', async () => {
    const url = await workerAnswering(409, {
      code: 'pointer_moved',
      message: 'Bundle race-2 loaded, but another activation moved current.json after this one started',
      details: [
        { field: 'version', reason: 'current.json now names race-1, published by another activation' },
      ],
    });
    const publishing = publishBundle(await bundleDir('race-2'), { url, adminToken: 'token' });
    await expect(publishing).rejects.toThrow(PublishError);
    await expect(publishing).rejects.toThrow(
      /race-2 is NOT the version served\. Run models:publish again if race-2 should win \(409 pointer_moved\)[\s\S]*version: current\.json now names race-1/,
    );
  }, 60_000);

  it('a model store that failed is not reported as a refusal: it says so and to run it again', async () => {
    const url = await workerAnswering(503, {
      code: 'model_store_unavailable',
      message:
        'The model store failed while activating bundle race-4; it was not refused, and the previous one is still served: activate again',
      details: [
        { field: 'MODEL_STORE', reason: 'R2 internal error (10001) (reading similar.onnx of bundle race-4)' },
      ],
    });
    const publishing = publishBundle(await bundleDir('race-4'), { url, adminToken: 'token' });
    await expect(publishing).rejects.toThrow(PublishError);
    await expect(publishing).rejects.toThrow(
      /^the worker could not activate bundle race-4, it did not refuse it \(503 model_store_unavailable\); the previous bundle is still served\. Run models:publish again:[\s\S]*MODEL_STORE: R2 internal error/,
    );
    await expect(publishing).rejects.not.toThrow(/refused bundle/);
  }, 60_000);

  it('other refusals keep their plain message', async () => {
    const url = await workerAnswering(422, {
      code: 'bundle_refused',
      message: 'Bundle race-3 was refused; the previous one is still served',
      details: [{ reason: 'similar.onnx is missing' }],
    });
    await expect(publishBundle(await bundleDir('race-3'), { url, adminToken: 'token' })).rejects.toThrow(
      /the worker refused bundle race-3 \(422\): Bundle race-3 was refused[\s\S]*similar\.onnx is missing/,
    );
  }, 60_000);
});
