/**
 * The official `mongodb` driver as ONE ES module for the vitest workers pool.
 *
 * Why: the pool loads CommonJS packages file by file through its module fallback, and workerd
 * registers the driver's `lib/bson.js` (required as "./bson") under the name ".../lib/bson", to
 * which the same file's `require("bson")` then resolves: endless recursion at import time. Wrangler
 * bundles the driver for `wrangler dev`/deploy, so production never sees this; tests get the same
 * treatment here: esbuild bundles the driver with bson, Node built-ins stay `node:` imports that
 * workerd's nodejs_compat serves, and every export is re-exported by name.
 *
 * The driver's optional dependencies that are not installed (`aws4`, `kerberos`, `snappy`, ...) are
 * `require`d inside try/catch and treated as absent when that throws. Left as bare `require`s, the
 * pool would look each one up through its module fallback and print a "Failed to require" warning
 * on every test run; here they become modules that throw "Cannot find module" at once, as in Node.
 */

import fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** Builds (once per driver version) and returns the path of the bundled module. */
export async function mongodbForWorkerd(): Promise<string> {
  const { version } = require('mongodb/package.json') as { version: string };
  // The suffix names this recipe: a change to how the bundle is built must not reuse an old cache.
  const outfile = path.join(root, 'node_modules', '.cache', 'rx-test', `mongodb-${version}-workerd-2.mjs`);
  if (fs.existsSync(outfile)) return outfile;

  const names = Object.keys(require('mongodb') as Record<string, unknown>).filter((name) =>
    /^[A-Za-z_$][\w$]*$/.test(name),
  );
  const entry = `import * as driver from 'mongodb';\n${names.map((name) => `export const ${name} = driver.${name};`).join('\n')}\n`;
  await esbuild.build({
    stdin: { contents: entry, resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['main'],
    conditions: ['require', 'node'],
    outfile,
    logLevel: 'error',
    plugins: [
      {
        name: 'node-builtins-as-imports',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (!BUILTINS.has(args.path)) return undefined;
            // The wrapper's own `import 'node:x'` is the real built-in, left for workerd.
            if (args.namespace === 'node-builtin') return { path: args.path, external: true };
            return { path: args.path.replace(/^node:/, ''), namespace: 'node-builtin' };
          });
          // A bare specifier that does not resolve from where it is required: an optional dependency
          // that is not installed (see above).
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.namespace !== 'file' || BUILTINS.has(args.path)) return undefined;
            try {
              require.resolve(args.path, { paths: [args.resolveDir] });
              return undefined;
            } catch {
              return { path: args.path, namespace: 'not-installed' };
            }
          });
          build.onLoad({ filter: /.*/, namespace: 'not-installed' }, (args) => ({
            contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}), { code: 'MODULE_NOT_FOUND' });\n`,
            loader: 'js',
          }));
          // The driver `require`s built-ins and reads their members directly (`util.promisify`), so
          // each member is re-exported by name (names as Node has them; workerd may lack a few).
          build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
            const members = Object.keys(require(args.path) as object).filter(
              (name) => /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default',
            );
            const lines = members.map((name) => `export const ${name} = m[${JSON.stringify(name)}];`);
            return {
              contents: `import * as ns from 'node:${args.path}';\nconst m = ns.default ?? ns;\nexport default m;\n${lines.join('\n')}\n`,
              loader: 'js',
            };
          });
        },
      },
    ],
  });
  return outfile;
}
