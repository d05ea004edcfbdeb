/** What the proxy benchmarks send: a browser or a crawler asking for HTML, as a returning shopper. */
import { blockCount } from './page-check';

export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';
export const CRAWLER_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
export const ACCEPT_HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** A `--name` option that must be a positive whole number; `fallback` when absent. */
export function positiveOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive whole number, got "${text}"`);
  return value;
}

/** Default idle gap after each sequential request of the proxy benchmarks (`--pause-ms`), ms. */
export const DEFAULT_PAUSE_MS = 5;

/** `--pause-ms`: 0 or more milliseconds; DEFAULT_PAUSE_MS when absent. */
export function pauseMsOption(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAUSE_MS;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new Error(`--pause-ms must be 0 or more, got "${text}"`);
  return value;
}

/** The rx_uid cookie a first page view gets, so the measured shopper is a returning one. */
export async function shopperCookie(url: string): Promise<string> {
  const response = await fetch(url, { headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA } });
  await response.text();
  const cookie = /rx_uid=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
  if (!cookie) throw new Error('the worker set no rx_uid cookie on a page view: is the proxy personalizing?');
  return cookie;
}

/** What a page through the worker really contained, so a table is not read for a page that was not personalized. */
export async function personalization(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  const body = await response.text();
  return {
    status: response.status,
    cacheControl: response.headers.get('cache-control'),
    blocks: blockCount(body),
    items: body.split('class="rx-item"').length - 1,
  };
}
