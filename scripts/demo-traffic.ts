/**
 * `npm run demo:traffic -- [--shoppers N] [--concurrency N] [--seconds S] [--seed N] [--url URL]`
 *
 * Simulated shoppers (both experiment buckets, as the worker assigns them) browsing, clicking
 * recommendations, adding to cart and buying on the running local stack (`npm start`), through the
 * worker: pages plus the events rx.js would send. Bounded in count and time; prints what it did.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { seededRandom } from './demo-traffic/random';
import { DEFAULT_REQUEST_TIMEOUT_MS, type ShopperReport, simulateShopper } from './demo-traffic/shopper';
import { defaultWorkerUrl } from './demo-traffic/worker-url';

const USAGE = `usage: npm run demo:traffic -- [--shoppers N] [--concurrency N] [--seconds S] [--seed N] [--url URL]

  --shoppers N     how many simulated shoppers (default 40, at most 1000)
  --concurrency N  how many browse at once (default 4, at most 32)
  --seconds S      stop starting shoppers after S seconds (default 90, at most 600); a request
                   gets ${DEFAULT_REQUEST_TIMEOUT_MS / 1000} s, so the run ends within about S + ${DEFAULT_REQUEST_TIMEOUT_MS / 1000} s, whatever the worker does
  --seed N         replay a run: the same seed browses, clicks and buys alike (default: from the clock)
  --url URL        the worker (default RX_WORKER_URL, else http://127.0.0.1:$RX_PORT, else :8787;
                   RX_PORT=0 counts as unset: npm start prints the --url to give)
  -h, --help       this text`;

/** A mistake in the command line: said with the usage. */
class UsageError extends Error {}

const MAX_SHOPPERS = 1000;
const MAX_SECONDS = 600;

function wholeNumber(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got "${text}"`);
  }
  return value;
}

function money(amount: number): string {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' }).format(amount);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function describe(report: ShopperReport): string {
  const parts = [
    count(report.pages, 'page'),
    report.recommendationClicks ? count(report.recommendationClicks, 'recommendation click') : undefined,
    report.itemsAdded ? `${count(report.itemsAdded, 'item')} added` : undefined,
    report.order ? `bought ${report.order.orderId} for ${money(report.order.revenue)}` : undefined,
    report.timeouts ? count(report.timeouts, 'timed-out request') : undefined,
    report.errors.length ? `errors: ${report.errors.join('; ')}` : undefined,
  ];
  return `shopper ${String(report.index).padStart(3)} (${report.bucket.padEnd(9)}): ${parts.filter(Boolean).join(', ')}`;
}

function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgsOrUsage({
    options: {
      shoppers: { type: 'string' },
      concurrency: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const shoppers = wholeNumber('shoppers', values.shoppers, 40, MAX_SHOPPERS);
  const concurrency = wholeNumber('concurrency', values.concurrency, 4, 32);
  const seconds = wholeNumber('seconds', values.seconds, 90, MAX_SECONDS);
  const seed =
    values.seed === undefined ? Date.now() % 2 ** 31 : wholeNumber('seed', values.seed, 1, 2 ** 31);
  const baseUrl = (values.url ?? defaultWorkerUrl(process.env)).replace(/\/+$/, '');

  const health = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(
    () => undefined,
  );
  if (!health)
    throw new Error(
      `no worker answers at ${baseUrl}/healthz: start the stack with \`npm start\` (or pass --url)`,
    );
  await health.body?.cancel();

  console.log(
    `Simulating ${shoppers} shoppers (${concurrency} at a time, at most ${seconds} s, seed ${seed}) on ${baseUrl} ...\n`,
  );
  const deadline = Date.now() + seconds * 1000;
  const reports: ShopperReport[] = [];
  let next = 0;
  const started = Date.now();
  async function worker(): Promise<void> {
    while (next < shoppers && Date.now() < deadline) {
      const index = ++next;
      // Each shopper gets its own stream, so the run replays with the same seed whatever the interleaving.
      const report = await simulateShopper(
        index,
        { baseUrl, deadline, thinkMs: [100, 400], requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS },
        seededRandom(seed + index * 7919),
      );
      reports.push(report);
      console.log(describe(report));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()));

  const sum = (pick: (r: ShopperReport) => number, bucket?: ShopperReport['bucket']) =>
    reports.filter((r) => !bucket || r.bucket === bucket).reduce((total, r) => total + pick(r), 0);
  console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
  // `products shown`: items in the recommendation blocks the shoppers saw (an impression is a block or a
  // page, as /admin/live and npm run report count them).
  console.log(
    '| bucket    | shoppers | pages | products shown | rec clicks | items added | orders | revenue |',
  );
  console.log(
    '| --------- | -------- | ----- | -------------- | ---------- | ----------- | ------ | ------- |',
  );
  for (const bucket of ['treatment', 'holdout'] as const) {
    const row = [
      bucket.padEnd(9),
      String(sum(() => 1, bucket)).padStart(8),
      String(sum((r) => r.pages, bucket)).padStart(5),
      String(sum((r) => r.recommendationsShown, bucket)).padStart(14),
      String(sum((r) => r.recommendationClicks, bucket)).padStart(10),
      String(sum((r) => r.itemsAdded, bucket)).padStart(11),
      String(sum((r) => (r.order ? 1 : 0), bucket)).padStart(6),
      money(sum((r) => r.order?.revenue ?? 0, bucket)).padStart(7),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
  const rejected = sum((r) => r.eventsRejected);
  console.log(
    `\nEvents accepted by POST /v1/events: ${sum((r) => r.eventsAccepted)}${rejected ? `, rejected: ${rejected}` : ''}.`,
  );
  const timeouts = sum((r) => r.timeouts);
  if (timeouts > 0) {
    console.log(
      `Requests that timed out (no whole answer within ${DEFAULT_REQUEST_TIMEOUT_MS / 1000} s): ${timeouts}; each ended its shopper.`,
    );
  }
  console.log(
    'The worker also recorded a page view for every page it served a tracked shopper, in both arms.',
  );
  // The data folder npm start was given (RX_DATA_DIR), when this shell has it too.
  const dataDir = process.env.RX_DATA_DIR?.trim() || '.rx-data';
  console.log(`Live figures: ${baseUrl}/admin/live/screen (the ADMIN_TOKEN of ${dataDir}/run/worker.env).`);
  if (sum(() => 1, 'holdout') === 0) {
    console.log(
      'No shopper landed in the holdout bucket this time (HOLDOUT_PERCENT); run more shoppers to see both.',
    );
  }
  if (reports.some((r) => r.errors.length > 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`demo:traffic: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof UsageError) console.error(USAGE);
  process.exit(1);
});
