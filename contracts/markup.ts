/**
 * The markup contract (DESIGN.md "Markup"): the one renderer of recommendation blocks and prices,
 * shared by proxy mode (HTMLRewriter in the worker), the storefront plugin and the demo shop.
 *
 * Pure string building: no DOM, no dependencies, so it runs unchanged in workerd, Node and browsers
 * and stays small inside the plugin. Everything that comes from a catalogue or a request is escaped.
 */
import type { RecommendedItem as ApiRecommendedItem } from './api-types';

/** What the renderer needs of a recommended product (`GET /v1/recommendations` items). */
export type RecommendedItem = Pick<ApiRecommendedItem, 'product_id' | 'title' | 'url' | 'image' | 'price'>;

/** How prices look in the shop: its own text ("£2.55", "2,55 €") or a currency and locale. */
export interface PriceFormat {
  /** A price as the shop already prints it; its symbol, separators and spacing are kept. */
  template?: string;
  /** ISO 4217 code, used with `locale` when there is no template. */
  currency?: string;
  locale?: string;
}

export interface BlockOptions {
  recommendationId: string;
  placement: string;
  /** Visible heading; empty string for none. */
  heading?: string;
  price?: PriceFormat;
  /** Rendered image box in CSS pixels (also reserves the space before the image loads). */
  imageWidth?: number;
  imageHeight?: number;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for an HTML text node. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (ch) => HTML_ESCAPES[ch] as string);
}

/**
 * Escapes a value for a double-quoted HTML attribute: the same set as text, since quoting both quote
 * kinds makes the value safe in '...' and "..." alike.
 */
export const escapeAttr: (value: unknown) => string = escapeHtml;
// The block renderers below call escapeHtml for attributes too: the same function, and the plugin's
// bundle, which carries them, is 7 bytes smaller without the alias.

/**
 * A URL that is safe in `href`/`src`: relative, http(s) or protocol-relative; anything else
 * (`javascript:`, `data:`, `vbscript:` ...) becomes `#` so a catalogue entry cannot run script.
 */
