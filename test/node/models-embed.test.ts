import { copyFile, mkdir, mkdtemp, readFile, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedModuleSource, GENERATED_MODULE } from '../../scripts/models-embed';
import { buildFixtureBundle, writeFixtureBundle } from '../support/fixture-bundle';
import { runScript } from '../support/trainer-cli';

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

describe('scripts/models-embed.ts run as a command', () => {
  /**
   * A copy of the script beside a worker/src/models/ of its own holding a generated module, so a run
   * writes there, never into the repository's worker.
   */
  async function sandbox(): Promise<{ script: string; generated: string; root: string }> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'rx-embed-cli-'));
    await mkdir(path.join(root, 'scripts'));
    await mkdir(path.join(root, 'worker/src/models'), { recursive: true });
    for (const file of ['models-embed.ts', 'is-main.ts'])
      await copyFile(path.resolve('scripts', file), path.join(root, 'scripts', file));
    await symlink(path.resolve('contracts'), path.join(root, 'contracts'));
    const generated = path.join(root, 'worker/src/models/default-bundle.generated.ts');
    await copyFile(GENERATED_MODULE, generated);
    return { script: path.join(root, 'scripts/models-embed.ts'), generated, root };
  }

  function run(script: string, args: string[], cwd: string) {
    return runScript(script, args, { cwd });
  }

  it('a folder given that does not exist, or holds no bundle, is an error and the module is left as it was', async () => {
    const { script, generated, root } = await sandbox();
    const before = await readFile(generated, 'utf8');
    const empty = await mkdtemp(path.join(os.tmpdir(), 'rx-embed-empty-'));
    const [typo, notBundle, help] = await Promise.all([
      run(script, ['models/defualt'], root),
      run(script, [empty], root),
      run(script, ['--help'], root),
    ]);
    // Before, each wrote the "no default bundle" module in place of the embedded bundle and said "wrote".
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(
      'models-embed: models/defualt does not exist: worker/src/models/default-bundle.generated.ts left as it was\n',
    );
    expect(notBundle.code).toBe(1);
    expect(notBundle.stderr).toContain('has no manifest.json');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: tsx scripts\/models-embed\.ts \[DIR\]/);
    expect(await readFile(generated, 'utf8')).toBe(before);
  }, 30_000);

  it('without a folder, a checkout with no models/default still gets the module without a bundle', async () => {
    const { script, generated, root } = await sandbox();
    const result = await run(script, [], root);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(generated, 'utf8')).toContain(
      'defaultBundleFiles: Readonly<Record<string, unknown>> | undefined = undefined',
    );
  }, 30_000);
});
