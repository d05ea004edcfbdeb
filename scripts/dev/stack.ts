/**
 * The local stack behind `npm start` and the end-to-end test: local Upstash-compatible server, local
 * MongoDB-compatible server, the demo shop (unless an origin is given) and the worker under
 * `wrangler dev`, wired together. `stop()` stops everything it started, in reverse order.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoShop } from '../demo-shop/index';
import { startLocalMongo } from '../local-mongo/index';
import { startLocalUpstash } from '../local-upstash/index';
import { loadDevSecrets } from './dev-secrets';
import { assertPortFree, freePort, PortTakenError } from './ports';
import { startWranglerDev, stopLeftoverWrangler, WorkerPortTakenError } from './wrangler-dev';

/** Environment variables that choose each port (named in "port taken" messages). */
export const PORT_VARS = {
  worker: 'RX_PORT',
  shop: 'RX_SHOP_PORT',
  upstash: 'RX_UPSTASH_PORT',
  mongo: 'RX_MONGO_PORT',
  inspector: 'RX_INSPECTOR_PORT',
} as const;

export interface StackOptions {
  /** Loopback by default. */
  host?: string;
  /** Ports; 0 (the default) picks a free one. */
  workerPort?: number;
  shopPort?: number;
  upstashPort?: number;
  mongoPort?: number;
  /**
   * workerd's DevTools inspector (`RX_INSPECTOR_PORT`; 0: a free one). Undefined: off, unless the
   * environment sets `RX_INSPECTOR_PORT` (dev-worker-main.ts reads it then, unchecked).
   */
  inspectorPort?: number;
  /**
   * Worker settings and secrets (e.g. from the environment). `ORIGIN_URL` replaces the demo shop,
   * `UPSTASH_REDIS_REST_URL` + `_TOKEN` the local Upstash server, `MONGODB_URI` the local MongoDB server.
   * With the demo shop, its origin is added to `SHOP_ORIGINS` (not put in its place).
   */
  workerVars?: Record<string, string>;
  /**
   * Persistent state (MongoDB data, dev secrets, wrangler's local queues and R2). Default: a temporary
   * folder removed by `stop()`.
   */
  dataDir?: string;
  /** Script mode for the demo shop: put the worker's `/rx.js` tag on its pages. */
  shopScriptMode?: boolean;
  /** Each line wrangler prints. */
  onWorkerOutput?: (line: string) => void;
  readyTimeoutMs?: number;
  /** wrangler's own log level (default `log`: one line per request). */
  wranglerLogLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none';
  /** How often `failed` checks that the worker's workerd is alive (default 2 s; see WranglerDevOptions). */
  watchIntervalMs?: number;
  /** What the start did that was not asked for (stopping what an earlier, killed start left running). */
  onNotice?: (line: string) => void;
}

/** A part of the stack that stopped working on its own, and how. */
export interface StackFailure {
  part: 'worker' | 'upstash';
  message: string;
}

export interface Stack {
  /** The personalized shop: the worker, proxying the origin. */
  workerUrl: string;
  /** The same worker without wrangler's proxy worker in front (benchmarks; see WranglerDev). */
  workerdUrl(): string | undefined;
  /** The origin the worker proxies. */
  originUrl: string;
  /** The demo shop, when this stack started it. */
  shopUrl?: string;
  /** Undefined when the environment points the worker at another Upstash. */
  upstash?: { url: string; token: string; backend: string };
  /** Undefined when the environment points the worker at another MongoDB. */
  mongo?: { uri: string; dataDir: string };
  dataDir: string;
  /** All variables the worker was started with (includes secrets: never print them). */
  workerVars: Readonly<Record<string, string>>;
  /** Settles if `wrangler dev` exits (a crash, or after stop()), with its exit code. */
  workerExited: Promise<number | null>;
  /** wrangler's last output lines, to explain a crash. */
  workerOutput(): string[];
  /**
   * Settles (before any stop()) when a part stops working while the rest runs on: wrangler exits, the
   * workerd running the worker dies (wrangler stays up and requests hang, then 500), or the local
   * Upstash's redis-server dies (every cache call a 500). Nothing restarts them. Never rejects.
   */
  failed: Promise<StackFailure>;
  stop(): Promise<void>;
}

