/**
 * Runs the worker under wrangler's local dev server (workerd) as a child process group, so that stopping
 * it stops wrangler's node process and workerd together (no orphans), even when the parent exits abruptly.
 * The child is dev-worker-main.ts: wrangler's programmatic dev server with the devtools inspector off,
 * because `wrangler dev`'s inspector proxy costs ~10 ms of CPU per outbound fetch (see that file).
 *
 * A parent killed outright (SIGKILL, the OOM killer, an IDE's force-stop) runs no exit hook. For that,
 * the child watches a pipe from the parent and stops its group when the pipe closes (dev-worker-main.ts),
 * and the group is recorded in `runDir`/wrangler.json until it is stopped, so that the next start with
 * the same run folder stops whatever is still there before it checks its ports
 * ({@link stopLeftoverWrangler}).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine, groupMembers, groupRuns, startTime, stillRuns } from '../processes';
import type { DevWorkerSpec } from './dev-worker-main';
import { dotenvFile } from './dotenv';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEV_WORKER_MAIN = fileURLToPath(new URL('./dev-worker-main.ts', import.meta.url));
const KEPT_LINES = 60;
/** In the run folder while a wrangler dev started from it runs: see {@link WranglerRecord}. */
const RECORD_FILE = 'wrangler.json';

/** What `runDir`/wrangler.json says of the wrangler dev started from that folder. */
interface WranglerRecord {
  /** wrangler's top process (dev-worker-main.ts), whose pid is its process group's id. */
  pgid: number;
  /** The env file it was started with: on its command line, so a process that got the pid since is not taken for it. */
  envFile: string;
  /** The process that started it, and that process's start time where known (a reused pid is not it). */
  owner: number;
  ownerStarted?: string;
}

/** What {@link stopLeftoverWrangler} found. */
export type LeftoverWrangler =
  /** Nothing recorded, or only processes that are gone (the record is removed). */
  | { found: 'nothing' }
  /** The process that started it still runs (another npm start with this data folder): left alone. */
  | { found: 'running'; owner: number; pgid: number }
  /** Its owner was gone and it was still running: stopped. */
  | { found: 'stopped'; owner: number; pgid: number };

function readRecord(file: string): WranglerRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<WranglerRecord>;
    if (
      typeof record.pgid === 'number' &&
      typeof record.owner === 'number' &&
      typeof record.envFile === 'string'
    ) {
      return record as WranglerRecord;
    }
  } catch {
    // Missing or unreadable: nothing to go by.
  }
  return undefined;
}

/**
 * The processes of a recorded wrangler dev group that are ours: while its top process runs, the whole
 * group if that process's command line names dev-worker-main.ts and the recorded env file (else none:
 * the pid is another process's since); once it is gone, the workerd processes left in the group.
 */
function ourProcesses(record: WranglerRecord): number[] {
  if (!groupRuns(record.pgid)) return [];
  const members = groupMembers(record.pgid);
  const top = members.find(({ pid }) => pid === record.pgid)?.command ?? commandLine(record.pgid);
  if (top !== undefined) {
    const ours = top.includes('dev-worker-main') && top.includes(record.envFile);
    return ours ? [record.pgid, ...members.map(({ pid }) => pid).filter((pid) => pid !== record.pgid)] : [];
  }
  // The top process is gone: the workerd processes left in its group.
  return members.filter(({ command }) => /workerd/.test(command)).map(({ pid }) => pid);
}

/**
 * Stops a wrangler dev that an earlier start from `runDir` left running because the process that
 * started it was killed outright (no exit hook ran) and the child's own watch of that did not stop it.
 * SIGTERM to the group (wrangler disposes workerd), SIGKILL after `graceMs`. Leaves alone a group whose
 * starter still runs (`running`), and one whose processes are not ours (a pid reused since).
 */
