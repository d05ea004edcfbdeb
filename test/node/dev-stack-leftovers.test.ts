/**
 * An `npm start` killed outright (SIGKILL, the OOM killer, an IDE's force-stop) runs no exit hook. Its
 * wrangler dev (with workerd) and redis-server, each in a process group of its own, used to run on:
 * the next start then said "port 8787 is already in use: set RX_PORT to another port", and a
 * redis-server leaked each time. Now each child stops when its parent is gone (a pipe it watches), and
 * what is left anyway is recorded and stopped by the next start. Process checks read /proc (Linux, as CI).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { assertPortFree, freePort, PortTakenError } from '../../scripts/dev/ports';
import { startStack } from '../../scripts/dev/stack';
import { stopLeftoverWrangler } from '../../scripts/dev/wrangler-dev';
import { spawnRedisServer, stopLeftoverRedisServers } from '../../scripts/local-upstash/spawn-redis';
import { groupMembers, groupRuns, isRunning, startTime } from '../../scripts/processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = path.join(ROOT, 'test', 'support', 'spawning-host.ts');

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

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs` (a bound, not a measurement). */
async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const portFree = (port: number) =>
  assertPortFree('127.0.0.1', port, 'RX_PORT', 'worker').then(
    () => true,
    () => false,
  );

/** The pid of a process that has exited (and been reaped): an owner that is gone. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** A detached process (its own group) whose command line is `argv0 ...args`; killed at the end. */
function detached(command: string, args: string[], options: { argv0?: string } = {}): ChildProcess {
  const child = spawn(command, args, { detached: true, stdio: 'ignore', ...options });
  child.unref();
  cleanups.push(() => process.kill(-(child.pid as number), 'SIGKILL'));
  return child;
}

describe('a dev stack killed outright (SIGKILL)', () => {
  it('takes its wrangler dev, workerd and redis-server with it, and the next start finds nothing left', async () => {
    const dir = tempDir('rx-killed-stack-');
    writeFileSync(
      path.join(dir, 'wrangler.toml'),
      'name = "killed-stack"\nmain = "worker.js"\ncompatibility_date = "2024-09-23"\ncompatibility_flags = ["nodejs_compat"]\n',
    );
    writeFileSync(
      path.join(dir, 'worker.js'),
      "export default { fetch() { return new Response('ok'); } };\n",
    );
    const port = await freePort('127.0.0.1');
    const host = spawn(process.execPath, ['--import', 'tsx', HOST, dir, String(port)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => host.kill('SIGKILL'));
    let output = '';
    host.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    host.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitUntil(() => /READY /.test(output) || host.exitCode !== null, 'the host to start', 120_000);
    const ready = /READY (\{.*\})/.exec(output)?.[1];
    if (!ready) throw new Error(`the host did not start:\n${output}`);
    const pids = JSON.parse(ready) as { wrangler: number; redis: number; socket: string };
    cleanups.push(() => process.kill(-pids.wrangler, 'SIGKILL'));
    cleanups.push(() => process.kill(pids.redis, 'SIGKILL'));
    expect(groupRuns(pids.wrangler)).toBe(true);
    expect(isRunning(pids.redis)).toBe(true);
    expect(await portFree(port)).toBe(false);
    expect(existsSync(path.join(dir, 'run', 'wrangler.json'))).toBe(true);

    host.kill('SIGKILL');
    await new Promise((resolve) => host.once('exit', resolve));

    // Each child notices that its parent is gone, and stops.
    await waitUntil(() => !groupRuns(pids.wrangler), "wrangler dev's process group to stop");
    await waitUntil(() => !isRunning(pids.redis), 'the redis-server to stop');
    await waitUntil(() => portFree(port), `port ${port} to be free`);

    // The next start: nothing to stop, and what the killed one recorded is cleared away.
    expect(await stopLeftoverWrangler(path.join(dir, 'run'))).toEqual({ found: 'nothing' });
    expect(existsSync(path.join(dir, 'run', 'wrangler.json'))).toBe(false);
    const logged: string[] = [];
    stopLeftoverRedisServers((line) => logged.push(line));
    expect(logged).toEqual([]);
    expect(existsSync(path.dirname(pids.socket))).toBe(false);
  }, 180_000);
});

describe('what a killed start left running is stopped by the next start from the same data folder', () => {
  /** A fake wrangler dev group as a killed start leaves it: recorded in DATA/run/wrangler.json. */
  async function leftover(owner: { pid: number; started?: string }, command = 'dev-worker-main') {
    const dataDir = tempDir('rx-leftover-');
    const runDir = path.join(dataDir, 'run');
    mkdirSync(runDir);
    const envFile = path.join(runDir, 'worker.env');
    // Named as startWranglerDev starts it: its script, then the spec with the env file.
    const top = detached(process.execPath, [
      '-e',
      "require('node:child_process').spawn('sleep', ['600'], { argv0: 'workerd', stdio: 'ignore' }); setInterval(() => {}, 60_000);",
      `/repo/scripts/dev/${command}.ts`,
      JSON.stringify({ envFile }),
    ]);
    const pgid = top.pid as number;
    await waitUntil(() => groupMembers(pgid).length === 2, 'the fake workerd to start', 10_000);
    writeFileSync(
      path.join(runDir, 'wrangler.json'),
      JSON.stringify({ pgid, envFile, owner: owner.pid, ownerStarted: owner.started }),
    );
    return { dataDir, runDir, pgid };
  }

  it('stops a recorded wrangler dev group (workerd included) whose starter is gone, and says so', async () => {
    const owner = await deadPid();
    const { dataDir, runDir, pgid } = await leftover({ pid: owner });
    const held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => held.close());
    const mongoPort = (held.address() as { port: number }).port;
    const notices: string[] = [];
    // Another port is taken, so the start stops there (nothing else is started by this test).
    const error = await startStack({ dataDir, mongoPort, onNotice: (line) => notices.push(line) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PortTakenError);
    expect((error as Error).message).toContain('set RX_MONGO_PORT to another port');
    expect(notices).toEqual([
      `stopped wrangler dev and its workerd (process group ${pgid}), left running by an earlier start (pid ${owner}) that was killed`,
    ]);
    await waitUntil(() => !groupRuns(pgid), 'the leftover group to stop');
    expect(existsSync(path.join(runDir, 'wrangler.json'))).toBe(false);
  }, 30_000);

  it('leaves alone a group whose starter still runs, and names it when a port is taken', async () => {
    const me = { pid: process.pid, started: startTime(process.pid) };
    const { dataDir, runDir, pgid } = await leftover(me);
    expect(await stopLeftoverWrangler(runDir)).toEqual({ found: 'running', owner: process.pid, pgid });
    expect(groupRuns(pgid)).toBe(true);
    const held: Server = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => held.close());
    const workerPort = (held.address() as { port: number }).port;
    const error = await startStack({ dataDir, workerPort }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortTakenError);
    expect((error as Error).message).toBe(
      `port ${workerPort} (worker) is already in use: another start (pid ${process.pid}) still runs with ` +
        `the data folder ${dataDir}: stop it first (Ctrl-C where it runs, or kill ${process.pid})`,
    );
    expect(groupRuns(pgid)).toBe(true);
    expect(existsSync(path.join(runDir, 'wrangler.json'))).toBe(true);
  }, 30_000);

  it('does not touch a process that is not the recorded wrangler dev (a pid reused since)', async () => {
    const { runDir, pgid } = await leftover({ pid: await deadPid() }, 'something-else');
    expect(await stopLeftoverWrangler(runDir)).toEqual({ found: 'nothing' });
    expect(groupRuns(pgid)).toBe(true);
    expect(existsSync(path.join(runDir, 'wrangler.json'))).toBe(false);
  });

  it('stops a redis-server whose starter and watchdog are gone, at the next spawn, and removes its folder', async () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'local-upstash-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const socketPath = path.join(folder, 'redis.sock');
    const redis = detached('redis-server', [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      folder,
    ]);
    await waitUntil(() => existsSync(socketPath), 'the redis-server to listen', 10_000);
    const owner = await deadPid();
    writeFileSync(path.join(folder, 'owner.json'), JSON.stringify({ owner, redis: redis.pid, socketPath }));
    const logged: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => logged.push(args.join(' '));
    try {
      const fresh = await spawnRedisServer();
      await fresh.stop();
    } finally {
      console.error = originalError;
    }
    expect(logged).toContain(
      `local-upstash: stopped a redis-server (pid ${redis.pid}) left running by a process that was killed (pid ${owner})`,
    );
    await waitUntil(() => !isRunning(redis.pid as number), 'the leftover redis-server to stop', 10_000);
    expect(existsSync(folder)).toBe(false);
    expect(readFileSync('/proc/self/stat', 'utf8')).toBeTruthy(); // /proc is there: the checks above were real
  });
});

