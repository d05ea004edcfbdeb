/**
 * onnxruntime-web inside workerd (DESIGN.md "Known platform facts").
 *
 * workerd cannot compile WebAssembly from bytes at run time and has no `import.meta.url`, so the plain
 * `onnxruntime-web` entry fails. What works: the `wasm` entry, its `.wasm` imported as a module
 * (wrangler's CompiledWasm rule gives a precompiled `WebAssembly.Module`), one thread, no proxy worker,
 * and a placeholder `env.wasm.wasmBinary` that a one-shot wrapper around `WebAssembly.instantiate`
 * swaps for the precompiled module when ORT's Emscripten loader hands it over.
 */

import ortWasmModule from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import * as ort from 'onnxruntime-web/wasm';

export { ort };

/**
 * An empty binary: Emscripten copies `wasmBinary` before instantiating, so the wrapper recognises it by
 * its length (an empty buffer is never a valid module, so nothing real is ever swapped).
 */
const PLACEHOLDER_BINARY = new Uint8Array(0);

function isPlaceholder(source: unknown): boolean {
  return (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) && source.byteLength === 0;
}

let configured = false;

function configureOnce(): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  ort.env.wasm.wasmBinary = PLACEHOLDER_BINARY;

  const instantiate = WebAssembly.instantiate.bind(WebAssembly);
  const wrapper = async (source: unknown, imports?: WebAssembly.Imports) => {
    if (isPlaceholder(source)) {
      // One shot: restore the original so nothing else in the isolate sees the wrapper.
      WebAssembly.instantiate = instantiate;
      const instance = await instantiate(ortWasmModule, imports);
      return { instance, module: ortWasmModule };
    }
    return instantiate(source as WebAssembly.Module, imports);
  };
  WebAssembly.instantiate = wrapper as typeof WebAssembly.instantiate;
}

/** Creates an ORT session from ONNX bytes (the WASM runtime starts on the first call of the isolate). */
export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  configureOnce();
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}
