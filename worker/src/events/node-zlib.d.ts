/**
 * The part of `node:zlib` the event intake uses (workerd provides it under `nodejs_compat`). The
 * worker's types are the Workers runtime's, without Node's modules, so it is declared here.
 */
declare module 'node:zlib' {
  interface ZlibOptions {
    /** Decompression stops with a RangeError once the output would be longer (nothing past it is kept). */
    maxOutputLength?: number;
  }
  export function gunzipSync(data: Uint8Array, options?: ZlibOptions): Uint8Array;
  export function inflateSync(data: Uint8Array, options?: ZlibOptions): Uint8Array;
}
