import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
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
  const folder = mkdtempSync(join(tmpdir(), 'local-upstash-'));
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
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  let stopRequested = false;
  const unregister = onProcessEnd(() => {
    stopRequested = true;
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
