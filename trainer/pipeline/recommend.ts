/** `npm run recommend`: every user's top-k from the exported ONNX graph, as CSV. */

import { type ModelRole, popularityOrder } from '../../contracts/manifest';
import { BundleError, readBundle } from '../bundle/read-bundle';
import { InputError } from '../data/lines';
import { aggregate, denseRow, forEachInRow, rowHasValues } from '../data/matrix';
import { type Format, openSource, readAll } from '../data/sources';
import { servedExclusions } from '../eval/exclusions';
import { loadRecommender } from '../onnx/run';
import { servedTopK } from '../onnx/served-top-k';
import { writeTextAtomically } from './write-text-atomically';

/** Options of `recommendToCsv`. */
export interface RecommendOptions {
  model: string;
  format: Format;
  input: string;
  k: number;
  out: string;
  role?: ModelRole;
  log?: (line: string) => void;
}

/** Quotes a CSV field when it needs it (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Writes the CSV (atomically: temp file + rename) and returns what it wrote. */
export async function recommendToCsv(
  options: RecommendOptions,
): Promise<{ users: number; rows: number; out: string }> {
  const log = options.log ?? (() => {});
  const bundle = await readBundle(options.model);
  const entry = bundle.model(options.role ?? 'personal');
  if (!entry) throw new BundleError(`bundle ${options.model} has no ${options.role ?? 'personal'} model`);
  if (options.k > entry.k) throw new InputError(`--k ${options.k} is more than the model's top-${entry.k}`);
  const items = bundle.catalogue.items.map((i) => i.product_id);
  const source = await openSource(options.format, options.input);
  const all = await readAll(source);
  log(source.report.summary());
  if (all.length === 0) throw new InputError('no usable interactions in the input');
  const users = new Set(all.map((it) => it.user));
  // Written under the id the shop knows: a browser nobody signed in on under its anonymous id (its
  // key is namespaced apart from user ids, data/identities.ts).
  const shown = new Map<string, string>();
  for (const it of all) if (it.anonymous && it.anonymousId !== undefined) shown.set(it.user, it.anonymousId);
  const known = aggregate(all, { items });
  const excluded = servedExclusions(known, all);
  const unknownRows = all.length - all.filter((it) => known.itemIndex.has(it.item)).length;
  if (unknownRows > 0)
    log(`${unknownRows} interactions with items outside the bundle's catalogue are ignored`);
  // Users whose items are all unknown still get recommendations (from an empty history).
  const rowOf = new Map(known.users.map((u, i) => [u, i]));
  const userList = [...users];
  const n = items.length;
  const runner = await loadRecommender(await bundle.modelBytes(entry));
  let rows = 0;
  async function* csv(): AsyncGenerator<string> {
    yield 'user_id,item_id,rank,score\n';
    const chunk = 256;
    const history = new Float32Array(chunk * n);
    const mask = new Float32Array(chunk * n);
    const unavailable = bundle.catalogue.items.map((i) => !i.available);
    const byPopularity = popularityOrder(bundle.catalogue.items.map((i) => i.popularity));
    for (let start = 0; start < userList.length; start += chunk) {
      const batch = userList.slice(start, start + chunk);
      history.fill(0);
      // A shopper with no history in the catalogue: the worker runs no model for them (compute.ts
      // `plan`) and serves best sellers, where a model with a bias (the Mult-DAE's decoder) would score a
      // list of its own.
      const withoutHistory = batch.map((user) => {
        const r = rowOf.get(user);
        return r === undefined || !rowHasValues(known.matrix, r);
      });
      batch.forEach((user, b) => {
        const row = mask.subarray(b * n, (b + 1) * n);
        row.fill(1);
        unavailable.forEach((off, c) => {
          if (off) row[c] = 0;
        });
        const r = rowOf.get(user);
        if (r === undefined) return;
        denseRow(known.matrix, r, history.subarray(b * n, (b + 1) * n));
        // What the worker leaves out of a shopper's lists (purchases and cart), not all they viewed.
        forEachInRow(excluded, r, (c) => {
          row[c] = 0;
        });
      });
      const result = await runner.run(
        history.subarray(0, batch.length * n),
        mask.subarray(0, batch.length * n),
        batch.length,
      );
      const lines: string[] = [];
      batch.forEach((user, b) => {
        // As the worker serves it: the model's evidence, then best sellers (score 0) where it has none,
        // at most 40 % of the list from one product family.
        const served = servedTopK(
          withoutHistory[b] ? [] : result.indices.subarray(b * result.k, (b + 1) * result.k),
          withoutHistory[b] ? [] : result.scores.subarray(b * result.k, (b + 1) * result.k),
          options.k,
          mask.subarray(b * n, (b + 1) * n),
          byPopularity,
          bundle.catalogue.items,
        );
        served.forEach(({ index, score }, rank) => {
          const item = items[index];
          if (item !== undefined)
            lines.push(
              `${csvField(shown.get(user) ?? user)},${csvField(item)},${rank + 1},${score.toPrecision(6)}`,
            );
        });
      });
      rows += lines.length;
      if (lines.length > 0) yield `${lines.join('\n')}\n`;
    }
  }
  try {
    await writeTextAtomically(options.out, csv());
  } finally {
    await runner.close();
  }
  return { users: userList.length, rows, out: options.out };
}
