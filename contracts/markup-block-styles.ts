/**
 * The default stylesheet's block rules (`rx-` classes, DESIGN.md "Markup"): what the storefront plugin
 * injects when the page has no `[data-rx-styles]` (a `<style>`, or a shop's `<link rel=stylesheet>`).
 * contracts/markup-styles.ts puts the slot rules before them, and the price note's rule after them,
 * for pages that carry the whole stylesheet in their `<head>` (proxy mode's style tag). The note
 * (`rx-price-note`) is proxy mode's alone: the plugin never renders one, so its rule is not here.
 *
 * In a module of their own: the plugin imports only these, and a constant joining them with the slot
 * rules, in the module it imports, would stay in its bundle (esbuild keeps a `+` of two strings).
 */
export const RX_BLOCK_STYLES =
  ':where(.rx-block){margin:1.5rem 0;font:inherit;color:inherit}' +
  ':where(.rx-heading){font-size:1.15rem;margin:0 0 .75rem}' +
  ':where(.rx-list){display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:1rem;list-style:none;margin:0;padding:0}' +
  ':where(.rx-item){display:flex;flex-direction:column;gap:.25rem;min-height:14rem}' +
  ':where(.rx-link){color:inherit;text-decoration:none;display:flex;flex-direction:column;gap:.4rem}' +
  ':where(.rx-image){width:100%;height:auto;aspect-ratio:1;object-fit:cover;background:#f2f2f2}' +
  ':where(.rx-title){font-size:.9rem;line-height:1.3}' +
  ':where(.rx-price){font-weight:600}';
