// URLs the worker project's globalSetup (test/support/proxy-origin.global-setup.ts) provides.
declare module 'vitest' {
  export interface ProvidedContext {
    proxyOriginUrl: string;
    demoShopUrl: string;
    closedOriginUrl: string;
  }
}

export {};
