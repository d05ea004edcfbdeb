/**
 * The worker's Data modules (the built-in model bundle's files, worker/src/models/default-bundle.generated.ts)
 * for the vitest workers pool: a Vite plugin of the worker projects (test/support/worker-project.ts).
 *
 * wrangler's Data rule (wrangler.toml) makes each such import an ArrayBuffer. Under the pool, each
 * test file's workerd fetched them from the pool's module fallback service, which sends bytes as a
 * JSON array of numbers: 1.1 MB of files as about 4 MB of JSON for every test file that loads the
 * worker, 0.4-0.5 s a file. Here the module fetches the same bytes from the test process over loopback
 * HTTP (loopback-files.ts) while it is evaluated and exports them as the same ArrayBuffer: only how they
 * reach the isolate differs. What `wrangler dev` and `check:bundle` build still goes through the rule.
 */
import path from 'node:path';
import type { Plugin } from 'vite';
import { fetchBytesCode, loopbackUrl } from './loopback-files';

/** wrangler.toml's Data rule: `**\/*.onnx`, `**\/models/*\/manifest.json`, `**\/models/*\/catalogue.json`. */
const DATA_RULE = /(\.onnx|[/\\]models[/\\][^/\\]+[/\\](manifest|catalogue)\.json)$/;
/** A prefix that matches none of the pool's module rules (a Data glob would send it back to the pool). */
const ID_PREFIX = '\0rx-data-module:';

export function dataModulesForWorkerd(): Plugin {
  /** Absolute paths by module id (ids carry an index, not the path, for the reason above). */
  const files: string[] = [];
  return {
    name: 'rx-data-modules-for-workerd',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!importer || !DATA_RULE.test(source) || !source.startsWith('.')) return undefined;
      const file = path.resolve(path.dirname(importer), source);
      if (!files.includes(file)) files.push(file);
      return `${ID_PREFIX}${files.indexOf(file)}`;
    },
    async load(id) {
      if (!id.startsWith(ID_PREFIX)) return undefined;
      const file = files[Number(id.slice(ID_PREFIX.length))];
      if (file === undefined) return undefined;
      const code = `${fetchBytesCode(await loopbackUrl(file), `test/support/data-modules-for-workerd.ts (${path.basename(file)})`)}
export default bytes;
`;
      return { code, map: { mappings: '' } };
    },
  };
}
