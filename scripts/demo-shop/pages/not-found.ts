import { html } from '../html';
import type { PageContent } from '../layout';

/** The 404 page (the path is escaped like any other text). */
export function notFoundPage(path: string): PageContent {
  const body = html`<div class="wrap"><div class="empty"><h1>Not found</h1><p>Nothing lives at ${path}.</p><a class="button secondary" href="/">Back to the shop</a></div></div>`;
  return { title: 'Not found', body };
}
