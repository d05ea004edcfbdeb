import { renderRecommendationBlock } from '../../../contracts/markup';
import { RX_DEFAULT_STYLES } from '../../../contracts/markup-styles';
import { pluginScriptTag } from '../../../contracts/plugin-tag';
import { log } from '../log';
import type { ConfiguredSlot, ProxyConfig, SlotPosition } from './config';
import { type CspSubject, documentBaseUrl, injectedElements, PageCsp, type SharedCopy } from './csp';
import { reportCspRefusal } from './csp-report';
import { hasEndTag, VOID_ELEMENTS } from './element-content';
import { decodeEntities } from './html-text';
import { type PageContext, pageContextFromUrl } from './page-context';
import type { PageSession } from './page-session';
import { PriceRewriter } from './price-rewriter';
import { splitSelectorList } from './selectors';
import { type AttributeReader, slotHeading, slotQuery } from './slot-query';
import type { RecommendationQuery, Recommendations } from './source';

export { PLUGIN_PATH, type PluginTagOptions, pluginScriptTag } from '../../../contracts/plugin-tag';

export interface PageRewriteOptions {
  config: ProxyConfig;
  /**
   * The page's slots and prices; undefined for held-out shoppers (script tag only, and their markup
   * slots handed over to the plugin with the query the page's URL resolves: handOver).
   */
  session: PageSession | undefined;
  /**
   * The session is this shopper's own (tracked, treatment): prices are rewritten. False for an
   * untracked shopper's page, whose slots get non-personal results only.
   */
  personal: boolean;
  /**
   * The worker sends this page's page view (a tracked shopper's page, either arm), so the plugin is told
   * not to count it again.
   */
  pageViewSent: boolean;
  /** Makes inserted markup safe for the page's charset (identity for UTF-8). */
  encode: (html: string) => string;
  /** The page's public URL: what `'self'` and host sources of a `<meta>` policy are matched against. */
  page: URL;
  /** The decision under the origin's Content-Security-Policy header (csp.ts); undefined without one. */
  csp?: PageCsp | undefined;
  /** Set when a cache shared between shoppers may store this page (csp.ts SharedCopy). */
  sharedCopy?: SharedCopy | undefined;
  /** Filled as the page streams by: what its page-view event says (see PageFacts). */
  facts?: PageFacts;
}

/**
 * What the page's own markup says of it, for its page-view event: the product the page is about, as
 * the plugin reads it (`[data-rx-view][data-rx-product-id]`, else a product slot's id). A shop whose
 * product URLs are not `/products/ID` marks its pages that way, and the plugin, told the page view was
 * sent, no longer sends the product view it would have read there.
 */
export interface PageFacts {
  viewMarked?: string;
  productSlot?: string;
}

/**
 * The product a page's markup says it shows (PageFacts), if any, as the plugin reads it: the first
 * `[data-rx-view]` element decides, even with an empty id (then none); else the first product slot.
 */
export function viewedProduct(facts: PageFacts): string | undefined {
  return (facts.viewMarked ?? facts.productSlot) || undefined;
}

/**
 * The whole default stylesheet, slot rules (reserved height) and block rules, marked so it is injected
 * once per page and the plugin adds none. In the `<head>`, before first paint, the slot rules keep a
 * slot the plugin fills later from shifting the page (the plugin itself injects the block rules alone).
 */
function styleTag(nonce: string | undefined): string {
  return `<style data-rx-styles${nonce ? ` nonce="${nonce}"` : ''}>${RX_DEFAULT_STYLES}</style>`;
}

/** The plugin's paths on this worker: `/rx.js`, and a hashed `/rx.<hash>.js` (routes/plugin.ts). */
const PLUGIN_FILE = /^\/rx(\.[\w-]+)?\.js$/;

/**
 * The paths the worker serves its plugin at, exactly (routes/plugin.ts): `/rx.js`, and `/rx.<hash>.js`
 * with the bundle's 12 hex digits (an earlier deploy's redirects to the current one).
 */
const SERVED_PLUGIN_FILE = /^\/rx(\.[0-9a-f]{12})?\.js$/;

