/**
 * A price is rewritten only where the shop printed the catalogue's base price (docs/proxy.md "Prices
 * the shop printed"): a stale catalogue, another product's price, a struck-through old price or another
 * currency keep the shop's text, and `/healthz` `prices` and the log say so without flooding.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkShopPrice } from '../../worker/src/proxy/price-check';
import { proxied, viaWorker } from './proxy-helpers';
import { productById, testSource } from './proxy-test-source';

const half = (id: string) => (Math.round(productById(id).price * 50) / 100).toFixed(2);

/** The text and start tag of the element with `id` in a page. */
function element(body: string, id: string): { tag: string; text: string } {
  const match = new RegExp(`(<[a-z]+ [^>]*id="${id}"[^>]*>)([^<]*)<`).exec(body);
  if (!match) throw new Error(`no element #${id}`);
  return { tag: match[1] ?? '', text: match[2] ?? '' };
}

async function pricesHealth(): Promise<{ status: string; detail?: string }> {
  const { body } = await viaWorker('/healthz');
  const report = JSON.parse(body) as { components: Record<string, { status: string; detail?: string }> };
  return report.components.prices ?? { status: 'missing' };
}

/** The `proxy_price_mismatch` lines console.warn got while `run` ran. */
async function mismatchLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    await run();
    return warn.mock.calls.flatMap((call) => {
      try {
        const line = JSON.parse(String(call[0])) as Record<string, unknown>;
        return line.event === 'proxy_price_mismatch' ? [line] : [];
      } catch {
        return [];
      }
    });
  } finally {
    warn.mockRestore();
  }
}

const CHECK_PAGE = {
  deps: { source: () => testSource({ priceFactor: 0.5 }) },
  env: { RX_PRICE_SELECTOR: '.price', RX_PRODUCT_ID_SELECTOR: 'input[name=product_id]' },
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkShopPrice: is the printed number the base price, in its currency', () => {
  it.each([
    ['£2.95', 2.95, 'GBP'],
    ['&pound;2.95', 2.95, 'GBP'],
    ['£1,234.50', 1234.5, 'GBP'],
    ['1.234,50 €', 1234.5, 'EUR'],
    ['2,55&nbsp;&euro;', 2.55, 'EUR'],
    ['1 234,50 zł', 1234.5, 'PLN'],
    ['CHF 1’234.50', 1234.5, 'CHF'],
    ['¥1,234', 1234, 'JPY'],
    ['$2.95', 2.95, 'CAD'],
    ['£3', 3, 'GBP'],
    ['Now only £2.95 inc. VAT', 2.95, 'GBP'],
    ['£2.95 GBP', 2.95, 'GBP'],
  ])('%s is %s %s', (text, base, currency) => {
    expect(checkShopPrice(text, { base_price: base, currency })).toBe('match');
  });

  it.each([
    ['£3.00', 2.55, 'GBP', 'amount'],
    ['£2.96', 2.95, 'GBP', 'amount'],
    ['£3', 2.99, 'GBP', 'amount'],
    // A number with three decimals (KWD) reads as grouped thousands: never taken for the base price.
    ['KD 2.550', 2.55, 'KWD', 'amount'],
    ['€2.95', 2.95, 'GBP', 'currency'],
    ['2,95 EUR', 2.95, 'GBP', 'currency'],
    ['$2.95', 2.95, 'GBP', 'currency'],
    ['£2.95', 2.95, 'CHF', 'currency'],
    ['£2 - £3', 2, 'GBP', 'not_one_price'],
    ['£2.95/kg', 2.95, 'GBP', 'not_one_price'],
    ['£0.29 per 100 g', 0.29, 'GBP', 'not_one_price'],
    ['3 for £5', 3, 'GBP', 'not_one_price'],
  ])('%s is not %s %s (%s)', (text, base, currency, why) => {
    expect(checkShopPrice(text, { base_price: base, currency })).toBe(why);
  });
});

describe('proxy: only the base price the shop printed becomes the shopper price', () => {
  it('rewrites prices that match as before, and /healthz prices stays ok', async () => {
    const { body } = await proxied('/fixtures/demo-product.html', {}, { deps: CHECK_PAGE.deps });
    expect(body).toContain(
      `<span class="price" data-rx-price data-rx-product-id="85123A">£${half('85123A')}</span>`,
    );
    expect(await pricesHealth()).toEqual({ status: 'ok' });
  });

  it('leaves stale, foreign, struck-through and misattributed prices as printed, said once per kind', async () => {
    let body = '';
    const lines = await mismatchLines(async () => {
      ({ body } = await proxied('/price-check', {}, CHECK_PAGE));
      await proxied('/price-check', {}, CHECK_PAGE);
    });
    const texts = (ids: string[]) => ids.map((id) => element(body, id).text);
    // The catalogue's base price, in any of the shop's spellings: the shopper's price.
    expect(texts(['match', 'entity', 'gbp-code', 'now', 'item-1', 'item-2'])).toEqual([
      `£${half('85123A')}`,
      `&pound;${half('85123A')}`,
      `${half('85123A').replace('.', ',')} GBP`,
      `£${half('85123A')}`,
      `£${half('85123A')}`,
      `£${half('22423')}`,
    ]);
    // Everything else: as the shop printed it.
    expect(
      texts([
        'stale',
        'gross',
        'was',
        'old',
        'nested',
        'euro',
        'eur-code',
        'range',
        'unit',
        'sold-out',
        'item-3',
      ]),
    ).toEqual([
      '£3.25',
      '£15.30',
      '£5.00',
      '£12.75',
      '£5.00',
      '€2.95',
      '2,95 EUR',
      '£2.95 - £3.95',
      '£2.95/kg',
      'Sold out',
      '£4.95',
    ]);
    // A struck-through price is not marked for the plugin either; the others are, as before.
    expect(element(body, 'was').tag).toBe('<s class="price" id="was" data-rx-product-id="85123A">');
    expect(element(body, 'old').tag).toBe('<del class="price" id="old" data-rx-product-id="22423">');
    expect(element(body, 'item-3').tag).toBe(
      '<span class="price" id="item-3" data-rx-price="" data-rx-product-id="22423">',
    );
    // Two pages of eight mismatches each: three lines, one per kind, with no URL or shopper price.
    expect(lines.map((line) => [line.kind, line.product_id, line.shop_price, line.base_price])).toEqual([
      ['amount', '85123A', 3.25, 2.95],
      ['currency', '85123A', 2.95, 2.95],
      ['not_one_price', '85123A', undefined, 2.95],
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/price-check|shop\.example|1\.4\d/);
    // Counted: stale, gross, nested, euro, eur-code, item-3 (not the range, the unit price or "Sold out").
    expect(await pricesHealth()).toMatchObject({
      status: 'degraded',
      detail:
        "12 price(s) on proxied pages did not match the catalogue's base price and were left as the shop printed them: " +
        'publish a bundle with current prices, or check RX_PRODUCT_ID_SELECTOR',
    });
  });
});

describe('proxy: block prices take the pattern of a price the page prints in the catalogue currency', () => {
  it('skips a range and another currency before it', async () => {
    const { body } = await proxied('/block-format', {}, { deps: CHECK_PAGE.deps });
    const blockPrices = [...body.matchAll(/<span class="rx-price">([^<]*)<\/span>/g)].map((m) => m[1]);
    expect(blockPrices.length).toBeGreaterThan(0);
    // "£x.xx", as the shop's own "£2.95": never "£x.xx - £3.95" (the range) nor "€x,xx".
    for (const price of blockPrices) expect(price).toMatch(/^£\d+\.\d\d$/);
  });
});
