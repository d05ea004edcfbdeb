// What test/support/local-mongo.global-setup.ts provides to the events tests.
declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoDb: string;
    mongoControlUrl: string;
    mongoUntrustedTlsUri: string;
  }
}

export {};
