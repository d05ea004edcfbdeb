import type { EventProperties, RxEventInput } from '../../contracts/event-types';
import type { Identity } from './identity';
import { uuid } from './lib/uuid';

/**
 * A URL or path without query string and fragment, which can carry personal data (emails, tokens),
 * and without path parameters (`/products/85123A;jsessionid=9F1C`: a Java shop's session id).
 */
function withoutQuery(url: string): string {
  // Everything from the first `?` or `#` on, and each segment's `;…` before it (an escaped `%3B` is
  // the segment's own). One pattern, which the plugin's size budget needed.
  return url.replace(/[?#].*|;[^/?#]*/g, '');
}

/**
 * Builds one event of the contract (`contracts/event-types.ts`). The `messageId` is fixed here,
 * once, so every retry of the same event carries the same id and the worker stores it once.
 */
export function buildEvent(
  identity: Identity,
  site: string,
  fields: Pick<RxEventInput, 'type' | 'event' | 'name' | 'traits'> & { properties?: EventProperties },
): RxEventInput {
  // What `page` events and every event's `context.page` describe (read once: the size budget).
  const page: Record<string, string> = {
    path: withoutQuery(location.pathname),
    url: withoutQuery(location.href),
    title: document.title,
    referrer: withoutQuery(document.referrer),
  };
  const event: RxEventInput = {
    ...fields,
    messageId: uuid(),
    anonymousId: identity.getAnonymousId(),
    timestamp: new Date().toISOString(),
    // JSON leaves out an undefined field: no `site` without one.
    // `library`: so the data team can tell plugin events from server-side ones. (Written here, not as a
    // module constant, which esbuild keeps as a variable: the size budget.)
    context: { library: { name: 'rx.js', version: '1' }, page, site: site || undefined },
    userId: identity.getUserId() || undefined,
  };
  if (fields.type === 'page') event.properties = { ...page, ...fields.properties };
  return event;
}
