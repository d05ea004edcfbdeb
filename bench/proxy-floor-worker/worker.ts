/**
 * Bench-only worker for `npm run bench -- proxy` (not deployed): the floor under a personalized page.
 *
 * It passes the origin's page through untouched, as the real worker does for a crawler, and meanwhile
 * gets the shopper's recommendations exactly as the real proxy's prefetch does: the product's own
 * `identifyShopper`, `pageContextFromUrl` and `getRecommendations` (bundle, one Upstash round trip
 * through @upstash/redis, cache-hit handling). It leaves out everything else a personalized page does
 * (HTML rewriting, prices, the page-view event), so its latency is what any page that reads the
 * shopper's state from the cache costs on this stack, before a single byte is rewritten.
 *
 * `x-rx-floor` reports what the lookup found, so the bench can check it measured a warm cache hit.
 */
import type { Env } from '../../worker/src/env';
import { pageContextFromUrl } from '../../worker/src/proxy/page-context';
import { PREFETCH_LIMIT } from '../../worker/src/proxy/page-session';
import { getRecommendations } from '../../worker/src/recommend';
import { identifyShopper } from '../../worker/src/shopper';

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    const target = new URL(`${url.pathname}${url.search}`, env.ORIGIN_URL);
    const shopper = await identifyShopper(request, env);
    const page = fetch(target, {
      headers: { accept: request.headers.get('accept') ?? '*/*' },
      redirect: 'manual',
    });
    const recommendations = await getRecommendations(env, ctx, shopper, {
      ...pageContextFromUrl(url),
      limit: PREFETCH_LIMIT,
    });
    const origin = await page;
    const response = new Response(origin.body, origin);
    response.headers.set(
      'x-rx-floor',
      `cached=${recommendations.cached} items=${recommendations.items.length}`,
    );
    return response;
  },
} satisfies ExportedHandler<Env>;