/**
 * The shop's own tag for this worker's plugin, which stands in for the injected one:
 * - `/rx.js` (or a hashed `/rx.<hash>.js`) on this host (`page`'s origin), root-relative or absolute:
 *   docs/plugin.md has script-mode shops paste `https://YOUR-WORKER/rx.js`, and such a shop keeps its
 *   tag when it moves to proxy mode;
 * - or, on any other host, a tag with `data-site` (`hasSite`: what the plugin's script-mode tag
 *   carries) at exactly the path the worker serves the plugin at: the worker's `*.workers.dev`
 *   address, or a hostname of the shop's own for it (`https://rx.shop-cdn.example/rx.js`). Left
 *   unrecognised, the page had two tags and whichever ran first configured it: the shop's, told no
 *   rules, tracked before consent and counted the worker's page view once more. Another site's
 *   `…/rx.js` (RxJS 4 on a CDN, say) carries no `data-site` and is not ours; nor is a self-hosted
 *   copy under another path, nor an `http:` tag on an `https:` page (mixed content, never run).
 * A relative `rx.js` is never ours: it resolves against the page's path, or a `<base href>`.
 */
export function isOwnPluginTag(src: string, page: URL, hasSite = false): boolean {
  return ownPluginTag(src, page, hasSite) !== undefined;
}

/** The URL of the shop's own plugin tag (isOwnPluginTag), resolved; undefined for any other tag. */
function ownPluginTag(src: string, page: URL, hasSite: boolean): URL | undefined {
  const value = src.trim();
  if (!/^(\/|https?:)/i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, page);
  } catch {
    return undefined;
  }
  if (url.origin === page.origin) return PLUGIN_FILE.test(url.pathname) ? url : undefined;
  if (!hasSite || !SERVED_PLUGIN_FILE.test(url.pathname)) return undefined;
  const runs = url.protocol === 'https:' || (url.protocol === 'http:' && page.protocol === 'http:');
  return runs ? url : undefined;
}

function insert(element: Element, position: SlotPosition, html: string): void {
  const options = { html: true };
  if (position === 'before') element.before(html, options);
  else if (position === 'after') element.after(html, options);
  else if (position === 'prepend') element.prepend(html, options);
  else if (position === 'append') element.append(html, options);
  else element.replace(html, options);
}

/**
 * One slot of the page: its element, where its settings are read (the element's own `data-rx-*`
 * attributes, or an `RX_SLOTS` entry), and where the block goes (`inner`: the element's content).
 */
interface Slot {
  element: Element;
  attributes: AttributeReader;
  position: SlotPosition | 'inner';
  /** `RX_SLOTS`' item count, over the markup's. */
  limit?: number;
}

/** How this page's blocks are written: its charset, and the items as the page's policy lets them show. */
interface BlockOutput {
  /** Makes inserted markup safe for the page's charset (identity for UTF-8). */
  encode: (html: string) => string;
  /** The items, without their images where the page's Content-Security-Policy refuses them. */
  shownItems: (items: Recommendations['items']) => Recommendations['items'];
}

/**
 * Fills one slot; leaves it as it was when nothing comes back within the budget. Synchronous when the
 * slot's recommendations and prices are already known (see PageSession.settledRecommendations).
 */
function fillSlot(session: PageSession, slot: Slot, output: BlockOutput): Promise<void> | undefined {
  // A block inside an element that has no content (`<img data-rx-slot>`, an RX_SLOTS `append` on an
  // `<input>`) would be dropped by the parser without a word, yet counted as shown in the page view.
  if (slot.position !== 'before' && slot.position !== 'after' && slot.position !== 'replace') {
    // By name only: probing for an end tag (hasEndTag) registers a handler the parser then calls back
    // at every slot's end, on every page, for the self-closing SVG element nobody makes a slot.
    if (VOID_ELEMENTS.has(slot.element.tagName)) return undefined;
  }
  const query = slotQuery(slot.attributes, session.context);
  if (slot.limit !== undefined) query.limit = slot.limit;
  const render = (recommendations: Recommendations | undefined) =>
    renderSlot(session, slot, output, query, recommendations);
  const settled = session.settledRecommendations(query);
  if (settled) {
    render(settled.value);
    return undefined;
  }
  return session.recommendations(query).then(render);
}

