import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalUpstash, startLocalUpstash } from '../../scripts/local-upstash/index.ts';
import { createMemoryBackend } from '../../scripts/local-upstash/memory-backend.ts';
import { createUpstashHttpServer } from '../../scripts/local-upstash/server.ts';

/**
 * The exact wire format of the local Upstash-compatible server, checked with raw fetch calls: bodies,
 * status codes, base64 encoding, authentication and refusal of bad input. Runs against both backends.
 */

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function wireSuite(backend: 'redis-server' | 'memory') {
  let server: LocalUpstash;

  const call = async (
    path: string,
    body: unknown,
    options: {
      base64?: boolean;
      token?: string | null;
      method?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? server.token : options.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    if (options.base64) headers['Upstash-Encoding'] = 'base64';
    const response = await fetch(`${server.url}${path}`, {
      method: options.method ?? 'POST',
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      json: text === '' ? undefined : JSON.parse(text),
      headers: response.headers,
    };
  };

  beforeAll(async () => {
    server = await startLocalUpstash({ backend });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    expect((await call('/', ['FLUSHDB'])).status).toBe(200);
  });

  it('answers a command array with {"result": ...} as plain JSON without the encoding header', async () => {
    expect(await call('/', ['SET', 'k', 'välue 😀', 'EX', 100])).toMatchObject({
      status: 200,
      json: { result: 'OK' },
    });
    expect((await call('/', ['GET', 'k'])).json).toEqual({ result: 'välue 😀' });
    expect((await call('/', ['GET', 'missing'])).json).toEqual({ result: null });
    expect((await call('/', ['INCRBY', 'n', 5])).json).toEqual({ result: 5 });
    expect((await call('/', ['TTL', 'k'])).json.result).toBeGreaterThan(98);
  });

  it('base64-encodes every string at every depth with Upstash-Encoding: base64, except a top-level OK', async () => {
    const value = 'a\u0000b 😀';
    expect((await call('/', ['SET', 'k', value], { base64: true })).json).toEqual({ result: 'OK' });
    expect((await call('/', ['GET', 'k'], { base64: true })).json).toEqual({ result: b64(value) });
    expect((await call('/', ['SET', 'ok-value', 'OK'], { base64: true })).json).toEqual({ result: 'OK' });
    // Inside arrays the client base64-decodes every string, so "OK" must be encoded there.
    expect((await call('/', ['MGET', 'k', 'missing', 'ok-value'], { base64: true })).json).toEqual({
      result: [b64(value), null, b64('OK')],
    });
    expect((await call('/', ['INCR', 'counter'], { base64: true })).json).toEqual({ result: 1 });
    expect((await call('/', ['PING'], { base64: true })).json).toEqual({ result: b64('PONG') });
    await call('/', ['ZADD', 'z', '1.5', 'm']);
    expect((await call('/', ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'], { base64: true })).json).toEqual({
      result: [b64('m'), b64('1.5')],
    });
    await call('/', ['RPUSH', 'l', 'x']);
    expect((await call('/', ['SCAN', '0', 'MATCH', 'l'], { base64: true })).json).toEqual({
      result: [b64('0'), [b64('l')]],
    });
  });

  it('answers /pipeline with one {result} or {error} per command and HTTP 200', async () => {
    const response = await call(
      '/pipeline',
      [['SET', 'w', 'abc'], ['INCR', 'w'], ['GET', 'w'], ['NOSUCHCMD']],
      {
        base64: true,
      },
    );
    expect(response.status).toBe(200);
    expect(response.json).toHaveLength(4);
    expect(response.json[0]).toEqual({ result: 'OK' });
    expect(response.json[1]).toEqual({ error: 'ERR value is not an integer or out of range' });
    expect(response.json[2]).toEqual({ result: b64('abc') });
    expect(response.json[3].error).toMatch(/^ERR unknown command 'NOSUCHCMD'/);
  });

  it('answers /multi-exec with per-command outcomes, or 400 EXECABORT when the transaction is refused', async () => {
    const ok = await call('/multi-exec', [
      ['SET', 'a', '1'],
      ['LPUSH', 'a', 'x'],
      ['INCR', 'a'],
    ]);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual([
      { result: 'OK' },
      { error: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
      { result: 2 },
    ]);
    const refused = await call('/multi-exec', [
      ['SET', 'b', '1'],
      ['NOSUCHCMD', 'x'],
    ]);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(
      /^EXECABORT Transaction discarded because of previous errors: ERR unknown command/,
    );
    expect((await call('/', ['EXISTS', 'b'])).json).toEqual({ result: 0 });
  });

  it('returns 400 with an ERR message for command errors', async () => {
    const unknown = await call('/', ['NOSUCHCMD', 'x']);
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/^ERR unknown command 'NOSUCHCMD'/);
    const arity = await call('/', ['GET']);
    expect(arity).toMatchObject({
      status: 400,
      json: { error: "ERR wrong number of arguments for 'get' command" },
    });
    const refused = await call('/', ['SUBSCRIBE', 'channel']);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/not available over the REST API/);
  });

  it("requires the bearer token on every path, refusing it with Upstash's own 401 body", async () => {
    // Upstash's words for a missing and a wrong token alike (its troubleshooting page of that title).
    const refusal = { error: 'WRONGPASS invalid or missing auth token' };
    for (const path of ['/', '/pipeline', '/multi-exec', '/get/k']) {
      const missing = await call(path, [['PING']], { token: null });
      expect(missing.status, path).toBe(401);
      expect(missing.json, path).toEqual(refusal);
      const wrong = await call(path, [['PING']], { token: 'not-the-token' });
      expect(wrong.status, path).toBe(401);
      expect(wrong.json, path).toEqual(refusal);
    }
    const basic = await call('/', ['PING'], {
      token: null,
      headers: { Authorization: `Basic ${server.token}` },
    });
    expect(basic.status).toBe(401);
    // A wrong token of the same length is refused too (the comparison is over digests).
    const sameLength = await call('/', ['PING'], { token: 'x'.repeat(server.token.length) });
    expect(sameLength.status).toBe(401);
  });

  it('accepts the _token query parameter and path-style commands', async () => {
    const set = await fetch(
      `${server.url}/set/path%20key/some%2Fvalue?_token=${encodeURIComponent(server.token)}`,
    );
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ result: 'OK' });
    expect((await call('/get/path%20key', undefined, { method: 'GET' })).json).toEqual({
      result: 'some/value',
    });
    // POST body becomes the last path argument; query parameters follow it.
    const posted = await call('/set/json-key?EX=100', '{"a":[1,2]}');
    expect(posted.json).toEqual({ result: 'OK' });
    expect((await call('/', ['GET', 'json-key'])).json).toEqual({ result: '{"a":[1,2]}' });
    expect((await call('/', ['TTL', 'json-key'])).json.result).toBeGreaterThan(98);
  });

  it('rejects malformed bodies with 400 and a specific message', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/', '{not json', /^ERR request body is not valid JSON/],
      ['/', { command: 'GET' }, /^ERR body must be a JSON array/],
      ['/', [], /^ERR body is an empty command/],
      ['/', ['SET', 'k', { nested: true }], /^ERR body\[2\] must be a string, number or boolean, got object/],
      ['/', ['GET', null], /^ERR body\[1\] must be a string, number or boolean, got null/],
      ['/pipeline', '[["PING"]', /^ERR request body is not valid JSON/],
      ['/pipeline', [], /^ERR body is an empty list of commands/],
      ['/pipeline', ['PING'], /^ERR body\[0\] must be a JSON array/],
      ['/multi-exec', [['PING'], 42], /^ERR body\[1\] must be a JSON array/],
    ];
    for (const [path, body, message] of cases) {
      const response = await call(path, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json.error, JSON.stringify(body)).toMatch(message);
    }
  });

  it('refuses requests over 10 MB as Upstash does (400 "ERR max request size exceeded") and keeps serving', async () => {
    // Upstash's HTTP codes are 200, 400, 401 and 405; an oversized request is a failed command (400) in the
    // words of its troubleshooting page "ERR max request size exceeded".
    const huge = JSON.stringify(['SET', 'big', 'x'.repeat(10 * 1024 * 1024)]);
    const response = await call('/', huge);
    expect(response).toMatchObject({ status: 400, json: { error: 'ERR max request size exceeded' } });
    const pipeline = await call('/pipeline', JSON.stringify([['SET', 'big', 'x'.repeat(10 * 1024 * 1024)]]));
    expect(pipeline).toMatchObject({ status: 400, json: { error: 'ERR max request size exceeded' } });
    expect((await call('/', ['EXISTS', 'big'])).json).toEqual({ result: 0 });
    // Just under the limit is accepted.
    const large = await call('/', ['SET', 'big', 'y'.repeat(5 * 1024 * 1024)]);
    expect(large.json).toEqual({ result: 'OK' });
  });

  it('answers 405 for methods Upstash does not allow, and for GET on /pipeline', async () => {
    const deleted = await call('/', ['PING'], { method: 'DELETE' });
    expect(deleted.status).toBe(405);
    expect(deleted.json.error).toMatch(/method DELETE is not allowed/);
    expect((await call('/pipeline', undefined, { method: 'GET' })).status).toBe(405);
  });

  it('refuses response formats it cannot produce', async () => {
    const response = await call('/', ['PING'], { headers: { 'Upstash-Response-Format': 'resp2' } });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatch(/Upstash-Response-Format/);
  });

  it('sends an upstash-sync-token header that changes with every response', async () => {
    const first = await call('/', ['SET', 'k', 'v']);
    const second = await call('/', ['GET', 'k'], {
      headers: { 'upstash-sync-token': first.headers.get('upstash-sync-token') ?? '' },
    });
    const firstToken = first.headers.get('upstash-sync-token');
    expect(firstToken).toMatch(/^\d+$/);
    expect(second.headers.get('upstash-sync-token')).not.toBe(firstToken);
    expect(second.json).toEqual({ result: 'v' });
  });

  it('survives garbage: invalid UTF-8, binary bodies and malformed HTTP', async () => {
    const garbage = [
      Buffer.from([0xff, 0xfe, 0x00, 0x5b, 0x22]),
      Buffer.from('["SET","k","\\ud800"]'),
      Buffer.from('[1e400]'),
      Buffer.alloc(4096, 0x5b),
    ];
    for (const body of garbage) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}` },
        body,
      });
      expect(response.status).toBeLessThan(500);
      await response.arrayBuffer();
    }
    const rawReply = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(server.url);
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    expect(rawReply).toMatch(/^HTTP\/1\.1 400/);
    expect((await call('/', ['PING'])).json).toEqual({ result: 'PONG' });
  });
}

describe('local Upstash wire format with the redis-server backend', () => {
  wireSuite('redis-server');
});

describe('local Upstash wire format with the in-memory backend', () => {
  wireSuite('memory');
});

describe('local Upstash server when a client goes away mid-request', () => {
  it('logs no backend failure when the body never arrives in full, and keeps serving', async () => {
    const logged: string[] = [];
    const server = createUpstashHttpServer({
      backend: createMemoryBackend(),
      token: 'tok',
      log: (message) => logged.push(message),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // The server side of the connection closes once the request has failed: wait for that.
      const serverSideClosed = new Promise<void>((resolve) =>
        server.once('connection', (socket) => socket.once('close', () => resolve())),
      );
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // An aborted fetch: the headers promise 100 bytes, 7 arrive, then the connection is gone.
      socket.write(
        'POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 100\r\n\r\n["PING"',
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      await serverSideClosed;
      await new Promise((resolve) => setImmediate(resolve));
      expect(logged).toEqual([]);

      const after = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { Authorization: 'Bearer tok' },
        body: '["PING"]',
      });
      expect(await after.json()).toEqual({ result: 'PONG' });
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });
});
