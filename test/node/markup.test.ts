import { describe, expect, it } from 'vitest';
import {
  escapeAttr,
  escapeHtml,
  formatPrice,
  parsePrice,
  type RecommendedItem,
  renderPriceDisclosure,
  renderRecommendationBlock,
  safeUrl,
} from '../../contracts/markup';
import { RX_DEFAULT_STYLES } from '../../contracts/markup-styles';

const item = (overrides: Partial<RecommendedItem> = {}): RecommendedItem => ({
  product_id: '85123A',
  title: 'WHITE HANGING HEART T-LIGHT HOLDER',
  url: '/products/85123A',
  image: '/images/85123A.svg',
  price: 2.95,
  ...overrides,
});

describe('escaping', () => {
  it('escapes every character that can open markup or close an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;',
    );
    expect(escapeAttr('" onmouseover="alert(1)')).toBe('&quot; onmouseover=&quot;alert(1)');
  });

  it('turns script-capable URLs into "#" and keeps ordinary ones', () => {
    expect(safeUrl('javascript:alert(1)')).toBe('#');
    expect(safeUrl(' JaVa\tScRiPt:alert(1)')).toBe('#');
    expect(safeUrl('data:text/html,<script>alert(1)</script>')).toBe('#');
    expect(safeUrl('/products/1?x=1&y=2')).toBe('/products/1?x=1&y=2');
    expect(safeUrl('https://cdn.example/a.png')).toBe('https://cdn.example/a.png');
    expect(safeUrl('//cdn.example/a.png')).toBe('//cdn.example/a.png');
  });
});

describe('formatPrice', () => {
  it.each([
    ['£2.55', 2.1, '£2.10'],
    ['2,55 €', 2.1, '2,10 €'],
    ['EUR 1.234,50', 1099, 'EUR 1.099,00'],
    ['$1,234.56', 12345.6, '$12,345.60'],
    ['1 234,56 zł', 999.5, '999,50 zł'],
    ['¥300', 250, '¥250'],
    ['£3', 2.5, '£2.50'],
    ['Now only £12.99!', 10, 'Now only £10.00!'],
    ['CHF 1\u2019234.00', 2345.5, 'CHF 2\u2019345.50'],
  ])('keeps the shop format of %s', (template, amount, expected) => {
    expect(formatPrice(amount, { template })).toBe(expected);
  });

  it('uses Intl with currency and locale when there is no template', () => {
    expect(formatPrice(2.1, { currency: 'GBP', locale: 'en-GB' })).toBe('£2.10');
    expect(formatPrice(2.1, { currency: 'EUR', locale: 'de-DE' })).toBe('2,10\u00a0€');
  });

  it('falls back to a plain number for a template without digits or an unknown currency', () => {
    expect(formatPrice(2.1, { template: 'Sold out' })).toBe('2.10');
    expect(formatPrice(2.1, { currency: 'NOT-A-CODE' })).toBe('2.10');
  });
});

describe('parsePrice', () => {
  it.each([
    ['£2.55', 2.55],
    ['2,55 €', 2.55],
    ['EUR 1.234,50', 1234.5],
    ['$1,234', 1234],
    ['1234.5', 1234.5],
  ])('reads %s', (text, value) => {
    expect(parsePrice(text)).toBe(value);
  });

  it('returns null for text without a number', () => {
    expect(parsePrice('free')).toBeNull();
  });
});

