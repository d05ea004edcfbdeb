/**
 * Product ids and category names as shops' own systems make them (Shopify's GIDs, SKUs with slashes
 * and spaces, letters beyond ASCII, markup): the `shopIds` bundle's catalogue, the same as v1's
 * otherwise (item i is in category i % 4).
 */
export function shopStyleProductId(index: number): string {
  const styles = [
    (i: number) => `gid://shopify/ProductVariant/${40_000 + i}`,
    (i: number) => `TSHIRT/RED XL ${i}`,
    (i: number) => `Größe-${i}`,
    (i: number) => `<b>${i}</b> & "co"`,
  ];
  return styles[index % styles.length]?.(index) ?? String(index);
}

export const SHOP_STYLE_CATEGORIES = ['Home/Garden', 'Décor', 'Kids (3+)', 'Bags, boxes & <more>'] as const;
