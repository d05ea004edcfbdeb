/**
 * Proxy mode under the shop's Content-Security-Policy (docs/proxy.md "Shops with a
 * Content-Security-Policy"): the test origin's `/csp-page` carries the policies each test names.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Env } from '../../worker/src/env';
import { direct, type ProxiedResponse, proxied, viaWorker } from './proxy-helpers';
import { count, withoutInsertions } from './proxy-insertions';
import { productById, testSource } from './proxy-test-source';

/** The page's price at the test source's half price, as the proxy writes it. */
const HALF_PRICE = `£${(Math.round(productById('85123A').price * 50) / 100).toFixed(2)}</span>`;

const NONCE_SOURCE = /'nonce-([A-Za-z0-9+/]{22}==)'/;

/** The page under these policies (`csp`: header lines; `ro`: Report-Only lines; `meta`: in the head). */
function cspPath({ csp = [], ro = [], meta = [] }: { csp?: string[]; ro?: string[]; meta?: string[] }) {
  const query = new URLSearchParams();
  for (const value of csp) query.append('csp', value);
  for (const value of ro) query.append('csp-ro', value);
  for (const value of meta) query.append('meta', value);
  return `/csp-page?${query}`;
}

/** A treatment shopper's page (`priceFactor` below 1: personal prices, which rewrite the page's). */
function page(path: string, env: Partial<Env> = {}, priceFactor = 1): Promise<ProxiedResponse> {
  return proxied(path, {}, { deps: { source: () => testSource({ priceFactor }) }, env });
}

/** The nonce our injected tags carry (both the same), or null when they carry none. */
function injectedNonce(body: string): string | null {
  const script = /<script src="\/rx\.js" async(?: nonce="([^"]+)")?/.exec(body);
  const style = /<style data-rx-styles(?: nonce="([^"]+)")?>/.exec(body);
  if (script && style) expect(style[1]).toBe(script[1]);
  return script?.[1] ?? style?.[1] ?? null;
}

async function cspHealth(): Promise<{ status: string; detail?: string }> {
  const { body } = await viaWorker('/healthz');
  return (JSON.parse(body) as { components: Record<string, { status: string; detail?: string }> }).components
    .csp as { status: string; detail?: string };
}

/** The `proxy_csp_refused` lines console.warn got while `run` ran. */
async function cspLogLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const warn = vi.spyOn(console, 'warn');
  try {
    await run();
    return warn.mock.calls.flatMap((call) => {
      try {
        const line = JSON.parse(String(call[0])) as Record<string, unknown>;
        return line.event === 'proxy_csp_refused' ? [line] : [];
      } catch {
        return [];
      }
    });
  } finally {
    warn.mockRestore();
  }
}

describe('proxy: pages without a Content-Security-Policy', () => {
  it('get no nonce and no policy: only the usual insertions', async () => {
    const path = cspPath({});
    const { response, body } = await page(path);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(injectedNonce(body)).toBeNull();
    expect(count(body, '<section class="rx-block')).toBe(1);
    expect(withoutInsertions(body)).toBe((await direct(path)).body);
  });
});

