/**
 * A HEAD of a page answers with the headers its GET gets (docs/proxy.md "What is personalized"). A GET
 * is rewritten (private caching, a cookie, `Vary`), or passed on untouched, by the page's charset: the
 * `Content-Type`'s, else the one the page's own first bytes declare (charset-sniff.ts), and the rewritten
 * page's `Content-Type` names that one. A HEAD has no bytes, so for a page whose header names no charset
 * the origin is asked for the page with a GET, read as far as the GET's own look reads, then cancelled.
 */
import { sniffCharset } from './charset-sniff';

export type HeadAnswer = { untouched: true } | { untouched: false; contentType: string };

/**
 * Whether HTMLRewriter takes a page of `contentType`: it refuses a charset label it does not know
 * (`utf8mb4`, `latin-1`) before reading a byte, which is when the GET goes out untouched (proxy.ts).
 */
function rewriterTakes(contentType: string): boolean {
  try {
    new HTMLRewriter().transform(new Response('', { headers: { 'content-type': contentType } }));
    return true;
  } catch {
    return false;
  }
}

/**
 * What the page's GET would do, for its HEAD: untouched, or rewritten with `contentType`. `declared` is
 * the charset the HEAD's `Content-Type` names; `page` fetches the GET's answer (undefined when there is
 * none to read: then the page counts as declaring nothing, as an empty one does).
 */
export async function headAnswer(
  declared: string | undefined,
  contentType: string,
  page: () => Promise<Response | undefined>,
  waitMs: number,
): Promise<HeadAnswer> {
  let type = contentType;
  if (declared === undefined) {
    const body = (await page())?.body;
    if (body) {
      const sniffed = await sniffCharset(body, waitMs);
      sniffed.body.cancel().catch(() => undefined);
      // Not known within the wait: GET's page goes out untouched. (A UTF-16 one too: the rewriter
      // refuses that charset, below.)
      if (sniffed.undecided) return { untouched: true };
      if (sniffed.charset !== undefined) type = `text/html; charset=${sniffed.charset}`;
    }
  }
  return rewriterTakes(type) ? { untouched: false, contentType: type } : { untouched: true };
}
