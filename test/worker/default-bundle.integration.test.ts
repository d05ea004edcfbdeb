import { describe, expect, it } from 'vitest';
import { BundleError, type BundleSource, loadBundle } from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';

function builtIn(): BundleSource {
  const source = defaultBundleSource();
  if (!source) throw new Error('no default bundle embedded: run tsx scripts/models-embed.ts');
  return source;
}

describe('the default bundle embedded in the worker (models/default)', () => {
  it('loads in workerd: checksums verified, catalogue and all three models ready', async () => {
    const bundle = await loadBundle(builtIn());
    expect(bundle.origin).toBe('default');
    expect(bundle.items.length).toBe(bundle.manifest.catalogue.count);
    expect(Object.keys(bundle.models).sort()).toEqual(['complements', 'personal', 'similar']);
    // A real top-k from the similar model for the first catalogue item, excluding the item itself.
    const n = bundle.items.length;
    const history = new Float32Array(n);
    history[0] = 1;
    const mask = new Float32Array(n).fill(1);
    mask[0] = 0;
    const top = await bundle.models.similar?.run(history, mask);
    expect(top?.indices.length).toBeGreaterThan(0);
    expect(top?.indices).not.toContain(0);
    const scores = [...(top?.scores ?? [])];
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  }, 120_000);

  it('is refused when one embedded model byte differs from its manifest sha256', async () => {
    const source = builtIn();
    const tampered: BundleSource = {
      origin: 'default',
      async read(file) {
        const bytes = await source.read(file);
        if (!bytes || file !== 'similar.onnx') return bytes;
        const copy = bytes.slice();
        copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
        return copy;
      },
    };
    await expect(loadBundle(tampered)).rejects.toThrow(BundleError);
    await expect(loadBundle(tampered)).rejects.toThrow(/similar\.onnx sha256/);
  });
});
