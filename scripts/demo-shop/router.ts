/**
 * The demo shop's routes. Plain `node:http`: the shop stands in for any retailer's origin, so it is
 * ordinary server-rendered HTML with cookies and form posts, nothing the worker could special-case.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addToCart, type CartLine, cartCookie, MAX_QUANTITY, readCart, removeFromCart } from './cart';
import type { ShopCatalogue } from './catalogue';
import { FormError, readForm } from './form';
import { productSvg } from './image';
import { type PageContent, type PageContext, renderPage } from './layout';
import { cartPage, cartTotal } from './pages/cart';
import { categoryPage } from './pages/category';
import { homePage } from './pages/home';
import { notFoundPage } from './pages/not-found';
import { orderPage } from './pages/order';
import { productPage } from './pages/product';

export interface ShopSettings {
  catalogue: ShopCatalogue;
  /** Script mode: `src` of rx.js written into every page. */
  pluginSrc?: string;
  siteId: string;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

const STYLESHEET = readFileSync(new URL('./shop.css', import.meta.url), 'utf8');
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#1d5c63"/><text x="16" y="22" text-anchor="middle" font-family="Georgia,serif" font-size="18" fill="#f2b48f">&amp;</text></svg>`;
const IMMUTABLE = 'public, max-age=86400';

function htmlReply(
  context: PageContext,
  page: PageContent,
  status = 200,
  extra: Record<string, string> = {},
): Reply {
  return {
    status,
    // Pages depend on the cart cookie, so no shared caching.
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...extra },
    body: renderPage(context, page),
  };
}

function redirect(location: string, cookie?: string): Reply {
  const headers: Record<string, string> = { location, 'cache-control': 'no-store' };
  if (cookie) headers['set-cookie'] = cookie;
  return { status: 303, headers, body: '' };
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...extra }, body: `${text}\n` };
}

function segment(path: string, prefix: string, suffix = ''): string | undefined {
  if (!path.startsWith(prefix) || !path.endsWith(suffix)) return undefined;
  const raw = path.slice(prefix.length, path.length - suffix.length);
  if (!raw || raw.includes('/')) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function quantityOf(form: URLSearchParams): number {
  const text = form.get('quantity') ?? '1';
  const quantity = Number(text);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    throw new FormError(400, `quantity must be a whole number from 1 to ${MAX_QUANTITY}`);
  }
  return quantity;
}

async function post(
  path: string,
  request: IncomingMessage,
  settings: ShopSettings,
  lines: CartLine[],
  context: PageContext,
): Promise<Reply> {
  const form = await readForm(request);
  const productId = form.get('product_id') ?? '';
  if (path === '/cart/add') {
    if (!settings.catalogue.byId.has(productId))
      throw new FormError(400, 'product_id is not a product of this shop');
    return redirect('/cart', cartCookie(addToCart(lines, productId, quantityOf(form))));
  }
  if (path === '/cart/remove') return redirect('/cart', cartCookie(removeFromCart(lines, productId)));
  // /checkout
  if (lines.length === 0) return redirect('/cart');
  const order = {
    orderId: `HR-${randomUUID().slice(0, 8).toUpperCase()}`,
    items: lines.reduce((sum, line) => sum + line.quantity, 0),
    total: cartTotal(lines, settings.catalogue),
    currency: 'GBP',
  };
  return htmlReply({ ...context, cartCount: 0 }, orderPage(order), 200, { 'set-cookie': cartCookie([]) });
}

const POST_PATHS = new Set(['/cart/add', '/cart/remove', '/checkout']);

async function route(request: IncomingMessage, settings: ShopSettings): Promise<Reply> {
  const url = new URL(request.url ?? '/', 'http://shop.invalid');
  const path = url.pathname;
  const method = request.method ?? 'GET';
  const { catalogue } = settings;
  const lines = readCart(request.headers.cookie, catalogue);
  const context: PageContext = {
    catalogue,
    cartCount: lines.reduce((sum, line) => sum + line.quantity, 0),
    pluginSrc: settings.pluginSrc,
    siteId: settings.siteId,
  };

  if (POST_PATHS.has(path)) {
    if (method !== 'POST') return plain(405, 'Method not allowed', { allow: 'POST' });
    return post(path, request, settings, lines, context);
  }
  if (method !== 'GET' && method !== 'HEAD') return plain(405, 'Method not allowed', { allow: 'GET, HEAD' });

  if (path === '/') return htmlReply(context, homePage(catalogue));
  if (path === '/cart') return htmlReply(context, cartPage(lines, catalogue));
  if (path === '/assets/shop.css') {
    return {
      status: 200,
      headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': IMMUTABLE },
      body: STYLESHEET,
    };
  }
  if (path === '/favicon.svg' || path === '/favicon.ico') {
    return {
      status: 200,
      headers: { 'content-type': 'image/svg+xml', 'cache-control': IMMUTABLE },
      body: FAVICON,
    };
  }
  const productId = segment(path, '/products/');
  const product = productId === undefined ? undefined : catalogue.byId.get(productId);
  if (product) return htmlReply(context, productPage(product));
  const imageId = segment(path, '/images/', '.svg');
  const imaged = imageId === undefined ? undefined : catalogue.byId.get(imageId);
  if (imaged) {
    return {
      status: 200,
      headers: { 'content-type': 'image/svg+xml', 'cache-control': IMMUTABLE },
      body: productSvg(imaged),
    };
  }
  const category = segment(path, '/categories/');
  const page = category === undefined ? undefined : categoryPage(catalogue, category);
  if (page) return htmlReply(context, page);
  return htmlReply(context, notFoundPage(path), 404);
}

/** The request listener of the demo shop. Errors become a 4xx/500 reply, never a crash. */
export function createShopListener(settings: ShopSettings) {
  return function demoShop(request: IncomingMessage, response: ServerResponse): void {
    route(request, settings)
      .catch((error: unknown): Reply => {
        if (error instanceof FormError) return plain(error.status, error.message);
        console.error(
          `demo shop: ${request.method} ${new URL(request.url ?? '/', 'http://x').pathname} failed:`,
          error,
        );
        return plain(500, 'Internal error');
      })
      .then((reply) => {
        const body = Buffer.from(reply.body, 'utf8');
        response.writeHead(reply.status, { ...reply.headers, 'content-length': String(body.length) });
        response.end(request.method === 'HEAD' ? undefined : body);
      });
  };
}
