import type { Env } from '../env';
import { parseSetting } from '../settings';
import type { BundleSource } from './bundle';
import { defaultBundleFiles } from './default-bundle.generated';

/**
 * Whether the built-in bundle may be served at all (`DEMO_BUNDLE`). It is trained on the demo shop's
 * catalogue: a real shop's worker serving it would show products, titles and links that are not the
 * shop's. So it is off unless set to `true`: wrangler.toml ships `false` (what `wrangler deploy`
 * gets), and the local stack behind `npm start`, the tests and the benchmarks set `true`. A value other
 * than true/false is a `problem` (reported by /healthz) and counts as off.
 */
export function demoBundleSetting(env: Pick<Env, 'DEMO_BUNDLE'>): { enabled: boolean; problem?: string } {
  const { value, problem } = parseSetting('DEMO_BUNDLE', env.DEMO_BUNDLE);
  return problem === undefined ? { enabled: value } : { enabled: value, problem };
}

/**
 * The bundle built into the worker (models/default, embedded by scripts/models-embed.ts): served while
 * nothing is published to the model store, and only where `DEMO_BUNDLE=true`. Once something is
 * published, never in its place (unless DEMO_BUNDLE=true and the published bundle is refused): it is
 * trained on the demo catalogue, whose products are not the
 * shop's (BundleRegistry.loadInitial).
 */
export function defaultBundleSource(): BundleSource | undefined {
  const files = defaultBundleFiles;
  if (!files) return undefined;
  return {
    origin: 'default',
    async read(file) {
      const value = files[file];
      if (value === undefined) return undefined;
      if (!(value instanceof ArrayBuffer)) {
        throw new Error(
          `embedded ${file} is not bytes: check the Data rule for model files in wrangler.toml`,
        );
      }
      return new Uint8Array(value);
    },
  };
}
