import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRecommendationBlock } from '../../contracts/markup';
import { type DemoShop, startDemoShop } from '../../scripts/demo-shop/index';
import { CookieJar } from '../../scripts/demo-traffic/cookie-jar';
import { parsePage } from '../../scripts/demo-traffic/page';
import { seededRandom } from '../../scripts/demo-traffic/random';

let shop: DemoShop;
beforeAll(async () => {
  shop = await startDemoShop({ port: 0 });
});
afterAll(async () => {
  await shop.close();
});

describe('demo traffic page reading', () => {
  it('reads the blocks the shared renderer writes into a real demo shop page', async () => {
    const origin = await (await fetch(`${shop.url}/categories/candles`)).text();
    const block = renderRecommendationBlock(
      [
        {
          product_id: '22423',
          title: "POPPY'S <CAKESTAND>",
          url: '/products/22423',
          image: '/images/22423.svg',
          price: 12.75,
        },
        {
          product_id: '47566',
          title: 'PARTY BUNTING',
          url: '/products/47566',
          image: '/images/47566.svg',
          price: 4.95,
        },
      ],
      { recommendationId: 'rec-1', placement: 'category', heading: 'Popular' },
    );
    // What the proxy does: the block becomes the slot's content.
    const filled = origin.replace(
      /(<div data-rx-slot[^>]*)><\/div>/,
      `$1 data-rx-filled="rec-1">${block}</div>`,
    );
    const page = parsePage(
      filled.replace('</head>', '<script src="/rx.js" async data-rx-page-view="sent"></script></head>'),
    );

    expect(page.recommendations).toEqual([
      { recommendationId: 'rec-1', placement: 'category', productId: '22423', position: 1 },
      { recommendationId: 'rec-1', placement: 'category', productId: '47566', position: 2 },
    ]);
    // The listing's own cards, not the recommended ones.
    expect(page.productLinks[0]).toBe('85123A');
    expect(page.productLinks).not.toContain('47566');
    expect(page.categoryLinks).toContain('/categories/kitchen');
    expect(page.priceOf('85123A')).toBe(2.95);
    expect(page.pageViewSent).toBe(true);
    expect(parsePage(origin).pageViewSent).toBe(false);
  });

  it('reads the order from the confirmation page', async () => {
    const response = await fetch(`${shop.url}/checkout`, {
      method: 'POST',
      headers: { cookie: 'demo_cart=22423:2', 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(parsePage(await response.text()).order).toMatchObject({ revenue: 25.5, currency: 'GBP' });
  });
});

describe('cookie jar', () => {
  it('keeps cookies like a browser and forgets expired ones', () => {
    const jar = new CookieJar();
    const headers = new Headers();
    headers.append('set-cookie', 'rx_uid=abc; Path=/; Max-Age=31536000; SameSite=Lax');
    headers.append('set-cookie', 'demo_cart=22423:1; Path=/; HttpOnly');
    jar.store(headers);
    expect(jar.header()).toBe('rx_uid=abc; demo_cart=22423:1');
    const expired = new Headers({ 'set-cookie': 'demo_cart=; Path=/; Max-Age=0' });
    jar.store(expired);
    expect(jar.header()).toBe('rx_uid=abc');
  });
});

describe('seeded random', () => {
  it('replays the same sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 5 }, () => a.int(1, 100));
    expect(Array.from({ length: 5 }, () => b.int(1, 100))).toEqual(first);
    expect(first.every((n) => n >= 1 && n <= 100)).toBe(true);
    expect(seededRandom(43).int(1, 1_000_000)).not.toBe(seededRandom(42).int(1, 1_000_000));
  });
});