export async function stopLeftoverWrangler(runDir: string, graceMs = 5_000): Promise<LeftoverWrangler> {
  const file = path.join(runDir, RECORD_FILE);
  const record = readRecord(file);
  if (!record) return { found: 'nothing' };
  const ours = ourProcesses(record);
  if (ours.length > 0 && stillRuns(record.owner, record.ownerStarted)) {
    return { found: 'running', owner: record.owner, pgid: record.pgid };
  }
  if (ours.length > 0) {
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-record.pgid, name);
      } catch {
        // The group is gone.
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupRuns(record.pgid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signal('SIGKILL');
  }
  rmSync(file, { force: true });
  return ours.length > 0
    ? { found: 'stopped', owner: record.owner, pgid: record.pgid }
    : { found: 'nothing' };
}

/**
 * dev-worker-main.ts prints this, then the worker's own address in workerd: the one behind wrangler's
 * proxy worker. Defined here, not there, because importing that file starts a server.
 */
export const WORKERD_LINE = 'rx-dev-worker: workerd';

/**
 * dev-worker-main.ts prints this, then the address wrangler serves the worker on, once wrangler's
 * server is ready: until then, whatever answers on the port is not the worker (startWranglerDev).
 */
export const READY_LINE = 'rx-dev-worker: ready';

/**
 * dev-worker-main.ts prints this when wrangler starts to reload the worker (a file of it changed:
 * wrangler rebuilds and restarts the worker's workerd, on a new address), and WORKERD_LINE with that
 * address when the reload is done.
 */
export const RELOAD_LINE = 'rx-dev-worker: reloading';

/** dev-worker-main.ts prints this, then why, when a reload ended without a worker (its new code did not start). */
export const RELOAD_FAILED_LINE = 'rx-dev-worker: reload failed';

/**
 * How long a reload may take before the worker counts as lost (watch) or the start stops waiting for it:
 * a small worker reloads in about a second, ours took 16 s on a loaded machine.
 */
export const RELOAD_LIMIT_MS = 120_000;

export interface WranglerDevOptions {
  /** The wrangler.toml to run (default: the repository's). */
  config?: string;
  host: string;
  /** A concrete port (wrangler cannot report the port it picked for 0). */
  port: number;
  /** Variables and secrets for the worker, written to an owner-only env file (never on the command line). */
  vars: Record<string, string>;
  /** Where the env file goes. */
  runDir: string;
  /** Local state of queues, R2 and caches (`--persist-to`). */
  persistTo: string;
  /** Each line wrangler prints, as it comes. */
  onOutput?: (line: string) => void;
  /** wrangler's own log level (`info` logs every request; benchmarks use `warn`). */
  logLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none';
  /**
   * Path polled, once dev-worker-main.ts said the worker is ready, until it answers (default
   * `/healthz`, which must answer the worker's own health report; any other path, any status).
   */
  readyPath?: string;
  /**
   * How long to wait for `/healthz` to answer; the first start bundles ORT and can take 10-20 s. Time
   * while wrangler reloads the worker (a file of it changed meanwhile) does not count, up to
   * RELOAD_LIMIT_MS per reload.
   */
  readyTimeoutMs?: number;
  /**
   * Once started, check every `watchIntervalMs` (default 2 s) that the worker's own workerd still
   * accepts connections, and settle `failed` when it has not twice in a row (see {@link probeWorker}),
   * except while wrangler reloads the worker after a change to its code (up to RELOAD_LIMIT_MS each)
   * or after a reload that failed, until the next one ({@link reloadExcuses}).
   * Off by default (benchmarks); the stack behind `npm start` turns it on.
   */
  watch?: boolean;
  watchIntervalMs?: number;
  /** workerd's DevTools inspector port (0: a free one); undefined: `RX_INSPECTOR_PORT`, else off. */
  inspectorPort?: number;
}

