/**
 * Boundaries and lists of the proxy's decisions that the broader proxy tests pass through without
 * pinning (found by mutating each one: the suite stayed green). Each case here fails if the decision
 * moves: a threshold by one, a name out of a list.
 */
import { describe, expect, it } from 'vitest';
import { isBot } from '../../worker/src/proxy/bots';
import { declaredCharset } from '../../worker/src/proxy/charset-sniff';
import { isPageRequest, rewritableHtml } from '../../worker/src/proxy/eligibility';
import { dropHopByHop, originRequestHeaders } from '../../worker/src/proxy/headers';

const BROWSER = 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15';

describe('Cloudflare bot score', () => {
  const scored = (score: number) =>
    isBot(
      new Request('https://shop.example/', {
        headers: { 'user-agent': BROWSER },
        cf: { botManagement: { score, verifiedBot: false } },
      } as RequestInit),
    );

  it('takes a score below 30 for automation and 30 and above for a shopper', () => {
    expect(scored(1)).toBe(true);
    expect(scored(29)).toBe(true);
    expect(scored(30)).toBe(false);
    expect(scored(31)).toBe(false);
  });

  it('takes a score of 0 (not computed for the request) for no signal: a shopper', () => {
    expect(scored(0)).toBe(false);
  });
});

describe('hop-by-hop headers', () => {
  // RFC 9110 §7.6.1's connection-specific fields and the ones proxies strip in practice.
  const HOP_BY_HOP = {
    connection: 'close',
    'keep-alive': 'timeout=5',
    'proxy-authenticate': 'Basic',
    'proxy-authorization': 'Basic eDp5',
    'proxy-connection': 'keep-alive',
    te: 'trailers',
    trailer: 'Expires',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
  };

  it('are each dropped, and end-to-end headers kept', () => {
    const headers = new Headers({ ...HOP_BY_HOP, 'content-type': 'text/html', 'x-kept': '1' });
    dropHopByHop(headers);
    for (const name of Object.keys(HOP_BY_HOP)) expect(headers.has(name), name).toBe(false);
    expect(headers.get('content-type')).toBe('text/html');
    expect(headers.get('x-kept')).toBe('1');
  });

  it('are dropped from the origin request too, but Upgrade and Connection for a WebSocket upgrade', () => {
    const request = new Request('https://shop.example/', { headers: { ...HOP_BY_HOP, accept: 'text/html' } });
    const publicUrl = new URL(request.url);
    const plain = originRequestHeaders(request, publicUrl, false);
    for (const name of Object.keys(HOP_BY_HOP)) expect(plain.has(name), name).toBe(false);
    expect(plain.get('accept')).toBe('text/html');
    const upgrade = originRequestHeaders(request, publicUrl, true);
    expect(upgrade.get('upgrade')).toBe('h2c');
    expect(upgrade.get('connection')).toBe('close');
    expect(upgrade.has('transfer-encoding')).toBe(false);
  });
});

describe('pages the proxy may rewrite', () => {
  it("takes a navigation into an iframe or a frameset's frame for a page (an embedded product view), a fetch for none", () => {
    const dest = (value: string) =>
      isPageRequest(
        new Request('https://shop.example/', { headers: { 'sec-fetch-dest': value, accept: 'text/html' } }),
      );
    expect(dest('document')).toBe(true);
    expect(dest('iframe')).toBe(true);
    // A frameset's <frame> is a page shoppers browse as an <iframe>'s is: passed through, a frameset
    // shop had no personalization nor tracking in browsers that send Sec-Fetch-Dest (and had both in
    // those that do not).
    expect(dest('frame')).toBe(true);
    expect(dest('empty')).toBe(false);
    expect(dest('embed')).toBe(false);
  });

  it('rewrites text/html only: XHTML is parsed as XML, where the injected tags are not well-formed', () => {
    const html = (type: string) => rewritableHtml(new Response('x', { headers: { 'content-type': type } }));
    expect(html('text/html')).toEqual({ charset: undefined });
    expect(html('application/xhtml+xml')).toBeUndefined();
    expect(html('application/xhtml+xml; charset=utf-8')).toBeUndefined();
  });
});

describe("a page's own charset declaration", () => {
  const declared = (head: string) => declaredCharset(new TextEncoder().encode(head));

  it('reads x-user-defined as windows-1252, as browsers do: a label the header and HTMLRewriter can carry', () => {
    expect(declared('<meta charset="x-user-defined">')).toBe('windows-1252');
    expect(declared('<meta charset="X-User-Defined">')).toBe('windows-1252');
  });
});
