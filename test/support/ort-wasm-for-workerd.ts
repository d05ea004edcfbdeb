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
 * run time. Sent as base64 text through the same service instead (one 19 MB JSON string, read from disk
 * for each file), it still took about 1 s per file.
 *
 * What instead: the plugin serves the bytes over HTTP on a loopback port of the test process, and the
 * module fetches them while it is evaluated (the pool evaluates modules inside a request of its runner,
 * where fetch is allowed) and compiles them with the `UnsafeEval` binding the pool gives its runner
 * worker (`newWasmModule`: workerd refuses to compile WebAssembly from bytes otherwise). About 0.1 s per
 * file. The worker gets a real `WebAssembly.Module` of the same bytes in the same workerd, and
 * ort-runtime.ts runs unchanged: only how the module reaches the isolate differs. The CompiledWasm path
 * itself is what `npm run check:bundle` builds and the local-stack tests (test/node/*-stack.test.ts,
 * under `wrangler dev`) run.
 */
import fs from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'vite';

const require = createRequire(import.meta.url);

const SPECIFIER = 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
const MODULE_ID = '\0rx-ort-wasm-module';
/** The binding the pool gives its runner worker (@cloudflare/vitest-pool-workers, `unsafeEvalBinding`). */
const UNSAFE_EVAL_BINDING = '__VITEST_POOL_WORKERS_UNSAFE_EVAL';

/**
 * Serves the `.wasm`'s bytes (read once) on 127.0.0.1 at a free port, to any path; resolves to its URL.
 * Unreferenced: it never keeps the test process alive, and ends with it.
 */
function serveWasm(): Promise<string> {
  const bytes = fs.readFileSync(require.resolve(SPECIFIER));
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/wasm', 'content-length': bytes.length });
    response.end(bytes);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}/ort-wasm-simd-threaded.wasm`);
    });
  });
}

export function ortWasmForWorkerd(): Plugin {
  let served: Promise<string> | undefined;
  return {
    name: 'rx-ort-wasm-for-workerd',
    enforce: 'pre',
    resolveId(source) {
      return source === SPECIFIER ? MODULE_ID : undefined;
    },
    async load(id) {
      if (id !== MODULE_ID) return undefined;
      served ??= serveWasm();
      const url = await served;
      const code = `import { env } from 'cloudflare:workers';

const unsafeEval = env[${JSON.stringify(UNSAFE_EVAL_BINDING)}];
if (typeof unsafeEval?.newWasmModule !== 'function') {
  throw new Error('test/support/ort-wasm-for-workerd.ts: the pool no longer provides ${UNSAFE_EVAL_BINDING}.newWasmModule');
}
const response = await fetch(${JSON.stringify(url)});
if (!response.ok) {
  throw new Error(\`test/support/ort-wasm-for-workerd.ts: ${url} answered \${response.status}\`);
}
export default unsafeEval.newWasmModule(new Uint8Array(await response.arrayBuffer()));
`;
      return { code, map: { mappings: '' } };
    },
  };
}