function renderSlot(
  session: PageSession,
  { element, attributes, position }: Slot,
  { encode, shownItems }: BlockOutput,
  query: ReturnType<typeof slotQuery>,
  recommendations: Recommendations | undefined,
): void {
  if (!recommendations) {
    // No answer in time (or the lookup failed): the slot is left unmarked, for the plugin to fill, and
    // told what the worker asked for, so that the plugin asks the same (handOver).
    if (position === 'inner') handOver(element, attributes, query, encode);
    return;
  }
  const block = renderRecommendationBlock(shownItems(recommendations.items), {
    recommendationId: recommendations.recommendation_id,
    placement: query.placement,
    heading: slotHeading(attributes, query.placement),
    price: session.priceFormat(),
  });
  if (!block) {
    // An answer with nothing to show (no bundle published yet, say): the slot keeps the shop's own
    // content, gives back its reserved height (default stylesheet), and the plugin does not ask again.
    if (position === 'inner') element.setAttribute('data-rx-state', 'empty');
    return;
  }
  if (position === 'inner') {
    element.setInnerContent(encode(block), { html: true });
    element.setAttribute('data-rx-filled', recommendations.recommendation_id);
  } else {
    insert(element, position, encode(block));
  }
  session.changed = true;
  session.shown.push({
    recommendationId: recommendations.recommendation_id,
    modelVersion: recommendations.model_version,
    placement: query.placement,
  });
}

/**
 * Writes the query the worker resolved for a markup slot onto it, as the attributes the plugin reads
 * (storefront-plugin/src/slots.ts), before leaving the slot to the plugin: the plugin reads the
 * attributes alone, with no guess from the URL, so without this a bare `<div data-rx-slot>` on
 * `/products/85123A` was a product block when the worker filled it and a home block when the plugin
 * did, and one with an invalid placement (`pdp`) or a product placement without a product id got the
 * API's 400 and stayed empty (`data-rx-state="failed"`). Only what the plugin would read otherwise is
 * written: the placement (one without `data-rx-placement` is `home` to the plugin), the product id and
 * the category, when the worker's differ from the element's (trimmed, or taken from the URL).
 * `data-rx-limit` and `data-rx-product-ids` are read alike by both (contracts/slot-defaults.ts).
 */
function handOver(
  element: Element,
  attributes: AttributeReader,
  query: RecommendationQuery,
  encode: BlockOutput['encode'],
): void {
  const resolved: Array<[string, string | undefined]> = [
    ['data-rx-placement', query.placement],
    ['data-rx-product-id', query.productId],
    ['data-rx-category', query.category],
  ];
  for (const [name, value] of resolved) {
    const current = attributes.getAttribute(name) ?? (name === 'data-rx-placement' ? 'home' : null);
    if (value === undefined || value === current) continue;
    // HTMLRewriter writes a value as given but for `"` (escaped as `&quot;`; `<` is harmless in a quoted
    // value): `&` is written as a reference, so the browser reads back exactly the value (a URL's
    // `/products/a&amp;b` is `a&amp;b`), and so is any character the page's charset lacks (`encode`).
    element.setAttribute(name, encode(value.replace(/&/g, '&amp;')));
  }
}

/**
 * An element's attributes as the browser reads them: HTMLRewriter hands over the raw source text, so
 * `data-rx-category="Home &amp; Garden"` would ask for a category nobody has, and a heading would show
 * its `&amp;` (escaped once more when written).
 */
function decodedAttributes(element: Element): AttributeReader {
  return {
    getAttribute: (name) => {
      const value = element.getAttribute(name);
      return value === null ? null : decodeEntities(value);
    },
  };
}

/**
 * An element's attributes for a configured slot: its placement and heading come from `RX_SLOTS`, not
 * markup (`heading` stands for `data-rx-heading`: absent, the placement's; `""`, none).
 */
function configuredAttributes(slot: ConfiguredSlot): AttributeReader {
  return {
    getAttribute: (name) => {
      if (name === 'data-rx-placement') return slot.placement;
      if (name === 'data-rx-heading') return slot.heading ?? null;
      return null;
    },
  };
}

/**
 * The streaming rewrite of one HTML page: slots filled, prices rewritten, stylesheet and plugin
 * script injected once. Handlers that wait (slots, prices) wait at most until the deadline.
 */
