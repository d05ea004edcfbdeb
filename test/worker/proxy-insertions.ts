/**
 * Removes exactly what the proxy is allowed to add to a page, so the rest can be compared byte for
 * byte with the origin's page ("only the intended changes").
 */
export function withoutInsertions(html: string): string {
  return (
    html
      .replace(/<style data-rx-styles( nonce="[\w+/=]+")?>[^<]*<\/style>/g, '')
      // The plugin's tag, absolute on the public host the tests request (proxy-helpers.ts PUBLIC).
      .replace(
        /<script src="https:\/\/shop\.example\/rx\.js" async( nonce="[\w+/=]+")?( data-rx-page-view="sent")?( data-consent="required")?( data-gpc)?><\/script>/g,
        '',
      )
      .replace(/ data-rx-filled="[^"]*"/g, '')
      .replace(/ data-rx-page-view="sent"/g, '')
      // The marker of an RX_PRICE_SELECTOR match (the shop's markup had neither attribute).
      .replace(/ data-rx-price="" data-rx-product-id="[^"]*"/g, '')
      .replace(/<section class="rx-block[\s\S]*?<\/section>/g, '')
      .replace(/<small class="rx-price-note">[^<]*<\/small>/g, '')
  );
}

/** Counts occurrences of a literal string. */
export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}
