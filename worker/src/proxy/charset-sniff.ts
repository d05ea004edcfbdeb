/**
 * The charset a page declares in its own first bytes, for a page whose Content-Type names none.
 * HTMLRewriter decodes by the header alone, as UTF-8 without one, while browsers read the page's
 * `<meta charset>`: a windows-1252 shop declaring it only in markup had every price the rewriter
 * holds back and writes again turned from `£` (byte A3) into U+FFFD. The header the rewriter and the
 * browser get then names what the page declares, which is what the browser would have used anyway.
 */

/** How far browsers look for a `<meta>` declaration (HTML "prescan a byte stream"). */
const PRESCAN_BYTES = 1024;

/** `<meta charset=x>` and `<meta http-equiv="Content-Type" content="text/html; charset=x">` alike. */
const META_CHARSET = /<meta\s[^>]*?charset\s*=\s*["']?\s*([\w.:+-]+)/i;
const COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
/** Where a page's head is over: a declaration after it is not one a browser would have found first. */
const HEAD_OVER = /<\/head|<body/i;

export interface SniffedPage {
  /**
   * The declared charset (lower case, as a label the header can carry), `utf-16` for a UTF-16 byte
   * order mark (not ASCII-compatible: the page must pass through untouched), or undefined (none: UTF-8).
   */
  charset: string | undefined;
  /**
   * The origin had not sent enough of the page to tell within the wait (it flushed part of its head,
   * then stalled): the page must pass through untouched, since rewriting it in a guessed charset could
   * corrupt its text, and waiting longer would hold the shop's first byte.
   */
  undecided: boolean;
  /** The whole body again, the bytes read to look included. */
  body: ReadableStream<Uint8Array>;
}

type Read = ReadableStreamReadResult<Uint8Array>;

/**
 * The first PRESCAN_BYTES as one character per byte: ASCII markup reads as itself whatever the
 * encoding (by hand: workerd's TextDecoder knows no single-byte encoding).
 */
function asLatin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(0, PRESCAN_BYTES));
}

/** What the first bytes declare: a byte order mark first, then a `<meta>` outside comments. */
export function declaredCharset(prefix: Uint8Array): string | undefined {
  if (prefix[0] === 0xef && prefix[1] === 0xbb && prefix[2] === 0xbf) return 'utf-8';
  if ((prefix[0] === 0xfe && prefix[1] === 0xff) || (prefix[0] === 0xff && prefix[1] === 0xfe))
    return 'utf-16';
  const text = asLatin1(prefix).replace(COMMENT, '');
  const label = META_CHARSET.exec(text)?.[1]?.toLowerCase();
  if (label === undefined) return undefined;
  // A page that says UTF-16 in ASCII markup is not UTF-16; browsers read it as UTF-8 (HTML spec).
  if (/^utf-?16/.test(label)) return 'utf-8';
  return label === 'x-user-defined' ? 'windows-1252' : label;
}

/**
 * Reads the body's first bytes (up to PRESCAN_BYTES, or less when the head is over or a declaration
 * was found: an origin that flushes its head early must not have its first byte held back for the
 * rest) and hands back the charset they declare with the body, unconsumed. Waits at most `waitMs`
 * in all: an origin that flushed part of its head and then works on the page (a slow query) would
 * otherwise hold the page's first byte for as long (audit: 1.5 s behind a 1.5 s stall). Browsers
 * themselves give up their own prescan after about 500 ms; the proxy's bound is the personalization
 * budget, and past it the page is `undecided`.
 */
export async function sniffCharset(body: ReadableStream<Uint8Array>, waitMs: number): Promise<SniffedPage> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  const prefix = () => {
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    const joined = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      joined.set(chunk, at);
      at += chunk.byteLength;
    }
    return joined;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<'gave up'>((resolve) => {
    timer = setTimeout(() => resolve('gave up'), waitMs);
  });
  // A read still on its way when the wait ends: its chunk belongs to the page, so the replay takes it first.
  let pending: Promise<Read> | undefined;
  let charset: string | undefined;
  let undecided = false;
  try {
    for (;;) {
      pending = reader.read();
      const next = await Promise.race([pending, gaveUp]);
      if (next === 'gave up') {
        undecided = true;
        // Awaited by the replay's first pull; until then its failure is not an unhandled rejection.
        pending.catch(() => undefined);
        break;
      }
      pending = undefined;
      if (next.done) {
        ended = true;
        break;
      }
      chunks.push(next.value);
      length += next.value.byteLength;
      const bytes = prefix();
      charset = declaredCharset(bytes);
      if (charset !== undefined || length >= PRESCAN_BYTES) break;
      if (HEAD_OVER.test(asLatin1(bytes))) break;
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  const replay = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      if (ended) controller.close();
    },
    async pull(controller) {
      const next = await (pending ?? reader.read());
      pending = undefined;
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { charset, undecided, body: replay };
}
