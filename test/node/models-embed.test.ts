import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedModuleSource, GENERATED_MODULE } from '../../scripts/models-embed';
import { buildFixtureBundle, writeFixtureBundle } from '../support/fixture-bundle';

describe('scripts/models-embed.ts', () => {
  it('the committed worker module embeds exactly the files models/default/manifest.json lists', async () => {
    const expected = await embedModuleSource(path.resolve('models/default'));
    const actual = await readFile(GENERATED_MODULE, 'utf8');
    // When this fails: run `tsx scripts/models-embed.ts` and commit worker/src/models/default-bundle.generated.ts.
    expect(actual).toBe(expected);
  });

  it('imports the manifest, the catalogue and every model file of a bundle folder', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-embed-'));
    await writeFixtureBundle(
      buildFixtureBundle({ version: 'embed-1', roles: ['similar', 'complements'] }),
      dir,
    );
    const source = await embedModuleSource(dir);
    for (const file of ['manifest.json', 'catalogue.json', 'similar.onnx', 'complements.onnx']) {
      expect(source).toContain(`/${file}';`);
      expect(source).toContain(`'${file}': file`);
    }
    expect(source).not.toContain('personal.onnx');
  });

  it('writes a module without a bundle when the folder has none', async () => {
    const source = await embedModuleSource(path.join(os.tmpdir(), 'rx-no-such-bundle'));
    expect(source).toContain('defaultBundleFiles: Readonly<Record<string, unknown>> | undefined = undefined');
  });
});
