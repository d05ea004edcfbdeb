/**
 * The trainer's commands end to end on tiny synthetic inputs (never ../shared): train writes a valid
 * bundle, recommend runs its ONNX files, eval prints and writes the table, forecast writes the CSV,
 * and bad input exits non-zero with a specific message.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { toEventDocument } from '../../contracts/event-document';
import { type Manifest, ManifestSchema, popularityOrder } from '../../contracts/manifest';
import { startLocalMongo } from '../../scripts/local-mongo/index';
import { dropTestDatabase, realTestMongoUri, testDatabaseName, withDatabase } from '../support/test-mongo';
import { type CliResult, cli, runForecast, runRecommend, runTrain } from '../support/trainer-cli';

/** The bundle's manifest.json, checked against the contract. */
async function readManifest(bundle: string): Promise<Manifest> {
  return ManifestSchema.parse(JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8')));
}

/** MovieLens-format ratings: 4 taste groups over 40 items, so structure beats popularity. */
function movielens(): string {
  const lines: string[] = [];
  let seed = 11;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let u = 1; u <= 80; u++) {
    for (let i = 1; i <= 40; i++) {
      const liked = i % 4 === u % 4;
      if (rand() < (liked ? 0.6 : 0.04))
        // Spread over 100 days, each user's ratings interleaved with everyone's: train's validation
        // holds out the last part in time, so its customers must have rated before and after it.
        lines.push(
          `${u}\t${i}\t${1 + Math.floor(rand() * 5)}\t${880000000 + ((u * 7919 + i * 104729) % 100) * 86400 + u}`,
        );
    }
  }
  return `${lines.join('\n')}\n`;
}

let dir = '';
let ratings = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rx-trainer-cli-'));
  ratings = path.join(dir, 'u.data');
  await writeFile(ratings, movielens());
});

