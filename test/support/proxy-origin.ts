/**
 * A small origin for the proxy tests (test/worker/proxy*.test.ts): serves the storefront corpus
 * and the HTTP behaviours a reverse proxy must keep (compression, redirects, cookies, ranges,
 * conditional requests, uploads, slow streams (some held until the test opens their gate), WebSockets).
 * Node's http only, loopback, free port.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const FIXTURES = fileURLToPath(new URL('../fixtures/storefronts/', import.meta.url));

export interface ProxyOrigin {
  url: string;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function fixture(response: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
  if (!/^[\w.-]+$/.test(name)) {
    response.writeHead(400).end('bad fixture name');
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(path.join(FIXTURES, name));
  } catch {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('no such fixture');
    return;
  }
  // `?charset=none`: a Content-Type without one (the page's <meta> then tells).
  const charset = query.get('charset') ?? 'utf-8';
  const type = query.get('type') ?? 'text/html';
  const headers: Record<string, string> = {
    'content-type': !name.endsWith('.html')
      ? 'application/octet-stream'
      : charset === 'none'
        ? type
        : `${type}; charset=${charset}`,
    // `?cache=` and `?cdn=`: the origin's own caching headers, for browsers and for CDNs.
    'cache-control': query.get('cache') ?? 'public, max-age=600',
    etag: `"${createHash('sha1').update(body).digest('hex')}"`,
  };
  const cdn = query.get('cdn');
  if (cdn) headers['cdn-cache-control'] = cdn;
  const encoding = query.get('encoding');
  if (encoding === 'gzip') body = gzipSync(body);
  if (encoding === 'br') body = brotliCompressSync(body);
  if (encoding) headers['content-encoding'] = encoding;
  headers['content-length'] = String(body.length);
  response.writeHead(200, headers).end(body);
}

const RANGE_BODY = 'abcdefghijklmnopqrstuvwxyz'.repeat(4);

function range(request: IncomingMessage, response: ServerResponse): void {
  const match = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
  if (!match) {
    response.writeHead(200, { 'content-type': 'text/html', 'accept-ranges': 'bytes' }).end(RANGE_BODY);
    return;
  }
  const start = Number(match[1]);
  const end = Math.min(Number(match[2]), RANGE_BODY.length - 1);
  response
    .writeHead(206, {
      'content-type': 'text/html',
      'content-range': `bytes ${start}-${end}/${RANGE_BODY.length}`,
      'accept-ranges': 'bytes',
    })
    .end(RANGE_BODY.slice(start, end + 1));
}

function webSocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** A text frame from the server (unmasked), payload under 126 bytes. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

/** Decodes the first masked client text frame (payload under 126 bytes). */
function readClientText(frame: Buffer): string | undefined {
  if (frame.length < 6) return undefined;
  const length = (frame[1] ?? 0) & 0x7f;
  const mask = frame.subarray(2, 6);
  const payload = frame.subarray(6, 6 + length);
  return Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0))).toString();
}

