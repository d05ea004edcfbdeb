import { categoryLabel, type Product, paths } from '../catalogue';
import { html } from '../html';
import { IMAGE_SIZE } from '../image';
import type { PageContent } from '../layout';
import { priceSpan, recommendationSlot } from './parts';

/** `/products/<id>`: picture, title, price, add to cart, and the product placement slot. */
export function productPage(product: Product): PageContent {
  const label = categoryLabel(product.category);
  const body = html`<div class="wrap">
<p class="breadcrumbs"><a href="/">Home</a> / <a href="${paths.category(product.category)}">${label}</a> / ${product.title}</p>
<div class="product">
<div class="product-image"><img src="${paths.image(product.product_id)}" width="${IMAGE_SIZE}" height="${IMAGE_SIZE}" alt="${product.title}"></div>
<div>
<h1>${product.title}</h1>
<p>${priceSpan(product)}</p>
<p class="product-meta">Item ${product.product_id} · ${label} · bought by ${product.customers.toLocaleString('en-GB')} customers</p>
<form class="add-to-cart" method="post" action="/cart/add">
<input type="hidden" name="product_id" value="${product.product_id}">
<label>Qty <input type="number" name="quantity" value="1" min="1" max="99"></label>
<button class="button" type="submit" data-rx-add-to-cart data-rx-product-id="${product.product_id}">Add to cart</button>
</form>
</div>
</div>
${recommendationSlot({ placement: 'product', productId: product.product_id, limit: 4, heading: 'You may also like' })}
</div>`;
  return { title: product.title, body, currentCategory: product.category };
}
