/**
 * `npm start` stopped with SIGTERM (a process manager, an IDE's stop button, `kill PID`) sent to npm's
 * process only. npm forwards SIGTERM to its script's shell; the script was `tsx scripts/start.ts`,
 * which `sh -c` (dash) runs as a child and does not forward a signal to: the shell died, and tsx,
 * start.ts, wrangler, workerd and redis-server ran on, on their ports. With `exec`, the shell becomes
 * tsx, which relays the signal to start.ts, and that stops the stack. Process checks read /proc (Linux,
 * as CI). The whole stack starts (`--ignore-scripts`: not `prestart`'s build), so this takes 20-70 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import { groupMembers, isRunning } from '../../scripts/processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch {
      // already gone
    }
  }
});

/** The parent pid of every live process, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** `pid`'s live descendants. */
function descendants(pid: number): number[] {
  const parentOf = parents();
  const found: number[] = [];
  let generation = [pid];
  while (generation.length > 0) {
    const next = [...parentOf].filter(([, parent]) => generation.includes(parent)).map(([child]) => child);
    found.push(...next);
    generation = next;
  }
  return found;
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '(gone)';
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start stopped with SIGTERM to npm alone', () => {
  it('stops the whole stack: no process of it is left and the worker port refuses connections', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rx-npm-sigterm-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const workerPort = await freePort('127.0.0.1');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RX_DATA_DIR: dataDir,
      RX_PORT: String(workerPort),
      RX_SHOP_PORT: '0',
      RX_UPSTASH_PORT: '0',
      RX_MONGO_PORT: '0',
      FORCE_COLOR: '0',
    };
    // The local parts, whatever this shell has exported.
    for (const name of ['MONGODB_URI', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'ORIGIN_URL'])
      delete env[name];
    const npm = spawn('npm', ['start', '--ignore-scripts', '--', '--quiet'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const npmPid = npm.pid as number;
    let output = '';
    npm.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    npm.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    let stack: number[] = [];
    cleanups.push(() => {
      for (const pid of stack) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });

    await waitUntil(
      () => output.includes('Ready in') || npm.exitCode !== null,
      'npm start to be ready',
      150_000,
    );
    if (!output.includes('Ready in')) throw new Error(`npm start ended early:\n${output}`);
    // Everything it runs: npm's descendants, and wrangler's process group (its own, by design).
    const { pgid } = JSON.parse(readFileSync(path.join(dataDir, 'run', 'wrangler.json'), 'utf8')) as {
      pgid: number;
    };
    stack = [...new Set([...descendants(npmPid), ...groupMembers(pgid).map(({ pid }) => pid)])];
    const commands = stack.map(commandOf);
    expect(commands.some((command) => command.includes('scripts/start.ts'))).toBe(true);
    expect(commands.some((command) => command.includes('dev-worker-main'))).toBe(true);
    expect(commands.some((command) => /workerd/.test(command))).toBe(true);
    expect(await listening(workerPort)).toBe(true);

    process.kill(npmPid, 'SIGTERM');
    await waitUntil(() => stack.every((pid) => !isRunning(pid)), 'the stack to stop', 30_000).catch(
      (error: Error) => {
        const left = stack.filter(isRunning).map((pid) => `${pid} ${commandOf(pid)}`);
        throw new Error(`${error.message}; still running:\n${left.join('\n')}\nnpm start said:\n${output}`);
      },
    );
    await exited;
    expect(output).toContain('SIGTERM: stopping the stack...');
    expect(await listening(workerPort)).toBe(false);
  }, 200_000);
});
