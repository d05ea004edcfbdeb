// What the worker project's globalSetup (test/support/edge-api.global-setup.ts) provides to the edge API tests.
declare module 'vitest' {
  export interface ProvidedContext {
    edgeApi: {
      upstash: { url: string; token: string; backend: string };
      /** The local server on its in-memory backend, which runs no Lua scripts. */
      memoryUpstash: { url: string; token: string };
      slowUpstashUrl: string;
      readOnlyUpstashUrl: string;
      slowDelayMs: number;
      deadUpstashUrl: string;
      /** name → file name → base64 bytes */
      bundles: Record<
        | 'v1'
        | 'v2'
        | 'corrupt'
        | 'missing'
        | 'mismatch'
        | 'narrow'
        | 'failing'
        | 'failingAlways'
        | 'nan'
        | 'shopIds',
        Record<string, string>
      >;
    };
  }
}

export {};
