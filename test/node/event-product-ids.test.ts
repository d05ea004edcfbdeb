/** Product ids in events are read as the API reads them: surrounding whitespace is not part of them. */
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../contracts/events';

const event = (properties: Record<string, unknown>) => ({
  type: 'track',
  event: 'Product Viewed',
  messageId: 'm-1',
  anonymousId: 'a-1',
  timestamp: '2026-12-02T07:00:00Z',
  properties,
});

describe('product ids in events', () => {
  it('drop surrounding whitespace, in properties and in products[], as the API and the catalogue lookups do', () => {
    // A shop's `data-rx-product-id="85123A "`: the plugin's own lookups trim it, and so does the API.
    const checked = validateEvent(
      event({ product_id: ' 85123A ', products: [{ product_id: '\t22423\n', quantity: 1 }] }),
    );
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.event.properties?.product_id).toBe('85123A');
    expect(checked.event.properties?.products?.[0]?.product_id).toBe('22423');
  });

  it('an id of only whitespace is absent, as "" is', () => {
    const checked = validateEvent(event({ product_id: '   ' }));
    expect(checked.ok).toBe(true);
    // Dropped (undefined, so never written), as "" is.
    if (checked.ok) expect(checked.event.properties?.product_id).toBeUndefined();
  });

  it('leaves other ids as sent (message, shopper and order ids are compared exactly)', () => {
    const checked = validateEvent({ ...event({ order_id: ' o-1 ' }), messageId: ' m-2 ' });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.event.messageId).toBe(' m-2 ');
    expect(checked.event.properties?.order_id).toBe(' o-1 ');
  });
});
