/** What an element HTMLRewriter hands over can hold: content, an end tag. */

/** HTML's void elements: no content and no end tag, so nothing can go inside them or be rewritten there. */
export const VOID_ELEMENTS = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

/**
 * Whether handlers may wait for this element's end tag. A self-closing element in SVG or MathML
 * (`<path class="price-tag"/>`) has none, and `onEndTag` throws there, which would end the page
 * mid-stream; workerd has no `canHaveContent` to ask first, so a no-op handler is the probe.
 */
export function hasEndTag(element: Element): boolean {
  try {
    element.onEndTag(() => undefined);
    return true;
  } catch {
    return false;
  }
}
