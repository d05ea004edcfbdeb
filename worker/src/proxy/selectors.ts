/**
 * The CSS selectors of the proxy's settings (`RX_PRICE_SELECTOR`, `RX_PRODUCT_ID_SELECTOR`, each
 * `RX_SLOTS` entry's `selector`), checked against what HTMLRewriter supports.
 *
 * HTMLRewriter (lol-html) supports a subset of CSS: `*`, `E`, `.class`, `#id`, attribute selectors,
 * `:nth-child()`, `:first-child`, `:nth-of-type()`, `:first-of-type`, `:not()`, and the descendant
 * and child combinators (`E F`, `E > F`). Everything else (`:hover`, `:last-child`, `::before`,
 * `:has()`, `+`, `~`, namespaces) and every syntax error makes `HTMLRewriter.on()` throw a
 * `TypeError` ("Parser error: …") synchronously, when the handler is registered: the transform itself
 * never sees the selector. So asking `on()` is the exact check.
 */

/** What a selector setting accepts, as a problem says it. */
export const SELECTOR_ACCEPTS = 'a CSS selector HTMLRewriter supports';

/**
 * Why HTMLRewriter refuses `selector` (its parser's words, e.g. "Unexpected end of selector"), or
 * undefined when it takes it. Outside workerd (no HTMLRewriter) every selector is taken. Asked once
 * per distinct settings: its only caller, parseProxyConfig, is memoized by proxySettings.
 */
export function selectorError(selector: string): string | undefined {
  if (typeof HTMLRewriter === 'undefined') return undefined;
  try {
    new HTMLRewriter().on(selector, {});
    return undefined;
  } catch (thrown) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return message.replace(/^Parser error:\s*/i, '').replace(/\.$/, '') || 'not a selector';
  }
}

/**
 * The selectors of a selector list that HTMLRewriter supports, each refused one named in `problems`
 * (`NAME must be a CSS selector HTMLRewriter supports, got "div[" (Unexpected end of selector)`) and
 * left out: a list is used without its bad parts, not dropped whole.
 */
export function supportedSelectors(name: string, list: string | undefined, problems: string[]): string[] {
  const supported: string[] = [];
  const parts = splitSelectorList(list);
  // Blank, or only commas: nothing to use, said so unless the setting is simply unset.
  if (parts.length === 0 && list) parts.push(list);
  for (const selector of parts) {
    const error = selectorError(selector) ?? (selector.trim() === '' ? 'The selector is empty' : undefined);
    if (error === undefined) supported.push(selector);
    else problems.push(`${name} must be ${SELECTOR_ACCEPTS}, got "${selector}" (${error})`);
  }
  return supported;
}

/**
 * The parts of a CSS selector list (`a, b`), so `PART *` can be built for each; commas inside
 * `[...]`, `(...)`, quotes or after a backslash are kept.
 */
export function splitSelectorList(list: string | undefined): string[] {
  if (!list) return [];
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let escaped = false;
  let current = '';
  for (const ch of list) {
    if (escaped) escaped = false;
    else if (ch === '\\') escaped = true;
    else if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '(') depth += 1;
    else if ((ch === ']' || ch === ')') && depth > 0) depth -= 1;
    else if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current.trim());
  return parts.filter(Boolean);
}
