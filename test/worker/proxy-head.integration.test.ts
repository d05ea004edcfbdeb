/**
 * A HEAD of a page answers with the headers its GET gets (docs/proxy.md "What is personalized"), in
 * workerd against the test origin's `/raw` answers. Whether a GET is rewritten (caching made private,
 * a cookie, `Vary`) or passed on untouched can depend on the page's own bytes: the charset its markup
 * declares when the `Content-Type` names none, or a charset label HTMLRewriter refuses.
 */
import { describe, expect, it } from 'vitest';
import { ORIGIN, proxied, raw } from './proxy-helpers';
import { testSource } from './proxy-test-source';

const PAGE =
  '<!doctype html><html><head>META<title>Head</title></head><body>' +
  '<div data-rx-slot="recommendations" data-rx-placement="home"></div></body></html>';

function page(meta: string): string {
  return PAGE.replace('META', meta);
}

/** A page as UTF-16LE with its byte order mark: not ASCII-compatible, so a GET passes it on untouched. */
function utf16(text: string): Uint8Array {
  const bytes = new Uint8Array(2 + text.length * 2);
  bytes.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) bytes[2 + i * 2] = text.charCodeAt(i);
  return bytes;
}

/** The headers a GET's answer is judged by: its caching, its type, what it varies by, a new cookie. */
function described(response: Response): Record<string, string | null | boolean> {
  const h = response.headers;
  return {
    'cache-control': h.get('cache-control'),
    'content-type': h.get('content-type'),
    'content-length': h.get('content-length'),
    etag: h.get('etag'),
    vary: h.get('vary'),
    cookie: h.has('set-cookie'),
  };
}

async function getAndHead(path: string) {
  const options = { deps: { source: () => testSource(), pageViewWaitMs: 200 } };
  const get = await proxied(path, {}, options);
  const head = await proxied(path, { method: 'HEAD' }, options);
  return { get, head };
}

function originHeaders(contentType: string, length: number): string[] {
  return [
    `content-type: ${contentType}`,
    'cache-control: public, max-age=60',
    'etag: "v1"',
    `content-length: ${length}`,
  ];
}

describe('proxy: HEAD answers with the headers its GET gets', () => {
  it('a page whose GET goes out untouched gets the untouched headers to HEAD too (it got private caching and a cookie)', async () => {
    const refusedMeta = page('<meta charset="utf8mb4">');
    const bom = utf16(page(''));
    for (const [name, path] of [
      // No charset in the header; the page's bytes say one the rewriter cannot take.
      ['a UTF-16 byte order mark', raw(bom, originHeaders('text/html', bom.length))],
      [
        'a <meta charset> HTMLRewriter refuses',
        raw(refusedMeta, originHeaders('text/html', refusedMeta.length)),
      ],
      // A refused label in the header itself.
      [
        'a Content-Type charset HTMLRewriter refuses',
        raw(page(''), originHeaders('text/html; charset=utf8mb4', page('').length)),
      ],
    ] as const) {
      const { get, head } = await getAndHead(path);
      // The GET is the origin's page as it came: what HEAD must agree with.
      expect(get.body, name).not.toContain('rx-block');
      expect(described(get.response)['cache-control'], name).toBe('public, max-age=60');
      expect(described(head.response), name).toEqual(described(get.response));
      expect(head.response.body, name).toBeNull();
      expect(head.events, name).toEqual([]);
    }
  });

  it("a page whose charset only its markup declares gets that charset in HEAD's Content-Type, as its GET does", async () => {
    const declared = page('<meta charset="windows-1252">');
    const path = raw(declared, originHeaders('text/html', declared.length));
    const { get, head } = await getAndHead(path);
    expect(get.body).toContain('rx-block');
    expect(get.response.headers.get('content-type')).toBe('text/html; charset=windows-1252');
    expect(described(head.response)).toEqual(described(get.response));
    expect(head.response.body).toBeNull();
    expect(head.events).toEqual([]);
  });

  it('a page that declares no charset anywhere is rewritten as UTF-8: HEAD gets the rewritten headers', async () => {
    const path = raw(page(''), originHeaders('text/html', page('').length));
    const { get, head } = await getAndHead(path);
    expect(get.body).toContain('rx-block');
    expect(described(get.response)['cache-control']).toBe('private');
    expect(described(head.response)).toEqual(described(get.response));
  });

  it('a page whose head stalls before saying its charset goes out untouched to GET, so to HEAD', async () => {
    // The test origin's /stalled-head flushes part of its head, then waits for this test's gate (not a
    // clock) before the rest: the GET's look for the charset gives up at the budget (docs/proxy.md
    // "A page's charset"), and HEAD's must too, not answer as a page that declared nothing.
    const gate = `stalled-head-${crypto.randomUUID()}`;
    try {
      const head = await proxied(`/stalled-head?gate=${gate}`, { method: 'HEAD' });
      expect(described(head.response)).toEqual({
        'cache-control': 'public, max-age=60',
        'content-type': 'text/html',
        'content-length': null,
        etag: null,
        vary: null,
        cookie: false,
      });
    } finally {
      await fetch(`${ORIGIN()}/gate/open?name=${gate}`, { method: 'POST' });
    }
  });
});
