/**
 * The real worker, as a shop deploys it before its first `models:publish`: the built-in demo bundle off
 * (`DEMO_BUNDLE=false`, wrangler.toml's value) and nothing in the model store.
 *
 * A file of its own: the bundle registry is isolate state (worker/src/models/registry.ts), and each test
 * file runs in its own isolate, so no earlier test can have loaded a bundle here. Every request of this
 * file must keep that setting.
 */
import { env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import type { Env } from '../../worker/src/env';
import { viaWorker } from './proxy-helpers';
import { count, withoutInsertions } from './proxy-insertions';

const noBundle: Partial<Env> = { DEMO_BUNDLE: 'false', HOLDOUT_PERCENT: '0' };

describe('proxy: the real worker with no model bundle published', () => {
  it('serves the demo shop page with its slot as the origin had it, marked empty; /healthz says models disabled', async () => {
    const store = (env as unknown as Env).MODEL_STORE;
    expect(await store?.head('current.json')).toBeNull(); // nothing published
    const shop = inject('demoShopUrl');
    const { response, body } = await viaWorker('/products/85123A', {}, { ...noBundle, ORIGIN_URL: shop });
    const original = await (await fetch(`${shop}/products/85123A`)).text();

    expect(response.status).toBe(200);
    // The page is still the worker's (plugin injected), but no recommendation was made up.
    expect(count(body, '<script src="https://shop.example/rx.js" async')).toBe(1);
    expect(body).not.toContain('<section class="rx-block');
    expect(body).not.toContain('data-rx-recommendation-id');
    // An empty answer, not a missing one: the slot keeps the shop's markup and gives back its height.
    expect(count(body, 'data-rx-state="empty"')).toBe(count(original, 'data-rx-slot'));
    expect(count(original, 'data-rx-slot')).toBeGreaterThan(0);
    expect(withoutInsertions(body).replaceAll(' data-rx-state="empty"', '')).toBe(original);

    const health = await viaWorker('/healthz', {}, { ...noBundle, ORIGIN_URL: shop });
    const report = JSON.parse(health.body) as { components: Record<string, { status: string }> };
    expect(report.components.models?.status).toBe('disabled');
  }, 60_000);
});
