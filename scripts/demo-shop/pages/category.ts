import { categoryLabel, type ShopCatalogue } from '../catalogue';
import { html } from '../html';
import type { PageContent } from '../layout';
import { productCard, recommendationSlot } from './parts';

/** `/categories/<category>`: every product of the category, most bought first, plus a slot. Undefined for an unknown category. */
export function categoryPage(catalogue: ShopCatalogue, category: string): PageContent | undefined {
  const products = catalogue.inCategory(category);
  if (products.length === 0) return undefined;
  const label = categoryLabel(category);
  const body = html`<div class="wrap">
<p class="breadcrumbs"><a href="/">Home</a> / ${label}</p>
<h1 class="section-title">${label} <small class="product-meta">(${products.length})</small></h1>
${recommendationSlot({ placement: 'category', category, limit: 4, heading: `Popular in ${label.toLowerCase()}` })}
<h2 class="section-title">All ${label.toLowerCase()}</h2>
<div class="grid">${products.map(productCard)}</div>
</div>`;
  return { title: label, body, currentCategory: category };
}
