import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RX_BLOCK_STYLES, RX_DEFAULT_STYLES } from '../../contracts/markup-styles';
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

  it("leaves the price note's rule to proxy mode's stylesheet: the plugin renders no note", async () => {
    const built = await buildPlugin();
    // Neither the rule nor a note's markup is in rx.js: a plugin that rendered a note would carry its
    // class name, and would need its rule back among the block rules it injects.
    expect(built.iife.code).not.toContain('rx-price-note');
    expect(built.esm.code).not.toContain('rx-price-note');
    expect(RX_BLOCK_STYLES).not.toContain('rx-price-note');
    // Proxy mode, which writes the notes (contracts/markup.ts renderPriceDisclosure), puts the whole
    // stylesheet in the page's <head> (worker/src/proxy/rewriter.ts styleTag): the rule is there.
    expect(RX_DEFAULT_STYLES).toContain(RX_BLOCK_STYLES);
    expect(RX_DEFAULT_STYLES).toContain(':where(.rx-price-note){display:block;');
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
