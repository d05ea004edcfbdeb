/**
 * `train` reads `Product Removed` (for the cart that eval and validation mask as the worker does), but
 * a removal is no signal: the models, the catalogue and the data's description are those of the same
 * events without it.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainBundle } from './train';

const DAY = 86_400_000;

function event(name: string, shopper: string, product: string, day: number) {
  return {
    type: 'track',
    event: name,
    userId: shopper,
    timestamp: new Date(Date.UTC(2024, 4, 1) + day * DAY).toISOString(),
    properties:
      name === 'Order Completed'
        ? { order_id: `${shopper}-${day}`, products: [{ product_id: product, price: 5 }] }
        : { product_id: product, price: 5 },
  };
}

async function train(events: object[]) {
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-train-removals-'));
  const input = path.join(dir, 'events.jsonl');
  await writeFile(input, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  // Every EASE setting given: no validation, the fit faded from the data's end.
  const result = await trainBundle({
    format: 'events',
    input,
    personal: 'ease',
    lambda: 10,
    easeHalfLifeDays: 7,
    popularityExponent: 0,
  });
  return result.contents;
}

describe('train on events with removals from the cart', { timeout: 60_000 }, () => {
  it('learns nothing from a removal: the same bundle as without it', async () => {
    const events = [];
    for (let s = 0; s < 8; s++) {
      events.push(event('Product Viewed', `u${s}`, `P${s % 4}`, s));
      events.push(event('Product Added', `u${s}`, `P${(s + 1) % 4}`, s + 1));
      events.push(event('Order Completed', `u${s}`, `P${(s + 1) % 4}`, s + 2));
    }
    const removals = [
      // The newest events: a later end would fade every entry less, a later interaction with P1 would
      // make u0's fresher, and a shopper or product seen only here would get a row or column.
      event('Product Removed', 'u0', 'P1', 30),
      event('Product Removed', 'stranger', 'P9', 31),
    ];
    const without = await train(events);
    const withRemovals = await train([...events, ...removals]);
    expect(withRemovals.data).toEqual(without.data);
    expect(withRemovals.catalogue).toEqual(without.catalogue);
    expect(withRemovals.models.map((m) => [m.name, m.params, m.onnx])).toEqual(
      without.models.map((m) => [m.name, m.params, m.onnx]),
    );
  });

  it('refuses data of removals alone: nothing to learn from', async () => {
    await expect(train([event('Product Removed', 'u0', 'P1', 1)])).rejects.toThrow(/no usable interactions/);
  });
});
