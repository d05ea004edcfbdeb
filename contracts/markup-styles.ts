/**
 * The default stylesheet for rendered recommendation blocks (`rx-` classes, DESIGN.md "Markup").
 *
 * Every rule sits inside `:where()`, which has zero specificity, so any rule of the retailer's own
 * stylesheet wins without `!important`. Images keep their box from their width/height attributes.
 *
 * Two parts. The slot rules reserve a slot's height (`--rx-slot-min-height`) so a block that arrives
 * later does not shift the layout; a slot that got an answer with nothing to show
 * (`data-rx-state="empty"`: no bundle published yet, say) gives its space back rather than leaving a
 * blank band on the shop's page. They only help from the page's `<head>`, before first paint: proxy
 * mode's style tag, or a shop that copies RX_DEFAULT_STYLES there. The storefront plugin injects the
 * block rules alone (contracts/markup-block-styles.ts): after first paint a reserved height prevents no
 * shift, it only grows empty slots, and keeps them blank when the API fails.
 */
import { RX_BLOCK_STYLES } from './markup-block-styles';

export { RX_BLOCK_STYLES };

/** The slot rules: reserved height, given back by a slot with nothing to show. */
export const RX_SLOT_STYLES =
  ':where([data-rx-slot]){display:block;min-height:var(--rx-slot-min-height,17rem)}' +
  ':where([data-rx-slot][data-rx-state=empty]){min-height:0}';

/**
 * The disclosure proxy mode writes after a personalized price (contracts/markup.ts
 * `renderPriceDisclosure`). Not among the block rules: the plugin renders no such note, and the
 * bytes would count against rx.js's size budget.
 */
export const RX_PRICE_NOTE_STYLES = ':where(.rx-price-note){display:block;font-size:.75rem;opacity:.75}';

/** The whole stylesheet, for a page's `<head>`: slot rules, block rules, then the price note's. */
export const RX_DEFAULT_STYLES = RX_SLOT_STYLES + RX_BLOCK_STYLES + RX_PRICE_NOTE_STYLES;
