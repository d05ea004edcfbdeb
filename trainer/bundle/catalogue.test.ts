import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShopCatalogue } from './catalogue';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rx-catalogue-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function catalogue(name: string, json: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(json));
  return file;
}

describe('readShopCatalogue', () => {
  it('reads an array of entries or { "items": [...] }', async () => {
    const entry = { product_id: 'MUG', title: 'Mug', price: 2.5 };
    expect(await readShopCatalogue(await catalogue('array.json', [entry]))).toEqual([entry]);
    expect(await readShopCatalogue(await catalogue('items.json', { items: [entry] }))).toEqual([entry]);
  });

  it('reads a file saved with a UTF-8 BOM (Windows PowerShell, Notepad)', async () => {
    const file = path.join(dir, 'bom.json');
    await writeFile(file, `\uFEFF${JSON.stringify([{ product_id: 'MUG', title: 'Mug' }])}`);
    expect(await readShopCatalogue(file)).toEqual([{ product_id: 'MUG', title: 'Mug' }]);
  });

  it('names the shapes it reads when given another', async () => {
    for (const [name, json] of [
      ['products.json', { products: [{ product_id: 'MUG' }] }],
      ['null.json', null],
      ['items-object.json', { items: { product_id: 'MUG' } }],
    ] as const) {
      const file = await catalogue(name, json);
      await expect(readShopCatalogue(file)).rejects.toThrow(
        `catalogue ${file}: must be a JSON array of entries or { "items": [...] }`,
      );
    }
  });

  it('names the entry at fault, and says an empty list is too small without a stray space', async () => {
    const bad = await catalogue('bad.json', [{ product_id: 'MUG' }, { product_id: 'CUP', price: -1 }]);
    await expect(readShopCatalogue(bad)).rejects.toThrow(new RegExp(`^catalogue ${bad}: 1\\.price \\S`));
    const empty = await catalogue('empty.json', []);
    await expect(readShopCatalogue(empty)).rejects.toThrow(new RegExp(`^catalogue ${empty}: Too small`));
  });

  it('reads a currency in upper case, as the data and the worker spell it, and refuses one that is no code', async () => {
    // "gbp" was kept as written: the worker's price check took "GBP" on the shop's page for another
    // currency, and the data's GBP prices were not found for the entry.
    const lower = await catalogue('lower.json', [{ product_id: 'MUG', currency: 'gbp' }]);
    expect(await readShopCatalogue(lower)).toEqual([{ product_id: 'MUG', currency: 'GBP' }]);
    const sign = await catalogue('sign.json', [
      { product_id: 'MUG' },
      { product_id: 'CUP', currency: '£££' },
    ]);
    await expect(readShopCatalogue(sign)).rejects.toThrow(
      `catalogue ${sign}: 1.currency must be a three-letter code such as EUR, got "£££"`,
    );
  });
});
