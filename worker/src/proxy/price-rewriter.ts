import { escapeHtml, formatPrice, renderPriceDisclosure } from '../../../contracts/markup';
import { hasEndTag, VOID_ELEMENTS } from './element-content';
import { decodeEntities } from './html-text';
import type { PageSession } from './page-session';
import { checkShopPrice, logPriceMismatch, onePriceText, reportPriceMismatches } from './price-check';
import type { PriceQuote } from './source';

interface PendingPrice {
  productId: string | undefined;
  /** This shopper's quote for it (settles within the budget). */
  quote: Promise<PriceQuote | undefined>;
  /** Raw text of the element's text node seen so far (removed from the stream until it is complete). */
  text: string;
  /** Done with: its text was written, or a child element came first and it is left as it is. */
  untouched: boolean;
  /** Its text was rewritten to the shopper's price (the disclosure follows its end tag). */
  changed: boolean;
}

/** Prices of a page kept as patterns for block prices: enough to find one in the catalogue's currency. */
const MAX_PRICE_TEMPLATES = 4;

/** A struck-through price ("was £5.00" beside "now £2.55"): the markup says it is not what the product costs. */
const STRUCK_THROUGH = new Set(['s', 'del', 'strike']);

const PRODUCT_ID_ATTRIBUTES = ['data-rx-product-id', 'data-product-id', 'data-product_id', 'data-sku'];

/**
 * A product id carried by an element, in the attributes storefronts commonly use, as the browser reads
 * it: HTMLRewriter gives attribute text as written, character references and all (`A&amp;B` is `A&B`).
 */
export function productIdOf(element: Element): string | undefined {
  for (const name of PRODUCT_ID_ATTRIBUTES) {
    const value = element.getAttribute(name);
    if (value) return decodeEntities(value).trim();
  }
  return undefined;
}

/** An open `RX_PRODUCT_ID_SELECTOR` match with content: its id applies to the prices inside it. */
interface ProductIdScope {
  id: string;
}

/**
 * An element's start tag as a key (name and attributes as written): tells whether the price handler
 * that runs right after the product-id handler is for the same element (see `productIdElement`).
 */
function startTagKey(element: Element): string {
  let key = element.tagName;
  for (const [name, value] of element.attributes) key += `\u0000${name}\u0001${value}`;
  return key;
}

/**
 * Rewrites price elements (`data-rx-price` and `RX_PRICE_SELECTOR` matches) with the shopper's
 * price, keeping the shop's formatting. The element's first text node is held back while it streams
 * and written where it ends, as the shopper's price or as it was (no personalized price in time, no
 * digits, a number other than the quote's base price (price-check.ts), or a child element before any
 * text). Written there, not at the end tag: an end tag the markup leaves implied (`<li class=price>£2.55<li>`,
 * `<td>` without `</td>`) runs no handler, and the price would otherwise end up after `</html>`. The disclosure goes after the end tag, when there is one.
 * No handler runs for elements outside prices: each JS call also cuts the output into a chunk.
 *
 * Whose price an element shows: its own product id attribute (`data-rx-product-id`, ...), else the id
 * of the innermost `RX_PRODUCT_ID_SELECTOR` match with content that contains it, else the page's
 * (`PageSession.pageProductId`: the URL's, or a match without content). A price with none of them is
 * left as the shop sent it and unmarked. An id never reaches a price outside its element: on a listing
 * page one item's id (its add-to-cart link, say) must not name the next item's price.
 */
export class PriceRewriter {
  private readonly stack: PendingPrice[] = [];
  /** Open product-id elements with content, innermost last (closed at their end tags). */
  private readonly scopes: ProductIdScope[] = [];
  /**
   * The product-id element whose start tag was the last one handled, until any other handler runs: a
   * price handler then, for a start tag with the same name and attributes, is that same element.
   */
  private lastScopeOpened: { key: string; scope: ProductIdScope } | undefined;
  /**
   * A price element was just opened and nothing (text, child, end) followed yet: a second price
   * handler called now is the other selector matching the same element, not a new element.
   */
  private justOpened = false;
  /** Prices of this page left as printed because they were not the base price (price-check.ts). */
  private mismatches = 0;

  constructor(
    private readonly session: PageSession,
    private readonly encode: (html: string) => string,
    private readonly disclosure: string | undefined,
  ) {}

  /**
   * An element inside a price element (registered before the price handlers, as `PRICE *`). Any text
   * before it was already written when its text node ended (see `text`), so nothing is held here; a
   * child before any text means the price is split by markup (`£<b>2</b>.55`) and is left as it is.
   */
  descendant(): void {
    this.justOpened = false;
    this.lastScopeOpened = undefined;
    const top = this.stack[this.stack.length - 1];
    if (top) top.untouched = true;
  }

  /**
   * An `RX_PRODUCT_ID_SELECTOR` match (registered before the price handlers). An element with content
   * names the product of the prices inside it, until its end tag (where the enclosing one's id applies
   * again); one without (`<meta content>`, `<input value>`, `<link>`) names the page's product.
   */
  productIdElement(element: Element): void {
    this.lastScopeOpened = undefined;
    const id = (
      productIdOf(element) ??
      element.getAttribute('content') ??
      element.getAttribute('value')
    )?.trim();
    if (!id) return;
    if (VOID_ELEMENTS.has(element.tagName) || !hasEndTag(element)) {
      this.session.pageProductId = id;
      return;
    }
    const scope: ProductIdScope = { id };
    this.scopes.push(scope);
    this.lastScopeOpened = { key: startTagKey(element), scope };
    element.onEndTag(() => this.closeScope(scope));
  }