/** Small pages for one rewriting case each, served as UTF-8 HTML at their path. */
const INLINE_PAGES: Record<string, string> = {
  // Self-closing SVG elements a loose RX_PRICE_SELECTOR matches, and another site's `rx.js` (RxJS 4).
  '/svg-prices':
    '<!doctype html><html><head><title>SVG</title>' +
    '<script src="https://cdn.example/rxjs/4.1.0/rx.js"></script></head><body>' +
    '<main data-rx-view data-rx-product-id="85123A">' +
    '<svg viewBox="0 0 1 1"><path class="price-tag" d="M0 0"/><head/></svg>' +
    '<span class="price-now" data-rx-product-id="85123A">£2.95</span></main><p id="last">end of page</p></body></html>',
  // A product whose id (from the URL) is `x&lt;y`, its price marked only by a class; and a price whose
  // id attribute carries a character reference (`A&amp;B` is `A&B`).
  '/products/x%26lt%3By':
    '<!doctype html><html><head><title>Odd id</title></head><body>' +
    '<span class="price">£2.95</span><span class="price" data-product-id="A&amp;B">£1.00</span></body></html>',
  // Attribute values with character references, as any HTML serializer writes `&` in them.
  '/entity-attributes':
    '<!doctype html><html><head><title>Entities</title></head><body>' +
    '<div data-rx-slot="recommendations" data-rx-placement="category" data-rx-category="Home &amp; Garden"' +
    ' data-rx-heading="Tom &amp; Jerry&#39;s picks"></div></body></html>',
  // Prices that are and are not the catalogue's base price (85123A £2.95, 22423 £12.75), with
  // RX_PRICE_SELECTOR=".price" and RX_PRODUCT_ID_SELECTOR="input[name=product_id]" (proxy-price-check tests).
  '/price-check':
    '<!doctype html><html><head><title>Prices</title></head><body><main>' +
    '<span class="price" id="match" data-rx-product-id="85123A">£2.95</span>' +
    '<span class="price" id="entity" data-rx-product-id="85123A">&pound;2.95</span>' +
    '<span class="price" id="gbp-code" data-rx-product-id="85123A">2,95 GBP</span>' +
    // The shop raised it; the catalogue still has £2.95. And a price with 20 % VAT the catalogue has without.
    '<span class="price" id="stale" data-rx-product-id="85123A">£3.25</span>' +
    '<span class="price" id="gross" data-rx-product-id="22423">£15.30</span>' +
    // Was and now: the struck-through one is never ours, even when it is the (older) catalogue price.
    '<s class="price" id="was" data-rx-product-id="85123A">£5.00</s> <span class="price" id="now" data-rx-product-id="85123A">£2.95</span>' +
    '<del class="price" id="old" data-rx-product-id="22423">£12.75</del>' +
    '<del><span class="price" id="nested" data-rx-product-id="85123A">£5.00</span></del>' +
    // Another currency of a multi-currency shop, by sign and by code, with the catalogue's number.
    '<span class="price" id="euro" data-rx-product-id="85123A">€2.95</span>' +
    '<span class="price" id="eur-code" data-rx-product-id="85123A">2,95 EUR</span>' +
    // Not one price: a range, a unit price, no number.
    '<span class="price" id="range" data-rx-product-id="85123A">£2.95 - £3.95</span>' +
    '<span class="price" id="unit" data-rx-product-id="85123A">£2.95/kg</span>' +
    '<span class="price" id="sold-out" data-rx-product-id="85123A">Sold out</span>' +
    // A listing page whose ids come from inputs: the third item's price gets the second item's id.
    '<ul><li><input type="hidden" name="product_id" value="85123A"><span class="price" id="item-1">£2.95</span></li>' +
    '<li><input type="hidden" name="product_id" value="22423"><span class="price" id="item-2">£12.75</span></li>' +
    '<li><span class="price" id="item-3">£4.95</span></li></ul>' +
    '</main></body></html>',
  // The page's first prices are no pattern for block prices: a range, then another currency's; the
  // catalogue's own format comes third (proxy-price-check tests, "block prices").
  '/block-format':
    '<!doctype html><html><head><title>Formats</title></head><body><main>' +
    '<span data-rx-price data-rx-product-id="85123A" id="range">£2.95 - £3.95</span>' +
    '<span data-rx-price data-rx-product-id="85123A" id="euro">€2,95</span>' +
    '<span data-rx-price data-rx-product-id="85123A" id="own">£2.95</span>' +
    '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A" data-rx-limit="3"></div>' +
    '</main></body></html>',
  // Minified markup that leaves optional end tags out: no end-tag handler runs for these prices.
  '/implied-end-tags':
    '<!doctype html><html><head><title>Minified</title></head><body>' +
    '<ul><li class=price data-rx-product-id=85123A>£2.95<li class=other>next item</ul>' +
    '<table><tr><td class=price data-rx-product-id=85123A>£2.95<td>cell</table>' +
    '<p id=last>end of page</body></html>',
};