export interface WranglerDev {
  url: string;
  /**
   * The worker's own address in workerd, without wrangler's proxy worker in front (which production
   * does not have): for benchmarks. Undefined if this wrangler version did not say.
   */
  workerdUrl(): string | undefined;
  pid: number;
  /** The last lines wrangler printed (for error messages). */
  recentOutput(): string[];
  /** Settles when wrangler's top process exits, for whatever reason (stop() included). */
  exited: Promise<number | null>;
  /**
   * Settles, before any stop(), with what went wrong when wrangler's top process exits or (with `watch`)
   * the workerd running the worker stops accepting connections while wrangler carries on: a killed or
   * crashed workerd leaves wrangler running, and every request then hangs and ends in a 500. Never rejects.
   */
  failed: Promise<string>;
  stop(): Promise<void>;
}

/**
 * Signals wrangler's whole process group. Also after its top process exited: workerd and the other
 * inner processes can outlive it (a crashed wrangler leaves workerd on the port), and the group id
 * stays valid while any member lives.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts the worker and resolves once it is up: dev-worker-main.ts printed READY_LINE for our port,
 * and then `GET /healthz` answers with the worker's own health report (or `readyPath`, any status).
 * Rejects with {@link WorkerPortTakenError} when workerd could not bind the port (another process
 * took it): that is told by workerd's log, since whatever holds the port answers HTTP too.
 */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  mkdirSync(options.runDir, { recursive: true });
  const envFile = path.join(options.runDir, 'worker.env');
  writeFileSync(envFile, dotenvFile(options.vars), { mode: 0o600 });
  const spec: DevWorkerSpec = {
    config: options.config ?? path.join(REPO_ROOT, 'wrangler.toml'),
    host: options.host,
    port: options.port,
    envFile,
    persistTo: options.persistTo,
    logLevel: options.logLevel ?? 'log',
    exitWithParent: true,
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
  };
  const args = ['--import', 'tsx', DEV_WORKER_MAIN, JSON.stringify(spec)];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true, // its own process group: killed as a whole, and not hit twice by the terminal's Ctrl-C
    // Its standard input is a pipe from this process that is never written to: it closes when this
    // process ends, however it ends, and the child then stops its group (exitWithParent).
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' },
  });
  child.stdin?.on('error', () => {}); // a child that has exited: nothing is written anyway
  const recordFile = path.join(options.runDir, RECORD_FILE);
  if (child.pid !== undefined) {
    const record: WranglerRecord = { pgid: child.pid, envFile, owner: process.pid };
    const ownerStarted = startTime(process.pid);
    if (ownerStarted !== undefined) record.ownerStarted = ownerStarted;
    writeFileSync(recordFile, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  }
  /** Removes the record if it is still this child's (another start from the same folder may have replaced it). */
  const forgetRecord = () => {
    if (readRecord(recordFile)?.pgid === child.pid) rmSync(recordFile, { force: true });
  };
  let exitedHow = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedHow = signal ? `signal ${signal}` : `code ${code}`;
      resolve(code);
    }),
  );
  const lines: string[] = [];
  /** What start-up has told so far: READY_LINE's and WORKERD_LINE's addresses, or that workerd could not bind our port. */
  const startup: StartupSignals = {};
  // Line by line: a line cut between two chunks is completed by the next one (READY_LINE must be whole).
  const take = (line: string) => {
    if (!line.trim()) return;
    readStartupLine(line, options.port, startup);
    lines.push(line);
    if (lines.length > KEPT_LINES) lines.shift();
    options.onOutput?.(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split(/\r?\n/);
      partial = parts.pop() ?? '';
      for (const line of parts) take(line);
    });
    stream?.on('end', () => take(partial));
  }
  // Synchronous last resort: if this process exits without calling stop(), take the group with it.
  const onExit = () => {
    killGroup(child, 'SIGKILL');
    forgetRecord();
  };
  process.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  let stopWatching = () => {};
  const stop = () => {
    stopWatching();
    stopping ??= (async () => {
      killGroup(child, 'SIGTERM');
      if (!(await waitForExit(child, 5_000))) killGroup(child, 'SIGKILL');
      // wrangler's inner processes may outlive its top process by a moment.
      killGroup(child, 'SIGKILL');
      forgetRecord();
      process.off('exit', onExit);
    })();
    return stopping;
  };

  const url = `http://${options.host}:${options.port}`;
  try {
    await waitUntilReady(
      url,
      options.port,
      options.readyPath ?? '/healthz',
      child,
      startup,
      options.readyTimeoutMs ?? 90_000,
    );
  } catch (error) {
    await stop();
    if (error instanceof WorkerPortTakenError) throw error;
    const tail = lines.slice(-15).join('\n');
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nwrangler said:\n${tail}`);
  }
  const failed = new Promise<string>((resolve) => {
    void exited.then(() => {
      if (!stopping) resolve(`wrangler dev exited (${exitedHow})`);
    });
    if (!options.watch) return;
    const readyUrl = `${url}${options.readyPath ?? '/healthz'}`;
    stopWatching = watchWorker({
      probe: async () => {
        const reason = await probeWorker(startup.workerdUrl, readyUrl);
        // Only a reload that has taken longer than RELOAD_LIMIT_MS is still going when a miss counts.
        return reason === undefined ? undefined : `${reason}${reloadingNote(startup)}`;
      },
      reloading: () => reloadExcuses(startup),
      intervalMs: options.watchIntervalMs ?? 2_000,
      misses: 2,
      onLost: (reason) => {
        if (!stopping) resolve(`${reason}, while wrangler dev (pid ${child.pid}) still runs`);
      },
    });
  });
  return {
    url,
    workerdUrl: () => startup.workerdUrl,
    pid: child.pid ?? -1,
    recentOutput: () => [...lines],
    exited,
    failed,
    stop,
  };
}

/** What {@link watchWorker} needs. */
export interface WorkerWatchOptions {
  /** Resolves undefined when the worker is there, else why it is not. */
  probe: () => Promise<string | undefined>;
  intervalMs: number;
  /** Failed probes in a row before the worker counts as lost (one can be a hiccup). */
  misses: number;
  /**
   * Whether wrangler is reloading the worker (its workerd is restarted, on a new address): a probe
   * that fails while this is true, when it was sent or when it answered, is not a miss, and the misses
   * counted before it are forgotten.
   */
  reloading?: () => boolean;
  /** Called once, with the last probe's reason. */
  onLost: (reason: string) => void;
}

/**
 * Runs `probe` every `intervalMs`, one at a time, and calls `onLost` after `misses` failures in a row.
 * Its timer never keeps the process alive. Returns a function that stops it.
 */
export function watchWorker(options: WorkerWatchOptions): () => void {
  let stopped = false;
  let missed = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(tick, options.intervalMs);
    timer.unref();
  };
  const reloading = () => options.reloading?.() === true;
  const tick = async () => {
    let reason: string | undefined;
    const reloadingBefore = reloading();
    try {
      reason = await options.probe();
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    if (stopped) return;
    missed = reason === undefined || reloadingBefore || reloading() ? 0 : missed + 1;
    if (reason !== undefined && missed >= options.misses) {
      stopped = true;
      options.onLost(reason);
      return;
    }
    schedule();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Whether the worker is there, as cheaply as can be told: a TCP connection to the worker's own workerd
 * (its address from WORKERD_LINE), opened and closed, no request, so nothing runs in the worker and
 * nothing shows in its log. A dead workerd refuses it at once. Without that address (a wrangler version
 * that did not say it), a GET of `fallbackUrl` through wrangler's proxy, where any status will do but
 * no answer within `timeoutMs` is a miss (a dead workerd leaves the proxy holding the request).
 */
export async function probeWorker(
  workerdUrl: string | undefined,
  fallbackUrl: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  if (workerdUrl === undefined) {
    try {
      const response = await fetch(fallbackUrl, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return undefined;
    } catch (error) {
      const reason =
        (error as Error)?.name === 'TimeoutError'
          ? `no answer within ${timeoutMs / 1000} s`
          : String((error as Error)?.cause ?? error);
      return `the worker did not answer ${fallbackUrl} (${reason})`;
    }
  }
  const address = new URL(workerdUrl);
  const host = address.hostname.replace(/^\[|\]$/g, '');
  const port = Number(address.port);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () =>
      done(`the worker's workerd at ${address.host} took over ${timeoutMs / 1000} s to accept a connection`),
    );
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(
        `the worker's workerd at ${address.host} is gone (${error.code ?? error.message}: crashed or killed)`,
      ),
    );
  });
}