describe('proxy: a nonce-based policy', () => {
  const policy =
    "script-src 'nonce-shop-nonce' 'strict-dynamic' https:; style-src 'self' 'nonce-shop-nonce'; object-src 'none'; base-uri 'none'";

  it('gets a fresh nonce in the directives our tags need, and our script and stylesheet carry it', async () => {
    const path = cspPath({ csp: [policy] });
    const { response, body } = await page(path);
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    expect(nonce).not.toBe('');
    // The origin's policy, byte for byte, plus our nonce at the end of the two directives.
    expect(header).toBe(
      `script-src 'nonce-shop-nonce' 'strict-dynamic' https: 'nonce-${nonce}'; ` +
        `style-src 'self' 'nonce-shop-nonce' 'nonce-${nonce}'; object-src 'none'; base-uri 'none'`,
    );
    expect(injectedNonce(body)).toBe(nonce);
    expect(count(body, '<section class="rx-block')).toBe(1);
    expect(withoutInsertions(body)).toBe((await direct(path)).body);

    const again = await page(path);
    const second = NONCE_SOURCE.exec(again.response.headers.get('content-security-policy') ?? '')?.[1];
    expect(second).toBeDefined();
    expect(second).not.toBe(nonce);
    expect(injectedNonce(again.body)).toBe(second);
  });

  it('extends each policy that needs it, several headers or one with commas, and reads names in any case', async () => {
    const first = "Script-Src 'self'";
    const second = "SCRIPT-SRC 'NONCE-shop-nonce' 'Strict-Dynamic'; STYLE-SRC 'self'";
    for (const csp of [[first, second], [`${first}, ${second}`]]) {
      const { response, body } = await page(cspPath({ csp }));
      const header = response.headers.get('content-security-policy') ?? '';
      const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
      // The first policy already allows /rx.js ('self') and says nothing of styles: left as it was.
      expect(header).toBe(
        `Script-Src 'self', SCRIPT-SRC 'NONCE-shop-nonce' 'Strict-Dynamic' 'nonce-${nonce}'; STYLE-SRC 'self' 'nonce-${nonce}'`,
      );
      expect(injectedNonce(body)).toBe(nonce);
    }
  });

  it('adds to the first of repeated directives (the one browsers use), and to default-src when it governs', async () => {
    const { response, body } = await page(
      cspPath({ csp: ["script-src 'nonce-a'; script-src 'self'; default-src 'self'"] }),
    );
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    expect(header).toBe(
      `script-src 'nonce-a' 'nonce-${nonce}'; script-src 'self'; default-src 'self' 'nonce-${nonce}'`,
    );
    expect(injectedNonce(body)).toBe(nonce);
  });

  it("for a held-out shopper's page (the script alone) extends only the script's directive", async () => {
    const { response, body } = await page(cspPath({ csp: [policy] }), { HOLDOUT_PERCENT: '100' });
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    expect(header).toBe(
      `script-src 'nonce-shop-nonce' 'strict-dynamic' https: 'nonce-${nonce}'; ` +
        "style-src 'self' 'nonce-shop-nonce'; object-src 'none'; base-uri 'none'",
    );
    expect(body).toContain(`<script src="/rx.js" async nonce="${nonce}"></script></head>`);
    expect(body).not.toContain('<style data-rx-styles');
  });
});

describe('proxy: policies that already allow our tags, or do not block', () => {
  it("'unsafe-inline' with 'self': header untouched, tags injected without a nonce", async () => {
    const csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'";
    const path = cspPath({ csp: [csp] });
    const { response, body } = await page(path);
    expect(response.headers.get('content-security-policy')).toBe(csp);
    expect(injectedNonce(body)).toBeNull();
    expect(count(body, '<script src="/rx.js"')).toBe(1);
    expect(count(body, '<style data-rx-styles>')).toBe(1);
    expect(withoutInsertions(body)).toBe((await direct(path)).body);
  });

  it('a policy naming no script or style directive (frame-ancestors, upgrades) is left as it is', async () => {
    const csp = "block-all-mixed-content; frame-ancestors 'none'; upgrade-insecure-requests;";
    const { response, body } = await page(cspPath({ csp: [csp] }));
    expect(response.headers.get('content-security-policy')).toBe(csp);
    expect(injectedNonce(body)).toBeNull();
  });

  it('Content-Security-Policy-Report-Only blocks nothing and is left untouched', async () => {
    const ro = "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'none'";
    const { response, body } = await page(cspPath({ ro: [ro] }));
    expect(response.headers.get('content-security-policy-report-only')).toBe(ro);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(injectedNonce(body)).toBeNull();
    expect(count(body, '<script src="/rx.js"')).toBe(1);
  });
});

