/**
 * One simulated shopper on the running stack, through the worker like a browser with rx.js: pages
 * (which the worker personalizes or, for the holdout bucket, leaves alone), recommendation clicks,
 * add to cart, checkout, and the events rx.js would send for them (POST /v1/events).
 */
import { randomUUID } from 'node:crypto';
import type { RxEventInput } from '../../contracts/event-types';
import { CookieJar } from './cookie-jar';
import { type ParsedPage, parsePage } from './page';
import type { Random } from './random';

export interface TrafficTarget {
  /** The worker, e.g. http://127.0.0.1:8787 (no trailing slash). */
  baseUrl: string;
  /** Stop (between steps) once `Date.now()` passes this. */
  deadline: number;
  /** Pause between a shopper's steps, in ms. */
  thinkMs: readonly [number, number];
  /**
   * How long one request may take, answer and body (default 15 s). A request in flight at `deadline`
   * gets no more than this past it, and no request or rate-limit wait runs later than
   * `deadline + requestTimeoutMs`, so a shopper ends by then.
   */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export interface ShopperReport {
  index: number;
  bucket: 'treatment' | 'holdout';
  pages: number;
  recommendationsShown: number;
  recommendationClicks: number;
  itemsAdded: number;
  order?: { orderId: string; revenue: number; currency: string };
  eventsAccepted: number;
  eventsRejected: number;
  /** Requests that got no whole answer within `requestTimeoutMs` (each also one of `errors`). */
  timeouts: number;
  errors: string[];
}

/** A response read to its end (under the request's time limit). */
interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

interface CartItem {
  productId: string;
  quantity: number;
  price: number | undefined;
}

const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 rx-demo-traffic';
const ACCEPT_HTML = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8';

class Stopped extends Error {}

/**
 * The client address a simulated shopper speaks from, as `CF-Connecting-IP`: one of its own, in the
 * 198.18.0.0/15 range set aside for tests (RFC 2544). Real shoppers each have theirs, and the worker
 * limits requests per client (600 a minute): from this machine's one address, a run of a few hundred
 * shoppers reached that limit together and lost events after its retries. `wrangler dev` takes the
 * header as sent; Cloudflare's edge sets its own, so against a deployed worker it changes nothing.
 */
export function shopperAddress(index: number): string {
  return `198.${18 + ((index >> 16) & 1)}.${(index >> 8) & 255}.${index & 255}`;
}

/**
 * One shopper's visit, until `target.deadline`. `sleep` makes its pauses (think time, a 429's
 * Retry-After): tests pass one that records them and returns at once, so no test waits them out.
 */
export async function simulateShopper(
  index: number,
  target: TrafficTarget,
  random: Random,
  sleep: (ms: number) => Promise<void> = pause,
): Promise<ShopperReport> {
  const jar = new CookieJar();
  const report: ShopperReport = {
    index,
    bucket: 'treatment',
    pages: 0,
    recommendationsShown: 0,
    recommendationClicks: 0,
    itemsAdded: 0,
    eventsAccepted: 0,
    eventsRejected: 0,
    timeouts: 0,
    errors: [],
  };
  const timeoutMs = target.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const hardEnd = target.deadline + timeoutMs;
  const cart: CartItem[] = [];

  /**
   * One request as a browser makes it, read to its end, from the shopper's own address
   * (shopperAddress). Rate limited (429), it waits as told, at most `maxWaitSeconds` a time, and tries
   * again, `attempts` times in all. Each attempt, answer and body, has `timeoutMs` (less if `hardEnd` is
   * nearer); one that runs out is counted in `timeouts` and ends the shopper with an error.
   */
  async function request(
    path: string,
    init: RequestInit = {},
    patience = { attempts: 3, maxWaitSeconds: 5 },
  ): Promise<Answer> {
    if (Date.now() > target.deadline) throw new Stopped();
    const headers = new Headers(init.headers);
    headers.set('user-agent', USER_AGENT);
    headers.set('cf-connecting-ip', shopperAddress(index));
    const cookie = jar.header();
    if (cookie) headers.set('cookie', cookie);
    const method = init.method ?? 'GET';
    for (let attempt = 1; ; attempt++) {
      const limitMs = Math.max(1, Math.min(timeoutMs, hardEnd - Date.now()));
      let answer: Answer;
      try {
        const response = await fetch(`${target.baseUrl}${path}`, {
          ...init,
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(limitMs),
        });
        answer = { status: response.status, headers: response.headers, body: await response.text() };
      } catch (error) {
        if ((error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
          report.timeouts++;
          throw new Error(`${method} ${path}: no answer within ${formatSeconds(limitMs)} (timed out)`);
        }
        throw error;
      }
      jar.store(answer.headers);
      if (answer.status !== 429 || attempt === patience.attempts) return answer;
      const wait = Math.min(Number(answer.headers.get('retry-after') ?? '1') || 1, patience.maxWaitSeconds);
      // No waiting past the run's end: the 429 stands.
      if (Date.now() + wait * 1000 >= hardEnd) return answer;
      await sleep(wait * 1000);
    }
  }

  async function send(events: RxEventInput[]): Promise<void> {
    const anonymousId = jar.get('rx_uid');
    if (!anonymousId) return; // the worker sets it on the first page; without it there is nobody to attribute to
    const batch = events.map((event) => ({
      ...event,
      messageId: randomUUID(),
      anonymousId,
      timestamp: new Date().toISOString(),
      context: { library: { name: 'rx-demo-traffic' } },
    }));
    // As rx.js does, events wait out a 429's whole Retry-After and go again with the same messageIds,
    // so the events behind the numbers printed at the end are all stored (and once each).
    const response = await request(
      '/v1/events',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ batch }) },
      { attempts: 4, maxWaitSeconds: 60 },
    );
    const body = parseJson(response.body) as {
      accepted?: number;
      error?: { message?: string };
    };
    if (response.status === 202) {
      report.eventsAccepted += body.accepted ?? 0;
    } else {
      report.eventsRejected += batch.length;
      report.errors.push(`POST /v1/events: ${response.status} ${body.error?.message ?? ''}`.trim());
    }
  }

  /**
   * The arm this shopper is in, as every API answer of the worker says (`bucket`); undefined while the
   * API has not said (rate limited: asked again on the next page). The page no longer tells, since the
   * worker sends both arms' page views; a page whose view the worker did not send (a worker from before)
   * was a held-out one.
   */
  async function bucketOf(page: ParsedPage): Promise<ShopperReport['bucket'] | undefined> {
    if (!page.pageViewSent) return 'holdout';
    const answer = await request('/v1/recommendations?placement=home&limit=1', {
      headers: { accept: 'application/json' },
    });
    try {
      const { bucket } = JSON.parse(answer.body) as { bucket?: unknown };
      if (bucket === 'treatment' || bucket === 'holdout') return bucket;
    } catch {
      // not an answer of the worker's API
    }
    return undefined;
  }
  let bucketKnown = false;

  async function view(path: string): Promise<ParsedPage> {
    const response = await request(path, { headers: { accept: ACCEPT_HTML } });
    const html = response.body;
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}`);
    report.pages++;
    const page = parsePage(html);
    report.recommendationsShown += page.recommendations.length;
    if (!bucketKnown) {
      const bucket = await bucketOf(page);
      if (bucket) report.bucket = bucket;
      bucketKnown = bucket !== undefined;
    }
    if (!page.pageViewSent) {
      // rx.js sends the page view when the worker did not (holdout pages).
      const productId = /^\/products\/([^/]+)$/.exec(path)?.[1];
      await send([
        productId
          ? {
              type: 'track',
              event: 'Product Viewed',
              properties: { product_id: decodeURIComponent(productId) },
            }
          : { type: 'page', properties: { path } },
      ]);
    }
    await sleep(random.int(target.thinkMs[0], target.thinkMs[1]));
    return page;
  }

  async function addToCart(productId: string, page: ParsedPage): Promise<void> {
    const quantity = random.chance(0.25) ? random.int(2, 6) : 1;
    const response = await request('/cart/add', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ product_id: productId, quantity: String(quantity) }).toString(),
    });
    if (response.status !== 303) throw new Error(`POST /cart/add: ${response.status}`);
    const price = page.priceOf(productId);
    cart.push({ productId, quantity, price });
    report.itemsAdded += quantity;
    await send([
      {
        type: 'track',
        event: 'Product Added',
        properties: {
          product_id: productId,
          quantity,
          ...(price === undefined ? {} : { price, currency: 'GBP' }),
        },
      },
    ]);
  }

  async function checkout(): Promise<void> {
    await view('/cart');
    await send([{ type: 'track', event: 'Checkout Started', properties: { products: cartProducts() } }]);
    const response = await request('/checkout', {
      method: 'POST',
      headers: { accept: ACCEPT_HTML, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    const page = parsePage(response.body);
    if (response.status !== 200 || !page.order)
      throw new Error(`POST /checkout: ${response.status}, no order`);
    report.order = page.order;
    await send([
      {
        type: 'track',
        event: 'Order Completed',
        properties: {
          order_id: page.order.orderId,
          revenue: page.order.revenue,
          currency: page.order.currency,
          products: cartProducts(),
        },
      },
    ]);
  }

  function cartProducts() {
    return cart.map((item) => ({
      product_id: item.productId,
      quantity: item.quantity,
      ...(item.price === undefined ? {} : { price: item.price }),
    }));
  }

  try {
    let page = await view('/');
    let productId: string | undefined;
    const steps = random.int(3, 7);
    for (let step = 0; step < steps; step++) {
      const recommendation = random.chance(0.5) ? random.pick(page.recommendations) : undefined;
      if (recommendation) {
        // What rx.js sends for a click on a recommended product.
        const properties = {
          product_id: recommendation.productId,
          position: recommendation.position,
          recommendation_id: recommendation.recommendationId,
          placement: recommendation.placement,
        };
        await send([
          { type: 'track', event: 'Product Clicked', properties },
          { type: 'track', event: 'Recommendation Clicked', properties },
        ]);
        report.recommendationClicks++;
        productId = recommendation.productId;
      } else if (page.productLinks.length > 0 && random.chance(0.7)) {
        productId = random.pick(page.productLinks);
      } else {
        productId = undefined;
        page = await view(random.pick(page.categoryLinks) ?? '/');
        continue;
      }
      if (!productId) continue;
      page = await view(`/products/${encodeURIComponent(productId)}`);
      // Shoppers who came from a recommendation add to cart a little more often.
      if (random.chance(recommendation ? 0.45 : 0.3)) await addToCart(productId, page);
    }
    if (cart.length > 0 && random.chance(0.6)) await checkout();
  } catch (error) {
    if (!(error instanceof Stopped))
      report.errors.push(error instanceof Error ? error.message : String(error));
  }
  return report;
}

function parseJson(text: string): object {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
