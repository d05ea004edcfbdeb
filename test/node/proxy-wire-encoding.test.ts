/**
 * Proxy mode on the wire: what a browser receives through the real runtime (`wrangler dev`, as
 * `npm start` runs the worker) when the origin sends compressed bytes with their Content-Length. The
 * worker pool's tests never put a response on the wire, where the runtime decodes and encodes again
 * (Cloudflare's own, and miniflare's copy of it, pick the coding for the shopper's Accept-Encoding):
 * here each answer is read from a raw socket, its framing checked byte for byte (Content-Length or
 * chunks, never both, nothing after the end), its coding decoded and compared with the origin's bytes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev, type WranglerDev } from '../../scripts/dev/wrangler-dev';
import { NEGOTIATED_ASSET, type ProxyOrigin, startProxyOrigin } from '../support/proxy-origin';

const PAGE = '/fixtures/demo-product.html';
const CHROME_ENCODINGS = 'gzip, deflate, br, zstd';
const CRAWLER = {
  accept: 'text/html,application/xhtml+xml',
  'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'accept-encoding': 'gzip, deflate, br',
};
const SHOPPER = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
  'sec-fetch-dest': 'document',
  'accept-encoding': CHROME_ENCODINGS,
};

let origin: ProxyOrigin;
let worker: WranglerDev;
let runDir: string;
let page: Buffer;

beforeAll(async () => {
  page = await readFile(new URL(`../fixtures/storefronts/${path.basename(PAGE)}`, import.meta.url));
  origin = await startProxyOrigin();
  runDir = await mkdtemp(path.join(os.tmpdir(), 'rx-wire-encoding-'));
  worker = await startWranglerDev({
    host: '127.0.0.1',
    port: await freePort('127.0.0.1'),
    // Every shopper treated, so a shopper's page is rewritten. No cache nor MongoDB: the slots stay
    // empty, and the page still gets the plugin tag (which is all this file needs rewritten).
    vars: { SITE_ID: 'wire-encoding-test', ORIGIN_URL: origin.url, HOLDOUT_PERCENT: '0' },
    runDir,
    persistTo: path.join(runDir, 'state'),
    // Not /healthz: that loads the models, which nothing here needs.
    readyPath: '/rx.js',
    readyTimeoutMs: 120_000,
  });
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await origin?.close();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

interface WireAnswer {
  status: number;
  /** Lower-case names; a header sent twice keeps both values. */
  headers: Map<string, string[]>;
  /** The content as framed (chunks joined), still in its content coding. */
  body: Buffer;
  /** Everything wrong with how the answer was framed; empty when it is consistent. */
  framing: string[];
}

function header(answer: WireAnswer, name: string): string | undefined {
  return answer.headers.get(name)?.join(', ');
}

/** Reads HTTP/1.1 chunks from `bytes`; what is wrong with them goes into `framing`. */
function unchunk(bytes: Buffer, framing: string[]): Buffer {
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) {
      framing.push('chunked body ends without its last (0-length) chunk');
      break;
    }
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) {
      framing.push(`bad chunk size line at byte ${at}`);
      break;
    }
    at = lineEnd + 2;
    if (size === 0) {
      if (bytes.subarray(at).toString('latin1') !== '\r\n') {
        framing.push(`${bytes.length - at} unexpected bytes after the last chunk`);
      }
      break;
    }
    if (at + size + 2 > bytes.length || bytes.subarray(at + size, at + size + 2).toString() !== '\r\n') {
      framing.push(`chunk of ${size} bytes at byte ${at} is cut short or not followed by CRLF`);
      break;
    }
    chunks.push(bytes.subarray(at, at + size));
    at += size + 2;
  }
  return Buffer.concat(chunks);
}

/**
 * Sends one request over a fresh socket (`Connection: close`) and reads until the server closes it:
 * every byte the server sent, so a Content-Length that is too short (bytes left over) or too long (the
 * body ends early) shows, where `fetch` and Node's parser would hide or cut it.
 */
