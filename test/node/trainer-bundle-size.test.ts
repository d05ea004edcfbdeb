/**
 * The bundle size check before training (checkPlannedBundleSize): the --rank it names must give a
 * bundle that fits. The limit is injected (maxBundleBytes) so that a tiny input can stand for a shop
 * whose bundle is near the 32 MiB a worker takes.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assembleBundle, BundleTooLargeError } from '../../trainer/bundle/write-bundle';
import { type TrainOptions, trainBundle } from '../../trainer/pipeline/train';

/** MovieLens-format ratings: 60 users over 48 items in 4 taste groups. */
function ratings(): string {
  const lines: string[] = [];
  for (let u = 1; u <= 60; u++)
    for (let i = 1; i <= 48; i++)
      if (i % 4 === u % 4 || (u * 7 + i * 3) % 11 === 0)
        lines.push(`${u}\t${i}\t4\t${880000000 + u * 100 + i}`);
  return `${lines.join('\n')}\n`;
}

/** The bytes a worker counts: the models and catalogue.json (not the manifest). */
function bundleBytes(contents: Parameters<typeof assembleBundle>[0]): number {
  const { files } = assembleBundle(contents);
  return [...files]
    .filter(([name]) => name !== 'manifest.json')
    .reduce((sum, [, f]) => sum + f.byteLength, 0);
}

let input = '';

beforeAll(async () => {
  input = path.join(await mkdtemp(path.join(tmpdir(), 'rx-bundle-size-')), 'u.data');
  await writeFile(input, ratings());
});

describe('train: the bundle size check before training', { timeout: 120_000 }, () => {
  it.each(['item-item', 'autoencoder'] as const)(
    '--personal %s: the --rank it names trains a bundle under the limit',
    async (personal) => {
      // Past 10 items the similar and complements graphs are factorised, as past 1,000 in a real run.
      const base: TrainOptions = {
        format: 'movielens',
        input,
        personal,
        hidden: 8,
        epochs: 1,
        maxDenseItems: 10,
      };
      const full = await trainBundle({ ...base, rank: 48 });
      const limit = bundleBytes(full.contents) - 1500;
      const refused = await trainBundle({ ...base, rank: 48, maxBundleBytes: limit }).catch((error) => error);
      expect(refused).toBeInstanceOf(BundleTooLargeError);
      const rank = Number(/--rank (\d+) or lower/.exec(String(refused.message))?.[1]);
      expect(rank).toBeGreaterThan(1);
      expect(rank).toBeLessThan(48);
      const trained = await trainBundle({ ...base, rank, maxBundleBytes: limit });
      expect(bundleBytes(trained.contents)).toBeLessThanOrEqual(limit);
    },
  );
});