describe('trainer commands', { timeout: 180_000 }, () => {
  it('train → recommend: a valid bundle whose ONNX files give each user k unseen items', async () => {
    const out = path.join(dir, 'bundle');
    const train = await runTrain('movielens', ratings, out, [
      '--personal',
      'autoencoder',
      '--hidden',
      '8',
      '--epochs',
      '3',
      '--k',
      '20',
    ]);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/TF\.js backend wasm/);
    expect(train.stdout).toMatch(/epoch +1 +loss [\d.]+ +val nDCG@10 [\d.]+/);
    const manifest = await readManifest(out);
    expect(manifest.data).toMatchObject({ format: 'movielens', source: 'u.data', users: 80 });
    // The Mult-DAE's validation score is one of the manifest's metrics, not only a param: on the customers
    // who rated something new after the temporal validation's cut-off.
    const personalParams = manifest.models.find((m) => m.role === 'personal')?.params;
    const scored = Number(/; (\d+) customers to score/.exec(train.stdout)?.[1]);
    expect(scored).toBeGreaterThan(10);
    expect(manifest.metrics).toEqual({
      'personal/mult-dae': { validationNdcg10: personalParams?.validationNdcg10, validationUsers: scored },
    });
    expect(personalParams).toMatchObject({ validation: 'temporal' });

    const csv = path.join(dir, 'recs.csv');
    // A shopper whose only item is outside the catalogue (checked below): recommended for at once.
    const stranger = path.join(dir, 'stranger.data');
    await writeFile(stranger, '999\t9999\t5\t890000000\n');
    const strangerCsv = path.join(dir, 'stranger.csv');
    const [rec, strangerRec] = await Promise.all([
      runRecommend(out, 'movielens', ratings, csv, ['--k', '5']),
      runRecommend(out, 'movielens', stranger, strangerCsv, ['--k', '5']),
    ]);
    expect(rec.code).toBe(0);
    const [header, ...rows] = (await readFile(csv, 'utf8')).trim().split('\n');
    expect(header).toBe('user_id,item_id,rank,score');
    expect(rows).toHaveLength(80 * 5);
    const seen = new Set(
      (await readFile(ratings, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 2).join(',')),
    );
    for (const row of rows) {
      const [user, item, rank] = row.split(',');
      expect(seen.has(`${user},${item}`)).toBe(false);
      expect(Number(rank)).toBeGreaterThanOrEqual(1);
    }

    // A shopper whose only item is outside the catalogue has no history: best sellers, as the worker
    // serves them (no model run), not the autoencoder's decoder bias.
    expect(strangerRec.code).toBe(0);
    const catalogue = JSON.parse(await readFile(path.join(out, 'catalogue.json'), 'utf8')) as {
      items: Array<{ product_id: string; popularity: number; available: boolean }>;
    };
    const bestSellers = Array.from(popularityOrder(catalogue.items.map((item) => item.popularity)))
      .map((index) => catalogue.items[index])
      .filter((item) => item?.available)
      .map((item) => item?.product_id);
    const strangerRows = (await readFile(strangerCsv, 'utf8')).trim().split('\n').slice(1);
    expect(strangerRows.map((row) => row.split(',')[1])).toEqual(bestSellers.slice(0, 5));
    expect(strangerRows.every((row) => row.endsWith(',0.00000'))).toBe(true);
  });

  it('recommend fills with best sellers where the model has no evidence, as the worker does', async () => {
    // Item-to-item on orders: "solo" bought only S, which no one else bought, so every score is 0.
    // Best sellers: Z (6 buyers) > Y (5) > X (4); A and B come first in the catalogue.
    let minute = 0;
    const order = (userId: string, products: string[]) =>
      JSON.stringify({
        type: 'track',
        event: 'Order Completed',
        userId,
        timestamp: new Date(Date.UTC(2024, 4, 1, 10, minute++)).toISOString(),
        properties: { order_id: `o${minute}`, products: products.map((id) => ({ product_id: id })) },
      });
    const lines = [order('r1', ['A', 'B'])];
    for (let i = 0; i < 6; i++)
      lines.push(order(`p${i}`, ['Z', 'Y', 'X'].slice(0, i < 4 ? 3 : i < 5 ? 2 : 1)));
    lines.push(order('solo', ['S']));
    const events = path.join(dir, 'solo.jsonl');
    await writeFile(events, `${lines.join('\n')}\n`);
    const out = path.join(dir, 'bundle-item-item');
    const train = await runTrain('events', events, out, ['--personal', 'item-item']);
    expect(train.code).toBe(0);
    const csv = path.join(dir, 'solo.csv');
    const rec = await runRecommend(out, 'events', events, csv, ['--k', '3']);
    expect(rec.code).toBe(0);
    const rows = (await readFile(csv, 'utf8')).trim().split('\n');
    expect(rows.filter((row) => row.startsWith('solo,'))).toEqual([
      'solo,Z,1,0.00000',
      'solo,Y,2,0.00000',
      'solo,X,3,0.00000',
    ]);
    // p4 bought Z and Y: X is evidence (bought with both), then best sellers it does not have.
    expect(rows.filter((row) => row.startsWith('p4,')).map((row) => row.split(',')[1])).toEqual([
      'X',
      'A',
      'B',
    ]);
  });

  it("recommend keeps at most 40 % of a list in one product family, as the worker's rows", async () => {
    // Everyone who bought mug M0 bought mugs M1-M3 too; one of them a bag as well. Item-to-item ranks
    // the three mugs first for "m" (who has M0 only): a list of 3 takes two of them, then the bag.
    let minute = 0;
    const order = (userId: string, products: Array<[id: string, category: string]>) =>
      JSON.stringify({
        type: 'track',
        event: 'Order Completed',
        userId,
        timestamp: new Date(Date.UTC(2024, 4, 1, 10, minute++)).toISOString(),
        properties: {
          order_id: `o${minute}`,
          products: products.map(([id, category]) => ({ product_id: id, category })),
        },
      });
    const mugs: Array<[string, string]> = ['M0', 'M1', 'M2', 'M3'].map((id) => [id, 'mugs']);
    const lines = [
      order('c1', mugs),
      order('c2', mugs),
      order('c3', [...mugs, ['B1', 'bags']]),
      order('m', [mugs[0] as [string, string]]),
    ];
    const events = path.join(dir, 'families.jsonl');
    await writeFile(events, `${lines.join('\n')}\n`);
    const out = path.join(dir, 'bundle-families');
    expect((await runTrain('events', events, out, ['--personal', 'item-item'])).code).toBe(0);
    const csv = path.join(dir, 'families.csv');
    expect((await runRecommend(out, 'events', events, csv, ['--k', '3'])).code).toBe(0);
    const rows = (await readFile(csv, 'utf8')).trim().split('\n');
    const listed = rows.filter((row) => row.startsWith('m,')).map((row) => row.split(',')[1]);
    expect(listed).toHaveLength(3);
    expect(listed.filter((id) => id?.startsWith('M'))).toHaveLength(2);
    expect(listed[2]).toBe('B1');
  });

  it('train defaults to auto: EASE and Mult-DAE on one temporal validation, both scored as served, the better ships', async () => {
    const out = path.join(dir, 'bundle-auto');
    const train = await runTrain('movielens', ratings, out, ['--hidden', '8', '--epochs', '3']);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    // Both candidates really train: EASE's λ search and TF.js epochs with loss and validation nDCG.
    expect(train.stdout).toMatch(/EASE \(no decay, popularity\^−0\) λ by validation nDCG@10: 10 → [\d.]+/);
    expect(train.stdout).toMatch(
      /EASE \(half-life 30 d, popularity\^−0\.25\) λ by validation nDCG@10: 10 → [\d.]+/,
    );
    expect(train.stdout).toMatch(/TF\.js backend wasm/);
    expect(train.stdout).toMatch(/epoch +3 +loss [\d.]+ +val nDCG@10 [\d.]+/);
    const line =
      /validation nDCG@10 \(served lists, (\d+) customers\): EASE \(λ (\d+), (?:no decay|half-life \d+ d), popularity\^−[\d.]+\) ([\d.]+) vs Mult-DAE \(epoch (\d)\) ([\d.]+) → (EASE|Mult-DAE)/.exec(
        train.stdout,
      );
    expect(line).not.toBeNull();
    const [, users, lambda, easeScore, epoch, daeScore, winner] = line ?? [];
    const ease = Number(easeScore);
    const dae = Number(daeScore);
    expect(winner).toBe(dae > ease ? 'Mult-DAE' : 'EASE');
    const manifest = await readManifest(out);
    const personal = manifest.models.find((m) => m.role === 'personal');
    expect(personal?.params).toMatchObject({
      model: winner === 'EASE' ? 'ease' : 'mult-dae',
      kind: winner === 'EASE' ? 'dense' : 'autoencoder',
      selection: 'auto',
      validationUsers: Number(users),
      easeLambda: Number(lambda),
      easeValidationNdcg10: ease,
      multDaeBestEpoch: Number(epoch),
      multDaeValidationNdcg10: dae,
    });
    expect(manifest.metrics).toMatchObject({
      'personal/ease': { validationNdcg10: ease, validationUsers: Number(users) },
      'personal/ease-plain': { validationUsers: Number(users) },
      'personal/mult-dae': { validationNdcg10: dae, validationUsers: Number(users) },
    });
    expect(personal?.params).toMatchObject({ validation: 'temporal', validationCutoff: expect.any(String) });
    // On 4 clean taste groups the shipped model has learnt the structure (a 3-epoch Mult-DAE may not yet).
    expect(Math.max(ease, dae)).toBeGreaterThan(0.2);
    expect(Math.min(ease, dae)).toBeGreaterThan(0);
  });

  it('train --personal ease stays closed form (no TF.js) and unknown models are rejected', async () => {
    const out = path.join(dir, 'bundle-ease');
    const train = await runTrain('movielens', ratings, out, [
      '--personal',
      'ease',
      '--lambda',
      '20',
      '--half-life-days',
      'none',
      '--popularity-exponent',
      '0',
    ]);
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/personal model: EASE \(λ 20, no decay, popularity\^−0, exact, dense\)/);
    expect(train.stdout).not.toMatch(/TF\.js backend/);
    const manifest = await readManifest(out);
    const personal = manifest.models.find((m) => m.role === 'personal');
    expect(personal?.params).toMatchObject({ model: 'ease', lambda: 20, exact: true });
    expect(personal?.params).not.toHaveProperty('selection');
    // Every setting given: nothing is scored on the validation, no metric to record.
    expect(manifest.metrics).toEqual({});
    expect(manifest.trainer.backend).toBe('none (closed form)');
    // An unknown model, and an option the chosen model does not read: refused, not silently ignored.
    const [bad, ...unused] = await Promise.all([
      runTrain('movielens', ratings, out, ['--personal', 'bpr']),
      runTrain('movielens', ratings, out, ['--personal', 'ease', '--epochs', '40']),
      runTrain('movielens', ratings, out, ['--personal', 'autoencoder', '--lambda', '20']),
      runTrain('movielens', ratings, out, ['--personal', 'item-item', '--hidden', '64']),
      runTrain('movielens', ratings, out, ['--personal', 'autoencoder', '--half-life-days', '30']),
      runTrain('movielens', ratings, out, ['--personal', 'ease', '--half-life-days', '0']),
      runTrain('movielens', ratings, out, ['--personal', 'ease', '--popularity-exponent', '-1']),
    ]);
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toMatch(/unknown --personal "bpr" \(one of auto, ease, autoencoder, item-item\)/);
    expect(unused.map((run) => run.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(unused[3]?.stderr).toMatch(/--half-life-days does not apply to --personal autoencoder/);
    expect(unused[4]?.stderr).toMatch(
      /--half-life-days must be a positive number of days or "none", got "0"/,
    );
    expect(unused[5]?.stderr).toMatch(/--popularity-exponent must be a number ≥ 0, got "-1"/);
    expect(unused[0]?.stderr).toMatch(/--epochs does not apply to --personal ease \(it is for autoencoder\)/);
    expect(unused[1]?.stderr).toMatch(/--lambda does not apply to --personal autoencoder \(it is for ease\)/);
    expect(unused[2]?.stderr).toMatch(/--hidden does not apply to --personal item-item/);
  });

  it('--help and -h print the usage and exit 0 for all four commands', async () => {
    const runs = ['train', 'recommend', 'eval', 'forecast'].flatMap((command) =>
      ['--help', '-h'].map((flag) => ({ command, flag })),
    );
    // Eight independent processes (each mostly Node and tsx starting up): at once, then checked in order.
    const results = await Promise.all(
      runs.map(({ command, flag }) => cli(command, flag === '-h' ? ['--format', 'movielens', flag] : [flag])),
    );
    for (const [i, { command, flag }] of runs.entries()) {
      const result = results[i];
      expect(result?.code, `${command} ${flag}`).toBe(0);
      expect(result?.stderr).toBe('');
      expect(result?.stdout).toMatch(new RegExp(`^usage: npm run ${command} -- --`));
    }
  });

  it('eval (movielens protocol) prints one table and writes JSON; structure beats popularity', async () => {
    const json = path.join(dir, 'eval.json');
    const cutoffJson = path.join(dir, 'eval-movielens-cutoff.json');
    // The evaluation, and three runs refused for their options (checked below), all at once.
    const [result, noDecay, served, cutoff] = await Promise.all([
      cli('eval', [
        '--format',
        'movielens',
        '--input',
        ratings,
        '--json',
        json,
        '--hidden',
        '8',
        '--epochs',
        '3',
        // The ratings span hours: a 30-day half-life barely fades them, and is recorded with the run.
        '--half-life',
        '30',
      ]),
      cli('eval', ['--format', 'movielens', '--input', ratings, '--half-life', '0']),
      cli('eval', ['--format', 'movielens', '--input', ratings, '--history', 'served']),
      cli('eval', [
        '--format',
        'movielens',
        '--input',
        ratings,
        '--cutoff',
        '1998-01-01',
        '--json',
        cutoffJson,
      ]),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\| model +\| nDCG@10/);
    const table = JSON.parse(await readFile(json, 'utf8')) as {
      protocol: string;
      rows: Array<{ model: string; ndcg: number; users: number }>;
      run: { options: { halfLifeDays?: number } };
      modelParams: Record<string, Record<string, unknown>>;
    };
    expect(table.run.options.halfLifeDays).toBe(30);
    // What each model was fitted with is recorded, as its validation inside the training part chose it.
    expect([10, 30, 100, 300, 1000, 3000]).toContain(table.modelParams.EASE?.lambda);
    expect(table.modelParams.EASE).toMatchObject({ model: 'ease' });
    expect([10, 30, 100, 300, 1000, 3000]).toContain(table.modelParams['EASE plain (no decay)']?.lambda);
    expect(table.modelParams['Mult-DAE (TF.js)']?.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(table.modelParams['Mult-DAE (TF.js)']?.bestEpoch).toBeLessThanOrEqual(3);
    expect(table.protocol).toMatch(/stratified random split 75\/25/);
    const ndcg = Object.fromEntries(table.rows.map((r) => [r.model, r.ndcg]));
    // EASE as train ships it, and the plain EASE (no decay, no popularity scale) beside it.
    expect(Object.keys(ndcg)).toEqual([
      'popularity',
      'item-item cosine',
      'EASE plain (no decay)',
      'EASE',
      'Mult-DAE (TF.js)',
    ]);
    expect(ndcg.EASE).toBeGreaterThan((ndcg.popularity ?? 0) * 1.5);
    expect(result.stdout).toMatch(/\| model +\| nDCG@10 +\| Precision@10 +\| Recall@10 +\| MAP +\| MAP@10 /);
    expect(ndcg['item-item cosine']).toBeGreaterThan((ndcg.popularity ?? 0) * 1.5);
    expect(noDecay.code).toBe(2);
    expect(noDecay.stderr).toMatch(/^error: --half-life must be a positive number, got "0"/);
    // A usage error, found before the ratings are read.
    expect(served.code).toBe(2);
    expect(served.stderr).toMatch(/^error: --history served needs a temporal split \(not movielens\)/);
    expect(served.stdout).toBe('');
    // Before, the cut-off was ignored and yet recorded in the result JSON (run.options.cutoff).
    expect(cutoff.code).toBe(2);
    expect(cutoff.stderr).toMatch(
      /^error: --cutoff does not apply to --format movielens: .*\n\nusage: npm run eval/,
    );
    await expect(readFile(cutoffJson)).rejects.toThrow();
  });

  it('forecast writes item_id,store_id,date,forecast for the weeks after the data', async () => {
    const csv = path.join(dir, 'retail.csv');
    await writeFile(
      csv,
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '1,A1,MUG,4,2011-01-03 10:00:00,1.0,1,France',
        '2,A1,MUG,4,2011-01-10 10:00:00,1.0,2,France',
        '3,A1,MUG,4,2011-01-17 10:00:00,1.0,3,France',
        '4,B2,BAG,10,2011-01-17 11:00:00,2.0,3,Spain',
      ].join('\n'),
    );
    const out = path.join(dir, 'forecast.csv');
    const json = path.join(dir, 'backtest.json');
    const perItem = path.join(dir, 'forecast-per-item.csv');
    // Three runs writing files of their own, at once; then two refused runs given those files.
    const [result, backtest, items] = await Promise.all([
      runForecast('online-retail', csv, ['--horizon', '2', '--out', out]),
      runForecast('online-retail', csv, ['--horizon', '1', '--backtest', '--json', json]),
      runForecast('online-retail', csv, ['--horizon', '1', '--per', 'item', '--out', perItem]),
    ]);
    expect(result.code).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toEqual([
      'item_id,store_id,date,forecast',
      'A1,France,2011-01-24,4.00',
      'A1,France,2011-01-31,4.00',
      'B2,Spain,2011-01-24,10.00',
      'B2,Spain,2011-01-31,10.00',
    ]);

    // --backtest: the last week (01-17) held out, A1 forecast from 01-03 and 01-10; B2 first sold then.
    expect(backtest.code).toBe(0);
    expect(backtest.stdout).toMatch(
      /backtest: weeks 2011-01-17 to 2011-01-17 held out; 1 item-store series .*\(1 first sold/,
    );
    expect(backtest.stdout).toMatch(/\| exponential smoothing \(served\) \| 0\.000 \| 0\.000 \| \+0\.0 % \|/);
    const record = JSON.parse(await readFile(json, 'utf8')) as {
      series: number;
      actualUnits: number;
      rows: unknown[];
    };
    expect(record).toMatchObject({ series: 1, actualUnits: 4 });
    expect(record.rows).toHaveLength(5);
    // --per item: A1 and B2 each over every country, as store "all".
    expect(items.code).toBe(0);
    expect((await readFile(perItem, 'utf8')).trim().split('\n')).toEqual([
      'item_id,store_id,date,forecast',
      'A1,all,2011-01-24,4.00',
      'B2,all,2011-01-24,10.00',
    ]);
    const [badLevel, mixed] = await Promise.all([
      runForecast('online-retail', csv, ['--per', 'country', '--out', perItem]),
      runForecast('online-retail', csv, ['--backtest', '--out', out]),
    ]);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toMatch(/^error: --per must be store or item, got "country"/);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/^error: --backtest writes no forecast: give --json, not --out/);
  });

  it('forecast --backtest and eval on mongodb record the database, never the connection string', async () => {
    // RX_TEST_MONGODB_URI (test-mongo.ts): that server, with a database of this run's own as the
    // path; else a local one with a user, the string naming no database (MONGODB_DB's, else rx).
    const real = realTestMongoUri();
    const mongo = real
      ? undefined
      : await startLocalMongo({ users: [{ username: 'rx', password: 'pw-s3cret' }] });
    const database = real ? testDatabaseName() : process.env.MONGODB_DB || 'rx';
    try {
      // Twelve shoppers order on three Mondays; the third is the held-out week (and eval's test part).
      const day = (week: number) => new Date(Date.UTC(2024, 0, 1 + 7 * week, 10)).toISOString();
      const order = (user: number, week: number, products: string[]) =>
        toEventDocument({
          type: 'track',
          event: 'Order Completed',
          messageId: `m-${user}-${week}`,
          userId: `u${user}`,
          timestamp: day(week),
          receivedAt: day(week),
          site: 'shop-1',
          bucket: 'treatment',
          model_version: null,
          properties: { order_id: `o-${user}-${week}`, products: products.map((id) => ({ product_id: id })) },
        });
      const docs = [];
      for (let user = 0; user < 12; user++) {
        const [own, other] = user % 2 === 0 ? ['E', 'F'] : ['F', 'E'];
        // Twelve products: the Mult-DAE's validation ranks a top-10.
        const basket = ['A', 'B', 'C', 'D', 'G', 'H', 'I', 'J', 'K', 'L'].filter(
          (_, i) => (i + user) % 3 !== 0,
        );
        docs.push(order(user, 0, [...basket, own]), order(user, 1, basket.slice(2)), order(user, 2, [other]));
      }
      // Locally, no database in the path: the basename of the string is "rx:pw-s3cret@127.0.0.1:PORT".
      const uri = real
        ? withDatabase(real, database)
        : (mongo?.uri ?? '').replace('mongodb://', 'mongodb://rx:pw-s3cret@');
      const client = new MongoClient(uri);
      try {
        await client
          .db(database)
          .collection('events')
          .insertMany(docs as never[]);
      } finally {
        await client.close();
      }
      const forecastJson = path.join(dir, 'backtest-mongodb.json');
      const evalJson = path.join(dir, 'eval-mongodb.json');
      const [forecast, evaluation] = await Promise.all([
        runForecast('mongodb', uri, ['--horizon', '1', '--backtest', '--json', forecastJson]),
        cli('eval', [
          '--format',
          'mongodb',
          '--input',
          uri,
          '--cutoff',
          day(2).slice(0, 10),
          '--json',
          evalJson,
          '--hidden',
          '4',
          '--epochs',
          '1',
        ]),
      ]);
      expect(forecast.stderr).toBe('');
      expect(forecast.code).toBe(0);
      expect(evaluation.stderr).toBe('');
      expect(evaluation.code).toBe(0);
      const forecastRecord = await readFile(forecastJson, 'utf8');
      const evalRecord = await readFile(evalJson, 'utf8');
      // The user and password (the local ones, or the switch's), wherever they would show.
      const credentials = /^mongodb(?:\+srv)?:\/\/([^/?]*)@/.exec(uri)?.[1];
      for (const record of [forecastRecord, evalRecord]) {
        expect(record).not.toMatch(/s3cret|rx:/);
        if (credentials) expect(record).not.toContain(credentials);
      }
      expect(JSON.parse(forecastRecord).run).toMatchObject({ format: 'mongodb', input: database });
      expect(JSON.parse(evalRecord).run.options).toMatchObject({ format: 'mongodb', input: database });
    } finally {
      if (real) await dropTestDatabase(real, database);
      await mongo?.close();
    }
  });

  it('a repeated option or a missing -- after npm run exits 2 with the usage, before any work', async () => {
    const out = path.join(dir, 'never-repeated');
    const [train, forecast] = await Promise.all([
      // Without the refusal the second --input silently won: a run meant for one file trained on another.
      runTrain('movielens', ratings, out, ['--input', ratings]),
      // `npm run forecast --format …` without `--`: npm keeps the options and passes only the values.
      cli('forecast', ['online-retail', ratings, '4', out]),
    ]);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(
      /^error: --input is given more than once; give it once\n\nusage: npm run train -- /,
    );
    expect(train.stdout).toBe('');
    expect(forecast.code).toBe(2);
    expect(forecast.stderr).toMatch(
      /^error: unexpected argument "online-retail": .*\(npm run forecast -- --format …\)\n\nusage: npm run forecast -- /,
    );
    await expect(readFile(path.join(out, 'manifest.json'))).rejects.toThrow();
  });

  it('a usage error creates no folder: every option is checked before --out is', async () => {
    // --out's check creates its parent folders; it ran before --input, --k, --currency and --lambda were
    // read, so a refused run left newparent/sub behind.
    const parent = (name: string) => path.join(dir, `usage-${name}`);
    const out = (name: string) => path.join(parent(name), 'sub', 'bundle');
    const train = (name: string, options: string[]) =>
      cli('train', ['--format', 'online-retail', '--out', out(name), ...options]);
    const recommend = (name: string, options: string[]) =>
      cli('recommend', [
        '--format',
        'movielens',
        '--out',
        path.join(parent(name), 'sub', 'recs.csv'),
        ...options,
      ]);
    const runs: Array<[string, Promise<CliResult>, RegExp]> = [
      ['no-input', train('no-input', []), /--input is required/],
      ['k', train('k', ['--input', ratings, '--k', 'x']), /--k/],
      ['currency', train('currency', ['--input', ratings, '--currency', 'pounds']), /--currency must be/],
      ['lambda', train('lambda', ['--input', ratings, '--personal', 'ease', '--lambda', '-1']), /--lambda/],
      ['rec-input', recommend('rec-input', ['--model', dir]), /--input is required/],
      ['rec-model', recommend('rec-model', ['--input', ratings]), /--model is required/],
      ['rec-k', recommend('rec-k', ['--model', dir, '--input', ratings, '--k', '0']), /--k/],
      [
        'forecast-input',
        cli('forecast', [
          '--format',
          'movielens',
          '--out',
          path.join(parent('forecast-input'), 'sub', 'f.csv'),
        ]),
        /--input is required/,
      ],
      [
        'backtest-input',
        cli('forecast', [
          '--format',
          'movielens',
          '--backtest',
          '--json',
          path.join(parent('backtest-input'), 'sub', 'b.json'),
        ]),
        /--input is required/,
      ],
    ];
    for (const [name, run, why] of runs) {
      const result = await run;
      expect(result.code, name).toBe(2);
      expect(result.stderr, name).toMatch(why);
      await expect(stat(parent(name)), name).rejects.toThrow(/ENOENT/);
    }
  });

  it('eval: a --cutoff that is no day or moment exits 2 with the usage, before reading the input', async () => {
    // The input does not exist: read first, it would fail as input (exit 1), as 2010-12-32 did after
    // reading a whole file, with no usage.
    const missing = path.join(dir, 'no-such-orders.csv');
    const json = path.join(dir, 'eval-bad-cutoff.json');
    const runs = await Promise.all(
      ['2010-12-32', '12', '2011-11-30T06:54'].map((cutoff) =>
        cli('eval', ['--format', 'online-retail', '--input', missing, '--cutoff', cutoff, '--json', json]),
      ),
    );
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^error: --cutoff must be a day \(YYYY-MM-DD\) or a moment \(2011-11-30T06:54Z\), got ".*"\n\nusage: npm run eval -- /,
      );
      expect(run.stdout).toBe('');
    }
    await expect(readFile(json)).rejects.toThrow();
  });

  it('a connection string given with a file format is not opened as a file with its password printed', async () => {
    const [evaluation, train] = await Promise.all([
      cli('eval', ['--format', 'movielens', '--input', 'mongodb://u:s3cret@h/db']),
      // A password with an unescaped "/" and "@": everything up to the last "@" goes.
      runTrain('events', 'mongodb+srv://u:s3/cr@et@h/db', path.join(dir, 'never-uri')),
    ]);
    expect(evaluation.code).toBe(1);
    expect(evaluation.stderr).toBe(
      'error: cannot open input mongodb://…@h/db: ENOENT (a MongoDB connection string: use --format mongodb)\n',
    );
    expect(train.code).toBe(1);
    expect(train.stderr).toContain('cannot open input mongodb+srv://…@h/db');
    for (const run of [evaluation, train]) expect(`${run.stdout}${run.stderr}`).not.toMatch(/s3|cret|et@/);
  });

  it('bad input: clear errors and non-zero exits, no bundle written', async () => {
    const empty = path.join(dir, 'empty.data');
    await writeFile(empty, '');
    const out = path.join(dir, 'never');
    // Three independent failing runs, at once: none may write a bundle, which the end checks.
    const [a, b, c] = await Promise.all([
      runTrain('movielens', empty, out),
      runTrain('parquet', empty, out),
      runRecommend(path.join(dir, 'nope'), 'movielens', ratings, out),
    ]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/error: input .*empty\.data is empty/);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/unknown --format "parquet"/);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/no model bundle in .*cannot read manifest\.json/);
    await expect(readFile(path.join(out, 'manifest.json'))).rejects.toThrow();
  });
});

