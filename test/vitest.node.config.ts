import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'node',
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: [
      'test/node/**/*.test.ts',
      'trainer/**/*.test.ts',
      'scripts/**/*.test.ts',
      'storefront-plugin/**/*.test.ts',
    ],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
