/** Small helpers for text that HTMLRewriter hands over raw (entities not decoded). */

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  pound: '£',
  euro: '€',
  yen: '¥',
  cent: '¢',
  dollar: '$',
};

/** Decodes numeric and the common named character references (enough for price texts). */
export function decodeEntities(text: string): string {
  // Most price texts have no reference at all: no regular expression run for them.
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code =
        ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    // Own keys only: `&constructor;` in a page must stay text, not become Object's constructor.
    const name = ref.toLowerCase();
    return Object.hasOwn(NAMED, name) ? (NAMED[name] ?? whole) : whole;
  });
}

/**
 * Markup made of ASCII only, by writing every other character as a numeric reference. Inserted into
 * a page in another charset than UTF-8 (windows-1252, Shift_JIS, ...), it means the same there.
 */
export function asciiOnly(html: string): string {
  return html.replace(/[\u0080-\u{10ffff}]/gu, (ch) => `&#x${(ch.codePointAt(0) ?? 63).toString(16)};`);
}