function onTheWire(method: string, target: string, headers: Record<string, string>): Promise<WireAnswer> {
  const { hostname, port } = new URL(worker.url);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`${method} ${target}: no end after 15 s`)));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const bytes = Buffer.concat(received);
      const headEnd = bytes.indexOf('\r\n\r\n');
      if (headEnd === -1) return reject(new Error(`${method} ${target}: no complete header block`));
      const [statusLine = '', ...fields] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      const parsed = new Map<string, string[]>();
      for (const field of fields) {
        const colon = field.indexOf(':');
        const name = field.slice(0, colon).trim().toLowerCase();
        parsed.set(name, [...(parsed.get(name) ?? []), field.slice(colon + 1).trim()]);
      }
      const rest = bytes.subarray(headEnd + 4);
      const framing: string[] = [];
      const length = parsed.get('content-length');
      const transfer = parsed.get('transfer-encoding');
      if (length && transfer) framing.push('both Content-Length and Transfer-Encoding');
      if (length && (length.length > 1 || !/^\d+$/.test(length[0] ?? ''))) {
        framing.push(`Content-Length ${length.join(', ')}`);
      }
      let body: Buffer = rest;
      if (method === 'HEAD' || status === 204 || status === 304) {
        if (rest.length > 0) framing.push(`${rest.length} body bytes after a bodiless answer`);
      } else if (transfer) {
        if (transfer.join(',').trim().toLowerCase() !== 'chunked') {
          framing.push(`Transfer-Encoding ${transfer.join(', ')}`);
        }
        body = unchunk(rest, framing);
      } else if (length) {
        if (rest.length !== Number(length[0])) {
          framing.push(`Content-Length ${length[0]} but ${rest.length} body bytes`);
        }
      } else {
        framing.push('neither Content-Length nor chunks: the end of the body is only the closed connection');
      }
      resolve({ status, headers: parsed, body, framing });
    });
    // Our side closed after the request: the server then closes its side once it has answered.
    socket.end(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** The content with its Content-Encoding undone; any coding but gzip and br is not one a browser was offered. */
function decoded(answer: WireAnswer): Buffer {
  const coding = header(answer, 'content-encoding');
  if (coding === undefined || coding === 'identity') return answer.body;
  if (coding === 'gzip') return gunzipSync(answer.body);
  if (coding === 'br') return brotliDecompressSync(answer.body);
  throw new Error(`unexpected Content-Encoding ${coding}`);
}

/**
 * A HEAD names what its GET sent: same coding and validator, no body, no other length. Its length is
 * compared only with a GET's own: where the runtime changed the coding for the shopper (miniflare's
 * copy of Cloudflare's compression turns an origin's br into gzip for `gzip, deflate, br`), the GET
 * goes in chunks while the HEAD keeps the origin's length, which the worker cannot know better.
 */
function expectHeadLike(head: WireAnswer, get: WireAnswer): void {
  expect(head.framing).toEqual([]);
  expect(head.status).toBe(get.status);
  expect(header(head, 'content-encoding')).toBe(header(get, 'content-encoding'));
  expect(header(head, 'etag')).toBe(header(get, 'etag'));
  const getLength = header(get, 'content-length');
  const headLength = header(head, 'content-length');
  if (getLength !== undefined && headLength !== undefined) expect(headLength).toBe(getLength);
}

describe('compressed origin answers through wrangler dev, on the wire', () => {
  it.each(['gzip', 'br'])("passes a crawler's %s page on untouched, framed as sent", async (encoding) => {
    const target = `${PAGE}?encoding=${encoding}`;
    const get = await onTheWire('GET', target, CRAWLER);
    expect(get.framing).toEqual([]);
    expect(get.status).toBe(200);
    expect(['gzip', 'br']).toContain(header(get, 'content-encoding'));
    expect(decoded(get).equals(page)).toBe(true);
    // The origin's own validator: the bytes, decoded, are the origin's.
    expect(header(get, 'etag')).toMatch(/^"[0-9a-f]{40}"$/);
    expectHeadLike(await onTheWire('HEAD', target, CRAWLER), get);
  });

  it.each(['gzip', 'br'])("rewrites a shopper's %s page and frames what it sends", async (encoding) => {
    const target = `${PAGE}?encoding=${encoding}`;
    const get = await onTheWire('GET', target, SHOPPER);
    expect(get.framing).toEqual([]);
    expect(get.status).toBe(200);
    // The origin's length is of other bytes: the rewritten page is sent in chunks.
    expect(header(get, 'content-length')).toBeUndefined();
    const html = decoded(get).toString('utf8');
    expect(html).toMatch(/<script src="[^"]*\/rx\.js"/);
    expect(html.startsWith(page.subarray(0, 40).toString('utf8'))).toBe(true);
    expect(html.endsWith('</html>\n')).toBe(true);
    expect(header(get, 'etag')).toBeUndefined();
    const head = await onTheWire('HEAD', target, SHOPPER);
    expectHeadLike(head, get);
    expect(header(head, 'content-length')).toBeUndefined();
  });

  it.each([
    ['gzip', CHROME_ENCODINGS],
    ['br', 'br, gzip'],
  ])(
    'passes a %s stylesheet on with a length that frames it (Accept-Encoding %s)',
    async (encoding, accepted) => {
      const target = `/negotiated-asset?encoding=${encoding}`;
      const get = await onTheWire('GET', target, { 'accept-encoding': accepted });
      expect(get.framing).toEqual([]);
      expect(get.status).toBe(200);
      expect(header(get, 'content-encoding')).toBe(encoding);
      expect(decoded(get).equals(NEGOTIATED_ASSET)).toBe(true);
      expect(header(get, 'etag')).toBe(`"asset-${encoding}"`);
      expectHeadLike(await onTheWire('HEAD', target, { 'accept-encoding': accepted }), get);
    },
  );

  it("answers a byte range of a precompressed asset in a coding the shopper's own Accept-Encoding allows", async () => {
    const compressed = gzipSync(NEGOTIATED_ASSET);
    // A browser that takes gzip: the slice of the gzip file, as the origin sent it.
    const gzipRange = await onTheWire('GET', '/negotiated-asset?encoding=gzip', {
      'accept-encoding': CHROME_ENCODINGS,
      range: 'bytes=0-19',
    });
    expect(gzipRange.framing).toEqual([]);
    expect(gzipRange.status).toBe(206);
    expect(header(gzipRange, 'content-encoding')).toBe('gzip');
    expect(header(gzipRange, 'content-range')).toBe(`bytes 0-19/${compressed.length}`);
    expect(gzipRange.body.equals(compressed.subarray(0, 20))).toBe(true);

    // A client that takes no coding (a resumed download, Chrome's media requests): the runtime stands
    // in `br, gzip` for the Accept-Encoding the worker sees, so the origin was asked for its gzip copy
    // and the runtime then decoded that slice of it, which no decoder can: a few bytes, or none, under
    // a Content-Range naming 20 bytes of the plain file.
    for (const accepted of ['identity', 'identity;q=1, *;q=0']) {
      const plainRange = await onTheWire('GET', '/negotiated-asset?encoding=gzip', {
        'accept-encoding': accepted,
        range: 'bytes=5-24',
      });
      expect(plainRange.framing).toEqual([]);
      expect(plainRange.status).toBe(206);
      expect(header(plainRange, 'content-encoding')).toBeUndefined();
      expect(header(plainRange, 'content-range')).toBe(`bytes 5-24/${NEGOTIATED_ASSET.length}`);
      expect(plainRange.body.toString('utf8')).toBe(NEGOTIATED_ASSET.subarray(5, 25).toString('utf8'));
    }
  });
});
