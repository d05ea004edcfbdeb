/**
 * A recording stand-in for the worker API, for the plugin's behaviour tests that need control the
 * real worker does not give (failing N event posts, counting requests). The end-to-end tests in
 * plugin-stack.test.ts run the plugin against the real worker instead.
 *
 * Two origins, as in script mode: the shop (`shopUrl`, serves the test page) and the API
 * (`apiUrl`, serves rx.js and /v1/*, with CORS).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MAX_QUERY_LENGTH, PRODUCT_ID_PATTERN } from '../../contracts/api-types';
import type { EventProblem, RxEventInput } from '../../contracts/event-types';
import { validateEvent } from '../../contracts/events';
import { PLACEMENT_HEADINGS } from '../../contracts/slot-defaults';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** An event post's body, once read (answered or refused). */
  body?: string;
}

export interface FixtureApi {
  /** The shop's origin: a new port after each `reset()` (see there). */
  shopUrl: string;
  apiUrl: string;
  /** Every request the API origin received. */
  requests: RecordedRequest[];
  /**
   * Every event accepted by POST /v1/events, in arrival order. Each is checked with the intake's own
   * `validateEvent`, and answered as the intake does: the good ones of a batch taken (202), the others
   * named in `rejected`; 400 `invalid_events` when none is good.
   */
  events: RxEventInput[];
  /** The valid events of each accepted POST, one entry per POST. */
  batches: RxEventInput[][];
  /** The bodies of accepted event POSTs, byte for byte. */
  bodies: string[];
  /** Answer the next N event posts with `status` (503 unless told). */
  failNextEventPosts(count: number, status?: number): void;
  /**
   * Closes the API's open connections, so the browser's next request opens a new one. (Chromium itself
   * sends a request again that was answered 408 on a reused keep-alive connection: only one on a new
   * connection shows the page its 408.)
   */
  closeConnections(): void;
  /** Answer recommendations with no items (a worker with no bundle published), or the fixture items again. */
  recommendNothing(nothing: boolean): void;
  /** Answer every recommendations request with this error status (503: the worker failing); undefined: answer again. */
  failRecommendations(status: number | undefined): void;
  /**
   * As a worker with `USER_ID_SECRET` (worker/src/routes/params.ts): a GET of /v1/* with a user id
   * (`x-rx-user-id`) but without this signature (`x-rx-user-sig`) is answered 403
   * `user_signature_required` / `user_signature_invalid`. `undefined`: any user id is taken.
   */
  requireUserSignature(signature: string | undefined): void;
  /**
   * Sets the page the shop origin serves at `/` and `/*` (HTML). `holdBodyMs`: the head is sent at
   * once and the rest (from `<body`) that much later, so scripts run while the page is still loading.
   */
  setPage(html: string, options?: { holdBodyMs?: number }): void;
  /**
   * Between tests: forgets every recorded request, event, batch and body, and answers as at the start
   * again (every event post taken, the fixture items). The page stays until the next `setPage`. Open
   * connections are closed, and requests on connections made before are never recorded.
   *
   * The shop moves to a new origin (a new port, `shopUrl`), and the API records no request whose
   * `Origin` is an earlier shop: a closing page's keepalive batch (pagehide) can open its connection
   * after the reset, and was recorded as the next test's own (a CI run failed on it).
   */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** More than any default limit, so the count a slot asks for (or leaves to the API) shows. */
const ITEMS = [
  {
    product_id: '85123A',
    title: 'White hanging heart T-light holder',
    url: '/products/85123A',
    image: '',
    price: 2.55,
    score: 0.9,
  },
  {
    product_id: '22423',
    title: 'Regency cakestand <3 tier>',
    url: '/products/22423',
    image: '',
    price: 12.75,
    score: 0.8,
  },
  ...Array.from({ length: 10 }, (_, i) => ({
    product_id: `F${i + 3}`,
    title: `Fixture item ${i + 3}`,
    url: `/products/F${i + 3}`,
    image: '',
    price: 1 + i,
    score: 0.7 - i / 100,
  })),
];

/** The real API's `limit` (worker/src/routes/recommendations.ts): a whole number 1-50, 8 when absent. */
const API_DEFAULT_LIMIT = 8;
const API_MAX_LIMIT = 50;

/**
 * Whether the real API takes a product id list (worker/src/routes/params.ts): 1-50 ids, each valid once
 * trimmed; `skipEmpty`, as recommendations' `product_ids` (an empty entry is left out first).
 */
function validIdList(ids: string[], skipEmpty = false): boolean {
  const listed = skipEmpty ? ids.filter((id) => id.trim() !== '') : ids;
  return (
    listed.length >= 1 && listed.length <= 50 && listed.every((id) => PRODUCT_ID_PATTERN.test(id.trim()))
  );
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** `esmJs`: the ESM build, served at `/rx.esm.js` (with CORS, as module scripts need). */
export async function startFixtureApi(pluginJs: string, esmJs = ''): Promise<FixtureApi> {
  let page = '<!doctype html><title>empty</title>';
  let holdBodyMs = 0;
  let failures = 0;
  let nothing = false;
  let failureStatus = 503;
  let recommendationsStatus: number | undefined;
  let userSignature: string | undefined;
  const requests: RecordedRequest[] = [];
  const events: RxEventInput[] = [];
  const batches: RxEventInput[][] = [];
  const bodies: string[] = [];
  /**
   * Which test a connection belongs to: `reset()` starts a new generation and closes every connection.
   * A page of the test before (a navigation its last click started) can still have a request in flight
   * when its browser context closes; arriving after the reset, it would be recorded as this test's own.
   */
  let generation = 0;
  const generationOf = new WeakMap<Socket, number>();

  const servePage = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const body = page.indexOf('<body');
    if (holdBodyMs === 0 || body < 0) {
      res.end(page);
      return;
    }
    const rest = page.slice(body);
    res.write(page.slice(0, body));
    setTimeout(() => res.end(rest), holdBodyMs);
  };
  let shop = createServer(servePage);

  const api = createServer((req: IncomingMessage, res: ServerResponse) => {
    const requestGeneration = generationOf.get(req.socket);
    if (requestGeneration !== generation) return void req.socket.destroy();
    // Cross-origin requests name their page's origin; one of an earlier test's shop is not this test's.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && origin !== fixture.shopUrl) {
      return void req.socket.destroy();
    }
    const url = new URL(req.url ?? '/', 'http://api.test');
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      headers: req.headers,
    };
    requests.push(request);
    const cors = {
      'access-control-allow-origin': req.headers.origin ?? '*',
      'access-control-allow-headers': 'content-type, x-rx-uid, x-rx-uid-new, x-rx-user-id, x-rx-user-sig',
      'access-control-allow-methods': 'GET, POST',
    };
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(body));
    // The preflight cached for 10 minutes, as the real API's (worker/src/middleware/shop-cors.ts).
    if (req.method === 'OPTIONS')
      return void res.writeHead(204, { ...cors, 'access-control-max-age': '600' }).end();
    if (url.pathname === '/rx.js') {
      return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(pluginJs);
    }
    if (url.pathname === '/rx.esm.js') {
      return void res.writeHead(200, { ...cors, 'content-type': 'text/javascript' }).end(esmJs);
    }
    const signature = req.headers['x-rx-user-sig'];
    if (userSignature && req.method === 'GET' && req.headers['x-rx-user-id'] && signature !== userSignature) {
      const code = signature ? 'user_signature_invalid' : 'user_signature_required';
      return json(403, { error: { code, message: 'The signature does not sign this user id', details: [] } });
    }
    if (url.pathname === '/v1/recommendations') {
      if (recommendationsStatus) {
        return json(recommendationsStatus, {
          error: { code: 'unavailable', message: 'try later', details: [] },
        });
      }
      // What the real API refuses, refused here too (400), so the plugin is held to it.
      const query = url.searchParams;
      const placement = query.get('placement') ?? '';
      const limit = Number(query.get('limit') ?? API_DEFAULT_LIMIT);
      const productIds = query.get('product_ids');
      if (
        url.search.length - 1 > MAX_QUERY_LENGTH ||
        !Object.hasOwn(PLACEMENT_HEADINGS, placement) ||
        !Number.isInteger(limit) ||
        limit < 1 ||
        limit > API_MAX_LIMIT ||
        (productIds !== null && !validIdList(productIds.split(','), true)) ||
        (placement === 'product' && !query.get('product_id'))
      ) {
        return json(400, { error: { code: 'invalid_request', message: url.search, details: [] } });
      }
      return json(200, {
        recommendation_id: `rec-${requests.length}`,
        model_version: 'test',
        heading: PLACEMENT_HEADINGS[placement as keyof typeof PLACEMENT_HEADINGS],
        items: nothing ? [] : ITEMS.slice(0, limit),
      });
    }
    if (url.pathname === '/v1/prices') {
      // The real API's limits (worker/src/routes/params.ts), so the plugin is held to them.
      if (url.search.length - 1 > MAX_QUERY_LENGTH) return json(414, { error: { code: 'query_too_long' } });
      const ids = (url.searchParams.get('product_ids') ?? '').split(',');
      if (!validIdList(ids)) return json(400, { error: { code: 'invalid_request' } });
      // Ids starting `BASE` get the base price, as every id does from today's worker (token included).
      // Ids starting `BADPRICE` / `BADBASE` get a malformed quote: the price as a string, no base price.
      // Answered under the trimmed id, as the real API reads it (productIdSchema trims).
      const prices = ids
        .map((raw) => raw.trim())
        .map((id) => ({
          product_id: id,
          token: `token-${id}`,
          currency: 'GBP',
          ...(id.startsWith('BASE')
            ? { base_price: 3, price: 3, discount: 0, personalized: false }
            : { base_price: 2.55, price: 2.1, discount: 0.45, personalized: true }),
          ...(id.startsWith('BADPRICE') ? { price: '2.10' } : {}),
          ...(id.startsWith('BADBASE') ? { base_price: null } : {}),
        }));
      return json(200, { prices });
    }
    if (url.pathname === '/v1/events' && req.method === 'POST') {
      void readBody(req).then(
        (body) => {
          // Read to its end after a reset: the test it belonged to is over.
          if (requestGeneration !== generation) return void req.socket.destroy();
          request.body = body;
          if (failures > 0) {
            failures--;
            return json(failureStatus, { error: { code: 'unavailable', message: 'try later', details: [] } });
          }
          const batch: RxEventInput[] = [];
          const rejected: (EventProblem & { index: number })[] = [];
          (JSON.parse(body) as { batch: unknown[] }).batch.forEach((raw, index) => {
            const check = validateEvent(raw);
            if (check.ok) batch.push(raw as RxEventInput);
            else for (const problem of check.problems) rejected.push({ index, ...problem });
          });
          if (batch.length === 0) {
            return json(400, { error: { code: 'invalid_events', message: 'none valid', details: rejected } });
          }
          batches.push(batch);
          bodies.push(body);
          events.push(...batch);
          json(202, { accepted: batch.length, rejected });
        },
        () => {
          // The connection closed mid-body ("aborted"): reset() ended its test, or the page navigated
          // away. Nothing arrived to record, and nobody is left to answer.
        },
      );
      return;
    }
    json(404, { error: { code: 'not_found', message: url.pathname, details: [] } });
  });

  api.on('connection', (socket: Socket) => generationOf.set(socket, generation));

  const [shopUrl, apiUrl] = await Promise.all([listen(shop), listen(api)]);
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const fixture: FixtureApi = {
    shopUrl,
    apiUrl,
    requests,
    events,
    batches,
    bodies,
    failNextEventPosts: (count, status = 503) => {
      failures = count;
      failureStatus = status;
    },
    closeConnections: () => api.closeAllConnections(),
    recommendNothing: (value) => {
      nothing = value;
    },
    failRecommendations: (status) => {
      recommendationsStatus = status;
    },
    requireUserSignature: (signature) => {
      userSignature = signature;
    },
    setPage: (html, options = {}) => {
      page = html;
      holdBodyMs = options.holdBodyMs ?? 0;
    },
    reset: async () => {
      generation++;
      api.closeAllConnections();
      // No shop origin is this test's until the new one listens: nothing cross-origin is recorded.
      fixture.shopUrl = '';
      for (const recorded of [requests, events, batches, bodies]) recorded.length = 0;
      failures = 0;
      failureStatus = 503;
      nothing = false;
      recommendationsStatus = undefined;
      userSignature = undefined;
      const earlierShop = shop;
      shop = createServer(servePage);
      [fixture.shopUrl] = await Promise.all([listen(shop), close(earlierShop)]);
    },
    close: async () => {
      await Promise.all([close(shop), close(api)]);
    },
  };
  return fixture;
}
