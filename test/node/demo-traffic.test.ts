import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRecommendationBlock } from '../../contracts/markup';
import { pluginScriptTag } from '../../contracts/plugin-tag';
import { type DemoShop, startDemoShop } from '../../scripts/demo-shop/index';
import { CookieJar } from '../../scripts/demo-traffic/cookie-jar';
import { parsePage } from '../../scripts/demo-traffic/page';
import { seededRandom } from '../../scripts/demo-traffic/random';
import { shopperAddress, simulateShopper } from '../../scripts/demo-traffic/shopper';
import { defaultWorkerUrl } from '../../scripts/demo-traffic/worker-url';
import { runScript } from '../support/trainer-cli';

/** The plugin tag the worker writes into a page whose view it sent (an absolute src on the public host). */
const SENT_VIEW_TAG = pluginScriptTag({
  origin: 'http://127.0.0.1:8787',
  pageViewSent: true,
  nonce: 'n0nce',
});

let shop: DemoShop;
beforeAll(async () => {
  shop = await startDemoShop({ port: 0 });
});
afterAll(async () => {
  await shop.close();
});

describe('demo traffic page reading', () => {
  it('reads the blocks the shared renderer writes into a real demo shop page', async () => {
    const origin = await (await fetch(`${shop.url}/categories/candles`)).text();
    const block = renderRecommendationBlock(
      [
        {
          product_id: '22423',
          title: "POPPY'S <CAKESTAND>",
          url: '/products/22423',
          image: '/images/22423.svg',
          price: 12.75,
        },
        {
          product_id: '47566',
          title: 'PARTY BUNTING',
          url: '/products/47566',
          image: '/images/47566.svg',
          price: 4.95,
        },
      ],
      { recommendationId: 'rec-1', placement: 'category', heading: 'Popular' },
    );
    // What the proxy does: the block becomes the slot's content.
    const filled = origin.replace(
      /(<div data-rx-slot[^>]*)><\/div>/,
      `$1 data-rx-filled="rec-1">${block}</div>`,
    );
    const page = parsePage(filled.replace('</head>', `${SENT_VIEW_TAG}</head>`));

    expect(page.recommendations).toEqual([
      { recommendationId: 'rec-1', placement: 'category', productId: '22423', position: 1 },
      { recommendationId: 'rec-1', placement: 'category', productId: '47566', position: 2 },
    ]);
    // The listing's own cards, not the recommended ones.
    expect(page.productLinks[0]).toBe('85123A');
    expect(page.productLinks).not.toContain('47566');
    expect(page.categoryLinks).toContain('/categories/kitchen');
    expect(page.priceOf('85123A')).toBe(2.95);
    expect(page.pageViewSent).toBe(true);
    expect(parsePage(origin).pageViewSent).toBe(false);
  });

  it('reads the order from the confirmation page', async () => {
    const response = await fetch(`${shop.url}/checkout`, {
      method: 'POST',
      headers: { cookie: 'demo_cart=22423:2', 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(parsePage(await response.text()).order).toMatchObject({ revenue: 25.5, currency: 'GBP' });
  });
});

describe('cookie jar', () => {
  it('keeps cookies like a browser and forgets expired ones', () => {
    const jar = new CookieJar();
    const headers = new Headers();
    headers.append('set-cookie', 'rx_uid=abc; Path=/; Max-Age=31536000; SameSite=Lax');
    headers.append('set-cookie', 'demo_cart=22423:1; Path=/; HttpOnly');
    jar.store(headers);
    expect(jar.header()).toBe('rx_uid=abc; demo_cart=22423:1');
    const expired = new Headers({ 'set-cookie': 'demo_cart=; Path=/; Max-Age=0' });
    jar.store(expired);
    expect(jar.header()).toBe('rx_uid=abc');
  });
});

describe('seeded random', () => {
  it('replays the same sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 5 }, () => a.int(1, 100));
    expect(Array.from({ length: 5 }, () => b.int(1, 100))).toEqual(first);
    expect(first.every((n) => n >= 1 && n <= 100)).toBe(true);
    expect(seededRandom(43).int(1, 1_000_000)).not.toBe(seededRandom(42).int(1, 1_000_000));
  });
});

describe('a simulated shopper', () => {
  it('waits out a rate limit and sends the same events again, so none is lost or doubled', async () => {
    // In front of the demo shop, as the worker is: sets rx_uid, takes events, and refuses them for the
    // first 11 s with 429 and that Retry-After, as the worker's per-client limit does (60 s there).
    // Waiting at most 5 s a time, three times, a shopper would lose the batch. The shopper's pauses are
    // recorded, never slept: its clock and the limit's are the time it has paused so far.
    const waits: number[] = [];
    let paused = 0;
    const sleep = async (ms: number) => {
      waits.push(ms);
      paused += ms;
    };
    const batches: Array<{ status: number; ids: string[] }> = [];
    const addresses = new Set<string | string[] | undefined>();
    let limitedUntil: number | undefined;
    const front: Server = createServer(async (request, response) => {
      addresses.add(request.headers['cf-connecting-ip']);
      if (request.url === '/v1/events') {
        const ids = (
          JSON.parse(await readBody(request)) as { batch: Array<{ messageId: string }> }
        ).batch.map((e) => e.messageId);
        limitedUntil ??= paused + 11_000;
        const status = paused < limitedUntil ? 429 : 202;
        batches.push({ status, ids });
        response.writeHead(status, {
          'content-type': 'application/json',
          ...(status === 429 ? { 'retry-after': '11' } : {}),
        });
        response.end(
          JSON.stringify(status === 429 ? { error: { code: 'rate_limited' } } : { accepted: ids.length }),
        );
        return;
      }
      const origin = await fetch(`${shop.url}${request.url}`, {
        method: request.method ?? 'GET',
        headers: {
          cookie: request.headers.cookie ?? '',
          'content-type': request.headers['content-type'] ?? '',
        },
        redirect: 'manual',
        ...(request.method === 'POST' ? { body: await readBody(request) } : {}),
      });
      const headers: Record<string, string | string[]> = {
        'content-type': origin.headers.get('content-type') ?? '',
      };
      const cookies = origin.headers.getSetCookie();
      headers['set-cookie'] = [...cookies, 'rx_uid=0b7c3f0e-8f5a-4c52-9b8e-2f1d6c0a9e11; Path=/'];
      const location = origin.headers.get('location');
      if (location) headers.location = location;
      response.writeHead(origin.status, headers);
      response.end(Buffer.from(await origin.arrayBuffer()));
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = front.address() as AddressInfo;
      const report = await simulateShopper(
        1,
        { baseUrl: `http://127.0.0.1:${port}`, deadline: Date.now() + 60_000, thinkMs: [0, 0] },
        seededRandom(7),
        sleep,
      );
      expect(report.errors).toEqual([]);
      expect(report.eventsRejected).toBe(0);
      expect(batches[0]?.status).toBe(429);
      // It waited out the whole Retry-After, once (think time is 0 here).
      expect(waits.filter((ms) => ms > 0)).toEqual([11_000]);
      // The refused batch went again, as it was.
      expect(batches[1]).toEqual({ status: 202, ids: batches[0]?.ids });
      expect(batches.filter((b) => b.status === 429)).toHaveLength(1);
      const accepted = batches.filter((b) => b.status === 202).flatMap((b) => b.ids);
      expect(report.eventsAccepted).toBe(accepted.length);
      expect(new Set(accepted).size).toBe(accepted.length);
      // Every request from the shopper's own client address, as the worker's per-client limit sees it.
      expect([...addresses]).toEqual([shopperAddress(1)]);
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });
});

describe("a simulated shopper's client address", () => {
  it('is its own: up to the most shoppers a run takes, no two share one, and each is in 198.18.0.0/15', () => {
    const addresses = Array.from({ length: 1000 }, (_, index) => shopperAddress(index));
    expect(new Set(addresses).size).toBe(1000);
    for (const address of addresses) expect(address).toMatch(/^198\.1[89]\.\d{1,3}\.\d{1,3}$/);
  });
});

describe("a simulated shopper's arm", () => {
  it('is the one the API answers name: both arms get pages whose view the worker sent', async () => {
    const events: string[] = [];
    const front: Server = createServer(async (request, response) => {
      if (request.url?.startsWith('/v1/recommendations')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ bucket: 'holdout', items: [] }));
        return;
      }
      if (request.url === '/v1/events') {
        const body = JSON.parse(await readBody(request)) as {
          batch: Array<{ type: string; event?: string }>;
        };
        events.push(...body.batch.map((e) => e.event ?? e.type));
        response.writeHead(202, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ accepted: body.batch.length }));
        return;
      }
      const origin = await fetch(`${shop.url}${request.url}`, { redirect: 'manual' });
      const html = (await origin.text()).replace('</head>', `${SENT_VIEW_TAG}</head>`);
      response.writeHead(origin.status, {
        'content-type': origin.headers.get('content-type') ?? '',
        'set-cookie': 'rx_uid=0b7c3f0e-8f5a-4c52-9b8e-2f1d6c0a9e11; Path=/',
      });
      response.end(html);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = front.address() as AddressInfo;
      const report = await simulateShopper(
        1,
        { baseUrl: `http://127.0.0.1:${port}`, deadline: Date.now() + 1_500, thinkMs: [0, 0] },
        seededRandom(7),
      );
      expect(report.pages).toBeGreaterThan(0);
      expect(report.bucket).toBe('holdout');
      // The worker sent the page views: the shopper sends none of its own.
      expect(events).not.toContain('page');
      expect(events).not.toContain('Product Viewed');
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  }, 30_000);
});

describe('a simulated shopper on a worker that stops answering', () => {
  // Requests that hang (no answer at all, or headers then a body that never ends) used to hold the
  // run forever: only /healthz had a time limit.
  for (const stall of ['answer', 'body'] as const) {
    it(`gives up on a request whose ${stall} never comes, counts it and ends within its bound`, async () => {
      const held: Array<{ destroy(): void }> = [];
      const front: Server = createServer((request, response) => {
        held.push(request.socket);
        if (stall === 'body') {
          response.writeHead(200, { 'content-type': 'text/html' });
          response.write('<html><body>');
        }
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = front.address() as AddressInfo;
        const report = await simulateShopper(
          1,
          {
            baseUrl: `http://127.0.0.1:${port}`,
            // Far enough that its first request starts before it however busy the machine: that
            // request then has the whole requestTimeoutMs, and its timeout ends the shopper.
            deadline: Date.now() + 10_000,
            thinkMs: [0, 0],
            requestTimeoutMs: 700,
          },
          seededRandom(7),
        );
        // Ended by the request's own time limit, requestTimeoutMs, not by the deadline 10 s away; the
        // test's timeout catches a shopper that never ends.
        expect(report.timeouts).toBe(1);
        expect(report.errors).toEqual(['GET /: no answer within 0.7 s (timed out)']);
        expect(report.pages).toBe(0);
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => front.close(resolve));
      }
    }, 20_000);
  }
});

async function readBody(request: AsyncIterable<Buffer>): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

describe('the worker demo:traffic browses without --url', () => {
  it('is RX_WORKER_URL, else RX_PORT, else 8787; RX_PORT=0 (npm start picked a free port) is no port', () => {
    expect(defaultWorkerUrl({})).toBe('http://127.0.0.1:8787');
    expect(defaultWorkerUrl({ RX_PORT: '8799' })).toBe('http://127.0.0.1:8799');
    // Was http://127.0.0.1:0: no worker is ever there.
    expect(defaultWorkerUrl({ RX_PORT: '0' })).toBe('http://127.0.0.1:8787');
    expect(defaultWorkerUrl({ RX_PORT: '' })).toBe('http://127.0.0.1:8787');
    expect(defaultWorkerUrl({ RX_WORKER_URL: 'http://10.0.0.2:9000', RX_PORT: '8799' })).toBe(
      'http://10.0.0.2:9000',
    );
    expect(defaultWorkerUrl({ RX_WORKER_URL: '', RX_PORT: '8799' })).toBe('http://127.0.0.1:8799');
  });
});

describe('npm run demo:traffic, the command', () => {
  it('--help prints the usage; a wrong option or value says what is wrong, with the usage, and exits 1', async () => {
    const help = await runScript('scripts/demo-traffic.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run demo:traffic -- /);
    expect(help.stdout).toContain('--seed N');

    const unknown = await runScript('scripts/demo-traffic.ts', ['--shopers', '5']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("demo:traffic: Unknown option '--shopers'");
    expect(unknown.stderr).toContain('usage: npm run demo:traffic');

    const tooMany = await runScript('scripts/demo-traffic.ts', ['--shoppers', '5000']);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toContain('--shoppers must be a whole number from 1 to 1000, got "5000"');

    // No worker: said without the usage, as the command line was right.
    const noWorker = await runScript('scripts/demo-traffic.ts', ['--url', 'http://127.0.0.1:9']);
    expect(noWorker.code).toBe(1);
    expect(noWorker.stderr).toContain('no worker answers at http://127.0.0.1:9/healthz');
    expect(noWorker.stderr).not.toContain('usage:');
  }, 60_000);
});
