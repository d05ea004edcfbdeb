/**
 * A path without its `;parameters`, segment by segment (`/products/85123A;jsessionid=9F1C` is
 * `/products/85123A`), as a Java servlet container (SAP Commerce, and other Java shops that put
 * `;jsessionid=…` in their URLs on a first visit) routes it. A path parameter is no part of the page
 * it names: kept, it made the session id a product id, and put it into the stored event and the page
 * (docs/proxy.md). An escaped `%3B` is the segment's own character, and stays.
 */
export function withoutPathParameters(path: string): string {
  if (!path.includes(';')) return path;
  return path
    .split('/')
    .map((segment) => segment.split(';')[0])
    .join('/');
}