export function safeUrl(url: string): string {
  // Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
  // biome-ignore lint/suspicious/noControlCharactersInRegex: those are exactly the characters browsers drop.
  const squashed = url.replace(/[\u0000-\u0020]/g, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(squashed)?.[1]?.toLowerCase();
  return scheme === undefined || scheme === 'http' || scheme === 'https' ? url : '#';
}

// The number inside a shop's price text: "1,234.56", "1.234,56", "1 234,56", "2.55", "300": digits
// in groups of three after the first one to three, or plain digits, then a fraction.
const NUMBER_IN_TEXT = /(?:\d{1,3}(?:([.,\s\u00a0\u202f'’])\d{3})+(?!\d)|\d+)(?:([.,])(\d+))?/;

interface NumberStyle {
  decimals: number;
  decimalSep: string;
  groupSep: string;
}

/**
 * Reads decimals and separators off a printed number, with the match (the printed number itself);
 * `null` when the text holds no number.
 */
function numberStyleOf(text: string): (NumberStyle & { found: RegExpExecArray }) | null {
  const match = NUMBER_IN_TEXT.exec(text);
  if (!match) return null;
  // "1,234" and "2.550" match as grouping (the first alternative takes a separator before exactly
  // three digits), because shops print money with 0 or 2 decimals far more often than with 3.
  const groupSep = match[1] ?? '';
  const decimalSep = match[2] || (groupSep === '.' ? ',' : '.');
  return { decimals: (match[3] ?? '').length, decimalSep, groupSep, found: match };
}

function formatNumber(amount: number, style: NumberStyle): string {
  // A template without decimals ("£3") still shows pence when the new price has them.
  const decimals = style.decimals || (Number.isInteger(amount) ? 0 : 2);
  // A minus sign stays outside the groups: the boundary after "-" is no `\B`.
  const [whole = '', fraction] = amount.toFixed(decimals).split('.');
  // No group separator: an empty string inserted, the digits as they are.
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, style.groupSep);
  return fraction ? grouped + style.decimalSep + fraction : grouped;
}

/**
 * Formats `amount` the way the shop prints prices. With a `template` (the shop's own text for
 * some price), only the number in it is replaced: "£2.55" → "£2.10", "2,55 €" → "2,10 €",
 * "EUR 1.234,50" → "EUR 1.099,00". Without one, `Intl.NumberFormat(locale, currency)`.
 */
export function formatPrice(amount: number, format: PriceFormat = {}): string {
  const text = format.template ?? '';
  const parsed = numberStyleOf(text);
  // The first occurrence of the number is the match: nothing before the match holds a digit. (The
  // replacement is digits and separators only: no `$` pattern.)
  if (parsed) return text.replace(parsed.found[0], formatNumber(amount, parsed));
  try {
    return new Intl.NumberFormat(format.locale, { style: 'currency', currency: format.currency }).format(
      amount,
    );
  } catch {
    // No currency, or an unknown code, must not break a page: a plain number.
    return amount.toFixed(2);
  }
}

/**
 * Parses a printed price ("£1,234.50", "2,55 €") to a number; `null` when the text prints none, or
 * more than one price: a range ("£2 - £3"), a multi-buy ("3 for £5"), a unit price ("£2.55/kg",
 * "£0.26 per 100 g"). Their first number is not what the product costs.
 */
export function parsePrice(text: string): number | null {
  const parsed = numberStyleOf(text);
  // The match starts at the first digit: any other digit, a slash or "per" is another number or a unit.
  // A price is its digits without separators, scaled: "1,234.50" is 123450 / 100 (the double nearest
  // 1234.5, as the literal is).
  return parsed && !/[\d/]|\bper\b/i.test(text.replace(parsed.found[0], ''))
    ? Number(parsed.found[0].replace(/\D/g, '')) / 10 ** parsed.decimals
    : null;
}

function renderItem(item: RecommendedItem, position: number, options: BlockOptions): string {
  const id = escapeHtml(item.product_id);
  const title = escapeHtml(item.title);
  const width = options.imageWidth ?? 160;
  const height = options.imageHeight ?? 160;
  // An image URL refused by safeUrl gets no <img>: `src="#"` would fetch the page itself as an image
  // and show a broken one.
  const src = safeUrl(item.image);
  const image =
    src && src !== '#'
      ? `<img class="rx-image" src="${escapeHtml(src)}" alt="" width="${width}" height="${height}" loading="lazy" decoding="async">`
      : '';
  return (
    `<li class="rx-item">` +
    `<a class="rx-link" href="${escapeHtml(safeUrl(item.url))}" data-rx-product-id="${id}" ` +
    `data-rx-recommendation-id="${escapeHtml(options.recommendationId)}" data-rx-position="${position}">` +
    `${image}<span class="rx-title">${title}</span></a>` +
    // An item without a price (`null`: the catalogue has none) shows none, rather than "£0.00".
    `<span class="rx-price">${escapeHtml(item.price === null ? '' : formatPrice(item.price, options.price))}</span></li>`
  );
}

/**
 * Renders one recommendation block: a `<section>` with a heading and a list of linked products, each
 * with its price (`rx-price`) unless it has none (`price: null`).
 * Links carry `data-rx-product-id`, `data-rx-recommendation-id` and `data-rx-position` (1-based),
 * which the plugin reads for click tracking. Returns '' for no items, so a slot keeps its content.
 */
export function renderRecommendationBlock(items: readonly RecommendedItem[], options: BlockOptions): string {
  if (!items.length) return '';
  const heading = options.heading ?? 'Recommended for you';
  const placement = escapeHtml(options.placement);
  return (
    `<section class="rx-block rx-placement-${placement}" data-rx-recommendation-id="${escapeHtml(options.recommendationId)}" ` +
    `data-rx-placement="${placement}"${heading ? ` aria-label="${escapeHtml(heading)}"` : ''}>` +
    (heading ? `<h2 class="rx-heading">${escapeHtml(heading)}</h2>` : '') +
    `<ul class="rx-list">${items.map((item, i) => renderItem(item, i + 1, options)).join('')}</ul>` +
    `</section>`
  );
}

/** The note shown next to a personalized price where the law asks for one (e.g. EU 2019/2161). */
export function renderPriceDisclosure(text: string): string {
  return `<small class="rx-price-note">${escapeHtml(text)}</small>`;
}
