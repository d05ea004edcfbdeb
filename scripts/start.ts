/**
 * `npm start`: the whole stack locally with embedded defaults (DESIGN.md "Commands"). Proxies the
 * `ORIGIN_URL` of the environment, else of wrangler.toml's `[vars]`, else the demo shop it starts.
 * Prints the personalized shop's URL, each local server's address and what `/healthz` says of the
 * models and the configuration; Ctrl-C stops everything it started. Flags and variables: scripts/README.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { eventsDatabaseOf } from '../contracts/mongodb-uri';
import { PortTakenError, portFromEnv } from './dev/ports';
import { PORT_VARS, releaseLocalMongoLock, type Stack, startStack } from './dev/stack';
import { formatSummary, type HealthView, healthView } from './dev/summary';
import { startVarsFromEnv } from './dev/worker-vars';
import { WRANGLER_TOML, wranglerVars } from './dev/wrangler-config';

const DEFAULT_PORTS = { worker: 8787, shop: 8790, upstash: 8079, mongo: 27018 } as const;

/** `npm start -- --help` (it used to be refused as an unknown option, exit 1). */
const USAGE = `usage: npm start [-- [--script-mode] [--quiet]]
  Starts the local stack (local Upstash, local MongoDB, the demo shop unless ORIGIN_URL is set, the
  worker under wrangler dev) on loopback and prints its addresses; Ctrl-C stops it.
  --script-mode   put the one-line <script src=".../rx.js"> tag on the demo shop's pages
  --quiet         hide wrangler's request log
  -h, --help      this text
Ports (0: a free one): RX_PORT (worker, ${DEFAULT_PORTS.worker}), RX_SHOP_PORT (demo shop, ${DEFAULT_PORTS.shop}),
  RX_UPSTASH_PORT (local Upstash, ${DEFAULT_PORTS.upstash}), RX_MONGO_PORT (local MongoDB, ${DEFAULT_PORTS.mongo});
  RX_DATA_DIR (default .rx-data). Every worker setting in the environment (ORIGIN_URL, HOLDOUT_PERCENT,
  ...) reaches the worker, over wrangler.toml's [vars]. More: scripts/README.md`;

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

/**
 * A fresh isolate's first request of each kind pays for that model's first ONNX run, the first
 * Upstash connections and code that has not run yet. When a browser then sends a page, the plugin's
 * API calls and more at once, that CPU burst made concurrent cache lookups miss their 50 ms budget,
 * and `/healthz` showed the cache degraded until the next page. So `npm start` asks once for each
 * model (home → personal, product → similar, cart → complements) before printing "Ready", with a
 * throwaway shopper id so no real shopper's state moves. Best effort: the worker reports failures.
 */
async function warmUp(workerUrl: string): Promise<void> {
  const shopper = crypto.randomUUID();
  for (const query of [
    'placement=home&limit=4',
    'placement=product&product_id=85123A&limit=4',
    'placement=cart&product_ids=85123A&limit=4',
  ]) {
    try {
      const response = await fetch(`${workerUrl}/v1/recommendations?${query}`, {
        headers: { 'x-rx-uid': shopper },
        signal: AbortSignal.timeout(15_000),
      });
      await response.arrayBuffer();
    } catch {
      // Reported by the worker itself (logs, /healthz) if it matters.
    }
  }
}