describe('forecast counts guest sales', { timeout: 180_000 }, () => {
  it('order lines without a customer id are demand: the forecast and the backtest count them', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'rx-trainer-guests-'));
    const csv = path.join(folder, 'guest.csv');
    // A1 sells 10 units a week to customer 100 and 90 to guests (empty CustomerID), four Mondays.
    const weeks = ['2011-01-03', '2011-01-10', '2011-01-17', '2011-01-24'];
    await writeFile(
      csv,
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        ...weeks.flatMap((day, i) => [
          `1${i},A1,MUG,10,${day} 10:00:00,1.5,100,United Kingdom`,
          `2${i},A1,MUG,90,${day} 11:00:00,1.5,,United Kingdom`,
        ]),
      ].join('\n'),
    );
    const out = path.join(folder, 'g.csv');
    const json = path.join(folder, 'backtest.json');
    const [forecast, backtest] = await Promise.all([
      runForecast('online-retail', csv, ['--horizon', '1', '--out', out]),
      runForecast('online-retail', csv, ['--horizon', '1', '--backtest', '--json', json]),
    ]);
    expect(forecast.code).toBe(0);
    // Before, 10.00: the guests' 90 units a week were skipped as "missing customer id".
    expect((await readFile(out, 'utf8')).trim().split('\n')).toEqual([
      'item_id,store_id,date,forecast',
      'A1,United Kingdom,2011-01-31,100.00',
    ]);
    expect(forecast.stdout).toContain('note: 4 kept rows have no customer id: guest sales');
    expect(backtest.code).toBe(0);
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ series: 1, actualUnits: 100 });
  });
});

