/**
 * The child process behind `startWranglerDev` (and the benchmarks' `runWrangler`): wrangler's local dev
 * server for one wrangler.toml, started through wrangler's programmatic API with the devtools inspector
 * OFF. Run as `node --import tsx scripts/dev/dev-worker-main.ts '<DevWorkerSpec JSON>'`; SIGTERM or
 * SIGINT disposes the server (workerd included) and exits.
 *
 * Why not `wrangler dev`: the CLI always attaches its inspector proxy to the worker and enables the
 * devtools Network domain. Every outbound `fetch` of the worker (each Upstash round trip) then emits
 * four Network events that travel workerd → inspector-proxy workerd → one HTTP request each to
 * wrangler's Node process, which formats them and appends them to its debug log file
 * (~/.config/.wrangler/logs, tens of MB per benchmark run). Measured: 7.7 ms of Node CPU and ~3 ms of
 * workerd CPU per cache round trip, on the same cores as the worker; with the inspector off, 0 ms and
 * ~0.2 ms. The CLI has no switch for it; `dev.inspector: false` of the API is that switch.
 * Breakpoints are not available in this mode: run `npx wrangler dev` directly to debug, or set
 * `RX_INSPECTOR_PORT` to turn the inspector on here (e.g. to take a CPU profile over the DevTools
 * protocol at ws://127.0.0.1:PORT/ws; fetches then cost what is described above).
 */
import path from 'node:path';
import { unstable_startWorker } from 'wrangler';
import { READY_LINE, RELOAD_FAILED_LINE, RELOAD_LINE, WORKERD_LINE } from './wrangler-dev';

/** What the parent passes (as one JSON argument: no secrets on the command line, they are in `envFile`). */
export interface DevWorkerSpec {
  /** wrangler.toml to run. */
  config: string;
  host: string;
  port: number;
  /** dotenv file with the worker's variables and secrets. */
  envFile: string;
  /** Local state of queues, R2 and caches. */
  persistTo: string;
  logLevel: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none';
  /**
   * Standard input is a pipe from the parent, never written to, and this process runs in a process group
   * of its own (startWranglerDev): when the pipe closes, the parent is gone, however it ended (killed
   * outright, its exit hook that stops this group never ran), and this process stops its group.
   */
  exitWithParent?: boolean;
  /** workerd's DevTools inspector port (0: a free one); absent: `RX_INSPECTOR_PORT`, else off. */
  inspectorPort?: number;
}

/** How long the worker gets to dispose of itself (workerd included) once the parent is gone. */
const DISPOSE_GRACE_MS = 5_000;

/** The part of wrangler's `reloadComplete` event that names the worker's own address. */
interface ReloadComplete {
  proxyData?: { userWorkerUrl?: { protocol: string; hostname: string; port: string } };
}

/** The parts of wrangler's DevEnv (`worker.raw`) that {@link announceReloads} hooks. */
interface DevEnvHooks {
  proxy?: {
    onReloadStart?: (event: unknown) => void;
    onReloadComplete?: (event: ReloadComplete) => void;
  };
  on?: (event: 'error', listener: (error: unknown) => void) => void;
}

/** What a DevEnv `error` event says: `{ reason, cause }` (wrangler's own events) or an Error. */
function errorText(error: unknown): string {
  const { reason, cause, message } = (error ?? {}) as {
    reason?: unknown;
    cause?: unknown;
    message?: unknown;
  };
  const causeText = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : undefined;
  const text = [reason, causeText ?? message].filter((part) => typeof part === 'string' && part).join(': ');
  return (text || String(error)).replace(/\s+/g, ' ').trim();
}

/**
 * Says when wrangler restarts the worker's workerd and where the worker is afterwards, for the parent's
 * watch of that workerd (startWranglerDev).
 *
 * wrangler always bundles in esbuild's watch mode (`dev.watch: false` does not turn that off): when a
 * file of the worker changes it rebuilds, and its runtime controller emits `reloadStart` (it prints
 * "⎔ Reloading local server..."), restarts workerd with the new code, on a new port, and emits
 * `reloadComplete` with the new address. Its proxy controller handles both (it holds requests in
 * between); this wraps those two handlers: RELOAD_LINE at the start, WORKERD_LINE with the worker's
 * own address at the end (also after the first start, the first "reload"). wrangler answers on a proxy
 * worker of its own, another workerd that production does not have, which forwards every request and
 * runs each HTML response through an HTMLRewriter of its own; benchmarks also measure without it.
 *
 * A reload whose new workerd does not start (the new code throws at load) ends with no
 * `reloadComplete`, only an `error` event of wrangler's DevEnv (which wrangler logs at debug level):
 * RELOAD_FAILED_LINE then; the next change of the code reloads again. Prints nothing if a wrangler
 * version has no such handlers.
 */