/** workerd could not bind the worker's port: another process holds it (taken after any check). */
export class WorkerPortTakenError extends Error {
  override readonly name = 'WorkerPortTakenError';
  readonly code = 'EADDRINUSE';
  constructor(readonly port: number) {
    super(`port ${port} is already in use: wrangler dev could not bind it`);
  }
}

/** What wrangler's output has said so far, read as it comes ({@link readStartupLine}). */
export interface StartupSignals {
  /** The address in READY_LINE. */
  readyUrl?: string;
  /** The worker's own address in workerd, from the last WORKERD_LINE (dev-worker-main.ts prints it). */
  workerdUrl?: string;
  /** workerd failed to bind the worker's port. */
  portTaken?: boolean;
  /** When the reload under way began (the last RELOAD_LINE with no WORKERD_LINE or failure after it). */
  reloadingSince?: number;
  /** Why the last reload failed (RELOAD_FAILED_LINE), until the next reload. */
  reloadFailed?: string;
}

/** workerd's fatal error when it cannot listen: `... Address already in use; toString() = HOST:PORT`. */
const BIND_FAILED = /bind\(.*Address already in use; toString\(\) = (\S+)/;

/** Notes in `signals` what `line` of wrangler's output, printed at `now`, says of the worker on `port`. */
export function readStartupLine(
  line: string,
  port: number,
  signals: StartupSignals,
  now: number = Date.now(),
): void {
  if (line.startsWith(`${READY_LINE} `)) {
    signals.readyUrl = line.slice(READY_LINE.length + 1).trim();
    return;
  }
  if (line.startsWith(`${WORKERD_LINE} `)) {
    signals.workerdUrl = line.slice(WORKERD_LINE.length + 1).trim();
    delete signals.reloadingSince;
    delete signals.reloadFailed;
    return;
  }
  if (line === RELOAD_LINE) {
    signals.reloadingSince = now;
    delete signals.reloadFailed;
    return;
  }
  if (line.startsWith(RELOAD_FAILED_LINE)) {
    delete signals.reloadingSince;
    signals.reloadFailed = line.slice(RELOAD_FAILED_LINE.length).trim() || 'no reason given';
    return;
  }
  const address = BIND_FAILED.exec(line)?.[1];
  if (address?.endsWith(`:${port}`)) signals.portTaken = true;
}

/** Whether a reload began less than `limitMs` before `now` and has not ended. */
export function reloadUnderway(
  signals: StartupSignals,
  now: number = Date.now(),
  limitMs: number = RELOAD_LIMIT_MS,
): boolean {
  return signals.reloadingSince !== undefined && now - signals.reloadingSince < limitMs;
}

/**
 * Whether the worker's workerd not answering is explained by a reload, not a crash: one under way
 * (for up to `limitMs`), or the last one failed (the new code did not start; wrangler reloads again at
 * the next change, as `wrangler dev` does, so the stack waits for it).
 */
export function reloadExcuses(
  signals: StartupSignals,
  now: number = Date.now(),
  limitMs: number = RELOAD_LIMIT_MS,
): boolean {
  return signals.reloadFailed !== undefined || reloadUnderway(signals, now, limitMs);
}

/**
 * Whether a `/healthz` body is the worker's own health report (worker/src/health.ts: `status` and
 * `components`), not another server's page on the same port.
 */
export function isWorkerHealth(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { status, components } = body as { status?: unknown; components?: unknown };
  return typeof status === 'string' && typeof components === 'object' && components !== null;
}

/** What `GET url` answered: undefined when it is the worker's (for /healthz: its report), else what it was. */
async function notTheWorker(url: string, checkHealth: boolean): Promise<string | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!checkHealth) {
    await response.body?.cancel();
    return undefined;
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isWorkerHealth(body)) return undefined;
  const type = response.headers.get('content-type') ?? 'no content type';
  return `HTTP ${response.status}, ${type}: ${JSON.stringify(text.slice(0, 60))}`;
}

