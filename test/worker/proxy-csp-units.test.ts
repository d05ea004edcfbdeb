/**
 * Reading Content-Security-Policy text and deciding for our two tags and the blocks' images
 * (worker/src/proxy/csp*.ts).
 */
import { describe, expect, it } from 'vitest';
import { documentBaseUrl, PageCsp } from '../../worker/src/proxy/csp';
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

  it("takes 'self' as CSP3 does: the page's origin, or its host over https on the same port", () => {
    const plain = new URL('http://shop.example/p');
    expect(matchesUrl(["'self'"], new URL('https://shop.example/i.png'), plain)).toBe(true);
    expect(matchesUrl(["'self'"], new URL('https://shop.example:8443/i.png'), plain)).toBe(false);
    expect(matchesUrl(["'self'"], new URL('https://cdn.shop.example/i.png'), plain)).toBe(false);
    // Not the other way round: an https page's 'self' is not its host over http.
    expect(matchesUrl(["'self'"], new URL('http://shop.example/i.png'), PAGE)).toBe(false);
  });
});

describe("the blocks' images", () => {
  const CDN_IMAGE = 'https://cdn.shop.example/images/85123A.jpg';
  const RELATIVE_IMAGE = '/images/85123A.svg';
  /** What the policies (one header value each) say of these `image` fields on `page`. */
  const judge = (texts: string[], images: string[], page = PAGE, base = page) => {
    const csp = new PageCsp(page, ['script', 'style']);
    for (const text of texts) csp.apply(text, 'header');
    return csp.imageRefusal(
      images.map((image) => ({ image })),
      base,
    );
  };

  it('are allowed by the source that names where they are, wherever the page is', () => {
    expect(
      judge(["img-src 'self'"], [RELATIVE_IMAGE, `https://shop.example${RELATIVE_IMAGE}`]),
    ).toBeUndefined();
    for (const source of [
      'https://cdn.shop.example',
      '*.shop.example',
      'cdn.shop.example:*',
      'https:',
      '*',
    ]) {
      expect(judge([`img-src ${source}`], [CDN_IMAGE]), source).toBeUndefined();
    }
    expect(judge(['img-src https://cdn.shop.example/images/'], [CDN_IMAGE])).toBeUndefined();
    // Protocol-relative: the page's scheme.
    expect(judge(['img-src https://cdn.shop.example'], ['//cdn.shop.example/a.jpg'])).toBeUndefined();
    // img-src, not default-src, when both are there; neither: nothing to check.
    expect(judge(["default-src 'none'; img-src https:"], [CDN_IMAGE])).toBeUndefined();
    expect(judge(["script-src 'none'; style-src 'none'"], [CDN_IMAGE])).toBeUndefined();
    // Items without an image get no <img>: nothing to refuse even under 'none'.
    expect(judge(["img-src 'none'"], ['', ''])).toBeUndefined();
  });

  it('are refused, naming the directive, by any one policy that does not allow every one of them', () => {
    expect(judge(["img-src 'none'"], [RELATIVE_IMAGE])).toEqual({
      element: 'image',
      directive: 'img-src',
      reason: "'none'",
    });
    expect(judge(['img-src'], [RELATIVE_IMAGE])?.reason).toBe("'none'");
    const address = "the catalogue images' address not allowed";
    expect(judge(["img-src 'self'"], [RELATIVE_IMAGE, CDN_IMAGE])).toEqual({
      element: 'image',
      directive: 'img-src',
      reason: address,
    });
    expect(judge(['img-src https://cdn.shop.example'], [RELATIVE_IMAGE])?.reason).toBe(address);
    expect(judge(['img-src data: blob:'], [RELATIVE_IMAGE])?.reason).toBe(address);
    expect(judge(['img-src *.cdn.shop.example'], [CDN_IMAGE])?.reason).toBe(address);
    expect(judge(['img-src https://cdn.shop.example:8443'], [CDN_IMAGE])?.reason).toBe(address);
    expect(judge(['img-src https://cdn.shop.example/static/'], [CDN_IMAGE])?.reason).toBe(address);
    expect(judge(["default-src 'self'; script-src https:"], [CDN_IMAGE])).toMatchObject({
      directive: 'default-src',
      reason: address,
    });
    // Two policies (two headers, or one with a comma): both apply.
    expect(judge(['img-src *', "img-src 'self'"], [CDN_IMAGE])?.directive).toBe('img-src');
    expect(judge(["img-src *, default-src 'none'"], [CDN_IMAGE])?.directive).toBe('default-src');
  });

  it('are judged at the URL the browser checks: after <base href> and the upgrade to https', () => {
    const plain = new URL('http://shop.example/p');
    expect(judge(['img-src https:'], [RELATIVE_IMAGE], plain)?.reason).toBeDefined();
    expect(judge(['img-src https:; upgrade-insecure-requests'], [RELATIVE_IMAGE], plain)).toBeUndefined();
    expect(
      judge(['img-src https:', 'upgrade-insecure-requests'], ['http://cdn.shop.example/a.jpg'], plain),
    ).toBeUndefined();
    // An https page: current browsers upgrade an http image before the policy sees it.
    expect(judge(['img-src https://cdn.shop.example'], ['http://cdn.shop.example/a.jpg'])).toBeUndefined();
    const cdn = new URL('https://cdn.shop.example/');
    expect(judge(['img-src https://cdn.shop.example'], [RELATIVE_IMAGE], PAGE, cdn)).toBeUndefined();
    expect(judge(["img-src 'self'"], [RELATIVE_IMAGE], PAGE, cdn)?.reason).toBeDefined();
  });

  it('take the first <base href> as browsers do: not one base-uri refuses, not data: or javascript:', () => {
    const csp = new PageCsp(PAGE, ['script']);
    expect(documentBaseUrl('https://cdn.shop.example/x/', PAGE, undefined).href).toBe(
      'https://cdn.shop.example/x/',
    );
    expect(documentBaseUrl('/shop/', PAGE, csp).href).toBe('https://shop.example/shop/');
    expect(documentBaseUrl('javascript:void(0)', PAGE, csp)).toBe(PAGE);
    expect(documentBaseUrl('https://[bad', PAGE, csp)).toBe(PAGE);
    csp.apply("base-uri 'self'", 'header');
    expect(documentBaseUrl('https://cdn.shop.example/', PAGE, csp)).toBe(PAGE);
    expect(documentBaseUrl('/shop/', PAGE, csp).href).toBe('https://shop.example/shop/');
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
