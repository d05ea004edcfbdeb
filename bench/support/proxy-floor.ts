/** The floor target of `npm run bench -- proxy` (see bench/proxy-floor-worker/worker.ts). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningWorker, runWrangler } from './run-wrangler';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The floor worker (bench/proxy-floor-worker): pass-through plus the personalized page's
 * recommendation lookup, nothing else. Checked to hit the warm cache, or the row would mean nothing.
 * It reads the entries the stack's worker wrote, so it hashes shoppers with the same USER_HASH_KEY.
 */
export async function startFloorWorker(
  stack: {
    originUrl: string;
    upstash?: { url: string; token: string };
    workerVars: Readonly<Record<string, string>>;
  },
  pagePath: string,
  headers: Record<string, string>,
): Promise<RunningWorker> {
  const floor = await runWrangler({
    config: path.join(here, '../proxy-floor-worker/wrangler.toml'),
    readyPath: '/',
    vars: {
      ORIGIN_URL: stack.originUrl,
      UPSTASH_REDIS_REST_URL: stack.upstash?.url ?? '',
      UPSTASH_REDIS_REST_TOKEN: stack.upstash?.token ?? '',
      USER_HASH_KEY: stack.workerVars.USER_HASH_KEY ?? '',
    },
  });
  // The first answers may miss: the page-views before made the shopper's entry stale, and the
  // miss writes it back (as on the personalized row, whose warm-up rounds do the same).
  let found: string | null = null;
  for (let attempt = 0; attempt < 50 && !found?.startsWith('cached=true'); attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const response = await fetch(`${floor.url}${pagePath}`, { headers });
    await response.arrayBuffer();
    found = response.headers.get('x-rx-floor');
  }
  if (!found?.startsWith('cached=true')) {
    await floor.stop();
    throw new Error(`the floor worker did not hit the warm cache (x-rx-floor: ${found})`);
  }
  return floor;
}
