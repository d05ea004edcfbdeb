/**
 * The default stylesheet for rendered recommendation blocks (`rx-` classes, DESIGN.md "Markup").
 *
 * Every rule sits inside `:where()`, which has zero specificity, so any rule of the retailer's own
 * stylesheet wins without `!important`. Slots reserve their height (`--rx-slot-min-height`) so a
 * block that arrives later (script mode) does not shift the layout; a slot that got an answer with
 * nothing to show (`data-rx-state="empty"`: no bundle published yet, say) gives its space back
 * rather than leaving a blank band on the shop's page. Images keep their box from their width/height
 * attributes.
 */
export const RX_DEFAULT_STYLES =
  ':where([data-rx-slot]){display:block;min-height:var(--rx-slot-min-height,17rem)}' +
  ':where([data-rx-slot][data-rx-state=empty]){min-height:0}' +
  ':where(.rx-block){margin:1.5rem 0;font:inherit;color:inherit}' +
  ':where(.rx-heading){font-size:1.15rem;margin:0 0 .75rem}' +
  ':where(.rx-list){display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:1rem;list-style:none;margin:0;padding:0}' +
  ':where(.rx-item){display:flex;flex-direction:column;gap:.25rem;min-height:14rem}' +
  ':where(.rx-link){color:inherit;text-decoration:none;display:flex;flex-direction:column;gap:.4rem}' +
  ':where(.rx-image){width:100%;height:auto;aspect-ratio:1;object-fit:cover;background:#f2f2f2}' +
  ':where(.rx-title){font-size:.9rem;line-height:1.3}' +
  ':where(.rx-price){font-weight:600}' +
  ':where(.rx-price-note){display:block;font-size:.75rem;opacity:.75}';