describe('proxy: policies that would have to be weakened', () => {
  it("'unsafe-inline' without our host: no script (said once, /healthz csp degraded), the page otherwise personalized", async () => {
    const csp = "script-src 'unsafe-inline' https://cdn.shop.example; style-src 'self' 'unsafe-inline'";
    const path = cspPath({ csp: [csp] });
    const pages: ProxiedResponse[] = [];
    const lines = await cspLogLines(async () => {
      pages.push(await page(path, {}, 0.5), await page(path, {}, 0.5));
    });
    for (const { response, body } of pages) {
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(body).not.toContain('/rx.js');
      expect(body).toContain('<style data-rx-styles>');
      expect(count(body, '<section class="rx-block')).toBe(1);
      expect(body).toContain(HALF_PRICE);
    }
    expect(lines).toEqual([
      {
        level: 'warn',
        event: 'proxy_csp_refused',
        element: 'script',
        directive: 'script-src',
        reason: "'unsafe-inline' without a nonce or hash, and this host not allowed",
      },
    ]);
    const health = await cspHealth();
    expect(health.status).toBe('degraded');
    expect(health.detail).toBe(
      "Content-Security-Policy script-src: 'unsafe-inline' without a nonce or hash, and this host not allowed; /rx.js not injected, nothing tracked in the browser",
    );
  });

  it("refuses in every policy or none: one policy relying on 'unsafe-inline' keeps the script out of all", async () => {
    const csp = ["script-src 'nonce-shop-nonce'; style-src 'nonce-shop-nonce'", "script-src 'unsafe-inline'"];
    const { response, body } = await page(cspPath({ csp }));
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    // The stylesheet still needs (and gets) the nonce; the script's directive is left alone.
    expect(header).toBe(
      `script-src 'nonce-shop-nonce'; style-src 'nonce-shop-nonce' 'nonce-${nonce}', script-src 'unsafe-inline'`,
    );
    expect(body).not.toContain('/rx.js');
    expect(body).toContain(`<style data-rx-styles nonce="${nonce}">`);
  });

  it("'none', and a sandbox without allow-scripts, keep the script out; a sandbox with it does not", async () => {
    for (const csp of ["script-src 'none'", 'sandbox allow-forms']) {
      const { response, body } = await page(cspPath({ csp: [csp] }));
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(body).not.toContain('/rx.js');
    }
    const allowed = await page(cspPath({ csp: ['sandbox allow-scripts allow-same-origin'] }));
    expect(count(allowed.body, '<script src="/rx.js" async data-rx-page-view="sent">')).toBe(1);
  });

  it("keeps the script when connect-src refuses the plugin's /v1 calls, and says so", async () => {
    const csp = "connect-src https://api.shop.example; script-src 'self'";
    const lines = await cspLogLines(async () => {
      const { response, body } = await page(cspPath({ csp: [csp] }));
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(count(body, '<script src="/rx.js"')).toBe(1);
    });
    expect(lines).toEqual([
      expect.objectContaining({
        element: 'connect',
        directive: 'connect-src',
        reason: 'this host not allowed',
      }),
    ]);
  });
});

describe('proxy: a policy in <meta http-equiv>', () => {
  it('gets the nonce in its content, as a header would', async () => {
    const meta = "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'nonce-shop-nonce'";
    const path = cspPath({ meta: [meta] });
    const { response, body } = await page(path);
    expect(response.headers.get('content-security-policy')).toBeNull();
    const nonce = injectedNonce(body);
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(body).toContain(
      `<meta http-equiv="Content-Security-Policy" content="script-src 'nonce-shop-nonce' 'strict-dynamic' 'nonce-${nonce}'; style-src 'nonce-shop-nonce' 'nonce-${nonce}'">`,
    );
  });

  it("shares the header's nonce, and keeps the script out when it relies on 'unsafe-inline'", async () => {
    const header = "style-src 'nonce-shop-nonce'";
    const meta = "script-src 'unsafe-inline' https://cdn.shop.example";
    const path = cspPath({ csp: [header], meta: [meta] });
    const { response, body } = await page(path);
    const nonce = NONCE_SOURCE.exec(response.headers.get('content-security-policy') ?? '')?.[1] ?? '';
    expect(body).toContain(`<style data-rx-styles nonce="${nonce}">`);
    expect(body).not.toContain('/rx.js');
    expect(body).toContain(`content="${meta}"`);
  });
});
