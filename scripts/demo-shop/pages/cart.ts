import type { CartLine } from '../cart';
import { formatPrice, paths, type ShopCatalogue } from '../catalogue';
import { html } from '../html';
import type { PageContent } from '../layout';
import { priceSpan, recommendationSlot } from './parts';

const CURRENCY = 'GBP';

/** The cart's total at catalogue prices (the worker may show personalized unit prices). */
export function cartTotal(lines: readonly CartLine[], catalogue: ShopCatalogue): number {
  const pence = lines.reduce((sum, line) => {
    const product = catalogue.byId.get(line.productId);
    return sum + Math.round((product?.price ?? 0) * 100) * line.quantity;
  }, 0);
  return pence / 100;
}

/** `/cart`: the lines, the total, checkout, and the cart placement slot. */
export function cartPage(lines: readonly CartLine[], catalogue: ShopCatalogue): PageContent {
  const rows = lines.flatMap((line) => {
    const product = catalogue.byId.get(line.productId);
    if (!product) return [];
    return [
      html`<tr>
<td><a class="cart-item" href="${paths.product(product.product_id)}"><img src="${paths.image(product.product_id)}" width="56" height="56" alt="">${product.title}</a></td>
<td class="hide-small">${priceSpan(product)}</td>
<td>${line.quantity}</td>
<td>${formatPrice((Math.round(product.price * 100) * line.quantity) / 100, product.currency)}</td>
<td><form method="post" action="/cart/remove"><input type="hidden" name="product_id" value="${product.product_id}"><button class="link-button" type="submit">Remove</button></form></td>
</tr>`,
    ];
  });
  const content =
    lines.length === 0
      ? html`<div class="empty"><p>Your cart is empty.</p><a class="button secondary" href="/">Browse the shop</a></div>`
      : html`<table class="cart-table">
<thead><tr><th>Product</th><th class="hide-small">Price</th><th>Qty</th><th>Subtotal</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>
<div class="cart-summary"><span>Total <strong>${formatPrice(cartTotal(lines, catalogue), CURRENCY)}</strong></span>
<form method="post" action="/checkout"><button class="button" type="submit">Checkout</button></form></div>`;
  const body = html`<div class="wrap">
<h1 class="section-title">Your cart</h1>
${content}
${recommendationSlot({ placement: 'cart', productIds: lines.map((line) => line.productId), limit: 4, heading: 'Complete your order' })}
</div>`;
  return { title: 'Cart', body };
}