export function pageRewriter({
  config,
  session,
  personal,
  pageViewSent,
  encode,
  page,
  csp,
  sharedCopy,
  facts,
}: PageRewriteOptions): HTMLRewriter {
  let injected = false;
  let pageHasPlugin = false;
  /**
   * The shop's tag loads the plugin from another host (isOwnPluginTag), whose API its calls go to:
   * the page's `connect-src` is not checked for this host then (it would report a refusal that is not).
   */
  let pluginElsewhere = false;
  // A <meta> policy applies to what follows it, so to our tags; without a header, it is read only here.
  let pageCsp = csp;
  /** What a relative URL in a block resolves against: the page's URL, or its first `<base href>`. */
  let base = page;
  let baseRead = false;
  /** Whether a policy keeps the element out; said (log, `/healthz`) whenever it does. */
  const refused = (element: Exclude<CspSubject, 'image'>) => {
    const refusal = pageCsp?.refusal(element);
    if (refusal) reportCspRefusal(refusal);
    return refusal !== undefined;
  };
  const headTags = () => {
    const nonce = pageCsp?.nonce;
    const style = session && !refused('style') ? styleTag(pageCsp?.styleNonce) : '';
    const script =
      pageHasPlugin || refused('script')
        ? ''
        : pluginScriptTag({
            origin: page.origin,
            pageViewSent,
            consentRequired: config.consentRequired,
            honourGpc: config.honourGpc,
            nonce,
          });
    if ((pageHasPlugin && !pluginElsewhere) || script) refused('connect');
    return encode(style + script);
  };
  const output: BlockOutput = {
    encode,
    // An image the policy refuses would show as an empty box, and send the shop a violation report
    // per shopper: the block goes out text-only instead (all its images, so its cards stay alike).
    shownItems: (items) => {
      const refusal = pageCsp?.imageRefusal(items, base);
      if (!refusal) return items;
      reportCspRefusal(refusal);
      return items.map((item) => ({ ...item, image: '' }));
    },
  };
  const rewriter = new HTMLRewriter();
  /** How many `<template>` elements enclose the parser's position (their content is inert). */
  let templateDepth = 0;

  rewriter.on('script[src]', {
    element(element) {
      // A tag inside <template> never runs: it does not stand in for the injected one.
      if (templateDepth > 0) return;
      const src = decodeEntities(element.getAttribute('src') ?? '');
      const tag = ownPluginTag(src, page, element.hasAttribute('data-site'));
      if (!tag) return;
      pageHasPlugin = true;
      pluginElsewhere = tag.origin !== page.origin;
      // The shop's own tag (script mode and proxy mode at once) stands in for the injected one, so it
      // is told what that one would be: that this worker sent the page view (not counted twice), and
      // the consent rules (without them the plugin would track before consent).
      if (pageViewSent) element.setAttribute('data-rx-page-view', 'sent');
      if (config.consentRequired) element.setAttribute('data-consent', 'required');
      if (config.honourGpc) element.setAttribute('data-gpc', '');
    },
  });
  rewriter.on('head', {
    element(element) {
      // A <head> or <body> in a <template>'s content (a document kept for a preview) is inert: our tags
      // put there would never run.
      if (templateDepth > 0) return;
      // A self-closing <head/> in foreign content has no end tag to wait for (onEndTag would throw).
      if (!hasEndTag(element)) return;
      element.onEndTag((end) => {
        if (injected) return;
        injected = true;
        end.before(headTags(), { html: true });
      });
    },
  });
  rewriter.on('body', {
    element(element) {
      // Pages whose <head> has no end tag (or no head at all) get the tags at the top of <body>.
      if (injected || templateDepth > 0) return;
      injected = true;
      element.prepend(headTags(), { html: true });
    },
  });

  // <template> content is inert markup the shop's own scripts clone: it is left as it is.
  rewriter.on('template', {
    element(element) {
      if (!hasEndTag(element)) return;
      templateDepth += 1;
      element.onEndTag(() => {
        templateDepth -= 1;
      });
    },
  });
  const outsideTemplate =
    <T>(handle: (element: Element) => T) =>
    (element: Element): T | undefined =>
      templateDepth > 0 ? undefined : handle(element);

  // Browsers take the first <base href> of the document (one in <template> is inert). Only blocks'
  // image URLs resolve against it, so a page without slots to fill does not look.
  if (session) {
    rewriter.on('base[href]', {
      element: outsideTemplate((element) => {
        if (baseRead) return;
        baseRead = true;
        base = documentBaseUrl(decodeEntities(element.getAttribute('href') ?? ''), page, pageCsp);
      }),
    });
  }

  // Only a page carrying a policy in <meta> runs this (the selector itself is matched natively).
  rewriter.on('meta[http-equiv="content-security-policy" i]', {
    element(element) {
      // After our tags a policy no longer concerns them; in <template> it is inert.
      if (injected || templateDepth > 0) return;
      const raw = element.getAttribute('content');
      if (raw === null) return;
      pageCsp ??= new PageCsp(page, injectedElements(session !== undefined), sharedCopy);
      // HTMLRewriter hands over the attribute's source text, and writes a new one as given (only `"`
      // escaped): decoded to be read, `&` written back as a reference.
      const extended = pageCsp.apply(decodeEntities(raw), 'meta');
      if (extended !== undefined) element.setAttribute('content', extended.replace(/&/g, '&amp;'));
    },
  });

  const prices = session && personal ? new PriceRewriter(session, encode, config.priceDisclosure) : undefined;
  if (prices) {
    // Registered first: for a nested price element it must run before the price handlers.
    const priceSelectors = ['[data-rx-price]', ...splitSelectorList(config.priceSelector)];
    for (const selector of priceSelectors) {
      addHandler(rewriter, `${selector} *`, { element: () => prices.descendant() });
    }
    if (config.productIdSelector) {
      // Also before the price handlers: an element matched by both is its own price's product.
      addHandler(rewriter, config.productIdSelector, {
        element: outsideTemplate((element) => prices.productIdElement(element)),
      });
    }
    const priceHandler = {
      element: outsideTemplate((element) => prices.priceElement(element)),
      text: (chunk: Text) => prices.text(chunk),
    };
    for (const selector of priceSelectors) addHandler(rewriter, selector, priceHandler);
  }

  if (session) {
    rewriter.on('[data-rx-slot]', {
      element: outsideTemplate((element) =>
        fillSlot(session, { element, attributes: decodedAttributes(element), position: 'inner' }, output),
      ),
    });
    for (const slot of config.slots) {
      addHandler(rewriter, slot.selector, {
        element: outsideTemplate((element) =>
          fillSlot(
            session,
            { element, attributes: configuredAttributes(slot), position: slot.position, limit: slot.limit },
            output,
          ),
        ),
      });
    }
  }

  if (facts) {
    const noted = (key: keyof PageFacts) =>
      outsideTemplate((element) => {
        if (facts[key] === undefined)
          facts[key] = decodeEntities(element.getAttribute('data-rx-product-id') ?? '');
      });
    rewriter.on('[data-rx-view][data-rx-product-id]', { element: noted('viewMarked') });
    rewriter.on('[data-rx-slot][data-rx-placement="product"][data-rx-product-id]', {
      element: noted('productSlot'),
    });
  }

  if (!session) {
    // A held-out shopper's page (no session: nothing is looked up or filled here): the plugin fills its
    // slots, from their attributes alone. Each markup slot is handed over as a treatment page hands over
    // the slots it leaves unfilled (handOver), so that both arms ask for the same query: a bare slot on
    // `/products/ID` was a home block for control and a product block for treatment, and the
    // comparison measured the placement, not the personalization. Registered after the page facts'
    // handlers, so these read the slot as the shop wrote it, as they do on a treatment page. Only
    // attributes are written: synchronous, no lookup, no wait.
    let context: PageContext | undefined;
    rewriter.on('[data-rx-slot]', {
      element: outsideTemplate((element) => {
        // As fillSlot: a slot that cannot hold a block is not one a treatment page hands over either.
        if (VOID_ELEMENTS.has(element.tagName)) return;
        context ??= pageContextFromUrl(page);
        const attributes = decodedAttributes(element);
        handOver(element, attributes, slotQuery(attributes, context), encode);
      }),
    });
  }

  rewriter.onDocument({
    end(end) {
      prices?.flush(end);
      if (!injected) {
        injected = true;
        end.append(headTags(), { html: true });
      }
    },
  });
  return rewriter;
}

/**
 * `rewriter.on` that skips (and logs) a selector HTMLRewriter rejects, instead of failing the page. A
 * safety net only: proxy/config.ts already left out every configured selector HTMLRewriter refuses (a
 * config problem, logged once and shown on `/healthz`), so nothing reaches this catch in workerd.
 */
function addHandler(
  rewriter: HTMLRewriter,
  selector: string,
  handler: HTMLRewriterElementContentHandlers,
): void {
  try {
    rewriter.on(selector, handler);
  } catch (error) {
    log('warn', 'proxy_selector_invalid', { selector, error });
  }
}