/**
 * `/csp-page`: a product page under the Content-Security-Policy the query names: each `csp` one
 * `Content-Security-Policy` header line, each `csp-ro` a `-Report-Only` one, each `meta` a
 * `<meta http-equiv>` in the head. The shop's own inline script and style carry the nonce `shop-nonce`,
 * as a shop with a nonce policy writes them; they record that they ran (`window.shopInline`).
 */
function cspPage(response: ServerResponse, query: URLSearchParams): void {
  const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const metas = query
    .getAll('meta')
    .map((policy) => `<meta http-equiv="Content-Security-Policy" content="${attribute(policy)}">`)
    .join('');
  const headers: Record<string, string | string[]> = { 'content-type': 'text/html; charset=utf-8' };
  if (query.has('csp')) headers['content-security-policy'] = query.getAll('csp');
  if (query.has('csp-ro')) headers['content-security-policy-report-only'] = query.getAll('csp-ro');
  response.writeHead(200, headers);
  response.end(
    `<!doctype html><html><head><meta charset="utf-8">${metas}<title>CSP</title>` +
      '<script nonce="shop-nonce">window.shopInline = true;</script>' +
      '<style nonce="shop-nonce">.shop-title{color:#123456}</style></head><body>' +
      '<main data-rx-view data-rx-product-id="85123A"><h1 class="shop-title">Heart</h1>' +
      '<span data-rx-price data-rx-product-id="85123A">£2.95</span>' +
      '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A"></div>' +
      '</main><p id="last">end of page</p></body></html>',
  );
}

/**
 * `/raw`: an answer made to order, for what real origins get wrong: `body` (base64, as bytes may be
 * compressed), each `header` one `name: value` line (a name given twice is sent twice), `status`.
 */
function rawAnswer(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
  const headers: Array<[string, string]> = query.getAll('header').map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
  });
  response.writeHead(Number(query.get('status') ?? 200), headers.flat());
  response.end(request.method === 'HEAD' ? undefined : Buffer.from(query.get('body') ?? '', 'base64'));
}

/** `/negotiated-asset`'s identity bytes: a stylesheet long enough that its gzip and br forms are much shorter. */
export const NEGOTIATED_ASSET = Buffer.from(
  Array.from(
    { length: 120 },
    (_, i) => `.rx-test-${i} { color: #${(i * 2731).toString(16).padStart(6, '0')}; }\n`,
  ).join(''),
);
const NEGOTIATED_CODINGS: Record<string, Buffer> = {
  gzip: gzipSync(NEGOTIATED_ASSET),
  br: brotliCompressSync(NEGOTIATED_ASSET),
};

/**
 * `/negotiated-asset?encoding=gzip|br`: a precompressed stylesheet as a static file server with
 * precompressed copies serves it (Caddy's `precompressed`, nginx's `gzip_static`): the `encoding` copy
 * when the request's Accept-Encoding names it, else the plain file, each with its Content-Length, its
 * own ETag and byte ranges (`Range: bytes=a-b`) over the representation chosen.
 */