  private closeScope(scope: ProductIdScope): void {
    const index = this.scopes.lastIndexOf(scope);
    if (index >= 0) this.scopes.splice(index, 1);
  }

  /**
   * The scope the product-id handler just opened for this same element, if it did. An element takes
   * one end-tag handler (a second `onEndTag` replaces the first), so the price's own closes it too.
   */
  private scopeOpenedBy(element: Element): ProductIdScope | undefined {
    const opened = this.lastScopeOpened;
    this.lastScopeOpened = undefined;
    return opened && opened.key === startTagKey(element) ? opened.scope : undefined;
  }

  priceElement(element: Element): void {
    const ownScope = this.scopeOpenedBy(element);
    // A struck-through price is not marked either: the plugin must not price it in the browser.
    if (VOID_ELEMENTS.has(element.tagName) || STRUCK_THROUGH.has(element.tagName)) return;
    if (this.justOpened) return;
    if (!hasEndTag(element)) return;
    const productId =
      productIdOf(element) ?? this.scopes[this.scopes.length - 1]?.id ?? this.session.pageProductId;
    if (productId && !element.hasAttribute('data-rx-price')) {
      // An RX_PRICE_SELECTOR match in the shop's own markup: marked like a `data-rx-price` element, so
      // the injected plugin (which looks for `[data-rx-price][data-rx-product-id]`) finds it and puts
      // the signed price token on it for the checkout, as it does for `data-rx-price` elements.
      element.setAttribute('data-rx-price', '');
      // HTMLRewriter escapes only `"`: the id's `&` is written as a reference (and any character the
      // page's charset lacks), so the browser reads back the id that was priced (`/products/x%26lt%3By`
      // is `x&lt;y`, not `x<y`), as slots hand theirs over (rewriter.ts).
      element.setAttribute('data-rx-product-id', this.encode(productId.replace(/&/g, '&amp;')));
    }
    const pending: PendingPrice = {
      productId,
      quote: productId ? this.session.price(productId) : Promise.resolve(undefined),
      text: '',
      untouched: false,
      changed: false,
    };
    this.stack.push(pending);
    this.justOpened = true;
    element.onEndTag((end) => {
      this.justOpened = false;
      if (ownScope) this.closeScope(ownScope);
      const index = this.stack.lastIndexOf(pending);
      if (index >= 0) this.stack.splice(index, 1);
      if (pending.changed && this.disclosure) {
        end.after(this.encode(renderPriceDisclosure(this.disclosure)), { html: true });
      }
    });
  }

  text(chunk: Text): void | Promise<void> {
    const top = this.stack[this.stack.length - 1];
    // `chunk.removed`: both `data-rx-price` and RX_PRICE_SELECTOR may match, handing over the same chunk twice.
    if (chunk.text !== '') {
      this.justOpened = false;
      this.lastScopeOpened = undefined;
    }
    if (!top || top.untouched || chunk.removed) return;
    top.text += chunk.text;
    if (!chunk.lastInTextNode) {
      chunk.remove();
      return;
    }
    // The text node is complete: write it here (see the class comment).
    top.untouched = true;
    const original = top.text;
    top.text = '';
    if (this.session.priceTemplates.length < MAX_PRICE_TEMPLATES) {
      const template = onePriceText(original);
      if (template) this.session.priceTemplates.push(template);
    }
    const put = (html: string) => chunk.replace(html, { html: true });
    // A quote that is already known is written without returning a promise (see settledPrice).
    const settled = top.productId ? this.session.settledPrice(top.productId) : { quote: undefined };
    if (settled) return this.write(put, top, original, settled.quote);
    return top.quote.then((price) => this.write(put, top, original, price));
  }

  /** Writes a price element's text: the shopper's price in the shop's format, or the original. */
  private write(
    put: (html: string) => void,
    pending: PendingPrice,
    original: string,
    price: PriceQuote | undefined,
  ): void {
    if (!price?.personalized || price.price === price.base_price || !/\d/.test(original)) {
      put(original);
      return;
    }
    const check = checkShopPrice(original, price);
    if (check !== 'match') {
      put(original);
      if (check !== 'not_one_price') this.mismatches += 1;
      logPriceMismatch(check, price.product_id, original, price.base_price);
      return;
    }
    // Only the digits of the shop's own (raw) text change, so its entities and spacing stay; a
    // numeric reference (`&#163;2.95`) has digits of its own, so such a text is rewritten as decoded.
    const template = original.includes('&#') ? escapeHtml(decodeEntities(original)) : original;
    put(this.encode(formatPrice(price.price, { template })));
    this.session.changed = true;
    pending.changed = true;
  }

  /** End of document: put back text still held (a document that ended inside a price's text). */
  flush(end: DocumentEnd): void {
    for (const pending of this.stack) {
      if (!pending.untouched && pending.text) end.append(pending.text, { html: true });
    }
    this.stack.length = 0;
    this.scopes.length = 0;
    if (this.mismatches > 0) reportPriceMismatches(this.mismatches);
    this.mismatches = 0;
  }
}
