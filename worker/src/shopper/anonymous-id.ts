import {
  ANONYMOUS_ID_COOKIE,
  ANONYMOUS_ID_MAX_AGE_SECONDS,
  ANONYMOUS_ID_PATTERN,
} from '../../../contracts/anonymous-id';
import { cookieValues } from '../cookies';

/**
 * The anonymous shopper id: a random UUID in the first-party cookie `rx_uid`.
 *
 * It is never derived from the IP address or the user agent, so it identifies a browser only because the
 * browser keeps the cookie. It is not HttpOnly on purpose: the storefront plugin reads it to stamp
 * Segment's `anonymousId` on the events it sends, and it authorizes nothing (price tokens are bound
 * to it, but a token only states a price the same shopper was already shown).
 */
export { ANONYMOUS_ID_COOKIE, ANONYMOUS_ID_MAX_AGE_SECONDS };

/** Header a cross-site caller (script mode on another domain) may use when it cannot send the cookie. */
export const ANONYMOUS_ID_HEADER = 'x-rx-uid';

/**
 * Sent as `1` with `x-rx-uid` by the storefront plugin when it made that id on the current page and no
 * event of it has reached the worker yet: nothing can be stored under the id, so the per-shopper cache
 * is skipped (`Shopper.firstVisit`). Ignored with a cookie. A caller that sends it without reason only
 * gets the page-only answer a first visit gets.
 */
export const ANONYMOUS_ID_NEW_HEADER = 'x-rx-uid-new';

/** True for ids this worker could have issued (a lowercase UUID); anything else is ignored, not trusted. */
export function isAnonymousId(value: string | null | undefined): value is string {
  return typeof value === 'string' && ANONYMOUS_ID_PATTERN.test(value);
}

/** A fresh random id (122 random bits from the runtime's CSPRNG). */
export function newAnonymousId(): string {
  return crypto.randomUUID();
}

/** Reads `rx_uid` from a `Cookie` header; undefined when absent or malformed. */
export function anonymousIdFromCookieHeader(cookieHeader: string | null): string | undefined {
  return cookieValues(cookieHeader, ANONYMOUS_ID_COOKIE).find(isAnonymousId);
}

/**
 * The `Set-Cookie` value that (re)issues the id: `Secure`, `SameSite=Lax`, `Path=/`, long-lived.
 * Re-sending it on every response of a returning shopper would only add bytes, so callers send it
 * when the shopper is new.
 */
export function anonymousIdCookie(anonymousId: string): string {
  return `${ANONYMOUS_ID_COOKIE}=${anonymousId}; Max-Age=${ANONYMOUS_ID_MAX_AGE_SECONDS}; Path=/; Secure; SameSite=Lax`;
}
