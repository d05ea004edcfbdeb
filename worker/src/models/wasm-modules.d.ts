/** wrangler's CompiledWasm rule: a `.wasm` import is a precompiled module. */
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}

/** wrangler's Data rule (wrangler.toml): an `.onnx` import is the file's bytes. */
declare module '*.onnx' {
  const bytes: ArrayBuffer;
  export default bytes;
}