describe('train in the shop currency', { timeout: 180_000 }, () => {
  /** Order lines of 12 customers among 4 products, with a Currency column when `currency` is given. */
  function orders(currency?: string): string {
    const products = ['MUG', 'BAG', 'CUP', 'PLATE'];
    const lines = [
      `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country${currency ? ',Currency' : ''}`,
    ];
    for (let customer = 1; customer <= 12; customer++)
      for (const [i, code] of products.entries())
        if ((customer + i) % 3 !== 0)
          lines.push(
            `${1000 + customer},${code},${code},2,2024-03-${String(1 + customer).padStart(2, '0')} 10:00,${i + 2},${customer},France${currency ? `,${currency}` : ''}`,
          );
    return `${lines.join('\n')}\n`;
  }

  /** The currency of each catalogue item of the bundle in `out`. */
  async function currencies(out: string): Promise<Record<string, string>> {
    const catalogue = JSON.parse(await readFile(path.join(out, 'catalogue.json'), 'utf8')) as {
      items: Array<{ product_id: string; currency: string }>;
    };
    return Object.fromEntries(catalogue.items.map((item) => [item.product_id, item.currency]));
  }

  it('takes --currency or a Currency column for an own export, and for catalogue entries without one', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'rx-trainer-currency-'));
    const plain = path.join(folder, 'orders.csv');
    const withColumn = path.join(folder, 'orders-usd.csv');
    const shop = path.join(folder, 'shop.json');
    await Promise.all([
      writeFile(plain, orders()),
      writeFile(withColumn, orders('USD')),
      // NEW has no sales: its currency can only come from --currency or the data's.
      writeFile(
        shop,
        JSON.stringify(['MUG', 'BAG', 'CUP', 'PLATE', 'NEW'].map((id) => ({ product_id: id, price: 3 }))),
      ),
    ]);
    const options = ['--personal', 'item-item', '--catalogue', shop];
    const [euro, usd, bad] = await Promise.all([
      runTrain('online-retail', plain, path.join(folder, 'euro'), [...options, '--currency', 'eur']),
      runTrain('online-retail', withColumn, path.join(folder, 'usd'), options),
      runTrain('online-retail', plain, path.join(folder, 'never'), [...options, '--currency', 'euro']),
    ]);
    // Before: GBP for every item, whatever the file or the option said.
    expect(euro.code).toBe(0);
    expect(Object.values(await currencies(path.join(folder, 'euro')))).toEqual(Array(5).fill('EUR'));
    expect(usd.code).toBe(0);
    expect(Object.values(await currencies(path.join(folder, 'usd')))).toEqual(Array(5).fill('USD'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --currency must be a three-letter code such as EUR, got "euro"/);
  });
});