/** The `models` and `config` components of the worker's `/healthz` (read once warm-up is done). */
async function readHealth(workerUrl: string): Promise<HealthView> {
  try {
    const response = await fetch(`${workerUrl}/healthz`, { signal: AbortSignal.timeout(15_000) });
    return healthView(await response.json());
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'script-mode': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const env = process.env;
  const dataDir = path.resolve(env.RX_DATA_DIR || '.rx-data');
  const ports = {
    worker: portFromEnv(env, PORT_VARS.worker, DEFAULT_PORTS.worker),
    shop: portFromEnv(env, PORT_VARS.shop, DEFAULT_PORTS.shop),
    upstash: portFromEnv(env, PORT_VARS.upstash, DEFAULT_PORTS.upstash),
    mongo: portFromEnv(env, PORT_VARS.mongo, DEFAULT_PORTS.mongo),
    // Off unless set (blank: off too); checked and passed on like the other ports.
    inspector: env[PORT_VARS.inspector]?.trim() ? portFromEnv(env, PORT_VARS.inspector, 0) : undefined,
  };
  // ORIGIN_URL from the environment, else from wrangler.toml's [vars], else the demo shop; an empty
  // setting in the environment overrides the file's (empty means the setting's default).
  const fileVars = wranglerVars(readFileSync(WRANGLER_TOML, 'utf8'));
  const { workerVars, originSource, fromEnvironment } = startVarsFromEnv(env, fileVars);

  // wrangler's start-up chatter is kept back and shown only if the start fails; after that, its
  // request log streams (unless --quiet), below the addresses.
  let ready = false;
  const started = Date.now();
  console.log(
    'Starting the local stack (the first start of wrangler dev bundles the model runtime: 10-20 s)...',
  );
  let stack: Stack | undefined;
  let stoppingSince = 0;
  const shutdown = (signal: string) => {
    // tsx relays the terminal's Ctrl-C to this process as well, so one key press can arrive twice.
    if (stoppingSince && Date.now() - stoppingSince < 2_000) return;
    if (stoppingSince) {
      console.log('Forced exit.');
      process.exit(130); // the exit hooks still kill wrangler's process group
    }
    stoppingSince = Date.now();
    if (!stack) {
      // Mid-start: what has started goes with this process (wrangler's group by its exit hook, the
      // redis-server by its watchdog); the local MongoDB's lock is a file, removed here so the next
      // start does not find it stale.
      releaseLocalMongoLock(dataDir);
      console.log(`\nnpm start: interrupted (${signal}) during start-up; what had started stops with it.`);
      process.exit(130);
    }
    console.log(`\n${signal}: stopping the stack...`);
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // Closing the terminal: wrangler runs in its own process group, so only this stops it.
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  stack = await startStack({
    workerPort: ports.worker,
    shopPort: ports.shop,
    upstashPort: ports.upstash,
    mongoPort: ports.mongo,
    inspectorPort: ports.inspector,
    workerVars,
    dataDir,
    shopScriptMode: values['script-mode'],
    onWorkerOutput: (line) => {
      if (ready && !values.quiet) console.log(`worker | ${line}`);
    },
    onNotice: (line) => console.log(`npm start: ${line}`),
  });
  const running = stack;
  // A part that stops on its own (wrangler, the workerd under it, local Upstash's redis-server) is
  // not restarted: the stack is stopped with what happened, rather than left answering 500s.
  void running.failed.then((failure) => {
    if (stoppingSince) return;
    stoppingSince = Date.now();
    if (failure.part === 'worker') {
      console.error(`\nnpm start: ${failure.message}; stopping the stack (run npm start again).`);
      console.error(`wrangler's last lines:\n${running.workerOutput().slice(-10).join('\n')}`);
    } else {
      // local-upstash has said what happened, with redis-server's last lines.
      console.error(
        "\nnpm start: local Upstash's redis-server is gone; stopping the stack (run npm start again).",
      );
    }
    running.stop().finally(() => process.exit(1));
  });
  // The database the worker writes events into (MONGODB_DB from the environment, else wrangler.toml's).
  const mongo = stack.mongo && {
    uri: stack.mongo.uri,
    database: eventsDatabaseOf(stack.mongo.uri, stack.workerVars.MONGODB_DB ?? fileVars.MONGODB_DB),
  };
  await warmUp(stack.workerUrl);
  const health = await readHealth(stack.workerUrl);
  ready = true;

  const relative = path.relative(process.cwd(), dataDir);
  console.log(
    formatSummary({
      seconds: (Date.now() - started) / 1000,
      workerUrl: stack.workerUrl,
      originSource: stack.shopUrl ? 'demo shop' : originSource,
      originUrl: stack.shopUrl ?? stack.originUrl,
      upstash: stack.upstash,
      mongo,
      health,
      dataDir: relative === '' ? '.' : relative.startsWith('..') ? dataDir : relative,
      fromEnvironment: Object.keys(fromEnvironment),
    }),
  );
}

main().catch((error: unknown) => {
  if (error instanceof PortTakenError) fail(error.message);
  if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    fail(`${(error as Error).message} (npm start -- --help lists the options)`);
  fail(error instanceof Error ? error.message : String(error));
});