describe('renderRecommendationBlock', () => {
  it('renders semantic markup with tracking attributes, sized lazy images and shop-formatted prices', () => {
    const html = renderRecommendationBlock([item(), item({ product_id: '22423', price: 12.75 })], {
      recommendationId: 'rec-1',
      placement: 'product',
      price: { template: '£0.00' },
    });
    expect(html.startsWith('<section class="rx-block rx-placement-product"')).toBe(true);
    expect(html).toContain('<h2 class="rx-heading">Recommended for you</h2>');
    expect(html).toContain(
      '<a class="rx-link" href="/products/85123A" data-rx-product-id="85123A" data-rx-recommendation-id="rec-1" data-rx-position="1">',
    );
    expect(html).toContain(
      'data-rx-product-id="22423" data-rx-recommendation-id="rec-1" data-rx-position="2"',
    );
    expect(html).toContain(
      '<img class="rx-image" src="/images/85123A.svg" alt="" width="160" height="160" loading="lazy" decoding="async">',
    );
    expect(html).toContain('<span class="rx-price">£12.75</span>');
    expect(html.match(/<li /g) ?? html.match(/<li class/g)).toHaveLength(2);
    expect(html.endsWith('</ul></section>')).toBe(true);
  });

  it('shows no price for an item without one (price null), in the shop format or Intl alike', () => {
    const items = [item({ product_id: 'FREE', price: 0 }), item({ product_id: 'NONE', price: null })];
    for (const price of [{ template: '£2.55' }, { currency: 'GBP', locale: 'en-GB' }]) {
      const html = renderRecommendationBlock(items, { recommendationId: 'r', placement: 'home', price });
      // Before: "£0.00" for both. A price of 0 is still one (a shop catalogue saying free).
      expect(html.match(/<span class="rx-price">[^<]*<\/span>/g)).toEqual([
        '<span class="rx-price">£0.00</span>',
        '<span class="rx-price"></span>',
      ]);
    }
  });

  it('renders nothing for no items so the slot keeps its own content', () => {
    expect(renderRecommendationBlock([], { recommendationId: 'r', placement: 'home' })).toBe('');
  });

  it('escapes markup and script in titles, ids, urls, headings and placements', () => {
    const hostile = item({
      product_id: '"><script>alert(1)</script>',
      title: '<img src=x onerror=alert(1)>Mug & "Cup"',
      url: 'javascript:alert(document.cookie)',
      image: '" onload="alert(1)',
    });
    const html = renderRecommendationBlock([hostile], {
      recommendationId: '"><svg onload=alert(1)>',
      placement: 'home"><script>',
      heading: '</h2><script>alert(1)</script>',
    });
    // Only the renderer's own elements and attributes exist; everything hostile stayed text.
    const tags = [...html.matchAll(/<\/?([a-z0-9]+)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*>/g)];
    expect(tags.map((t) => t[0]).join('')).toBe(html.match(/<[^>]*>/g)?.join(''));
    expect(new Set(tags.map((t) => t[1]))).toEqual(
      new Set(['section', 'h2', 'ul', 'li', 'a', 'img', 'span']),
    );
    const attributes = tags.flatMap((t) =>
      [...(t[2] ?? '').matchAll(/\s+([a-z-]+)(?:="[^"]*")?/g)].map((m) => m[1]),
    );
    expect(attributes.filter((name) => name?.startsWith('on'))).toEqual([]);
    expect(html).not.toMatch(/<script|<svg/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;Mug &amp; &quot;Cup&quot;');
    expect(html).toContain('href="#"');
    expect(html).toContain('data-rx-product-id="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    // Every attribute value stays inside its own quotes: tags open and close in balance.
    expect(html.match(/</g)?.length).toBe(html.match(/>/g)?.length);
  });

  it('omits the heading when asked and leaves out images that are missing', () => {
    const html = renderRecommendationBlock([item({ image: '' })], {
      recommendationId: 'r',
      placement: 'cart',
      heading: '',
    });
    expect(html).not.toContain('rx-heading');
    expect(html).not.toContain('aria-label');
    expect(html).not.toContain('<img');
  });

  it('leaves out an image whose URL could run script instead of pointing it at the page itself', () => {
    const html = renderRecommendationBlock(
      [item({ image: 'javascript:alert(1)' }), item({ product_id: '2', image: 'data:text/html,x' })],
      { recommendationId: 'r', placement: 'home' },
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('src="#"');
    expect(html.match(/rx-title/g)).toHaveLength(2);
  });
});

describe('styles and disclosure', () => {
  it('ships a zero-specificity stylesheet that reserves slot height', () => {
    expect(RX_DEFAULT_STYLES).toContain(':where([data-rx-slot]){display:block;min-height:');
    expect(RX_DEFAULT_STYLES).not.toMatch(/[<>]/);
  });

  it('escapes the disclosure text', () => {
    expect(renderPriceDisclosure('Personalized <b>price</b>')).toBe(
      '<small class="rx-price-note">Personalized &lt;b&gt;price&lt;/b&gt;</small>',
    );
  });
});
