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
 * run time. Sent as base64 text through the same service instead (19 MB of JSON), it still took
 * 0.8-0.9 s a file.
 *
 * What instead: the module fetches the bytes from the test process over loopback HTTP
 * (loopback-files.ts) while it is evaluated (the pool evaluates modules inside a request of its runner,
 * where fetch is allowed), about 0.2 s a file, and compiles them with the `UnsafeEval` binding the pool
 * gives its runner worker (`newWasmModule`: workerd refuses to compile WebAssembly from bytes
 * otherwise). The worker gets a real `WebAssembly.Module` of the same bytes in the same workerd, and
 * ort-runtime.ts runs unchanged: only how the module reaches the isolate differs. The CompiledWasm path
 * itself is what `npm run check:bundle` builds and the local-stack tests (test/node/*-stack.test.ts,
 * under `wrangler dev`) run.
 */
import { createRequire } from 'node:module';
import type { Plugin } from 'vite';
import { fetchBytesCode, loopbackUrl } from './loopback-files';

const require = createRequire(import.meta.url);

const SPECIFIER = 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
const MODULE_ID = '\0rx-ort-wasm-module';
/** The binding the pool gives its runner worker (@cloudflare/vitest-pool-workers, `unsafeEvalBinding`). */
const UNSAFE_EVAL_BINDING = '__VITEST_POOL_WORKERS_UNSAFE_EVAL';

export function ortWasmForWorkerd(): Plugin {
  return {
    name: 'rx-ort-wasm-for-workerd',
    enforce: 'pre',
    resolveId(source) {
      return source === SPECIFIER ? MODULE_ID : undefined;
    },
    async load(id) {
      if (id !== MODULE_ID) return undefined;
      const url = await loopbackUrl(require.resolve(SPECIFIER));
      const code = `import { env } from 'cloudflare:workers';

const unsafeEval = env[${JSON.stringify(UNSAFE_EVAL_BINDING)}];
if (typeof unsafeEval?.newWasmModule !== 'function') {
  throw new Error('test/support/ort-wasm-for-workerd.ts: the pool no longer provides ${UNSAFE_EVAL_BINDING}.newWasmModule');
}
${fetchBytesCode(url, 'test/support/ort-wasm-for-workerd.ts')}
export default unsafeEval.newWasmModule(new Uint8Array(bytes));
`;
      return { code, map: { mappings: '' } };
    },
  };
}