function portOf(url: string): number | undefined {
  try {
    const parsed = new URL(url);
    return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  } catch {
    return undefined;
  }
}

/** What a failure message adds while a reload is underway: since when (empty when none is). */
function reloadingNote(startup: StartupSignals, now = Date.now()): string {
  const since = startup.reloadingSince;
  if (since === undefined) return '';
  return `; wrangler began reloading the worker ${Math.round((now - since) / 1000)} s ago and has not finished`;
}

/**
 * Waits until wrangler said it is ready on `port` and `readyPath` answers as the worker (see
 * startWranglerDev), for `timeoutMs` plus the time reloads took (up to RELOAD_LIMIT_MS each).
 */
export async function waitUntilReady(
  base: string,
  port: number,
  readyPath: string,
  child: ChildProcess,
  startup: StartupSignals,
  timeoutMs: number,
): Promise<void> {
  const url = `${base}${readyPath}`;
  const started = Date.now();
  let lastCheck = started;
  /** Time spent in reloads, which does not count against timeoutMs. */
  let reloadsMs = 0;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  let lastAnswer: string | undefined;
  while (Date.now() < started + timeoutMs + reloadsMs) {
    // Before "exited": workerd's failed bind can end wrangler too.
    if (startup.portTaken) throw new WorkerPortTakenError(port);
    if (exited)
      throw new Error(
        `wrangler dev exited (code ${child.exitCode ?? child.signalCode}) before the worker started`,
      );
    // Until wrangler says it is ready, an answer on the port is not the worker's (another server's).
    if (startup.readyUrl !== undefined && portOf(startup.readyUrl) !== port) {
      throw new Error(`wrangler dev started the worker on ${startup.readyUrl}, not on port ${port}`);
    }
    if (startup.readyUrl !== undefined) {
      try {
        lastAnswer = await notTheWorker(url, readyPath === '/healthz');
        if (lastAnswer === undefined) return;
      } catch {
        // Not listening yet.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A reload (a file of the worker changed meanwhile) holds every request until it is done: its time
    // does not count, up to RELOAD_LIMIT_MS per reload.
    const now = Date.now();
    if (reloadUnderway(startup, now)) reloadsMs += now - lastCheck;
    lastCheck = now;
  }
  const seconds =
    reloadsMs > 0
      ? `${Math.round(timeoutMs / 1000)} s (and ${Math.round(reloadsMs / 1000)} s of reloads)`
      : `${Math.round(timeoutMs / 1000)} s`;
  const reload =
    reloadingNote(startup) ||
    (startup.reloadFailed !== undefined ? `; its last reload failed ${startup.reloadFailed}` : '');
  throw new Error(
    (startup.readyUrl === undefined
      ? `wrangler dev did not start the worker within ${seconds}`
      : lastAnswer === undefined
        ? `the worker did not answer ${url} within ${seconds}`
        : `${url} did not answer with the worker's health report within ${seconds} (last: ${lastAnswer})`) +
      reload,
  );
}
