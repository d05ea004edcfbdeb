/**
 * onnxruntime-web's WebAssembly (`onnxruntime-web/ort-wasm-simd-threaded.wasm`, 14 MB) for the vitest
 * workers pool, delivered cheaply: a Vite plugin of the worker projects (test/support/worker-project.ts).
 *
 * Why: the worker imports the `.wasm` as a module (worker/src/models/ort-runtime.ts), which wrangler
 * turns into a precompiled `WebAssembly.Module` (its CompiledWasm rule). Under the pool, every test
 * file runs in a workerd of its own, and each one fetched that module from the pool's module fallback
 * service, which sends binary modules as a JSON array of numbers (`Array.from(bytes)`: 40 MB of JSON
 * for 14 MB). That took 13-15 s per test file (measured: an `import` of the `.wasm` alone), and every
 * file that imports the worker or `cloudflare:test` (which loads it) paid it: most of the worker tests'
 * run time.
 *
 * What instead: the same bytes as base64 in a `.txt` file, which the same fallback service sends as a
 * Text module (one JSON string; `**\/*.txt` is one of wrangler's default module rules), decoded and
 * compiled in workerd with the `UnsafeEval` binding the pool gives its runner worker (`newWasmModule`:
 * workerd refuses to compile WebAssembly from bytes otherwise). About 1 s per file instead of 13-15.
 * The worker gets a real `WebAssembly.Module` of the same bytes in the same workerd, and ort-runtime.ts
 * runs unchanged: only how the module reaches the isolate differs. The CompiledWasm path itself is
 * what `npm run check:bundle` builds and the local-stack tests (test/node/*-stack.test.ts, under
 * `wrangler dev`) run.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));

const SPECIFIER = 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
const MODULE_ID = '\0rx-ort-wasm-module';
/** The binding the pool gives its runner worker (@cloudflare/vitest-pool-workers, `unsafeEvalBinding`). */
const UNSAFE_EVAL_BINDING = '__VITEST_POOL_WORKERS_UNSAFE_EVAL';

/**
 * Writes (once per installed file: size and time in the name) the base64 of the `.wasm` under
 * node_modules/.cache/rx-test, as mongodb-for-workerd.ts does with its bundle; returns its path. Written
 * to a temporary name, then renamed: the two worker projects load their configs at the same time.
 */
function base64File(): string {
  const wasm = require.resolve(SPECIFIER);
  const { size, mtimeMs } = fs.statSync(wasm);
  const dir = path.join(root, 'node_modules', '.cache', 'rx-test');
  const file = path.join(dir, `ort-wasm-simd-threaded-${size}-${Math.floor(mtimeMs)}.base64.txt`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, fs.readFileSync(wasm).toString('base64'));
    fs.renameSync(temporary, file);
  }
  return file;
}

export function ortWasmForWorkerd(): Plugin {
  // A root-relative path ("/node_modules/..."), as Vite hands imports of files under the root to the
  // pool, which matches it against the module rules.
  const text = `/${path.relative(root, base64File()).split(path.sep).join('/')}`;
  return {
    name: 'rx-ort-wasm-for-workerd',
    enforce: 'pre',
    resolveId(source) {
      return source === SPECIFIER ? MODULE_ID : undefined;
    },
    load(id) {
      if (id !== MODULE_ID) return undefined;
      const code = `import base64 from ${JSON.stringify(text)};
import { env } from 'cloudflare:workers';

const unsafeEval = env[${JSON.stringify(UNSAFE_EVAL_BINDING)}];
if (typeof unsafeEval?.newWasmModule !== 'function') {
  throw new Error('test/support/ort-wasm-for-workerd.ts: the pool no longer provides ${UNSAFE_EVAL_BINDING}.newWasmModule');
}
if (typeof base64 !== 'string') {
  throw new Error('test/support/ort-wasm-for-workerd.ts: ${text} did not load as a Text module');
}
export default unsafeEval.newWasmModule(Uint8Array.fromBase64(base64));
`;
      return { code, map: { mappings: '' } };
    },
  };
}
