import type { EventProperties, RxEventInput } from '../../contracts/event-types';
import type { Identity } from './identity';
import { uuid } from './lib/uuid';

/** Reported as `context.library`, so the data team can tell plugin events from server-side ones. */
export const LIBRARY = { name: 'rx.js', version: '1' } as const;

/** A URL without query string and fragment, which can carry personal data (emails, tokens). */
function withoutQuery(url: string): string {
  // What comes before the first `?` or `#` (a URL as the browser writes it has no line break).
  return url.split(/[?#]/)[0] as string;
}

/** What `page` events and every event's `context.page` describe. */
function pageContext(): Record<string, string> {
  return {
    path: location.pathname,
    url: withoutQuery(location.href),
    title: document.title,
    referrer: withoutQuery(document.referrer),
  };
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
  const event: RxEventInput = {
    ...fields,
    messageId: uuid(),
    anonymousId: identity.getAnonymousId(),
    timestamp: new Date().toISOString(),
    // JSON leaves out an undefined field: no `site` without one.
    context: { library: LIBRARY, page: pageContext(), site: site || undefined },
    userId: identity.getUserId() || undefined,
  };
  if (fields.type === 'page') event.properties = { ...pageContext(), ...fields.properties };
  return event;
}
