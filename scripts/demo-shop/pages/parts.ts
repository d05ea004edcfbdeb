/** Pieces shared by several pages: product cards, price spans and recommendation slots. */
import { formatPrice, type Product, paths } from '../catalogue';
import { html, type SafeHtml } from '../html';
import { IMAGE_SIZE } from '../image';

/**
 * A price the worker (or rx.js) may personalize: DESIGN.md "Markup",
 * `<span data-rx-price data-rx-product-id="85123A">£2.55</span>`.
 */
export function priceSpan(product: Product): SafeHtml {
  return html`<span class="price" data-rx-price data-rx-product-id="${product.product_id}">${formatPrice(product.price, product.currency)}</span>`;
}

export function productCard(product: Product): SafeHtml {
  return html`<a class="card" href="${paths.product(product.product_id)}">
<img src="${paths.image(product.product_id)}" width="${IMAGE_SIZE}" height="${IMAGE_SIZE}" alt="" loading="lazy">
<div class="card-body"><span class="card-title">${product.title}</span>${priceSpan(product)}</div>
</a>`;
}

export interface SlotOptions {
  placement: 'home' | 'product' | 'cart' | 'category';
  limit: number;
  productId?: string;
  productIds?: readonly string[];
  category?: string;
  /** The block's heading (`data-rx-heading`); the rendered block carries it, so pages add none. */
  heading: string;
}

/**
 * An empty recommendation slot (DESIGN.md "Markup"). Its CSS reserves the space the filled block
 * takes, so filling it causes no layout shift.
 */
export function recommendationSlot(options: SlotOptions): SafeHtml {
  const productId = options.productId ? html` data-rx-product-id="${options.productId}"` : '';
  const productIds = options.productIds?.length
    ? html` data-rx-product-ids="${options.productIds.join(',')}"`
    : '';
  const category = options.category ? html` data-rx-category="${options.category}"` : '';
  // The frame is a size container: the slot's reserved height is computed from its width (shop.css).
  return html`<div class="slot-frame"><div data-rx-slot="recommendations" data-rx-placement="${options.placement}"${productId}${productIds}${category} data-rx-limit="${options.limit}" data-rx-heading="${options.heading}"></div></div>`;
}
