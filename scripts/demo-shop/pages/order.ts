import { formatPrice } from '../catalogue';
import { html } from '../html';
import type { PageContent } from '../layout';
import { recommendationSlot } from './parts';

export interface Order {
  orderId: string;
  items: number;
  total: number;
  currency: string;
}

/** The confirmation after `POST /checkout`. The order facts are attributes too, for rx.js to report. */
export function orderPage(order: Order): PageContent {
  const body = html`<div class="wrap">
<div class="notice" data-rx-order-id="${order.orderId}" data-rx-revenue="${order.total.toFixed(2)}" data-rx-currency="${order.currency}">
<h1>Thank you!</h1>
<p>Order ${order.orderId}: ${order.items} items, ${formatPrice(order.total, order.currency)}. This is a demo shop, so nothing will be shipped.</p>
<a class="button secondary" href="/">Keep browsing</a>
</div>
${recommendationSlot({ placement: 'home', limit: 4, heading: 'Picked for you' })}
</div>`;
  return { title: 'Order confirmed', body };
}
