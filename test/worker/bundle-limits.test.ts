import { describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES } from '../../contracts/manifest';
import { type BundleSource, verifyBundle } from '../../worker/src/models';
import { sha256Hex } from '../../worker/src/models/sha256';
import { provided } from './edge-api-support';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** The v1 fixture bundle in memory, with `edit` applied to its parsed manifest and catalogue. */
interface EditableManifest {
  catalogue: { sha256: string };
  models: Array<{ bytes: number }>;
}

async function editedBundle(
  edit: (manifest: EditableManifest, catalogue: { items: Array<Record<string, unknown>> }) => void,
): Promise<BundleSource> {
  const files = new Map<string, Uint8Array>(
    Object.entries(provided().bundles.v1).map(([file, base64]) => [
      file,
      Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
    ]),
  );
  const manifest = JSON.parse(text(files.get('manifest.json') ?? new Uint8Array())) as EditableManifest;
  const catalogue = JSON.parse(text(files.get('catalogue.json') ?? new Uint8Array())) as {
    items: Array<Record<string, unknown>>;
  };
  edit(manifest, catalogue);
  const catalogueBytes = encode(catalogue);
  manifest.catalogue.sha256 = await sha256Hex(catalogueBytes);
  files.set('catalogue.json', catalogueBytes);
  files.set('manifest.json', encode(manifest));
  return { origin: 'store', read: async (file) => files.get(file) };
}

describe('verifyBundle refuses what the worker could not serve safely', () => {
  it('a catalogue listing one product_id twice, naming it and both items', async () => {
    const source = await editedBundle((_manifest, catalogue) => {
      const item = catalogue.items[7];
      if (item) item.product_id = catalogue.items[2]?.product_id;
    });
    await expect(verifyBundle(source)).rejects.toThrow(
      /catalogue lists product_id P10002 twice \(items 2 and 7\)/,
    );
  });

  it('a bundle whose models add up to more than MAX_BUNDLE_BYTES, before reading them', async () => {
    const source = await editedBundle((manifest) => {
      const first = manifest.models[0];
      if (first) first.bytes = MAX_BUNDLE_BYTES;
    });
    const reads: string[] = [];
    const counting: BundleSource = {
      origin: 'store',
      read: (file) => {
        reads.push(file);
        return source.read(file);
      },
    };
    await expect(verifyBundle(counting)).rejects.toThrow(/add up to \d+ bytes, over the 33554432/);
    expect(reads).toEqual(['manifest.json']);
  });

  it('the fixture itself verifies (the edits above are what is refused)', async () => {
    const bundle = await verifyBundle(await editedBundle(() => {}));
    expect(bundle.byId.size).toBe(bundle.items.length);
  });
});
