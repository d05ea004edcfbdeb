import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildPlugin, GZIP_BUDGET_BYTES } from '../../storefront-plugin/build';

/** Measured here, not with the build's own helper: level 9, as CDNs and the worker compress rx.js. */
const gzippedBytes = (code: string) => gzipSync(Buffer.from(code), { level: 9 }).length;

describe('storefront plugin size budget', () => {
  it('builds rx.js within 6 KB minified and gzipped', async () => {
    const built = await buildPlugin();
    // The real output: esbuild's minified IIFE, gzipped at level 9, and what the build reports of it.
    const size = gzippedBytes(built.iife.code);
    expect(size, `rx.js is ${size} bytes gzipped`).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
    expect(built.iife.gzipBytes).toBe(size);
    expect(built.iife.rawBytes).toBe(Buffer.byteLength(built.iife.code));
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
    expect(gzippedBytes(built.esm.code)).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
    expect(built.esm.gzipBytes).toBe(gzippedBytes(built.esm.code));
  });

  it('names the versioned URL by content hash', async () => {
    const [a, b] = await Promise.all([buildPlugin(), buildPlugin()]);
    expect(a.hash).toMatch(/^[0-9a-f]{12}$/);
    // Deterministic: the same source gives the same immutable URL.
    expect(b.hash).toBe(a.hash);
  });
});
