import { categoryLabel, paths, type ShopCatalogue } from '../catalogue';
import { html } from '../html';
import type { PageContent } from '../layout';
import { productCard, recommendationSlot } from './parts';

const FEATURED = 8;

/** `/`: hero, best sellers, a personalized slot and the categories. */
export function homePage(catalogue: ShopCatalogue): PageContent {
  const featured = catalogue.products.slice(0, FEATURED);
  const tiles = catalogue.categories.map(
    (category) =>
      html`<a class="category-tile" href="${paths.category(category)}"><strong>${categoryLabel(category)}</strong><span>${catalogue.inCategory(category).length} products</span></a>`,
  );
  const body = html`<section class="hero"><div class="wrap">
<h1>Small gifts, cake stands and bunting for every occasion</h1>
<p>${catalogue.products.length} of the most loved products of a British gift wholesaler, from retrospot cake cases to hanging heart T-light holders.</p>
<a class="button hero-cta" href="${paths.category(catalogue.categories[0] ?? 'other')}">Shop ${categoryLabel(catalogue.categories[0] ?? 'other').toLowerCase()}</a>
</div></section>
<div class="wrap">
${recommendationSlot({ placement: 'home', limit: 8, heading: 'Picked for you' })}
<h2 class="section-title">Best sellers</h2>
<div class="grid">${featured.map(productCard)}</div>
<h2 class="section-title">Shop by category</h2>
<div class="categories">${tiles}</div>
</div>`;
  return { title: 'Gifts and homeware', body };
}
