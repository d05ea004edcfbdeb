import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES } from '../../contracts/manifest';
import { readBundleFolder } from '../../scripts/models-publish';
import { buildFixtureBundle, writeFixtureBundle } from '../support/fixture-bundle';

describe('models:publish refuses a bundle the worker would refuse for its size, before uploading', () => {
  it('models adding up to more than MAX_BUNDLE_BYTES (every file matching its manifest entry)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-publish-size-'));
    await writeFixtureBundle(buildFixtureBundle({ version: 'too-big-1' }), dir);
    const big = new Uint8Array(MAX_BUNDLE_BYTES + 1);
    await writeFile(path.join(dir, 'similar.onnx'), big);
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      models: Array<{ file: string; bytes: number; sha256: string }>;
    };
    for (const model of manifest.models) {
      if (model.file !== 'similar.onnx') continue;
      model.bytes = big.byteLength;
      model.sha256 = createHash('sha256').update(big).digest('hex');
    }
    await writeFile(manifestPath, JSON.stringify(manifest));
    try {
      // Not `rejects`: a folder that loads would be printed, 32 MB of it, in the failure message.
      const outcome = await readBundleFolder(dir).then(
        () => 'accepted',
        (error: unknown) => String(error),
      );
      expect(outcome).toMatch(/PublishError: the models add up to \d+ bytes .*at most 33554432/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
