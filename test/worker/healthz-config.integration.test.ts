/**
 * `/healthz` `config`: a retailer who mistypes a setting sees it named there (the worker uses the
 * default meanwhile), with what the setting accepts; `ok` when every entry is acceptable.
 */
import {
  createExecutionContext,
  env,
  getQueueResult,
  runInDurableObject,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../worker/src/app';
import type { EventWriter } from '../../worker/src/consumer/event-writer-object';
import type { Env } from '../../worker/src/env';
import { type ComponentHealth, configHealth } from '../../worker/src/health';
import worker from '../../worker/src/index';
import { batchOf, countRun, runId, storedEvents, workerEnv } from './events-support';

const app = createApp();

async function healthz(overrides: Partial<Env>) {
  const ctx = createExecutionContext();
  const response = await app.request(
    'https://rx.test/healthz',
    {},
    { ...(env as unknown as Env), ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return (await response.json()) as { status: string; components: Record<string, ComponentHealth> };
}

const PROXY = { ORIGIN_URL: 'https://origin.example' };

describe('/healthz config', () => {
  it('is ok with the settings as deployed (the test config), and with a proxy configured well', async () => {
    const response = await SELF.fetch('http://worker.test/healthz');
    const body = await response.json<{ components: Record<string, ComponentHealth> }>();
    expect(body.components.config).toEqual({ status: 'ok' });
    const proxy = await healthz({
      ...PROXY,
      RX_SLOTS: '[{"selector":"#recs","placement":"home"}]',
      SHOP_ORIGINS: 'https://shop.example,https://www.shop.example',
      CACHE_BUDGET_MS: '80',
      HOLDOUT_PERCENT: '',
    });
    expect(proxy.components.config).toEqual({ status: 'ok' });
  });

  it('names a bad CACHE_BUDGET_MS, what it accepts and that the worker goes on', async () => {
    const body = await healthz({ CACHE_BUDGET_MS: 'fast' });
    expect(body.components.config).toEqual({
      status: 'degraded',
      detail: 'CACHE_BUDGET_MS must be a number of milliseconds > 0, got "fast"',
    });
    expect(body.status).toBe('degraded');
  });

  it('names a bad RX_SLOTS entry (proxy mode)', async () => {
    const body = await healthz({ ...PROXY, RX_SLOTS: '[{"selector":"#recs","placement":"basket"}]' });
    expect(body.components.config?.status).toBe('degraded');
    expect(body.components.config?.detail).toMatch(/^RX_SLOTS\[0\.placement\]: /);
  });

  it('names a SHOP_ORIGINS entry that is not an origin', async () => {
    const body = await healthz({ SHOP_ORIGINS: 'https://shop.example,www.shop.example' });
    expect(body.components.config).toEqual({
      status: 'degraded',
      detail: 'SHOP_ORIGINS: "www.shop.example" is not an origin (like https://shop.example)',
    });
  });

  it('lists several problems, counted, general settings first, then the proxy’s', async () => {
    const body = await healthz({
      ...PROXY,
      OUTBOX_SHARDS: '64',
      RX_CONSENT: 'maybe',
      PERSONALIZATION_BUDGET_MS: 'soon',
    });
    expect(body.components.config).toEqual({
      status: 'degraded',
      detail:
        '3 problems: OUTBOX_SHARDS must be a whole number from 1 to 32, got "64"; ' +
        'PERSONALIZATION_BUDGET_MS must be a number of milliseconds >= 0, got "soon"; ' +
        'RX_CONSENT must be one of required, not-required, got "maybe"',
    });
  });

  it('names a MONGODB_DB MongoDB refuses (a "."), and the consumer writes to the default meanwhile', async () => {
    // Before: config ok, and the driver refused every batch ("Database names cannot contain the
    // character '.'"): each retried, then dead-lettered.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let logged: string[];
    try {
      const body = await healthz({ MONGODB_DB: 'a.b' });
      expect(body.components.config).toEqual({
        status: 'degraded',
        detail:
          'MONGODB_DB must be a MongoDB database name, got "a.b" (MongoDB refuses "." in a database name)',
      });
      expect(body.status).toBe('degraded');
      logged = warn.mock.calls
        .map((call) => String(call[0]))
        .filter((line) => line.includes('config_problem'));
    } finally {
      warn.mockRestore();
    }
    expect(logged.join('\n')).toContain('MONGODB_DB must be a MongoDB database name, got \\"a.b\\"');

    // The default is the project's own database (`mongoDb`: `rx`; on a real MongoDB the string's path
    // names the run's database, which wins over MONGODB_DB either way).
    const run = runId();
    // With a client per batch (no EVENT_WRITER bound).
    const batch = batchOf(storedEvents(run, 2), `db-${run}`);
    const ctx = createExecutionContext();
    await worker.queue(batch, workerEnv({ MONGODB_DB: 'a.b', EVENT_WRITER: undefined }));
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(2);
    // Through the EventWriter Durable Object, the deployed path (its own env, MONGODB_DB = a.b).
    const namespace = workerEnv().EVENT_WRITER;
    if (!namespace) throw new Error('the worker project binds EVENT_WRITER (wrangler.toml)');
    const writer = namespace.get(namespace.idFromName(`mongodb-db-${run}`));
    const written = await runInDurableObject(writer, async (instance: EventWriter) => {
      const object = instance as unknown as { env: Env };
      object.env = { ...object.env, MONGODB_DB: 'a.b' };
      return instance.write({ events: storedEvents(`${run}-do`, 2), rejected: [] });
    });
    expect(written.events.map((outcome) => outcome.kind)).toEqual(['stored', 'stored']);
    expect(await countRun(run)).toBe(2);
    expect(await countRun(`${run}-do`)).toBe(2);

    // The consumer's own isolate says so in its log, without anyone asking /healthz (a name this
    // isolate has not logged yet: each problem is logged once per isolate).
    const consumerWarn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const another = batchOf(storedEvents(`${run}-q`, 1), `db-q-${run}`);
      await worker.queue(another, workerEnv({ MONGODB_DB: `events $${run}`, EVENT_WRITER: undefined }));
      expect((await getQueueResult(another, createExecutionContext())).explicitAcks).toHaveLength(1);
      const lines = consumerWarn.mock.calls.map((call) => String(call[0]));
      expect(lines.filter((line) => line.includes('config_problem')).join('\n')).toContain(
        `MONGODB_DB must be a MongoDB database name, got \\"events $${run}\\"`,
      );
    } finally {
      consumerWarn.mockRestore();
    }
  });

  it('names an ORIGIN_URL that is not http(s), which fails every proxied page: down, 503', async () => {
    const ctx = createExecutionContext();
    const response = await app.request(
      'https://rx.test/healthz',
      {},
      { ...(env as unknown as Env), ORIGIN_URL: 'ftp://origin.example' },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; components: Record<string, ComponentHealth> };
    expect(body.status).toBe('down');
    expect(body.components.config).toEqual({
      status: 'down',
      detail: 'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example), got ftp:',
    });
    // A typo the default covers is not an outage.
    expect((await healthz({ ...PROXY, CACHE_BUDGET_MS: 'fast' })).components.config?.status).toBe('degraded');
  });

  it('names an empty SITE_ID, which makes the consumer refuse every event: down', async () => {
    const body = await healthz({ SITE_ID: ' ' });
    expect(body.status).toBe('down');
    expect(body.components.config).toEqual({
      status: 'down',
      detail:
        'SITE_ID must name the shop ([vars] in wrangler.toml), got nothing: every event would be refused by the consumer',
    });
  });

  it('names USER_ID_SECRET equal to a price signing key, which would let a signed user id pass as a price token: down, 503, no value shown', async () => {
    const shared = 'secret-marker-shared-0123456789abcdef';
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      for (const priceKey of ['PRICE_SIGNING_KEY', 'PRICE_SIGNING_KEY_PREVIOUS'] as const) {
        const ctx = createExecutionContext();
        const response = await app.request(
          'https://rx.test/healthz',
          {},
          {
            ...(env as unknown as Env),
            PRICE_SIGNING_KEY: 'a-price-key-of-its-own-0123456789',
            [priceKey]: shared,
            USER_ID_SECRET: shared,
          },
          ctx,
        );
        await waitOnExecutionContext(ctx);
        expect(response.status).toBe(503);
        const body = (await response.json()) as {
          status: string;
          components: Record<string, ComponentHealth>;
        };
        expect(body.status).toBe('down');
        expect(body.components.config?.status).toBe('down');
        expect(body.components.config?.detail).toMatch(
          new RegExp(
            `^USER_ID_SECRET and ${priceKey} are the same secret, so a signed user id could pass as a price token`,
          ),
        );
        expect(JSON.stringify(body)).not.toContain('secret-marker');
      }
      const logged = warn.mock.calls
        .map((call) => String(call[0]))
        .filter((line) => line.includes('USER_ID_SECRET'));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.join('\n')).not.toContain('secret-marker');
    } finally {
      warn.mockRestore();
    }
    // Secrets of their own: nothing to say.
    const apart = await healthz({
      PRICE_SIGNING_KEY: 'one-key-0123456789',
      USER_ID_SECRET: 'another-0123456789',
    });
    expect(apart.components.config).toEqual({ status: 'ok' });
  });

  it('names a USER_ID_SECRET of only whitespace, which the worker treats as unset: degraded', async () => {
    const body = await healthz({ USER_ID_SECRET: ' \n' });
    expect(body.components.config).toEqual({
      status: 'degraded',
      detail:
        'USER_ID_SECRET is set but blank, so it is no secret: user ids are taken without a signature until it gets a value (e.g. openssl rand -base64 32, then sign user ids with it) or is removed',
    });
  });

  it('names the Segment server key being the (public) write key: degraded, no value shown', async () => {
    const shared = await healthz({
      SEGMENT_WRITE_KEY: 'secret-marker-segment',
      SEGMENT_SERVER_WRITE_KEY: 'secret-marker-segment',
    });
    expect(shared.components.config?.status).toBe('degraded');
    expect(shared.components.config?.detail).toMatch(
      /^SEGMENT_SERVER_WRITE_KEY and SEGMENT_WRITE_KEY are the same secret/,
    );
    expect(JSON.stringify(shared)).not.toContain('secret-marker');
    const apart = await healthz({ SEGMENT_WRITE_KEY: 'public-key', SEGMENT_SERVER_WRITE_KEY: 'server-key' });
    expect(apart.components.config).toEqual({ status: 'ok' });
  });

  it('names a Segment write key of only whitespace, which the worker treats as unset: degraded', async () => {
    for (const name of ['SEGMENT_WRITE_KEY', 'SEGMENT_SERVER_WRITE_KEY']) {
      const body = await healthz({ [name]: ' \n' });
      expect(body.components.config?.status).toBe('degraded');
      expect(body.components.config?.detail).toBe(
        `${name} is set but blank, so it is no secret: it is taken as unset until it gets a value (e.g. openssl rand -base64 32) or is removed`,
      );
    }
  });

  it('says what is wrong with ORIGIN_URL without showing the origin’s host on this public path', async () => {
    for (const origin of ['hidden-origin.example', 'hidden-origin.example:8443']) {
      const body = await healthz({ ORIGIN_URL: origin });
      expect(body.components.config).toEqual({
        status: 'down',
        detail:
          'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example), got a value without http:// or https://',
      });
    }
  });

  it('names each selector HTMLRewriter refuses (proxy mode): degraded, not down', async () => {
    const accepts = 'must be a CSS selector HTMLRewriter supports';
    const all = await healthz({
      ...PROXY,
      RX_SLOTS: '[{"selector":"#recs, div:hover","placement":"home"}]',
      RX_PRICE_SELECTOR: 'div[',
      RX_PRODUCT_ID_SELECTOR: 'a >> b',
    });
    expect(all.status).toBe('degraded');
    expect(all.components.config).toEqual({
      status: 'degraded',
      detail:
        `3 problems: RX_SLOTS[0.selector] ${accepts}, got "div:hover" (Unsupported pseudo-class or pseudo-element in selector); ` +
        `RX_PRICE_SELECTOR ${accepts}, got "div[" (Unexpected end of selector); ` +
        `RX_PRODUCT_ID_SELECTOR ${accepts}, got "a >> b" (Dangling combinator in selector)`,
    });
    // Checked once per distinct settings: another value of a selector setting is checked anew.
    expect((await healthz({ ...PROXY, RX_PRICE_SELECTOR: '::bogus' })).components.config?.detail).toBe(
      `RX_PRICE_SELECTOR ${accepts}, got "::bogus" (Unsupported pseudo-class or pseudo-element in selector)`,
    );
    expect((await healthz({ ...PROXY, RX_PRICE_SELECTOR: 'a + b' })).components.config?.detail).toBe(
      `RX_PRICE_SELECTOR ${accepts}, got "a + b" (Unsupported combinator \`+\` in selector)`,
    );
    const supported = await healthz({
      ...PROXY,
      RX_PRICE_SELECTOR: '.price, li:nth-child(2) > span',
      RX_PRODUCT_ID_SELECTOR: 'product-info[data-product-id]',
    });
    expect(supported.components.config).toEqual({ status: 'ok' });
  });

  it('proxy settings are not checked while the proxy is off (ORIGIN_URL empty)', async () => {
    const body = await healthz({ ORIGIN_URL: '', RX_SLOTS: 'not json' });
    expect(body.components.config).toEqual({ status: 'ok' });
  });

  it('checks public settings only: no secret value ever reaches the detail', () => {
    const secrets: Partial<Env> = {
      UPSTASH_REDIS_REST_URL: 'https://secret-marker-1.example',
      UPSTASH_REDIS_REST_TOKEN: 'secret-marker-2',
      MONGODB_URI: 'mongodb://user:secret-marker-3@host',
      PRICE_SIGNING_KEY: 'secret-marker-4',
      ADMIN_TOKEN: 'secret-marker-5',
      USER_HASH_KEY: 'secret-marker-6',
    };
    const health = configHealth({
      ...(env as unknown as Env),
      ...secrets,
      CACHE_BUDGET_MS: 'bad',
      SHOP_ORIGINS: 'bad',
    });
    expect(health.status).toBe('degraded');
    expect(health.detail).not.toContain('secret-marker');
  });

  it('checks once per distinct settings and logs each problem once per isolate', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const settings = { CACHE_TTL_SECONDS: 'an hour' };
      for (let i = 0; i < 3; i++) {
        expect((await healthz(settings)).components.config?.status).toBe('degraded');
      }
      const logged = warn.mock.calls
        .map((call) => JSON.parse(String(call[0])) as { event: string; problem?: string })
        .filter((line) => line.event === 'config_problem');
      expect(logged).toEqual([
        {
          level: 'warn',
          event: 'config_problem',
          problem: 'CACHE_TTL_SECONDS must be a whole number of seconds from 1 to 3153600000, got "an hour"',
        },
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('SHOP_ORIGINS entries that are not origins', () => {
  it('are never allowed: `localhost:8787` (no scheme) does not let the null origin in with credentials', async () => {
    const preflight = async (origin: string) => {
      const ctx = createExecutionContext();
      const response = await app.request(
        'https://rx.test/v1/recommendations',
        {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET' },
        },
        { ...(env as unknown as Env), SHOP_ORIGINS: 'localhost:8787 https://shop.example' },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return response.headers.get('access-control-allow-origin');
    };
    expect(await preflight('https://shop.example')).toBe('https://shop.example');
    expect(await preflight('null')).toBeNull();
  });
});
