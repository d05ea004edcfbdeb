/**
 * The cart lives in one cookie (`demo_cart=85123A:2~22423:1`), so the shop keeps no server state and
 * two shoppers never share a cart. Unknown ids and silly quantities are dropped when read.
 */
import type { ShopCatalogue } from './catalogue';

export const CART_COOKIE = 'demo_cart';
const MAX_LINES = 30;
export const MAX_QUANTITY = 99;

export interface CartLine {
  productId: string;
  quantity: number;
}

/** Reads the cart cookie from a `Cookie` header; anything malformed is ignored, never thrown. */
export function readCart(cookieHeader: string | undefined, catalogue: ShopCatalogue): CartLine[] {
  const value = readCookie(cookieHeader, CART_COOKIE);
  if (!value) return [];
  const lines: CartLine[] = [];
  for (const part of value.split('~')) {
    const [productId = '', quantityText = ''] = part.split(':');
    const quantity = Number.parseInt(quantityText, 10);
    if (!catalogue.byId.has(productId) || !Number.isInteger(quantity) || quantity < 1) continue;
    if (lines.some((line) => line.productId === productId)) continue;
    lines.push({ productId, quantity: Math.min(quantity, MAX_QUANTITY) });
    if (lines.length === MAX_LINES) break;
  }
  return lines;
}

/** Adds `quantity` of a product (merging with an existing line); the newest line comes first. */
export function addToCart(lines: readonly CartLine[], productId: string, quantity: number): CartLine[] {
  const existing = lines.find((line) => line.productId === productId);
  const merged = Math.min((existing?.quantity ?? 0) + quantity, MAX_QUANTITY);
  const others = lines.filter((line) => line.productId !== productId);
  return [{ productId, quantity: merged }, ...others].slice(0, MAX_LINES);
}

export function removeFromCart(lines: readonly CartLine[], productId: string): CartLine[] {
  return lines.filter((line) => line.productId !== productId);
}

/** The `Set-Cookie` value storing these lines (an empty cart expires the cookie). */
export function cartCookie(lines: readonly CartLine[]): string {
  const attributes = 'Path=/; HttpOnly; SameSite=Lax';
  if (lines.length === 0) return `${CART_COOKIE}=; ${attributes}; Max-Age=0`;
  const value = lines.map((line) => `${line.productId}:${line.quantity}`).join('~');
  return `${CART_COOKIE}=${value}; ${attributes}; Max-Age=${60 * 60 * 24 * 30}`;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
