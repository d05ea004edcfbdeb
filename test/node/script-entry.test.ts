/**
 * The operator scripts run their main() however they are started: from a folder whose name has a
 * space (its URL spells it %20) and through a symlinked folder (Node loads the entry module from its
 * real path, process.argv[1] is the path as typed). A script that takes itself for imported does
 * nothing and exits 0: a cron job draining the dead-letter queue would see success while nothing is
 * replayed. Each run here must show the script's own behaviour (its usage error, or its output file).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureBundle, writeFixtureBundle } from '../support/fixture-bundle';
import { type CliResult, runScript } from '../support/trainer-cli';

const repo = path.resolve('.');
let tmp: string;
/** Folders that lead to the real scripts/: one with a space in its name, one through a symlink. */
let entries: Record<string, string>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rx-entry-'));
  const spaced = path.join(tmp, 'ops scripts');
  await mkdir(spaced);
  await symlink(path.join(repo, 'scripts'), path.join(spaced, 'scripts'));
  await symlink(repo, path.join(tmp, 'repo-link'));
  entries = {
    'a symlink in a folder with a space': path.join(spaced, 'scripts'),
    'a symlinked folder': path.join(tmp, 'repo-link', 'scripts'),
  };
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs `script` from the temporary folder, as an operator in another directory would. */
function run(script: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return runScript(script, args, { cwd: tmp, env });
}

describe.each(['a symlink in a folder with a space', 'a symlinked folder'])(
  'scripts run from %s',
  (where) => {
    it('replay-dlq.ts asks for its credentials and exits 1', async () => {
      const result = await run(path.join(entries[where] ?? '', 'replay-dlq.ts'), [], {
        CLOUDFLARE_ACCOUNT_ID: '',
        CLOUDFLARE_API_TOKEN: '',
      });
      expect(result.stderr).toContain('Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN');
      expect(result.code).toBe(1);
    }, 30_000);

    it('models-publish.ts names what is missing and exits 2', async () => {
      const result = await run(path.join(entries[where] ?? '', 'models-publish.ts'), [], {
        ADMIN_TOKEN: '',
        RX_WORKER_URL: '',
      });
      expect(result.stderr).toContain('models:publish: missing the bundle folder');
      expect(result.code).toBe(2);
    }, 30_000);
  },
);

it('models-embed.ts writes its module when run from a symlinked folder with a space in its path', async () => {
  // A copy of the script beside a worker/src/models/ of its own, so the run writes there, not into the repo.
  const tree = path.join(tmp, 'embed tree');
  await mkdir(path.join(tree, 'scripts'), { recursive: true });
  await mkdir(path.join(tree, 'worker/src/models'), { recursive: true });
  for (const file of ['models-embed.ts', 'is-main.ts'])
    await copyFile(path.join(repo, 'scripts', file), path.join(tree, 'scripts', file));
  await symlink(path.join(repo, 'contracts'), path.join(tree, 'contracts'));
  await symlink(tree, path.join(tmp, 'embed-link'));
  const bundle = path.join(tmp, 'bundle');
  await writeFixtureBundle(buildFixtureBundle({ version: 'entry-1' }), bundle);

  const result = await run(path.join(tmp, 'embed-link', 'scripts', 'models-embed.ts'), [bundle], {});
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).toMatch(/^wrote /);
  const written = await readFile(path.join(tree, 'worker/src/models/default-bundle.generated.ts'), 'utf8');
  expect(written).toContain("'manifest.json': file0,");
}, 30_000);
