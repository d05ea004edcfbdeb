/**
 * The api benchmark's rows (`npm run bench -- api`): what each sends, what each of its answers must
 * say, and the checks that fail a row measuring something other than its name.
 */
import { ACTIVITY_MAX } from '../../contracts/activity';
import type { LoadResult } from './load';

export const PRODUCT_QUERY = '/v1/recommendations?placement=product&product_id=P10042&limit=8';
export const ITEMS = 8;

/** The share of answers under load that may differ from the row's state before the run fails. */
export const MAX_MISMATCH_SHARE = 0.01;

/** What a scenario's answers must say: a cache hit or not, and (for a miss) that the model ran. */
export interface Expected {
  /**
   * `cached` in the answer: from the per-user cache, or from the isolate's memo for the page-only
   * answers (first-time shoppers, `tracking=off`), which answers every request after the warm-up.
   */
  cached?: boolean;
  /** A miss answered by a model, not by the popularity fallback (e.g. a cold isolate's). */
  modelRun?: boolean;
}

export interface Scenario {
  name: string;
  path: string;
  headers: Record<string, string>;
  perRequestHeaders?: () => Record<string, string>;
  /** Omitted for routes that are not recommendations (`/healthz`): then only the status is checked. */
  expect?: Expected;
  /** The row's requests may cost no Redis command at all (counted where redis-server's counts are read). */
  noRedis?: boolean;
}

export interface Answer {
  cached?: boolean;
  source?: string;
  items?: unknown[];
}

/** A different returning shopper on every request: a cookie with nothing cached under it. */
const anotherReturningShopper = () => ({ cookie: `rx_uid=${crypto.randomUUID()}` });

/** The plugin's first call on a first page (script mode): an id it just made, and the hint that says so. */
const scriptFirstCall = () => ({ 'x-rx-uid': crypto.randomUUID(), 'x-rx-uid-new': '1' });

/**
 * The rows measured on the worker with the cache (local Upstash); `cookie` is the warm row's shopper,
 * `nextSeededShopper` hands out the full-history miss row's (fullHistoryMissScenario).
 */
export function cachedWorkerScenarios(cookie: string, nextSeededShopper: () => string): Scenario[] {
  return [
    { name: '/healthz (floor)', path: '/healthz', headers: {} },
    // The warm-up before it (same cookie) leaves this shopper's entry in the cache.
    {
      name: '/v1/recommendations, warm cache (same shopper)',
      path: PRODUCT_QUERY,
      headers: { cookie },
      expect: { cached: true },
    },
    {
      name: '/v1/recommendations, cache miss (a returning shopper with nothing cached, new each request)',
      path: PRODUCT_QUERY,
      headers: {},
      perRequestHeaders: anotherReturningShopper,
      expect: { cached: false, modelRun: true },
    },
    fullHistoryMissScenario(nextSeededShopper),
    // The three page-only rows: after the warm-up the isolate's memo answers every request
    // (`cached: true`, the memo's, not Redis's); an answer computed again would be another row's figure.
    {
      name: '/v1/recommendations, first-time shopper (no cookie: page-only answer, isolate memo, no Redis)',
      path: PRODUCT_QUERY,
      headers: {},
      expect: { cached: true },
      noRedis: true,
    },
    {
      name: '/v1/recommendations, script mode first call (x-rx-uid made on the page + x-rx-uid-new: 1, new each request)',
      path: PRODUCT_QUERY,
      headers: {},
      perRequestHeaders: scriptFirstCall,
      expect: { cached: true },
      noRedis: true,
    },
    {
      name: '/v1/recommendations, tracking=off (untracked: isolate memo, no Redis)',
      path: `${PRODUCT_QUERY}&tracking=off`,
      headers: {},
      expect: { cached: true },
      noRedis: true,
    },
  ];
}

/**
 * A returning shopper with nothing cached and a full activity list (ACTIVITY_MAX entries, as one
 * wholesale order's lines leave it), a different one on every request (`nextShopper` hands out the
 * seeded shoppers' anonymous ids): the miss that reads the most from Redis and parses the most.
 */
export function fullHistoryMissScenario(nextShopper: () => string): Scenario {
  return {
    name: `/v1/recommendations, cache miss with a full history (${ACTIVITY_MAX} activity entries, a seeded shopper each request)`,
    path: PRODUCT_QUERY,
    headers: {},
    perRequestHeaders: () => ({ cookie: `rx_uid=${nextShopper()}` }),
    expect: { cached: false, modelRun: true },
  };
}

/** The row measured on a second worker without Upstash credentials. */
export function uncachedWorkerScenarios(): Scenario[] {
  return [
    {
      name: '/v1/recommendations, no cache configured (inference only)',
      path: PRODUCT_QUERY,
      headers: {},
      perRequestHeaders: anotherReturningShopper,
      expect: { cached: false, modelRun: true },
    },
  ];
}

/** Why an answer is not what the scenario expects, or undefined if it is. */
export function mismatch(answer: Answer, expected: Expected): string | undefined {
  if (expected.cached !== undefined && answer.cached !== expected.cached)
    return `cached: ${answer.cached}, expected ${expected.cached}`;
  if (expected.modelRun && (answer.source === 'popularity' || answer.source === 'none'))
    return `source: ${answer.source}, expected a model's`;
  if (answer.items?.length !== ITEMS) return `${answer.items?.length} items, expected ${ITEMS}`;
  return undefined;
}

/**
 * The same check on every answer under load, by substring (the worker's JSON is compact): parsing
 * each body would spend the load generator's CPU, which the worker shares. Items are not counted here.
 */
export function answerCheck(expected: Expected): (body: string) => boolean {
  const cached = expected.cached === undefined ? '' : `"cached":${expected.cached}`;
  // Every row's answer has items: an empty list (no bundle, a broken catalogue) is not the row's answer.
  return (body) =>
    body.includes('"items":[{') &&
    body.includes(cached) &&
    !(expected.modelRun && (body.includes('"source":"popularity"') || body.includes('"source":"none"')));
}

/**
 * Fails a measured row that is not what its name says: more than MAX_MISMATCH_SHARE of its answers
 * not the row's (see answerCheck), or a row that may cost no Redis command (`noRedis`) that cost any,
 * where the commands were counted (`commands`: undefined when redis-server's counts are not read).
 */
export function assertRowChecked(
  scenario: Pick<Scenario, 'name' | 'expect' | 'noRedis'>,
  result: Pick<LoadResult, 'mismatches' | 'requests'>,
  commands: { total: number; byCommand: Record<string, number> } | undefined,
): void {
  // The probes showed the row's state; answers under load that are not it (misses in the warm-cache
  // row, popularity where a model should run) are counted in the row, and past 1 % they would make
  // it another row's figure: the run fails. (A few are normal: the twenty-third session's warm row
  // had 3 of 7,728 answers that were not hits.)
  if (scenario.expect && result.mismatches > MAX_MISMATCH_SHARE * result.requests) {
    throw new Error(
      `${scenario.name}: ${result.mismatches} of ${result.requests} answers under load were not the row's (see answerCheck)`,
    );
  }
  if (scenario.noRedis && commands && commands.total > 0) {
    throw new Error(
      `${scenario.name}: ${commands.total} Redis command(s) in a row that should cost none (${Object.entries(
        commands.byCommand,
      )
        .map(([name, calls]) => `${name} ${calls}`)
        .join(', ')})`,
    );
  }
}
