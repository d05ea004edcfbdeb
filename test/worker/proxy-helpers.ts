/** Drives the real worker app (or a proxy with chosen dependencies) against the Node test origin. */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { inject } from 'vitest';
import type { RxEvent } from '../../contracts/events';
import { createApp } from '../../worker/src/app';
import type { AppEnv } from '../../worker/src/app-env';
import type { Env } from '../../worker/src/env';
import { type ProxyDependencies, proxyHandler } from '../../worker/src/proxy';
import { USER_HASH_KEY } from './edge-api-support';

/** The public host shoppers use in these tests (the worker's route). */
export const PUBLIC = 'https://shop.example';

/** A desktop browser, so requests count as shoppers, not bots. */
export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

export const ORIGIN = () => inject('proxyOriginUrl');

export interface ProxiedResponse {
  response: Response;
  body: string;
  events: RxEvent[];
}

export function testEnv(overrides: Partial<Env> = {}): Env {
  return { ...env, ORIGIN_URL: ORIGIN(), HOLDOUT_PERCENT: '0', USER_HASH_KEY, ...overrides } as Env;
}

export function browserHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'user-agent': BROWSER_UA, accept: 'text/html,application/xhtml+xml', ...extra };
}

/**
 * Sends one request through the proxy and reads the whole body, then waits for `waitUntil` work
 * (the page-view event). The proxy runs in a bare Hono app with `deps` over its defaults; events
 * are captured instead of queued (`viaWorker` goes through the real app and queue).
 */
export async function proxied(
  path: string,
  init: RequestInit = {},
  options: { env?: Partial<Env>; deps?: Partial<ProxyDependencies> } = {},
): Promise<ProxiedResponse> {
  const events: RxEvent[] = [];
  const deps: Partial<ProxyDependencies> = {
    sendEvents: async (_env, sent) => {
      events.push(...sent);
    },
    ...options.deps,
  };
  const app = new Hono<AppEnv>().all('*', proxyHandler(deps));
  const ctx = createExecutionContext();
  const request = new Request(`${PUBLIC}${path}`, { headers: browserHeaders(), ...init });
  const response = await app.fetch(request, testEnv(options.env), ctx);
  const body = request.method === 'HEAD' ? '' : await response.text();
  await waitOnExecutionContext(ctx);
  return { response, body, events };
}

/** Through the worker's real app (routes, error handling, the real queue producer). */
export async function viaWorker(path: string, init: RequestInit = {}, overrides: Partial<Env> = {}) {
  const ctx = createExecutionContext();
  const request = new Request(`${PUBLIC}${path}`, { headers: browserHeaders(), ...init });
  const response = await createApp().fetch(request, testEnv(overrides), ctx);
  const body = request.method === 'HEAD' ? '' : await response.text();
  await waitOnExecutionContext(ctx);
  return { response, body };
}

/** The origin's own bytes of a path, fetched directly (what pass-through must reproduce). */
export async function direct(
  path: string,
  init: RequestInit = {},
): Promise<{ response: Response; body: string }> {
  const response = await fetch(`${ORIGIN()}${path}`, init);
  return { response, body: await response.text() };
}

/** The test origin's `/raw` path answering `body` with `headers` and `status` (test/support/proxy-origin.ts). */
export function raw(body: string | Uint8Array, headers: string[], status = 200): string {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const query = new URLSearchParams({ body: btoa(String.fromCharCode(...bytes)), status: String(status) });
  for (const header of headers) query.append('header', header);
  return `/raw?${query}`;
}
