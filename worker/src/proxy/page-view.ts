import type { RxEvent } from '../../../contracts/events';
import { log } from '../log';
import { logRepeating } from '../log-repeating';
import type { Shopper } from '../shopper';
import type { PageContext } from './page-context';
import type { PageSession } from './page-session';
import { withoutPathParameters } from './path-parameters';

/**
 * The server-side page-view event of a tracked shopper's page, personalized (`session`) or held out
 * (none): `Product Viewed` on a product page (its markup's `data-rx-view` product, else its URL's),
 * else a `page` call. Both arms' pages are counted here, the
 * same way: counted by the plugin in holdout only, a visitor whose JavaScript never runs (a link
 * scanner with a browser's user agent, a prefetch) was a shopper in treatment alone, lowering its
 * conversion. The URL is sent without its query string, which can carry personal data, and its path
 * without path parameters (`;jsessionid=…`, a session id: withoutPathParameters).
 */
export function pageViewEvent(
  shopper: Shopper,
  url: URL,
  page: PageContext,
  session?: PageSession,
  markedProduct?: string,
): RxEvent {
  const shown = session?.shown[0];
  const path = withoutPathParameters(url.pathname);
  const context = {
    page: { path, url: `${url.origin}${path}` },
    source: 'rx-proxy',
    personalized: session?.changed ?? false,
  };
  const base: RxEvent = {
    type: 'page',
    messageId: crypto.randomUUID(),
    anonymousId: shopper.anonymousId,
    timestamp: new Date().toISOString(),
    context,
  };
  if (shopper.userId !== undefined) base.userId = shopper.userId;
  const recommendation =
    shown === undefined
      ? {}
      : { recommendation_id: shown.recommendationId, model_version: shown.modelVersion };
  // The page's own marking first (as the plugin reads it), else the product its URL names.
  const productId = markedProduct ?? (page.placement === 'product' ? page.productId : undefined);
  if (productId) {
    return {
      ...base,
      type: 'track',
      event: 'Product Viewed',
      properties: { product_id: productId, ...recommendation },
    };
  }
  return { ...base, name: page.placement, properties: { path, ...recommendation } };
}

/** How long to wait before each new attempt when the queue refuses a page view (two retries). */
export const PAGE_VIEW_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000];

/**
 * Queues a page's page-view event, trying again after each of `retryDelaysMs` when the queue refuses
 * it. The shopper never waits for this (it runs in `waitUntil`, after the page), and no client is
 * there to retry it as the plugin does after a 503, so the worker retries itself, and when every
 * attempt failed hands the event to `hold` (the durable outbox, which sends it on once the queue
 * takes events again). The event keeps its `messageId` throughout, so an attempt that did reach the
 * queue before failing is stored once. Only when the outbox refuses too is the event logged as not
 * queued (an error): it is lost then. Resolves either way: nothing is left to do.
 */
export async function queuePageView(
  send: () => Promise<void>,
  hold: () => Promise<{ waiting: number }>,
  retryDelaysMs: readonly number[] = PAGE_VIEW_RETRY_DELAYS_MS,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await send();
      return;
    } catch (error) {
      const delay = retryDelaysMs[attempt - 1];
      if (delay === undefined) {
        await holdInOutbox(hold, attempt, error);
        return;
      }
      logRepeating('warn', 'proxy_page_view_retry', { attempt, retryInMs: delay, error });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function holdInOutbox(hold: () => Promise<{ waiting: number }>, attempts: number, error: unknown) {
  try {
    const { waiting } = await hold();
    logRepeating('warn', 'proxy_page_view_held', { attempts, waiting, error });
  } catch (holdError) {
    log('error', 'proxy_page_view_not_queued', { attempts, error, holdError });
  }
}
