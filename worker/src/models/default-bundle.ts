import type { BundleSource } from './bundle';
import { defaultBundleFiles } from './default-bundle.generated';

/**
 * The bundle built into the worker (models/default, embedded by scripts/models-embed.ts): served while
 * nothing is published to the model store. Once something is, never in its place: it is trained on
 * the demo catalogue, whose products are not the shop's (BundleRegistry.loadInitial).
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
