import { describe, expect, it } from 'vitest';
import { buildPlugin, GZIP_BUDGET_BYTES, gzipSize } from '../../storefront-plugin/build';

describe('storefront plugin size budget', () => {
  it('builds rx.js within 6 KB minified and gzipped', async () => {
    const built = await buildPlugin();
    // The real output: esbuild's minified IIFE, gzipped at level 9.
    expect(built.iife.gzipBytes).toBe(gzipSize(built.iife.code));
    expect(built.iife.gzipBytes, `rx.js is ${built.iife.gzipBytes} bytes gzipped`).toBeLessThanOrEqual(
      GZIP_BUDGET_BYTES,
    );
    // It really contains the features the budget is about, not an empty shell.
    for (const needle of [
      '/v1/events',
      '/v1/recommendations',
      '/v1/prices',
      'IntersectionObserver',
      'keepalive',
    ]) {
      expect(built.iife.code).toContain(needle);
    }
    expect(built.iife.code).toContain('rx-block');
  });

  it('builds an ESM flavour exporting init', async () => {
    const built = await buildPlugin();
    expect(built.esm.code).toMatch(/export\s*\{[^}]*\binit\b/);
    expect(built.esm.gzipBytes).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
  });

  it('names the versioned URL by content hash', async () => {
    const [a, b] = await Promise.all([buildPlugin(), buildPlugin()]);
    expect(a.hash).toMatch(/^[0-9a-f]{12}$/);
    // Deterministic: the same source gives the same immutable URL.
    expect(b.hash).toBe(a.hash);
  });
});
