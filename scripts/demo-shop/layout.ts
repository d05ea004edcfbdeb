/** The page shell every demo shop page shares: head, header with categories and cart, footer with the data attribution. */
import { categoryLabel, paths, type ShopCatalogue } from './catalogue';
import { html, type SafeHtml } from './html';

export const SHOP_NAME = 'Hearth & Ribbon';

export interface PageContext {
  catalogue: ShopCatalogue;
  /** Items in the visitor's cart (sum of quantities), shown in the header. */
  cartCount: number;
  /** Script mode: the `src` of rx.js; when set, every page carries the one-line plugin tag. */
  pluginSrc?: string;
  siteId: string;
}

export interface PageContent {
  title: string;
  body: SafeHtml;
  /** Category shown as current in the navigation. */
  currentCategory?: string;
}

/** The dataset's attribution, as scripts/demo-data/README.md asks (UCI Online Retail, CC BY 4.0, citation). */
const attribution = html`<p>Products, descriptions and prices come from the <a href="https://archive.ics.uci.edu/dataset/352/online+retail">Online Retail</a> dataset (UCI Machine Learning Repository, dataset 352), licensed under <a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>. Product pictures are generated.</p>
<p>Chen, Sain &amp; Guo (2012), "Data mining for the online retail industry: A case study of RFM model-based customer segmentation using data mining", Journal of Database Marketing &amp; Customer Strategy Management 19(3):197-208, <a href="https://doi.org/10.1057/dbm.2012.17">doi:10.1057/dbm.2012.17</a>.</p>
<p>${SHOP_NAME} is a demo shop: nothing is for sale.</p>`;

export function renderPage(context: PageContext, content: PageContent): string {
  const nav = context.catalogue.categories.map(
    (category) =>
      html`<a href="${paths.category(category)}"${category === content.currentCategory ? html` aria-current="page"` : ''}>${categoryLabel(category)}</a>`,
  );
  const plugin = context.pluginSrc
    ? html`<script src="${context.pluginSrc}" async data-site="${context.siteId}"></script>`
    : '';
  const page = html`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${content.title} · ${SHOP_NAME}</title>
<link rel="stylesheet" href="/assets/shop.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${plugin}
</head>
<body>
<header class="site-header"><div class="wrap">
<a class="logo" href="/">Hearth <span>&amp;</span> Ribbon</a>
<nav class="nav" aria-label="Categories">${nav}</nav>
<a class="cart-link" href="/cart">Cart (<span data-cart-count>${context.cartCount}</span>)</a>
</div></header>
<main>
${content.body}
</main>
<footer class="site-footer"><div class="wrap">${attribution}</div></footer>
</body>
</html>
`;
  return page.value;
}