function announceReloads(worker: unknown): void {
  const devEnv = (worker as { raw?: DevEnvHooks }).raw;
  const controller = devEnv?.proxy;
  const onStart = controller?.onReloadStart;
  const onComplete = controller?.onReloadComplete;
  if (!controller || typeof onComplete !== 'function') return;
  let reloading = false;
  controller.onReloadComplete = (event: ReloadComplete) => {
    reloading = false;
    const address = event?.proxyData?.userWorkerUrl;
    if (address) console.log(`${WORKERD_LINE} ${address.protocol}//${address.hostname}:${address.port}`);
    onComplete.call(controller, event);
  };
  if (typeof onStart !== 'function') return;
  controller.onReloadStart = (event: unknown) => {
    reloading = true;
    console.log(RELOAD_LINE);
    onStart.call(controller, event);
  };
  devEnv?.on?.('error', (error: unknown) => {
    // The runtime controller's "Error reloading local server", or the UserError wrangler makes of it;
    // not another controller's (the proxy's, say).
    const source = (error as { source?: unknown } | undefined)?.source;
    if (!reloading || (source !== undefined && source !== 'LocalRuntimeController')) return;
    reloading = false;
    console.log(
      `${RELOAD_FAILED_LINE} (${errorText(error)}): the worker is down until a change to its code reloads it`,
    );
  });
}

/** The inspector wrangler is asked for: the spec's port, else `RX_INSPECTOR_PORT` (blank: off), else off. */
function inspectorOf(spec: DevWorkerSpec): { port: number } | false {
  if (spec.inspectorPort !== undefined) return { port: spec.inspectorPort };
  const fromEnv = process.env.RX_INSPECTOR_PORT?.trim();
  return fromEnv ? { port: Number(fromEnv) } : false;
}

function parseSpec(argument: string | undefined): DevWorkerSpec {
  if (!argument) throw new Error('usage: dev-worker-main.ts <DevWorkerSpec JSON>');
  const spec = JSON.parse(argument) as Partial<DevWorkerSpec>;
  for (const field of ['config', 'host', 'envFile', 'persistTo', 'logLevel'] as const) {
    if (typeof spec[field] !== 'string') throw new Error(`dev-worker-main: "${field}" must be a string`);
  }
  if (typeof spec.port !== 'number' || !Number.isInteger(spec.port) || spec.port <= 0) {
    throw new Error('dev-worker-main: "port" must be a concrete port number');
  }
  return spec as DevWorkerSpec;
}

/** Ends this process's whole group (workerd included); this process leads it (spawned detached). */
function killOwnGroup(): never {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // Not a group leader after all: at least this process goes.
  }
  process.exit(1);
}

/**
 * Once the parent is gone (its pipe, our standard input, closed): dispose of the worker if it has
 * started (at most DISPOSE_GRACE_MS), then end the whole group, whatever is left of it. Nothing reads
 * our output any more: writes to it must not throw on the way out.
 */
function stopWithParent(dispose: () => Promise<void> | undefined): void {
  let gone = false;
  const parentGone = () => {
    if (gone) return;
    gone = true;
    process.stdout.on('error', () => {});
    process.stderr.on('error', () => {});
    setTimeout(killOwnGroup, DISPOSE_GRACE_MS);
    Promise.resolve(dispose()).then(killOwnGroup, killOwnGroup);
  };
  process.stdin.on('end', parentGone);
  process.stdin.on('close', parentGone);
  process.stdin.on('error', parentGone);
  process.stdin.resume();
}

async function main(): Promise<void> {
  const spec = parseSpec(process.argv[2]);
  let started: { dispose(): Promise<void> } | undefined;
  if (spec.exitWithParent) stopWithParent(() => started?.dispose());
  const worker = await unstable_startWorker({
    config: path.resolve(spec.config),
    envFiles: [path.resolve(spec.envFile)],
    // The CLI derives this from the config's flags; the API leaves it to the caller. All our configs
    // set `nodejs_compat` with a 2024+ compatibility date, which is wrangler's "v2" mode.
    build: {
      nodejsCompatMode: (config) => (config.compatibility_flags.includes('nodejs_compat') ? 'v2' : null),
    },
    dev: {
      remote: false,
      inspector: inspectorOf(spec),
      // Not the bundler's watch, which is always on: a change to the worker's code reloads it (announceReloads).
      watch: false,
      liveReload: false,
      persist: path.resolve(spec.persistTo),
      logLevel: spec.logLevel,
      server: { hostname: spec.host, port: spec.port },
    },
  });
  started = worker;
  announceReloads(worker);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    worker.dispose().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`dev-worker-main: dispose failed: ${error instanceof Error ? error.message : error}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await worker.ready;
  console.log(`${READY_LINE} ${(await worker.url).href}`);
}

main().catch((error: unknown) => {
  console.error(
    `dev-worker-main: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
