import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { commandLine, isRunning, startTime, stillRuns } from '../processes.ts';
import { onProcessEnd } from './process-cleanup.ts';

/** A redis-server child process listening on a private unix socket. */
export interface SpawnedRedis {
  /** The unix socket it listens on (in a private temporary folder, mode 700). */
  readonly socketPath: string;
  /** Its process id. */
  readonly pid: number;
  /** Stops it (SIGTERM, then SIGKILL after a grace period) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Settles, with how (`redis-server exited (signal SIGKILL)`), if it exits on its own after start-up:
   * a crash or a kill, not stop() nor this process ending. Never rejects.
   */
  readonly died: Promise<string>;
  /** The last lines it printed since start-up (it logs at `warning` level: a crash report, for one). */
  recentOutput(): string;
  /** True once stop() was called or this process is ending (its connections are expected to drop). */
  stopping(): boolean;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
/** Each redis-server's private folder in the temporary directory: `local-upstash-XXXXXX`. */
const FOLDER_PREFIX = 'local-upstash-';
/** In that folder: who started it (see {@link OwnerRecord}). */
const OWNER_FILE = 'owner.json';

/**
 * Written into a redis-server's folder when it starts, so that if the process that started it is
 * killed outright (SIGKILL, the OOM killer, an IDE's force-stop: no exit hook runs) and its watchdog
 * went with it, the next spawnRedisServer() on the machine finds it, stops it and removes the folder
 * ({@link stopLeftoverRedisServers}).
 */
interface OwnerRecord {
  /** The process that started it, and that process's start time (/proc), so a reused pid is not taken for it. */
  owner: number;
  ownerStarted?: string;
  redis: number;
  socketPath: string;
}

/**
 * Stops the redis-servers that spawnRedisServer() started in processes that are gone (killed outright,
 * and their watchdog too), and removes their folders. One is stopped only if its command line names
 * its folder's socket (it is that redis-server, not a process that got its pid since); a folder whose
 * owner still runs is left alone. Says what it stopped through `log`.
 */
export function stopLeftoverRedisServers(
  log: (message: string) => void = (message) => console.error(message),
  folder = tmpdir(),
): void {
  let entries: string[];
  try {
    entries = readdirSync(folder).filter((name) => name.startsWith(FOLDER_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(folder, name);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(join(path, OWNER_FILE), 'utf8')) as OwnerRecord;
    } catch {
      continue; // not one of ours, or one still being started
    }
    if (typeof record.owner !== 'number' || typeof record.redis !== 'number') continue;
    if (stillRuns(record.owner, record.ownerStarted)) continue;
    if (
      isRunning(record.redis) &&
      typeof record.socketPath === 'string' &&
      commandLine(record.redis)?.includes(record.socketPath)
    ) {
      try {
        // Persistence is off: nothing to save, and nothing is connected to it any more.
        process.kill(record.redis, 'SIGKILL');
        log(
          `local-upstash: stopped a redis-server (pid ${record.redis}) left running by a process that was ` +
            `killed (pid ${record.owner})`,
        );
      } catch {
        // Gone meanwhile.
      }
    }
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * A watchdog for a redis-server: a shell that waits for its standard input, a pipe from this process,
 * to close, then kills the redis-server. The pipe closes when this process ends, however it ends, so
 * a redis-server outlives a SIGKILLed parent by no more than the moment the kernel takes to close it
 * (the exit hook that otherwise kills it never runs then). This process kills the watchdog first when
 * it stops the redis-server itself. Detached, like the redis-server, so a terminal's Ctrl-C misses it.
 */
function startWatchdog(redisPid: number): ChildProcess | undefined {
  try {
    const watchdog = spawn(
      '/bin/sh',
      ['-c', 'read -r _; kill -9 "$1" 2>/dev/null', 'local-upstash-watchdog', String(redisPid)],
      { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
    );
    watchdog.on('error', () => {}); // no /bin/sh: the exit hook and the next start's clean-up remain
    watchdog.stdin?.on('error', () => {});
    // Never what keeps this process running (the redis-server child does that).
    watchdog.unref();
    (watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
    return watchdog;
  } catch {
    return undefined;
  }
}

/** Finds an executable named `name` on PATH (or the given search path), like `which`. */
export function findOnPath(name: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const folder of pathVariable.split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Starts `redis-server` (`binary`, or the one found on `searchPath`, default PATH) with persistence off on a unix socket (no TCP port: nothing to collide with and
 * nothing reachable by other users of the machine). Resolves once it accepts connections.
 *
 * It does not outlive this process: stop(), the exit hook (process-cleanup.ts) or, when this process
 * is killed outright (no hook runs), its watchdog stops it. Should the watchdog be killed too, the
 * next call on the machine stops it ({@link stopLeftoverRedisServers}).
 */
export async function spawnRedisServer(
  options: { binary?: string; searchPath?: string } = {},
): Promise<SpawnedRedis> {
  const binary = options.binary ?? findOnPath('redis-server', options.searchPath);
  if (binary === undefined) {
    throw new Error(
      'redis-server was not found on PATH (install it, e.g. `sudo apt-get install redis-server`)',
    );
  }
  stopLeftoverRedisServers();
  const folder = mkdtempSync(join(tmpdir(), FOLDER_PREFIX));
  const socketPath = join(folder, 'redis.sock');
  const child = spawn(
    binary,
    [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      folder,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a terminal's Ctrl-C (sent to the whole foreground group) does not
      // reach it: it would shut down at once, under an open connection, and look like a crash. This
      // process stops it (stop(), or the process-end cleanup), after closing the connection.
      detached: true,
    },
  );
  const output = captureRecentOutput(child);
  const recentOutput = output.text;
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid);
  const stopWatchdog = () => {
    if (watchdog?.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
  };
  if (child.pid !== undefined) {
    const record: OwnerRecord = { owner: process.pid, redis: child.pid, socketPath };
    const ownerStarted = startTime(process.pid);
    if (ownerStarted !== undefined) record.ownerStarted = ownerStarted;
    try {
      writeFileSync(join(folder, OWNER_FILE), `${JSON.stringify(record)}\n`, { mode: 0o600 });
    } catch {
      // Best effort: only the next start's clean-up needs it.
    }
  }
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  let stopRequested = false;
  const unregister = onProcessEnd(() => {
    stopRequested = true;
    stopWatchdog();
    child.kill('SIGKILL');
    removeFolder();
  });

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopRequested = true;
    stopping ??= (async () => {
      stopWatchdog();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(killTimer);
      }
      removeFolder();
      unregister();
    })();
    return stopping;
  };

  try {
    await waitUntilAccepting(socketPath, child, exited, recentOutput);
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.pid === undefined) {
    await stop();
    throw new Error('redis-server started without a process id');
  }
  output.clear(); // its start-up banner and warnings: said nothing about a later exit
  const died = new Promise<string>((resolve) => {
    const report = (code: number | null, signal: NodeJS.Signals | null) => {
      if (stopRequested) return;
      resolve(`redis-server exited (${signal !== null ? `signal ${signal}` : `code ${code}`})`);
    };
    if (child.exitCode !== null || child.signalCode !== null) report(child.exitCode, child.signalCode);
    else child.once('exit', report);
  });
  return { socketPath, pid: child.pid, stop, died, recentOutput, stopping: () => stopRequested };
}

/** Keeps the last lines the child printed, for the error message if it fails to start or dies later. */
function captureRecentOutput(child: ChildProcess): { text: () => string; clear: () => void } {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 10));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { text: () => lines.join('\n'), clear: () => lines.splice(0) };
}

async function waitUntilAccepting(
  socketPath: string,
  child: ChildProcess,
  exited: Promise<void>,
  recentOutput: () => string,
): Promise<void> {
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      throw new Error(`could not start redis-server: ${spawnError.message}`, { cause: spawnError });
    }
    if (hasExited) {
      throw new Error(`redis-server exited during start-up (code ${child.exitCode}):\n${recentOutput()}`);
    }
    if (await canConnect(socketPath)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `redis-server did not accept connections within ${READY_TIMEOUT_MS} ms:\n${recentOutput()}`,
  );
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
