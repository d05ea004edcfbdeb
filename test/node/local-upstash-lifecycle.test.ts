import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from '@upstash/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { PortInUseError, startLocalUpstash } from '../../scripts/local-upstash/index.ts';
import { spawnRedisServer } from '../../scripts/local-upstash/spawn-redis.ts';

/**
 * Starting and stopping: the spawned redis-server dies with close(), with Ctrl-C/SIGTERM of the process,
 * a taken port gives a clear message (CLI: no stack trace), an existing Redis can be used by URL, and a
 * Redis that goes away mid-flight gives 500s instead of a crash. Process checks read /proc (Linux, as CI).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(ROOT, 'scripts', 'local-upstash', 'cli.ts');
const INDEX = join(ROOT, 'scripts', 'local-upstash', 'index.ts');

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // already gone
    }
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); it is dead for our purposes.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** All live descendants of `pid` with their command names, from /proc. */
function descendants(pid: number): { pid: number; name: string }[] {
  const byParent = new Map<number, { pid: number; name: string }[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const [state, parent] = stat.slice(close + 2).split(' ');
    if (state === 'Z') continue;
    const list = byParent.get(Number(parent)) ?? [];
    list.push({ pid: Number(entry), name });
    byParent.set(Number(parent), list);
  }
  const found: { pid: number; name: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

const redisChildren = (pid: number) =>
  descendants(pid).filter((process) => process.name.startsWith('redis-server'));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function canConnect(options: { path: string } | { port: number; host: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(options as never);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts a child process and collects its output; killed at the end of the file if still running. */
function run(
  command: string,
  args: string[],
  options: { detached?: boolean } = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => child.kill('SIGKILL'));
  return { child, output: () => output, exited };
}

describe('spawned redis-server', () => {
  it('answers on its private socket, and stop() kills it and removes its folder', async () => {
    const redis = await spawnRedisServer();
    cleanups.push(() => process.kill(redis.pid, 'SIGKILL'));
    expect(isAlive(redis.pid)).toBe(true);
    expect(await canConnect({ path: redis.socketPath })).toBe(true);
    await redis.stop();
    expect(isAlive(redis.pid)).toBe(false);
    expect(await canConnect({ path: redis.socketPath })).toBe(false);
    expect(existsSync(dirname(redis.socketPath))).toBe(false);
    await redis.stop(); // twice is harmless
  });

  it('fails with a clear message when the binary does not exist', async () => {
    await expect(spawnRedisServer({ searchPath: '/nonexistent' })).rejects.toThrow(
      /redis-server was not found on PATH/,
    );
    await expect(spawnRedisServer({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      /could not start redis-server: spawn \/nonexistent\/redis-server ENOENT/,
    );
  });
});

describe('startLocalUpstash lifecycle', () => {
  it('close() stops the HTTP server and kills the redis-server it spawned', async () => {
    const before = new Set(redisChildren(process.pid).map((child) => child.pid));
    const server = await startLocalUpstash({ backend: 'redis-server' });
    const spawned = redisChildren(process.pid).filter((child) => !before.has(child.pid));
    expect(spawned).toHaveLength(1);
    const redis = new Redis({ url: server.url, token: server.token, retry: false });
    expect(await redis.set('k', 'v')).toBe('OK');
    const { port } = new URL(server.url);

    await server.close();
    for (const child of spawned) expect(isAlive(child.pid)).toBe(false);
    expect(await canConnect({ port: Number(port), host: '127.0.0.1' })).toBe(false);
    await server.close(); // idempotent
  });

  it('says so when its redis-server dies after start-up, and settles redisExited', async () => {
    const logged: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => logged.push(args.join(' '));
    const before = new Set(redisChildren(process.pid).map((child) => child.pid));
    const server = await startLocalUpstash({ backend: 'redis-server' });
    try {
      const [spawned] = redisChildren(process.pid).filter((child) => !before.has(child.pid));
      expect(spawned).toBeDefined();
      process.kill(spawned?.pid as number, 'SIGKILL');
      const message = await Promise.race([
        server.redisExited,
        new Promise((resolve) => setTimeout(() => resolve('(not settled within 10 s)'), 10_000)),
      ]);
      expect(message).toMatch(
        /^redis-server exited \(signal SIGKILL\): every command answers 500 from now on/,
      );
      expect(logged).toContain(`local-upstash: ${message}`);
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}` },
        body: JSON.stringify(['PING']),
      });
      expect(response.status).toBe(500);
      await response.arrayBuffer();
    } finally {
      await server.close();
      console.error = originalError;
    }
  });

  it('does not settle redisExited when close() stops its redis-server', async () => {
    const server = await startLocalUpstash({ backend: 'redis-server' });
    let settled = false;
    void server.redisExited.then(() => {
      settled = true;
    });
    await server.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
  });

  it('rejects a taken port with a message naming it, and leaves no redis-server behind', async () => {
    const first = await startLocalUpstash({ backend: 'memory' });
    const port = Number(new URL(first.url).port);
    const before = redisChildren(process.pid).length;
    try {
      const attempt = startLocalUpstash({ backend: 'redis-server', port });
      await expect(attempt).rejects.toBeInstanceOf(PortInUseError);
      await expect(attempt).rejects.toThrow(
        `port ${port} on 127.0.0.1 is already in use; choose another with --port N (or port: 0 to pick a free one)`,
      );
      await waitFor(() => redisChildren(process.pid).length === before, 'the spawned redis-server to exit');
    } finally {
      await first.close();
    }
  });

  it('uses the token it is given and a random one otherwise', async () => {
    const given = await startLocalUpstash({ backend: 'memory', token: 'dev-token' });
    const random = await startLocalUpstash({ backend: 'memory' });
    try {
      expect(given.token).toBe('dev-token');
      expect(random.token.length).toBeGreaterThanOrEqual(32);
      expect(await new Redis({ url: given.url, token: 'dev-token', retry: false }).ping()).toBe('PONG');
    } finally {
      await given.close();
      await random.close();
    }
  });

  it('auto picks redis-server when it is on PATH and warns when it falls back to memory', async () => {
    const logged: string[] = [];
    const originalError = console.error;
    const originalPath = process.env.PATH;
    console.error = (...args: unknown[]) => logged.push(args.join(' '));
    try {
      const withRedis = await startLocalUpstash();
      expect(withRedis.backend).toBe('redis-server');
      await withRedis.close();
      expect(logged.join('\n')).not.toContain('IN-MEMORY');

      process.env.PATH = '/nonexistent';
      const withoutRedis = await startLocalUpstash();
      process.env.PATH = originalPath;
      expect(withoutRedis.backend).toBe('memory');
      expect(logged.join('\n')).toContain('WARNING: redis-server was not found on PATH');
      expect(
        await new Redis({ url: withoutRedis.url, token: withoutRedis.token, retry: false }).incr('n'),
      ).toBe(1);
      await withoutRedis.close();
    } finally {
      process.env.PATH = originalPath;
      console.error = originalError;
    }
  });

  it('refuses invalid options clearly', async () => {
    await expect(startLocalUpstash({ port: 70_000 })).rejects.toThrow(
      /port must be an integer from 0 to 65535/,
    );
    await expect(startLocalUpstash({ token: '' })).rejects.toThrow(/token must not be empty/);
    await expect(startLocalUpstash({ redisUrl: 'http://localhost:6379' })).rejects.toThrow(
      /redis:\/\/ or rediss:\/\//,
    );
    await expect(
      startLocalUpstash({ backend: 'memory', redisUrl: 'redis://127.0.0.1:6379' }),
    ).rejects.toThrow(/cannot be combined/);
  });
});

describe('forwarding to an existing Redis by URL', () => {
  it('serves through redis://host:port, answers 500 while Redis is gone, and recovers', async () => {
    const port = await freePort();
    const folder = mkdtempSync(join(tmpdir(), 'local-upstash-test-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const redisArgs = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      folder,
    ];
    const startExternal = async () => {
      const started = run('redis-server', redisArgs);
      const deadline = Date.now() + 10_000;
      while (!(await canConnect({ port, host: '127.0.0.1' }))) {
        if (Date.now() > deadline || started.child.exitCode !== null) {
          throw new Error(`redis-server did not start on port ${port}:\n${started.output()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return started;
    };
    let external = await startExternal();

    const logged: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => logged.push(args.join(' '));
    const server = await startLocalUpstash({ redisUrl: `redis://127.0.0.1:${port}` }).finally(() => {
      console.error = originalError;
    });
    try {
      expect(server.backend).toBe('redis-url');
      expect(logged.join('\n')).toContain(`forwarding to redis://127.0.0.1:${port}`);
      const redis = new Redis({ url: server.url, token: server.token, retry: false });
      expect(await redis.set('via-url', 'yes')).toBe('OK');
      expect(await redis.get('via-url')).toBe('yes');

      external.child.kill('SIGKILL');
      await external.exited;
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}` },
        body: JSON.stringify(['GET', 'via-url']),
      });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: string }).error).toMatch(/^ERR backend failure/);
      for (const path of ['/pipeline', '/multi-exec']) {
        const batch = await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${server.token}` },
          body: JSON.stringify([['GET', 'via-url'], ['PING']]),
        });
        expect(batch.status, path).toBe(500);
        await batch.arrayBuffer();
      }

      external = await startExternal();
      let recovered = false;
      const retryUntil = Date.now() + 15_000;
      while (!recovered && Date.now() < retryUntil) {
        recovered = await redis.ping().then(
          (reply) => reply === 'PONG',
          () => false,
        );
        if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(recovered).toBe(true);
    } finally {
      await server.close();
      external.child.kill('SIGKILL');
    }
  });

  it('rejects an unreachable Redis URL with the reason and without the password', async () => {
    const port = await freePort();
    const attempt = startLocalUpstash({ redisUrl: `redis://user:s3cret@127.0.0.1:${port}/0` });
    await expect(attempt).rejects.toThrow(`could not connect to Redis at redis://127.0.0.1:${port}/0: `);
    await expect(attempt).rejects.toThrow(/ECONNREFUSED/);
    await expect(attempt).rejects.not.toThrow(/s3cret/);
  });
});

describe('command line and process end', () => {
  it('prints URL, token and backend, serves, and on Ctrl-C exits and kills its redis-server', async () => {
    // Node with tsx's loader, not the tsx command: that one relays a signal to its child and, when the
    // child does not acknowledge it within 30 ms twice (a loaded CI machine), SIGKILLs it and exits 130,
    // which is tsx's doing, not the CLI's (seen once in CI).
    const cli = run(process.execPath, [
      '--import',
      'tsx',
      CLI,
      '--port',
      '0',
      '--token',
      'cli-token',
      '--backend',
      'redis-server',
    ]);
    await waitFor(() => /UPSTASH_REDIS_REST_TOKEN=/.test(cli.output()), 'the CLI banner', 20_000);
    const output = cli.output();
    expect(output).toContain('local Upstash-compatible server (redis-server)');
    expect(output).toContain('UPSTASH_REDIS_REST_TOKEN=cli-token');
    const url = /UPSTASH_REDIS_REST_URL=(\S+)/.exec(output)?.[1] ?? '';
    expect(await new Redis({ url, token: 'cli-token', retry: false }).ping()).toBe('PONG');
    const spawned = redisChildren(cli.child.pid as number);
    expect(spawned).toHaveLength(1);

    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    for (const child of spawned)
      await waitFor(() => !isAlive(child.pid), `redis-server ${child.pid} to exit`);
  });

  it('says so and exits 1 when its redis-server dies, instead of answering 500 forever', async () => {
    const cli = run(TSX, [CLI, '--port', '0', '--backend', 'redis-server']);
    await waitFor(() => /UPSTASH_REDIS_REST_TOKEN=/.test(cli.output()), 'the CLI banner', 20_000);
    const [spawned] = redisChildren(cli.child.pid as number);
    expect(spawned).toBeDefined();
    process.kill(spawned?.pid as number, 'SIGKILL');
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain(
      'local-upstash: redis-server exited (signal SIGKILL): every command answers 500',
    );
    expect(cli.output()).toContain('local-upstash: stopping, as its redis-server is gone.');
  });

  it('says which port is taken, without a stack trace, and exits 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    try {
      const cli = run(TSX, [CLI, '--port', String(port), '--backend', 'memory']);
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toContain(
        `local-upstash: port ${port} on 127.0.0.1 is already in use; choose another with --port N`,
      );
      expect(cli.output()).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('rejects a bad flag with usage and exit 1', async () => {
    const cli = run(TSX, [CLI, '--backend', 'postgres']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain('--backend must be auto, redis-server or memory, got "postgres"');
    expect(cli.output()).toContain('usage:');
  });

  /** A program that starts the library's server (redis-server backend), runs `setup`, says READY, stays. */
  const hostProgram = (setup: string): string => {
    const folder = mkdtempSync(join(tmpdir(), 'local-upstash-host-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const script = join(folder, 'host.mts');
    writeFileSync(
      script,
      `import { startLocalUpstash } from ${JSON.stringify(INDEX)};\n` +
        `const server = await startLocalUpstash({ backend: 'redis-server' });\n` +
        setup +
        `console.log('READY ' + server.url);\n` +
        'setInterval(() => {}, 1000);\n',
    );
    return script;
  };

  it('kills the spawned redis-server when a library user is stopped with SIGTERM', async () => {
    // A host program that uses the library and installs no signal handlers of its own.
    const script = hostProgram('');
    // Plain node with tsx only as a loader: the tsx CLI would add its own signal relaying and mask ours.
    const host = run(process.execPath, ['--import', 'tsx', script]);
    await waitFor(() => host.output().includes('READY'), 'the host program', 20_000);
    const spawned = redisChildren(host.child.pid as number);
    expect(spawned).toHaveLength(1);
    host.child.kill('SIGTERM');
    await host.exited;
    for (const child of spawned)
      await waitFor(() => !isAlive(child.pid), `redis-server ${child.pid} to exit`);
  });

  it('leaves the order of stopping to a program that handles Ctrl-C itself: no connection error on the way out', async () => {
    // As npm start does: on Ctrl-C it first stops other things (wrangler: seconds), then this server.
    // The redis-server used to be SIGKILLed (and its folder removed) at the signal, so the connection's
    // retries printed `redis connection: connect ENOENT .../redis.sock` on every Ctrl-C.
    const script = hostProgram(
      "process.on('SIGINT', () => setTimeout(() => server.close().then(() => process.exit(0)), 600));\n",
    );
    // In a process group of its own, to send Ctrl-C as a terminal does: to the whole group, which
    // redis-server was part of (it then shut down by itself, under the open connection).
    const host = run(process.execPath, ['--import', 'tsx', script], { detached: true });
    cleanups.push(() => process.kill(-(host.child.pid as number), 'SIGKILL'));
    await waitFor(() => host.output().includes('READY'), 'the host program', 20_000);
    const spawned = redisChildren(host.child.pid as number);
    expect(spawned).toHaveLength(1);
    process.kill(-(host.child.pid as number), 'SIGINT');
    expect(await host.exited).toBe(0);
    expect(host.output()).not.toContain('redis connection');
    expect(host.output()).not.toContain('redis-server exited');
    for (const child of spawned)
      await waitFor(() => !isAlive(child.pid), `redis-server ${child.pid} to exit`);
  });
});