describe('npm start interrupted (Ctrl-C) while it starts', () => {
  // It exited 130 printing nothing, and left mongo/local-mongo.lock for the next start to take over.
  it('says so in one line, exits 130 and leaves no lock, no wrangler dev and no record behind', async () => {
    const dataDir = tempDir('rx-interrupted-start-');
    const env: NodeJS.ProcessEnv = { ...process.env, RX_DATA_DIR: dataDir, FORCE_COLOR: '0' };
    for (const name of ['RX_PORT', 'RX_SHOP_PORT', 'RX_UPSTASH_PORT', 'RX_MONGO_PORT']) env[name] = '0';
    // The local parts, whatever this shell has exported.
    for (const name of ['MONGODB_URI', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'ORIGIN_URL'])
      delete env[name];
    const start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--quiet'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => start.kill('SIGKILL'));
    let output = '';
    start.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    start.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)));
    const lock = path.join(dataDir, 'mongo', 'local-mongo.lock');
    const record = path.join(dataDir, 'run', 'wrangler.json');
    // Interrupted while wrangler dev starts: the local MongoDB holds its lock by then.
    await waitUntil(
      () => (existsSync(lock) && existsSync(record)) || start.exitCode !== null,
      'the start to reach wrangler dev',
      60_000,
    );
    if (start.exitCode !== null) throw new Error(`npm start ended early:\n${output}`);
    const { pgid } = JSON.parse(readFileSync(record, 'utf8')) as { pgid: number };
    cleanups.push(() => process.kill(-pgid, 'SIGKILL'));
    start.kill('SIGINT');

    expect(await exited).toBe(130);
    expect(output).toContain(
      'npm start: interrupted (SIGINT) during start-up; what had started stops with it.\n',
    );
    expect(output).not.toContain('Ready in');
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(record)).toBe(false);
    await waitUntil(() => !groupRuns(pgid), "wrangler dev's process group to stop", 10_000);
  }, 90_000);
});
