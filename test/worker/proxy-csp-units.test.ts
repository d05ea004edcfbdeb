/** Reading Content-Security-Policy text and deciding for our two tags (worker/src/proxy/csp*.ts). */
import { describe, expect, it } from 'vitest';
import { PageCsp } from '../../worker/src/proxy/csp';
import { matchesUrl, parsePolicies } from '../../worker/src/proxy/csp-policy';

const PAGE = new URL('https://shop.example/products/85123A');
const RX_JS = new URL('/rx.js', PAGE);

describe('CSP text', () => {
  it('splits policies on commas and directives on semicolons, first of a name wins, ends kept', () => {
    const text = " Script-Src  'self'  https: ; ;script-src 'none';bad/name x, default-src 'none' ;";
    const [first, second] = parsePolicies(text);
    const script = first?.get('script-src');
    expect(script?.sources).toEqual(["'self'", 'https:']);
    expect(text.slice(0, script?.end)).toBe(" Script-Src  'self'  https:");
    expect([...(first?.keys() ?? [])]).toEqual(['script-src']);
    const fallback = second?.get('default-src');
    expect(fallback?.sources).toEqual(["'none'"]);
    expect(text.slice(0, fallback?.end).endsWith("default-src 'none'")).toBe(true);
    expect(parsePolicies(' , ;')).toEqual([]);
  });

  it('matches our URL by address as browsers do', () => {
    const matches = (source: string, url = RX_JS) => matchesUrl([source], url, PAGE);
    for (const source of [
      '*',
      "'self'",
      "'SELF'",
      'https:',
      'http:',
      'shop.example',
      'SHOP.example',
      'https://shop.example',
      'http://shop.example',
      'https://shop.example:443',
      'shop.example:*',
      '*.example',
      'https://shop.example/rx.js',
      'https://shop.example/',
      'shop.example/r%78.js',
    ]) {
      expect(matches(source), source).toBe(true);
    }
    for (const source of [
      "'none'",
      "'unsafe-inline'",
      "'nonce-abc'",
      'http:x',
      'data:',
      'cdn.shop.example',
      '*.shop.example',
      'https://shop.example:8443',
      'https://shop.example/static/',
      'https://shop.example/rx',
      'wss://shop.example',
    ]) {
      expect(matches(source), source).toBe(false);
    }
    const local = new URL('http://127.0.0.1:8787/');
    expect(matchesUrl(['127.0.0.1:8787'], new URL('/rx.js', local), local)).toBe(true);
    expect(matchesUrl(['127.0.0.1'], new URL('/rx.js', local), local)).toBe(false);
    expect(matchesUrl(['https:'], new URL('/rx.js', local), local)).toBe(false);
  });
});

describe('the decision for our tags', () => {
  const decide = (text: string, wanted: ('script' | 'style')[] = ['script', 'style']) => {
    const csp = new PageCsp(PAGE, wanted);
    const extended = csp.apply(text, 'header');
    return {
      extended: extended?.replace(/'nonce-[^']+'/g, (source) =>
        source === `'nonce-${csp.nonce}'` ? "'nonce-OURS'" : source,
      ),
      script: csp.refusal('script')?.reason,
      style: csp.refusal('style')?.reason,
      connect: csp.refusal('connect')?.reason,
    };
  };

  it("adds the nonce where a hash or nonce has already switched 'unsafe-inline' off", () => {
    expect(decide("style-src 'unsafe-inline' 'sha256-AAAA'; script-src 'unsafe-inline' 'nonce-x'")).toEqual({
      extended:
        "style-src 'unsafe-inline' 'sha256-AAAA' 'nonce-OURS'; script-src 'unsafe-inline' 'nonce-x' 'nonce-OURS'",
      script: undefined,
      style: undefined,
      connect: undefined,
    });
  });

  it("under 'strict-dynamic' an address does not count, wherever the directive comes from", () => {
    expect(decide("default-src 'self' 'strict-dynamic' 'nonce-x'", ['script']).extended).toBe(
      "default-src 'self' 'strict-dynamic' 'nonce-x' 'nonce-OURS'",
    );
    expect(
      decide("script-src-elem 'self' 'strict-dynamic' 'sha256-x'; script-src 'unsafe-inline'", ['script']),
    ).toMatchObject({
      extended: "script-src-elem 'self' 'strict-dynamic' 'sha256-x' 'nonce-OURS'; script-src 'unsafe-inline'",
    });
  });

  it("refuses rather than weaken: 'unsafe-inline' relied on, 'none', an empty directive", () => {
    expect(decide("script-src 'unsafe-inline' 'strict-dynamic'", ['script']).script).toMatch(/unsafe-inline/);
    expect(decide("script-src 'self' 'unsafe-inline'; style-src 'none'")).toMatchObject({
      extended: undefined,
      script: undefined,
      style: "'none'",
    });
    expect(decide('default-src', ['script'])).toMatchObject({ extended: undefined, script: "'none'" });
  });

  it('a <meta> cannot sandbox, and a held-out page (no stylesheet) leaves style directives alone', () => {
    const meta = new PageCsp(PAGE, ['script']);
    expect(meta.apply("sandbox; script-src 'self'", 'meta')).toBeUndefined();
    expect(meta.refusal('script')).toBeUndefined();
    expect(decide("style-src 'nonce-x'; script-src 'self'", ['script']).extended).toBeUndefined();
  });
});