/** Starts the stack; on failure stops whatever had started and rethrows (PortTakenError for a taken port). */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const host = options.host ?? '127.0.0.1';
  const given = options.workerVars ?? {};
  // Blank is "not set", as the worker reads it (worker/src/proxy/origin-url.ts).
  const useShop = !given.ORIGIN_URL?.trim();
  // Both or neither: one of them alone would pair a real Upstash URL with the local server's token
  // (every cache call a 401, the worker quietly degraded) while the banner says local Upstash.
  if (!given.UPSTASH_REDIS_REST_URL !== !given.UPSTASH_REDIS_REST_TOKEN) {
    throw new Error(
      'set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (a real Upstash database), or neither (the local one)',
    );
  }
  const useUpstash = !(given.UPSTASH_REDIS_REST_URL && given.UPSTASH_REDIS_REST_TOKEN);
  const useMongo = !given.MONGODB_URI;

  // An earlier start from the same data folder that was killed outright (SIGKILL, the OOM killer, an
  // IDE's force-stop: no exit hook ran) may have left wrangler dev and workerd running, on the worker's
  // port: stopped here, and said, rather than answered with "port taken" (which led to a second stack
  // beside the orphan). One whose starter still runs is another npm start: named if a port is taken.
  let portAdvice: string | undefined;
  if (options.dataDir !== undefined) {
    const notice = options.onNotice ?? ((line: string) => console.log(`stack: ${line}`));
    const leftover = await stopLeftoverWrangler(path.join(options.dataDir, 'run'));
    if (leftover.found === 'stopped') {
      notice(
        `stopped wrangler dev and its workerd (process group ${leftover.pgid}), left running by an ` +
          `earlier start (pid ${leftover.owner}) that was killed`,
      );
    } else if (leftover.found === 'running') {
      portAdvice =
        `another start (pid ${leftover.owner}) still runs with the data folder ${options.dataDir}: ` +
        `stop it first (Ctrl-C where it runs, or kill ${leftover.owner})`;
    }
  }

  // Two parts given the same port: the first to start would take it and the other fail, or (the
  // worker after the demo shop) "Ready" would have been said of the demo shop answering there.
  assertDistinctPorts([
    [options.workerPort, PORT_VARS.worker],
    [useShop ? options.shopPort : undefined, PORT_VARS.shop],
    [useUpstash ? options.upstashPort : undefined, PORT_VARS.upstash],
    [useMongo ? options.mongoPort : undefined, PORT_VARS.mongo],
    [options.inspectorPort, PORT_VARS.inspector],
  ]);

  // Check every fixed port first, so a taken one fails before anything starts.
  const assertFree = (port: number | undefined, envVar: string, what: string) =>
    assertPortFree(host, port ?? 0, envVar, what).catch((error: unknown) => {
      if (portAdvice && error instanceof PortTakenError) {
        throw new PortTakenError(error.port, error.envVar, error.what, portAdvice);
      }
      throw error;
    });
  await assertFree(options.workerPort, PORT_VARS.worker, 'worker');
  if (useShop) await assertFree(options.shopPort, PORT_VARS.shop, 'demo shop');
  if (useUpstash) await assertFree(options.upstashPort, PORT_VARS.upstash, 'local Upstash');
  if (useMongo) await assertFree(options.mongoPort, PORT_VARS.mongo, 'local MongoDB');
  await assertFree(options.inspectorPort, PORT_VARS.inspector, "workerd's inspector");

  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'rx-stack-'));
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        console.error(
          `stack: stopping a part failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    stops.length = 0;
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const upstash = useUpstash
      ? await startLocalUpstash({ host, port: options.upstashPort ?? 0 }).catch(
          rethrowPortTaken(options.upstashPort, PORT_VARS.upstash, 'local Upstash'),
        )
      : undefined;
    if (upstash) stops.push(() => upstash.close());

    const mongo = useMongo
      ? await startLocalMongo({
          host,
          port: options.mongoPort ?? 0,
          dataDir: path.join(dataDir, 'mongo'),
        }).catch(rethrowPortTaken(options.mongoPort, PORT_VARS.mongo, 'local MongoDB'))
      : undefined;
    if (mongo) stops.push(() => mongo.close());

    const workerPort = options.workerPort || (await freePort(host));
    const workerUrl = `http://${host}:${workerPort}`;
    const shop = useShop
      ? await startDemoShop({
          host,
          port: options.shopPort ?? 0,
          pluginSrc: options.shopScriptMode ? `${workerUrl}/rx.js` : undefined,
          siteId: given.SITE_ID,
        }).catch(rethrowPortTaken(options.shopPort, PORT_VARS.shop, 'demo shop'))
      : undefined;
    if (shop) stops.push(() => shop.close());

    const secrets = loadDevSecrets(dataDir);
    const workerVars: Record<string, string> = {
      ...secrets,
      // The demo shop comes with the built-in bundle, trained on its catalogue (off in wrangler.toml,
      // so a deployed shop never shows the demo's products; another origin gets it only if asked).
      ...(shop ? { DEMO_BUNDLE: 'true' } : {}),
      ...(upstash ? { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token } : {}),
      ...(mongo ? { MONGODB_URI: mongo.uri } : {}),
      ...given,
      // The demo shop's own origin joins the given SHOP_ORIGINS (script mode on its pages needs it).
      ...(shop ? { ORIGIN_URL: shop.url, SHOP_ORIGINS: withOrigin(given.SHOP_ORIGINS, shop.url) } : {}),
    };
    const worker = await startWranglerDev({
      host,
      port: workerPort,
      vars: workerVars,
      runDir: path.join(dataDir, 'run'),
      persistTo: path.join(dataDir, 'wrangler'),
      onOutput: options.onWorkerOutput,
      readyTimeoutMs: options.readyTimeoutMs,
      logLevel: options.wranglerLogLevel,
      watch: true,
      watchIntervalMs: options.watchIntervalMs,
      inspectorPort: options.inspectorPort,
    }).catch((error: unknown): never => {
      if (!(error instanceof WorkerPortTakenError)) throw error;
      if (options.workerPort) throw new PortTakenError(error.port, PORT_VARS.worker, 'worker', portAdvice);
      throw new Error(
        `port ${error.port}, found free for the worker, was taken by another process before wrangler dev ` +
          'could bind it: start again',
      );
    });
    stops.push(() => worker.stop());

    return {
      workerUrl,
      workerdUrl: () => worker.workerdUrl(),
      originUrl: workerVars.ORIGIN_URL ?? '',
      shopUrl: shop?.url,
      upstash: upstash && { url: upstash.url, token: upstash.token, backend: upstash.backend },
      mongo: mongo && { uri: mongo.uri, dataDir: mongo.dataDir },
      dataDir,
      workerVars,
      workerExited: worker.exited,
      workerOutput: () => worker.recentOutput(),
      failed: Promise.race([
        worker.failed.then((message): StackFailure => ({ part: 'worker', message })),
        ...(upstash
          ? [upstash.redisExited.then((message): StackFailure => ({ part: 'upstash', message }))]
          : []),
      ]),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * `list` (SHOP_ORIGINS: comma- or space-separated, worker/src/settings.ts) with `origin` added unless it
 * is already there; the given entries are kept as they are, so the worker names any that is wrong.
 */
export function withOrigin(list: string | undefined, origin: string): string {
  const entries = (list ?? '').split(/[\s,]+/).filter(Boolean);
  return entries.includes(origin) ? entries.join(',') : [...entries, origin].join(',');
}

/**
 * Throws a one-line message naming both variables when two parts are given the same port (0, a free
 * one each, and undefined, a part not started, are left out).
 */
export function assertDistinctPorts(ports: ReadonlyArray<readonly [number | undefined, string]>): void {
  const seen = new Map<number, string>();
  for (const [port, envVar] of ports) {
    if (!port) continue;
    const other = seen.get(port);
    if (other !== undefined) {
      throw new Error(
        `${other} and ${envVar} are both ${port}: give each its own port (or 0 for a free one)`,
      );
    }
    seen.set(port, envVar);
  }
}

/** Another process may grab a port between the check and the listen: still answer with the one-line message. */
function rethrowPortTaken(port: number | undefined, envVar: string, what: string) {
  return (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    const name = error instanceof Error ? error.name : '';
    if (port && (code === 'EADDRINUSE' || name === 'PortInUseError'))
      throw new PortTakenError(port, envVar, what);
    throw error;
  };
}

/**
 * Removes the lock the local MongoDB of a stack started from `dataDir` holds (`mongo/local-mongo.lock`,
 * scripts/local-mongo/storage/data-dir-lock.ts), if this process holds it: for a start abandoned
 * midway (Ctrl-C), which exits without stopping the stack it had not finished starting.
 */
export function releaseLocalMongoLock(dataDir: string): void {
  const lock = path.join(dataDir, 'mongo', 'local-mongo.lock');
  try {
    const [pid] = readFileSync(lock, 'utf8').trim().split(/\s+/);
    if (pid === String(process.pid)) rmSync(lock, { force: true });
  } catch {
    // No lock (the local MongoDB had not started, or MONGODB_URI is set): nothing to release.
  }
}