function negotiatedAsset(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
  const coding = query.get('encoding') ?? 'gzip';
  const accepted = (request.headers['accept-encoding'] ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .some((entry) => entry === coding || (entry.startsWith(`${coding};`) && !/q=0(\.0*)?$/.test(entry)));
  const body = accepted ? (NEGOTIATED_CODINGS[coding] ?? NEGOTIATED_ASSET) : NEGOTIATED_ASSET;
  const headers: Record<string, string> = {
    'content-type': 'text/css',
    'accept-ranges': 'bytes',
    vary: 'Accept-Encoding',
    etag: accepted ? `"asset-${coding}"` : '"asset"',
  };
  if (accepted) headers['content-encoding'] = coding;
  const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
  if (!range) {
    response.writeHead(200, { ...headers, 'content-length': String(body.length) }).end(body);
    return;
  }
  const start = Number(range[1]);
  const end = Math.min(Number(range[2]), body.length - 1);
  const part = body.subarray(start, end + 1);
  response
    .writeHead(206, {
      ...headers,
      'content-range': `bytes ${start}-${end}/${body.length}`,
      'content-length': String(part.length),
    })
    .end(part);
}

/**
 * Gates a test holds shut while the origin works on a page, and opens with `POST /gate/open?name=`
 * (the test's own control, so no test waits on a clock for an origin's stall to end). A gate is
 * created by whichever comes first, the page waiting on it or the opening; names are the tests' own.
 */
const gates = new Map<string, { opened: Promise<void>; open: () => void }>();

function gate(name: string): { opened: Promise<void>; open: () => void } {
  let found = gates.get(name);
  if (!found) {
    let open = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    found = { opened, open };
    gates.set(name, found);
  }
  return found;
}

/** Until the page's gate (`?gate=`) is opened, else for `?ms=` (default `ms`). */
function stall(query: URLSearchParams, ms: number): Promise<void> {
  const name = query.get('gate');
  if (name !== null) return gate(name).opened;
  return new Promise((resolve) => setTimeout(resolve, Number(query.get('ms') ?? ms)));
}

async function route(request: IncomingMessage, response: ServerResponse, self: () => string): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://origin.invalid');
  const fixtureName = /^\/fixtures\/([^/]+)$/.exec(url.pathname)?.[1];
  if (fixtureName) return fixture(response, fixtureName, url.searchParams);
  const inline = INLINE_PAGES[url.pathname];
  if (inline !== undefined) {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(inline);
    return;
  }
  switch (url.pathname) {
    case '/gate/open': {
      const name = url.searchParams.get('name');
      if (request.method !== 'POST' || !name) {
        response.writeHead(400).end('POST /gate/open?name=NAME');
        return;
      }
      gate(name).open();
      response.writeHead(204).end();
      return;
    }
    case '/raw':
      rawAnswer(request, response, url.searchParams);
      return;
    case '/csp-page':
      cspPage(response, url.searchParams);
      return;
    case '/echo': {
      const body = await readBody(request);
      response.writeHead(200, {
        'content-type': 'application/json',
        'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
      });
      response.end(
        JSON.stringify({
          method: request.method,
          url: request.url,
          headers: request.headers,
          bodyBytes: body.length,
          bodySha256: createHash('sha256').update(body).digest('hex'),
        }),
      );
      return;
    }
    case '/redirect':
      response.writeHead(302, { location: `${self()}/fixtures/demo-product.html?from=redirect` }).end();
      return;
    case '/relative-redirect':
      response.writeHead(301, { location: '/fixtures/demo-product.html' }).end();
      return;
    case '/elsewhere-redirect':
      response.writeHead(302, { location: 'https://payments.example/checkout' }).end();
      return;
    case '/cookies':
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'set-cookie': [
          'session=abc; Path=/; HttpOnly',
          `pref=x; Domain=${new URL(self()).hostname}; Path=/`,
          'wide=y; Domain=example.com; Path=/',
        ],
      });
      response.end('<!doctype html><html><head><title>c</title></head><body>cookies</body></html>');
      return;
    case '/conditional': {
      const etag = '"v1"';
      // `?csp=`: a Content-Security-Policy on the 200 and the 304 alike, as nginx's add_header sends it.
      const csp = url.searchParams.get('csp');
      const policy: Record<string, string> = csp ? { 'content-security-policy': csp } : {};
      // If-None-Match compares weakly (RFC 9110 13.1.2), as real servers do: W/"v1" matches "v1".
      if (request.headers['if-none-match']?.replace(/^W\//, '') === etag) {
        response.writeHead(304, { etag, 'cache-control': 'public, max-age=60', ...policy }).end();
        return;
      }
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        etag,
        'cache-control': 'public, max-age=60',
        ...policy,
      });
      response.end(
        '<!doctype html><html><head></head><body><span data-rx-price data-rx-product-id="22423">£12.75</span></body></html>',
      );
      return;
    }
    case '/negotiated-page': {
      // An origin that picks the best coding offered, zstd first, as Caddy's `encode zstd gzip` does;
      // `x-origin-saw` says which Accept-Encoding it got. Node 20 has no zstd encoder, so a "zstd"
      // answer is the plain page under that label: what counts is that the proxy cannot decode it.
      const accepted = request.headers['accept-encoding'] ?? '';
      const html =
        '<!doctype html><html><head><title>Negotiated</title></head><body><p id="last">end</p></body></html>';
      const coding = /\bzstd\b/.test(accepted) ? 'zstd' : /\bgzip\b/.test(accepted) ? 'gzip' : undefined;
      const headers: Record<string, string> = {
        'content-type': 'text/html; charset=utf-8',
        'x-origin-saw': accepted || '(none)',
        vary: 'Accept-Encoding',
      };
      if (coding) headers['content-encoding'] = coding;
      response.writeHead(200, headers).end(coding === 'gzip' ? gzipSync(html) : html);
      return;
    }
    case '/range.html':
      range(request, response);
      return;
    case '/negotiated-asset':
      negotiatedAsset(request, response, url.searchParams);
      return;
    case '/image.png': {
      const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256));
      response
        .writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=86400' })
        .end(bytes);
      return;
    }
    case '/slow-page': {
      // The head arrives at once, the rest after a pause (`?ms=`, or until the test opens `?gate=`): a
      // streaming proxy forwards the head first.
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.write('<!doctype html><html><head><title>slow</title></head><body><p>first</p>');
      await stall(url.searchParams, 400);
      gates.delete(url.searchParams.get('gate') ?? '');
      response.end('<p>second</p></body></html>');
      return;
    }
    case '/stalled-head': {
      // No charset in the Content-Type, and part of the head flushed early (a preload hint), then the
      // page's work (`?ms=`, or until the test opens `?gate=`) before the rest: the page cannot say
      // its charset until then.
      response.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'public, max-age=60' });
      // A HEAD is answered at once: Node would hold its headers until the stall's end, and a request the
      // worker then sends on the same connection would wait behind it.
      if (request.method === 'HEAD') return void response.end();
      response.write(
        '<!doctype html><html><head><title>Stalled</title><link rel="preload" href="/app.css" as="style">',
      );
      await stall(url.searchParams, 1500);
      gates.delete(url.searchParams.get('gate') ?? '');
      response.end('<meta name="description" content="x"></head><body><p id="last">end</p></body></html>');
      return;
    }
    case '/huge-inline-json': {
      // A page with ~2 MB of inline JSON whose strings look like markup the rewriter handles.
      const products = Array.from({ length: 12_000 }, (_, i) => ({
        id: i,
        html: '<div data-rx-slot="recommendations"></div><span data-rx-price>£1.00</span></script-not>',
      }));
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.write('<!doctype html><html><head><title>big</title></head><body>');
      response.write(
        `<script type="application/json" id="data">${JSON.stringify(products).replace(/</g, '\\u003c')}</script>`,
      );
      response.write(`<script>window.raw = ${JSON.stringify(products.slice(0, 50))};</script>`);
      response.end(
        '<div data-rx-slot="recommendations" data-rx-placement="home" data-rx-limit="2"></div></body></html>',
      );
      return;
    }
    case '/hop-by-hop':
      response.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'x-secret-hop',
        'x-secret-hop': 'should-not-pass',
        'keep-alive': 'timeout=5',
        'x-kept': 'yes',
      });
      response.end('ok');
      return;
    default:
      response.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Not found</h1>');
  }
}

/** Starts the test origin on 127.0.0.1 and a free port. */
export async function startProxyOrigin(): Promise<ProxyOrigin> {
  let url = '';
  const server = createServer((request, response) => {
    route(request, response, () => url).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  server.on('upgrade', (request, socket) => {
    if (request.url === '/socket-redirect') {
      // An origin that answers a handshake with a redirect: the proxy must not follow it.
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: ${url}/echo\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    const key = request.headers['sec-websocket-key'];
    if (typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(key)}\r\n\r\n`,
    );
    socket.on('data', (frame: Buffer) => {
      const text = readClientText(frame);
      if (text !== undefined) socket.write(textFrame(`echo:${text}`));
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
