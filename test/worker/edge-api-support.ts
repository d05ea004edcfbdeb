/** Drives the real worker app against the local Upstash server and model store (see edge-api.global-setup.ts). */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { Redis } from '@upstash/redis/cloudflare';
import { inject } from 'vitest';
import type { RecommendationsResponse } from '../../contracts/api-types';
import type { StoredEvent } from '../../contracts/events';
import { createApp } from '../../worker/src/app';
import type { Env } from '../../worker/src/env';
import worker from '../../worker/src/index';
import { getBundle } from '../../worker/src/models';
import { userHash } from '../../worker/src/shopper';

export const provided = () => inject('edgeApi');

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const PRICE_SIGNING_KEY = 'test-price-signing-key-0123456789';
/** The tests' USER_HASH_KEY (32 characters or more, as a real one: a shorter one is warned about). */
export const USER_HASH_KEY = 'test-user-hash-key-0123456789abcdef';
export const SITE = 'test';

/** The worker's env with the local Upstash server, secrets for prices, admin and shopper hashes, and no holdout. */
export function edgeEnv(overrides: Partial<Env> = {}): Env {
  const { upstash } = provided();
  return {
    ...env,
    SITE_ID: SITE,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    PRICE_SIGNING_KEY,
    ADMIN_TOKEN,
    USER_HASH_KEY,
    HOLDOUT_PERCENT: '0',
    // Generous: these tests check behaviour, not speed; the slow-Redis test sets its own budget.
    CACHE_BUDGET_MS: '2000',
    MODEL_POLL_SECONDS: '0',
    ...overrides,
  } as Env;
}

const app = createApp();

/**
 * Loads this isolate's model sessions before a test that assumes a warm isolate. Each test file runs
 * in an isolate of its own, and a cold one answers its first misses from popularity without caching
 * them, while its sessions wait for a moment between requests (cold-isolate.integration.test.ts).
 */
export async function warmIsolate(): Promise<void> {
  if (!(await getBundle(edgeEnv()))) throw new Error('no model bundle could be loaded');
}

/** One request through the real app, waiting for its background work (cache writes) to finish. */
export async function call(
  path: string,
  init: RequestInit = {},
  overrides: Partial<Env> = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.request(`https://rx.test${path}`, withWireLength(init), edgeEnv(overrides), ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * The request as it arrives over HTTP: a body of known size comes with its Content-Length, which a
 * Request made in-process does not show in its headers (the admin upload requires it). A stream body
 * stays chunked, without one.
 */
function withWireLength(init: RequestInit): RequestInit {
  const { body } = init;
  const size =
    typeof body === 'string'
      ? new TextEncoder().encode(body).byteLength
      : body instanceof ArrayBuffer || ArrayBuffer.isView(body)
        ? body.byteLength
        : undefined;
  const headers = new Headers(init.headers);
  if (size === undefined || headers.has('content-length')) return init;
  headers.set('content-length', String(size));
  return { ...init, headers };
}

/** A client of the same local Upstash server, to seed activity and observe cache entries. */
export function directRedis(): Redis {
  const { upstash } = provided();
  return new Redis({
    url: upstash.url,
    token: upstash.token,
    automaticDeserialization: false,
    enableTelemetry: false,
  });
}

/**
 * Writes a cache entry at `key` past its freshness (stale, still stored), listing `items`, as a stale
 * hit finds it; returns the value written, to compare with what is there later.
 */
export async function plantStaleEntry(key: string, items: readonly unknown[]): Promise<string> {
  const stale = JSON.stringify({ g: 0, f: Date.now() - 1_000, source: 'popularity', items });
  await directRedis().set(key, stale, { ex: 600 });
  return stale;
}

/** The hash the worker keys the anonymous shopper `id`'s (an rx_uid's) state by under edgeEnv (its USER_HASH_KEY and SITE). */
export function hashOf(id: string): Promise<string> {
  return userHash(USER_HASH_KEY, SITE, { anonymousId: id });
}

/** The hash the worker keys the logged-in shopper `userId`'s state by under edgeEnv. */
export function userHashOf(userId: string): Promise<string> {
  return userHash(USER_HASH_KEY, SITE, { userId });
}

/** A fresh shopper: a cookie header and the hash their keys use. */
export async function newShopper(): Promise<{ id: string; cookie: string; hash: string }> {
  const id = crypto.randomUUID();
  return { id, cookie: `rx_uid=${id}`, hash: await hashOf(id) };
}

function decode(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Uploads a fixture bundle through the admin API and activates it; returns the activation response. */
export async function publish(
  name: keyof ReturnType<typeof provided>['bundles'],
  version: string,
): Promise<Response> {
  const files = provided().bundles[name];
  for (const [file, base64] of Object.entries(files)) {
    const response = await call(`/admin/models/${version}/${file}`, {
      method: 'PUT',
      headers: auth,
      body: decode(base64),
    });
    if (response.status !== 201)
      throw new Error(`upload of ${file} failed: ${response.status} ${await response.text()}`);
  }
  return call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
}

/** The recommendations response body: the contract's part, and what the tests also check. */
export interface RecommendationsBody extends RecommendationsResponse {
  placement: string;
  bucket: string;
  source: string;
  cached: boolean;
}

export async function recommend(
  query: string,
  headers: Record<string, string> = {},
  overrides: Partial<Env> = {},
) {
  const response = await call(`/v1/recommendations?${query}`, { headers }, overrides);
  return { response, body: (await response.json()) as RecommendationsBody };
}

/** Fixture catalogue facts (test/support/fixture-bundle.ts): item i is `P{10000+i}` in category i % 4. */
export const CATEGORIES = ['mugs', 'candles', 'bags', 'toys'] as const;
export function productId(index: number): string {
  return `P${10_000 + index}`;
}
export function categoryOfProduct(id: string): string {
  return CATEGORIES[(Number(id.slice(1)) - 10_000) % 4] ?? '?';
}

/** Delivers events to the real queue handler, as the platform would, and returns the ack/retry result. */
export async function consume(events: StoredEvent[], consumerEnv: Env = edgeEnv()) {
  const batch = createMessageBatch(
    'rx-events',
    events.map((body, i) => ({ id: `${body.messageId}-q${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, consumerEnv);
  return getQueueResult(batch, ctx);
}
